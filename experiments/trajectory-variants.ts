// Trajectory-optimizer options as functions from an experiment value to another
// (like isgps-variants.ts): each ablation of docs/trajectory-optimization.md is
// its base experiment with one option of initializeTrajectories changed, so
// `gps diff` of the two runs lists exactly that option.
import { experiment, mapStages, stage, type Experiment, type StageSpec } from "../src/index.js";

type Init = Extract<StageSpec, { kind: "initializeTrajectories" }>;

/**
 * The iLQG options that make q's samples survive contact (docs/trajectory-optimization.md):
 * the optimizer's model has contacts acting from 5 mm (rollouts stay in the true model),
 * and q's gains come from a backward pass at the fixed μ = 100. Spread into `ilqg({ … })`.
 */
export const survivesContact: Pick<Init, "linearization" | "ilqg"> = {
  linearization: { kind: "finiteDifference", contact: { margin: 0.005 } },
  ilqg: { gainMu: 100 },
};

/** The experiment with `change` applied to its initializeTrajectories stage(s), renamed `<name>-<suffix>`. */
export function withInit(base: Experiment, suffix: string, change: (init: Init) => Init): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-${suffix}`,
    pipeline: mapStages(base.pipeline, (p) => (p.kind === "initializeTrajectories" ? stage.initializeTrajectories(change(p)) : p)),
  });
}

/** q's gains from a backward pass at one fixed μ at each accepted nominal (ilqg option gainMu). */
export function gainsAtMu(base: Experiment, mu: number): Experiment {
  return withInit(base, `gain-mu-${mu}`, (init) => ({ ...init, ilqg: { ...init.ilqg, gainMu: mu } }));
}

/** iLQG linearizes in a model with softened contacts (solref timeconst, dampratio); rollouts stay in the true model. */
export function softContactModel(base: Experiment, solref: [number, number]): Experiment {
  return withInit(base, `soft-${solref[0]}`, (init) => ({ ...init, linearization: { kind: "finiteDifference", contact: { solref } } }));
}

/** iLQG linearizes dynamics fitted to `rollouts` noisy rollouts around each nominal. */
export function fittedDynamics(base: Experiment, rollouts: number, options: { window?: number; prior?: number; noise?: number } = {}): Experiment {
  return withInit(base, `fitted-${rollouts}`, (init) => ({ ...init, linearization: { kind: "fitted", rollouts, ...options } }));
}

/** iLQG's finite differences with step `epsilon` instead of 1e-6. */
export function fdStep(base: Experiment, epsilon: number): Experiment {
  return withInit(base, `fd-${epsilon}`, (init) => ({ ...init, linearization: { kind: "finiteDifference", epsilon } }));
}

/** iLQG linearizes in the model whose contacts act from `margin` metres (MuJoCo's o_margin), the model's own softness otherwise. */
export function contactMargin(base: Experiment, margin: number): Experiment {
  return withInit(base, `margin-${margin}`, (init) => ({ ...init, linearization: { kind: "finiteDifference", contact: { margin } } }));
}

/**
 * The experiment with its trailing noisy evaluations replaced by a
 * diagnoseTrajectories stage and `samples` rollouts per condition of the mean
 * controller with motor noise and of q's own samples (plus motor noise).
 */
export function diagnosed(base: Experiment, samples = 20): Experiment {
  const pipeline = [...base.pipeline];
  while (pipeline.length > 0) {
    const last = pipeline[pipeline.length - 1];
    if (last.kind === "evaluate" && last.noise !== false) pipeline.pop();
    else break;
  }
  return experiment({
    ...base,
    name: `${base.name}-diagnose`,
    pipeline: [...pipeline, stage.diagnoseTrajectories(), stage.evaluate({ noise: "motor", samples }), stage.evaluate({ noise: true, samples })],
  });
}

/** The experiment with iLQG's default linearization (finite differences in the true model) and gains (the step's own μ). */
export function plainTrajectoryOptimizer(base: Experiment, suffix = "plain"): Experiment {
  return withInit(base, suffix, ({ linearization: _linearization, ilqg, ...init }) => {
    const { gainMu: _gainMu, ...rest } = ilqg ?? {};
    return { ...init, ...(Object.keys(rest).length ? { ilqg: rest } : {}) };
  });
}
