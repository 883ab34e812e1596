// The ablations of the 2013 paper's §6.1 as functions from an experiment value
// to another: no code forks, so `gps diff` of a run and its variant lists
// exactly the changed stage options. Also the paper's prior methods (single
// example, policy gradient, DAgger) as the same kind of function, and the
// pipeline the generalization experiments share.
import { ilqg, experiment, mapStages, repeat, stage, type Experiment, type PipelineItem, type TerrainSpec } from "../src/index.js";

/** Φ without the w_r log Z_t regularizer: w_r = 0 from pretraining on, adaptWr clamped to [0, 0]. */
export function unregularized(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-unregularized`,
    pipeline: mapStages(base.pipeline, (s) =>
      s.kind === "pretrainPolicy" ? stage.pretrainPolicy({ ...s, wr: 0 }) : s.kind === "adaptWr" ? stage.adaptWr({ ...s, min: 0, max: 0 }) : s,
    ),
  });
}

/** "Non-guided": the guiding samples pretrain θ*, but the policy search sees on-policy samples only. */
export function nonGuided(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-nonguided`,
    pipeline: mapStages(base.pipeline, (s) => (s.kind === "isgpsIteration" ? stage.isgpsIteration({ ...s, useGuidingSamples: false }) : s)),
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
    pipeline: mapStages(base.pipeline, (s) => (s.kind === "isgpsIteration" ? stage.isgpsIteration({ ...s, restart: true }) : s)),
  });
}

/** The policy-search loop — every [isgpsIteration, adaptWr, …] run of stages, at any depth — replaced by `body(iteration)`. */
function withLoop(base: Experiment, name: string, body: (iteration: Extract<PipelineItem, { kind: "isgpsIteration" }>) => PipelineItem[]): Experiment {
  const replace = (items: readonly PipelineItem[]): PipelineItem[] =>
    items.map((p) => (p.kind !== "repeat" ? p : p.body[0].kind === "isgpsIteration" ? repeat(p.times, body(p.body[0])) : repeat(p.times, replace(p.body))));
  return experiment({ ...base, name: `${base.name}-${name}`, pipeline: replace(base.pipeline) });
}

/**
 * Adaptive guiding samples (2013 paper, §4.2 and §6.2): the policy-search loop becomes
 * 40 iterations that each re-optimize the DDP solution on r + log π_θ*(u|x) (10 iLQG
 * iterations; the paper used 50) and add 10 samples of the adapted distribution, then 40
 * plain iterations (the paper's adaptive run: 10 on-policy + 10 adaptive guiding samples).
 */
export function adaptiveGuiding(base: Experiment, name: string): Experiment {
  const iterate = [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()];
  return experiment({
    ...base,
    name,
    pipeline: base.pipeline.flatMap((p) =>
      p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
        ? [repeat(40, [...iterate, stage.adaptGuiding({ iterations: 10 }), stage.guidingSamples({ samples: 10 })]), repeat(40, iterate)]
        : [p],
    ),
  });
}

/**
 * The paper's "single example" prior method: θ*'s mean fitted to the one noise-free
 * example (σ fixed at the guiding distributions' action noise), then importance
 * sampling without guiding samples and without the regularizer (Peshkin & Shelton
 * 2002). The guiding samples are still drawn, for σ and the learning curve's band.
 */
export function singleExample(base: Experiment): Experiment {
  const e = unregularized(nonGuided(base));
  return experiment({
    ...e,
    name: `${base.name}-single-example`,
    pipeline: e.pipeline.map((p) => (p.kind === "pretrainPolicy" ? stage.pretrainPolicy({ ...p, from: "example" }) : p)),
  });
}

/**
 * The paper's "policy gradient" prior method: GPOMDP with Adam from the pretrained θ*, as many
 * samples per iteration as GPS. Step 1e-2: the best of 3e-3, 1e-2 and 3e-2 on the swimmer (docs/reproduction.md).
 */
export function policyGradient(base: Experiment, stepSize = 1e-2): Experiment {
  return withLoop(base, "policy-gradient", (it) => [stage.policyGradientIteration({ stepSize, samples: it.samples ?? 10 })]);
}

/** The paper's DAgger prior method: the guiding distributions are the expert; β = 0 after pretraining. */
export function dagger(base: Experiment, maxIterations = 20): Experiment {
  return withLoop(base, "dagger", (it) => [stage.daggerIteration({ maxIterations, samples: it.samples ?? 10 })]);
}

/** The generalization experiments' training ground work: the smoothed SIMBICON demonstration tracked by iLQG ("DDP"). */
const generalizationTraining: PipelineItem[] = [
  stage.demonstrate({ controller: "simbicon-smooth" }),
  ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
  stage.evaluate({ noise: false }),
];

/** What the paper's Figures 3 and 4 compare the policy with, on every test ground: DDP, TBDP, and (ours) SIMBICON itself. */
const generalizationComparisons = (tests: TerrainSpec[]): PipelineItem[] => [
  stage.evaluate({ noise: false, controller: "trajectory", terrains: tests }),
  stage.evaluate({ noise: false, controller: "tbdp", terrains: tests }),
  stage.evaluate({ noise: false, controller: "demonstration", terrains: tests }),
];

/**
 * The generalization experiments' pipeline (2013 §6.3): the smoothed SIMBICON
 * demonstration tracked by iLQG (the "DDP" solution compared against), 40 guiding
 * samples from the demonstration controller, pretraining, `iterations` × [iteration,
 * adaptWr], then the policy, the DDP solution, TBDP over it and SIMBICON on every
 * test ground.
 */
export function generalizationPipeline(tests: TerrainSpec[], iterations: number): PipelineItem[] {
  return [
    ...generalizationTraining,
    stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(iterations, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", terrains: tests }),
    ...generalizationComparisons(tests),
  ];
}

/** A generalization experiment without the policy: only the comparisons, from the same training (seconds, not hours). */
export function comparisonsOnly(base: Experiment, tests: TerrainSpec[]): Experiment {
  return experiment({ ...base, name: `${base.name}-comparisons`, pipeline: [...generalizationTraining, ...generalizationComparisons(tests)] });
}
