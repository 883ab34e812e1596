// The ablations of the 2013 paper's §6.1 as functions from an experiment value
// to another: no code forks, so `gps diff` of a run and its variant lists
// exactly the changed stage options. Also the pipeline the generalization
// experiments share.
import { ilqg, experiment, repeat, stage, type Experiment, type PipelineItem, type TerrainSpec } from "../src/index.js";

/** Φ without the w_r log Z_t regularizer: w_r = 0 from pretraining on, adaptWr clamped to [0, 0]. */
export function unregularized(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-unregularized`,
    pipeline: base.pipeline.map((p) =>
      p.kind === "pretrainPolicy"
        ? stage.pretrainPolicy({ ...p, wr: 0 })
        : p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
          ? repeat(p.times, p.body.map((q) => (q.kind === "adaptWr" ? stage.adaptWr({ ...q, min: 0, max: 0 }) : q)))
          : p,
    ),
  });
}

/** "Non-guided": the guiding samples pretrain θ*, but the policy search sees on-policy samples only. */
export function nonGuided(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-nonguided`,
    pipeline: base.pipeline.map((p) =>
      p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
        ? repeat(p.times, p.body.map((q) => (q.kind === "isgpsIteration" ? stage.isgpsIteration({ ...q, useGuidingSamples: false }) : q)))
        : p,
    ),
  });
}

/**
 * "Restart distribution": the guiding samples pretrain θ* and then only give initial
 * states: every on-policy sample starts from a state drawn from the guiding samples,
 * and the policy search sees those samples alone.
 */
export function restartDistribution(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-restart`,
    pipeline: base.pipeline.map((p) =>
      p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
        ? repeat(p.times, p.body.map((q) => (q.kind === "isgpsIteration" ? stage.isgpsIteration({ ...q, restart: true }) : q)))
        : p,
    ),
  });
}

/**
 * The generalization experiments' pipeline (2013 §6.3): the smoothed SIMBICON
 * demonstration tracked by iLQG (the "DDP" solution compared against), 40 guiding
 * samples from the demonstration controller, pretraining, `iterations` × [iteration,
 * adaptWr], then the policy, the DDP solution and SIMBICON on every test ground.
 */
export function generalizationPipeline(tests: TerrainSpec[], iterations: number): PipelineItem[] {
  return [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(iterations, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", terrains: tests }),
    stage.evaluate({ noise: false, controller: "trajectory", terrains: tests }),
    stage.evaluate({ noise: false, controller: "demonstration", terrains: tests }),
  ];
}
