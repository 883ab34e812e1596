// The ablations of the 2013 paper's §6.1 as functions from an experiment value
// to another: no code forks, so `gps diff` of a run and its variant lists
// exactly the changed stage options.
import { experiment, repeat, stage, type Experiment } from "../src/index.js";

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
