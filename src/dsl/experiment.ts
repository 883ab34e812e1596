/**
 * Experiments as values.
 *
 * An experiment is plain data: a name, a seed, a task, the initial conditions
 * and a pipeline of stage descriptions. Nothing here does work: building an
 * experiment only builds a value, which can be printed, canonically
 * serialized, hashed and diffed. The io-ts codec `ExperimentCodec` checks any
 * value that crosses a boundary (an experiment file, a stored run).
 *
 * Stage kinds form a tagged union on `kind`; later algorithms add members to
 * `StageSpecCodec`. `repeat(n, body)` unrolls into n copies of its body, so a
 * long optimization is a sequence of stages a run can stop and resume between.
 */
import * as t from "io-ts";
import { Finite, Horizon, NonNegative, NonNegativeInt, Positive, PositiveInt, Seed, strict, strictPartial } from "./codecs.js";
import { defaultIlqgSettings } from "../trajopt/ilqg.js";

export { MAX_HORIZON, MAX_STAGES } from "./codecs.js";
import { MjcfTaskSpecCodec, type MjcfTaskSpec } from "./mjcf-task.js";

/**
 * The defaults of a kind's optional fields, declared once beside its codec:
 * the fields `K` made required, without `undefined`. `resolveExperiment`
 * (./resolve.ts) fills them in; stages read the resolved value only.
 */
export type DefaultsOf<S, K extends keyof S> = { readonly [P in K]-?: Exclude<S[P], undefined> };

// ---------------------------------------------------------------- codecs --

const SlopeBound = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0 && n < 80, "SlopeDegrees (in [0, 80))");
const InclineAngle = t.refinement(t.number, (n) => Number.isFinite(n) && Math.abs(n) < 80, "InclineDegrees (in (-80, 80))");
const SegmentLengths = t.refinement(t.array(Positive), (a) => a.length > 0, "NonEmptySegmentLengths");

/**
 * The ground (hopper and walker; docs/tasks.md "Terrain"). Flat: the plane
 * z = 0. Uneven: a seeded random piecewise-planar profile (2013 paper §6.3:
 * 1 m and 2 m segments of varying slope) after `flatStart` metres of flat
 * ground. Incline: flat up to x = `start`, then a constant slope.
 */
export const TerrainSpecCodec = t.union(
  [
    strict({ kind: t.literal("flat") }, "flat"),
    t.intersection(
      [
        strict({ kind: t.literal("uneven"), seed: Seed }),
        strictPartial({
          /** Horizontal extent of the profile from x = -2, metres (default 30). */
          length: Positive,
          /** Slopes are uniform in ±maxSlopeDeg degrees (default 10). */
          maxSlopeDeg: SlopeBound,
          /** Horizontal segment lengths drawn uniformly from this list (default [1, 2]). */
          segmentLengths: SegmentLengths,
          /** Flat ground from x = -2 up to x = flatStart before the first slope (default 1). */
          flatStart: NonNegative,
        }),
      ],
      "uneven",
    ),
    t.intersection(
      [
        /** Flat up to x = start (metres), then the slope. */
        strict({ kind: t.literal("incline"), start: Finite }),
        /** angleDeg: default 10 (negative: downhill); length: horizontal metres of slope (default 30), flat after it. */
        strictPartial({ angleDeg: InclineAngle, length: Positive }),
      ],
      "incline",
    ),
  ],
  "Terrain",
);
export type TerrainSpec = t.TypeOf<typeof TerrainSpecCodec>;

const BodyName = t.refinement(t.string, (s) => s.length > 0, "BodyName");

/**
 * A horizontal push on a body's centre of mass, the torso's by default (2014
 * paper §4.3: 250–500 N for 100 ms). The plan refuses a body the model lacks
 * and a window [onset, onset + duration) past the rollout's horizon.
 */
export const PushSpecCodec = t.intersection(
  [
    strict({
      /** Magnitude in newtons. */
      force: NonNegative,
      /** "forward" = +x, "backward" = −x. */
      direction: t.keyof({ forward: null, backward: null }),
      /** Start time in seconds from t = 0 of a rollout. */
      onset: NonNegative,
    }),
    /** duration: seconds (default 0.1); body: the body pushed, by its MJCF name (default "torso"). */
    strictPartial({ duration: Positive, body: BodyName }),
  ],
  "Push",
);
export type PushSpec = t.TypeOf<typeof PushSpecCodec>;


/** The papers' tasks, written for this project (src/tasks/). */
export const BuiltinTaskSpecCodec = t.intersection(
  [
    strict({
      kind: t.keyof({ swimmer: null, hopper: null, walker: null }),
      horizon: Horizon,
    }),
    /** Environment variations (hopper and walker only); absent = flat ground, no pushes. */
    strictPartial({
      terrain: TerrainSpecCodec,
      pushes: t.array(PushSpecCodec),
    }),
  ],
  "BuiltinTask",
);
export type BuiltinTaskSpec = t.TypeOf<typeof BuiltinTaskSpecCodec>;

/** A built-in task, or any MuJoCo model declared as data (src/dsl/mjcf-task.ts). */
export const TaskSpecCodec = t.union([BuiltinTaskSpecCodec, MjcfTaskSpecCodec], "TaskSpec");
export type TaskSpec = t.TypeOf<typeof TaskSpecCodec>;

/** The policy class (gps-math §7): one softplus hidden layer, Gaussian output noise with a learned diagonal covariance. */
export const PolicySpecCodec = t.intersection(
  [
    strict({ kind: t.literal("mlp"), hidden: PositiveInt }),
    strictPartial({
      initLogStd: Finite,
      /** State entries the network does not see, by name (task.stateNames, e.g. "qpos.rootx"). */
      ignoreInputs: t.array(t.string),
      /** "state" (default): the network sees x; "groundRelativeHeight": the root height is measured from the ground under the root. */
      observation: t.keyof({ state: null, groundRelativeHeight: null }),
    }),
  ],
  "PolicySpec",
);
export type PolicySpec = t.TypeOf<typeof PolicySpecCodec>;
/** The policy's defaults: unit initial action noise, every input seen, the plain state. */
export const policyDefaults: DefaultsOf<PolicySpec, "initLogStd" | "ignoreInputs" | "observation"> = { initLogStd: 0, ignoreInputs: [], observation: "state" };

/** Hand-crafted controllers that produce demonstrations (src/demos/). */
export const DemoControllerCodec = t.keyof({ simbicon: null, "simbicon-smooth": null, "simbicon-switch": null, "hopper-hop": null, "hopper-hop-robust": null }, "DemoController");
export type DemoController = t.TypeOf<typeof DemoControllerCodec>;

/**
 * An initial state: the task's resting state, explicit qpos/qvel, or the
 * `index`-th of `of` states spread over one steady cycle of a demonstration
 * controller's gait (started from rest, on flat ground).
 */
export const ConditionCodec = t.intersection(
  [
    t.union([
      strict({ kind: t.literal("rest") }),
      strict({ kind: t.literal("state"), qpos: t.array(Finite), qvel: t.array(Finite) }),
      strict({ kind: t.literal("gaitPhase"), controller: DemoControllerCodec, index: NonNegativeInt, of: PositiveInt }),
      // The state a demonstration controller reaches after `step` control steps from rest, in
      // this condition's own world (its terrain): a start part-way along a demonstration.
      strict({ kind: t.literal("alongDemonstration"), controller: DemoControllerCodec, step: NonNegativeInt }),
    ]),
    /** This condition's own environment, in place of the task's (e.g. one of several training terrains). */
    strictPartial({ terrain: TerrainSpecCodec, pushes: t.array(PushSpecCodec) }),
  ],
  "Condition",
);
export type Condition = t.TypeOf<typeof ConditionCodec>;

/** The task spec of condition i: the experiment's, with the condition's environment overrides. */
export function conditionTaskSpec(e: { task: TaskSpec; conditions: readonly Condition[] }, i: number): TaskSpec {
  const c = e.conditions[i];
  return { ...e.task, ...(c.terrain ? { terrain: c.terrain } : {}), ...(c.pushes ? { pushes: c.pushes } : {}) };
}

/** The task without environment variations: flat ground, no pushes (where gait-phase states are found). */
export function plainTaskSpec(task: TaskSpec): TaskSpec {
  if (task.kind === "mjcf") return task;
  return { kind: task.kind, horizon: task.horizon };
}

/** Condition i's task on a test ground (evaluate's `terrains`), and a key naming it. */
export function testTaskSpec(e: { task: TaskSpec; conditions: readonly Condition[] }, i: number, terrain: TerrainSpec): { spec: TaskSpec; key: string } {
  const spec: TaskSpec = { ...conditionTaskSpec(e, i), terrain };
  return { spec, key: JSON.stringify(spec) };
}

/**
 * Condition i's task with one test push (evaluate's `pushes`) in place of the
 * condition's own pushes (its ground stays its own), and a key naming it.
 */
export function pushTestTaskSpec(e: { task: TaskSpec; conditions: readonly Condition[] }, i: number, push: PushSpec): { spec: TaskSpec; key: string } {
  const spec: TaskSpec = { ...conditionTaskSpec(e, i), pushes: [push] };
  return { spec, key: JSON.stringify(spec) };
}

/** A recorded demonstration: T+1 states and T actions, each a row of numbers. */
export const DemonstrationCodec = strict(
  { states: t.array(t.array(Finite)), actions: t.array(t.array(Finite)) },
  "Demonstration",
);
export type Demonstration = t.TypeOf<typeof DemonstrationCodec>;

/** Where the first nominal trajectory comes from. */
export const TrajectoryInitCodec = t.union(
  [
    strict({ kind: t.literal("zero") }),
    // Small seeded random torques break the symmetry of a resting start.
    strict({ kind: t.literal("random"), std: NonNegative }),
    strict({ kind: t.literal("demonstration"), demonstration: DemonstrationCodec }),
    // The demonstration a `demonstrate` stage recorded for each condition.
    strict({ kind: t.literal("recorded") }),
  ],
  "TrajectoryInit",
);
export type TrajectoryInit = t.TypeOf<typeof TrajectoryInitCodec>;

/**
 * MuJoCo's global contact override (opt.o_solref, o_solimp, o_margin) for a softened
 * model: what is not given keeps the model's own values (margin: 0); friction is kept.
 */
export const ContactOverrideCodec = strictPartial(
  { solref: t.tuple([Positive, Positive]), solimp: t.tuple([NonNegative, NonNegative, NonNegative, NonNegative, NonNegative]), margin: NonNegative },
  "ContactOverride",
);

/**
 * How iLQG linearizes the dynamics at its nominal (src/algorithms/linearization.ts).
 * "finiteDifference" (default): mjd_transitionFD in the task's model, with another
 * step `epsilon` (default 1e-6) or in a model with softened contacts (`contact`:
 * the optimizer's model only; rollouts stay in the true model). "fitted": linear
 * dynamics regressed on `rollouts` noisy rollouts of the current controller around
 * the nominal (motor noise × `noise`, x_0 jittered by `stateNoise`), with a prior
 * pooled over ±`window` steps weighing `prior` × the rollouts (src/trajopt/fitted-dynamics.ts).
 */
export const LinearizationCodec = t.union(
  [
    t.intersection([strict({ kind: t.literal("finiteDifference") }), strictPartial({ epsilon: Positive, contact: ContactOverrideCodec })]),
    t.intersection([
      strict({ kind: t.literal("fitted"), rollouts: t.refinement(t.number, (n) => Number.isInteger(n) && n >= 2, "IntegerAtLeast2") }),
      strictPartial({ window: NonNegativeInt, prior: NonNegative, noise: Positive, stateNoise: NonNegative, ridge: NonNegative }),
    ]),
  ],
  "Linearization",
);
export type Linearization = t.TypeOf<typeof LinearizationCodec>;
/** Defaults of the fitted linearization (its `epsilon`/`contact` finite-difference sibling has none: absent = the model's own). */
export const fittedLinearizationDefaults: DefaultsOf<Extract<Linearization, { kind: "fitted" }>, "window" | "prior" | "noise" | "stateNoise" | "ridge"> = {
  window: 2,
  prior: 1,
  noise: 1,
  stateNoise: 1e-3,
  ridge: 1e-6,
};

export const IlqgOptionsCodec = strictPartial(
  {
    muInit: NonNegative,
    muMin: NonNegative,
    muMax: NonNegative,
    muFactor: NonNegative,
    lineSearchAlphas: t.array(NonNegative),
    minReductionRatio: Finite,
    /** q's gains from a backward pass at this fixed μ at each accepted nominal (src/trajopt/ilqg.ts `gainMu`). */
    gainMu: NonNegative,
  },
  "IlqgOptions",
);
export type IlqgOptions = t.TypeOf<typeof IlqgOptionsCodec>;
/**
 * iLQG's defaults: the optimizer's own (src/trajopt/ilqg.ts defaultIlqgSettings, Tassa 2012).
 * `gainMu` has none: absent = the gains of the step's own pass.
 */
export const ilqgDefaults: DefaultsOf<IlqgOptions, "muInit" | "muMin" | "muMax" | "muFactor" | "lineSearchAlphas" | "minReductionRatio"> = {
  ...defaultIlqgSettings,
  lineSearchAlphas: [...defaultIlqgSettings.lineSearchAlphas],
};

const InitializeTrajectoriesCodec = t.intersection(
  [
    strict({
      kind: t.literal("initializeTrajectories"),
      /**
       * "ilqg": q from iLQG (ilqgIteration stages refine it). "linearizeDemonstration": q is
       * the recorded demonstration with the demonstration controller's own feedback
       * (∂u/∂x along it) and the motor noise as covariance; needs from: recorded and motorNoise.
       */
      method: t.keyof({ ilqg: null, linearizeDemonstration: null }),
      from: TrajectoryInitCodec,
    }),
    strictPartial({
      /**
       * Tracking term weight (the papers use 0.05) on |u − u_demo|², and on |x − x_demo|²
       * unless `stateWeight` sets that one apart; needs a demonstration. The state weight
       * sets how hard iLQG's feedback gains pull back to the demonstration.
       */
      track: t.intersection([strict({ weight: NonNegative }), strictPartial({ stateWeight: NonNegative })]),
      /**
       * Motor noise for sampling: per-joint std = fraction × the std over time
       * of the demonstration's torque on that joint (2013 paper: 0.1; 0.01 variant).
       */
      motorNoise: strict({ fraction: NonNegative }),
      ilqg: IlqgOptionsCodec,
      /** How iLQG linearizes the dynamics (default: finite differences in the task's model). */
      linearization: LinearizationCodec,
    }),
  ],
  "initializeTrajectories",
);

/** One iLQG iteration on every condition, or on the listed ones only (e.g. only those whose start needs more optimization). */
const IlqgIterationCodec = t.intersection([strict({ kind: t.literal("ilqgIteration") }), strictPartial({ conditions: t.array(NonNegativeInt) })], "ilqgIteration");

/** Constrained GPS (2014): the trajectory step (Algorithm 2) on every condition. */
const OptimizeQCodec = t.intersection(
  [
    strict({ kind: t.literal("optimizeQ"), iterations: PositiveInt }),
    strictPartial({
      /** Linearize π at q's nominal ("mean", default) or average over `samples` states from q ("monte-carlo"). */
      linearizePolicy: t.keyof({ mean: null, "monte-carlo": null }),
      samples: PositiveInt,
      /** Cost magnitude ramp: ×`factor` over the first `iterations` outer iterations (default 10 over 50). */
      costRamp: strict({ iterations: PositiveInt, factor: Positive }),
    }),
  ],
  "optimizeQ",
);
/** optimizeQ's defaults, declared once. */
export const optimizeQDefaults: DefaultsOf<t.TypeOf<typeof OptimizeQCodec>, "linearizePolicy" | "samples" | "costRamp"> = { linearizePolicy: "mean", samples: 10, costRamp: { iterations: 50, factor: 10 } };

/**
 * Where fitTheta's training states (and updateLambda's KL states) come from: "rollouts"
 * (default), q's controller run in the simulator from x_0; "marginals", x_t ~ N(x̄_t, S_t),
 * q's Gaussian state marginal from its last trajectory step (the 2014 paper's "sampled
 * from q(x_t) at each time step"; conditions with no S_t yet, before their first
 * optimizeQ, use rollouts). A rollout that leaves the region where q's linearization
 * holds (a fall) can put states far from x̄_t, where q's linear controller asks for huge
 * torques.
 */
const TrainingStatesCodec = t.keyof({ rollouts: null, marginals: null });

/** Constrained GPS: fit θ to all q_i by the weighted least squares of §3.2 (LBFGS), Σ^π in closed form. */
const FitThetaCodec = t.intersection(
  [
    strict({ kind: t.literal("fitTheta"), maxIterations: PositiveInt }),
    strictPartial({
      samples: PositiveInt,
      regularization: NonNegative,
      /** sampleNoise scales q's action noise when sampling training states (default 1: q itself). */
      sampleNoise: NonNegative,
      states: TrainingStatesCodec,
      /**
       * "kl" (default): constrained GPS's policy step, min E_q[KL(π_θ‖q)] weighted by λ_t:
       * μ by least squares with q's precisions, σ² the harmonic mean of q's variances.
       * "likelihood": variational GPS's M-step, max E_q[log π_θ(u|x)]: μ by least squares
       * with π's own precision, σ² the mean of q's variances plus the fit's squared residuals.
       */
      objective: t.keyof({ kl: null, likelihood: null }),
    }),
  ],
  "fitTheta",
);
/** fitTheta's defaults, declared once. */
export const fitThetaDefaults: DefaultsOf<t.TypeOf<typeof FitThetaCodec>, "samples" | "regularization" | "sampleNoise" | "states" | "objective"> = { samples: 10, regularization: 1e-4, sampleNoise: 1, states: "rollouts", objective: "kl" };

/** Constrained GPS: the dual step λ_t ← max(0, λ_t + η·E[KL(π‖q)]) of equation (2). */
const UpdateLambdaCodec = t.intersection(
  [
    strict({ kind: t.literal("updateLambda"), stepSize: NonNegative }),
    /** initial: λ_t before the first dual step (default 0); later steps start from the checkpointed λ. states: as fitTheta's. */
    strictPartial({ samples: PositiveInt, sampleNoise: NonNegative, states: TrainingStatesCodec, initial: NonNegative }),
  ],
  "updateLambda",
);
/** updateLambda's defaults, declared once. */
export const updateLambdaDefaults: DefaultsOf<t.TypeOf<typeof UpdateLambdaCodec>, "samples" | "sampleNoise" | "states" | "initial"> = { samples: 10, sampleNoise: 1, states: "rollouts", initial: 0 };

/** Importance-sampled GPS (2013), lines 1–2: `samples` rollouts of every condition's DDP distribution. */
const GuidingSamplesCodec = t.intersection(
  [
    strict({ kind: t.literal("guidingSamples"), samples: PositiveInt }),
    strictPartial({
      /** "trajectory" (default): the DDP solution q(u|x); "demonstration": the demonstration controller plus Gaussian action noise. */
      from: t.keyof({ trajectory: null, demonstration: null }),
      /** With from: "demonstration", the action noise std as a fraction of the demonstration's per-joint torque std (default 0.1). */
      noise: Positive,
    }),
  ],
  "guidingSamples",
);
/** guidingSamples's defaults, declared once. */
export const guidingSamplesDefaults: DefaultsOf<t.TypeOf<typeof GuidingSamplesCodec>, "from" | "noise"> = { from: "trajectory", noise: 0.1 };

/** Importance-sampled GPS, lines 3–4: θ* by maximum likelihood on the guiding samples, then `samples` rollouts of π_θ*. */
const PretrainPolicyCodec = t.intersection(
  [
    strict({ kind: t.literal("pretrainPolicy"), maxIterations: PositiveInt }),
    strictPartial({
      samples: PositiveInt,
      /** The initial regularizer weight (default 1e-2; 0 for the unregularized variant). */
      wr: NonNegative,
      weightDecay: NonNegative,
      /**
       * "guidingSamples" (default): fit μ and σ to the guiding samples. "example": fit μ to each
       * condition's single noise-free example (its demonstration, else its trajectory's mean
       * rollout) — the "single example" prior method — with σ fixed at the guiding
       * distributions' action noise (without guiding samples: `noise`).
       */
      from: t.keyof({ guidingSamples: null, example: null }),
      /** With from: "example" and no guiding samples, σ as a fraction of the example's per-joint torque std (default 0.1). */
      noise: Positive,
      /**
       * σ of the policy's output noise: "fit" (default) by maximum likelihood with μ, which takes in
       * the network's fit residual; "guiding": fixed at the guiding distributions' own action noise,
       * so on-policy samples are as noisy as the guiding samples.
       */
      std: t.keyof({ fit: null, guiding: null }),
    }),
  ],
  "pretrainPolicy",
);
/** pretrainPolicy's defaults, declared once. */
export const pretrainPolicyDefaults: DefaultsOf<t.TypeOf<typeof PretrainPolicyCodec>, "samples" | "wr" | "weightDecay" | "from" | "noise" | "std"> = { samples: 10, wr: 1e-2, weightDecay: 0, from: "guidingSamples", noise: 0.1, std: "fit" };

/**
 * The 2013 paper's "policy gradient" prior method: `samples` rollouts of the
 * current π_θ, a GPOMDP estimate of ∇_θ E[Σ r_t] with a per-step baseline,
 * one Adam step of size `stepSize` on μ's parameters (σ stays as pretrained).
 */
const PolicyGradientIterationCodec = t.intersection(
  [strict({ kind: t.literal("policyGradientIteration"), stepSize: Positive }), strictPartial({ samples: PositiveInt })],
  "policyGradientIteration",
);
/** policyGradientIteration's defaults, declared once. */
export const policyGradientIterationDefaults: DefaultsOf<t.TypeOf<typeof PolicyGradientIterationCodec>, "samples"> = { samples: 10 };

/**
 * The 2013 paper's DAgger prior method (Ross et al. 2011): `samples` rollouts of
 * the current π_θ, every visited state labelled with the expert's action (the
 * condition's guiding distribution's mean: DDP's time-indexed controller, or the
 * demonstration controller), aggregated with all earlier data, μ refitted by
 * maximum likelihood (`maxIterations` LBFGS iterations from the current θ).
 * `weighting` "trajectory": the 2014 paper's weighted DAgger — each labelled
 * state x_t of condition i weighted by its density under the condition's
 * trajectory distribution's state marginal at step t (docs/isgps.md); needs a
 * DDP trajectory distribution. "none" (default): every state weighs the same.
 */
const DaggerIterationCodec = t.intersection(
  [
    strict({ kind: t.literal("daggerIteration"), maxIterations: PositiveInt }),
    strictPartial({ samples: PositiveInt, weighting: t.union([t.literal("none"), t.literal("trajectory")]) }),
  ],
  "daggerIteration",
);
/** daggerIteration's defaults, declared once. */
export const daggerIterationDefaults: DefaultsOf<t.TypeOf<typeof DaggerIterationCodec>, "samples" | "weighting"> = { samples: 10, weighting: "none" };

/**
 * Cost-weighted regression (Peters & Schaal 2007; Kober & Peters 2009), a
 * reward-weighted-regression baseline: `samples` rollouts of the current
 * stochastic π_θ per condition, each weighted by exp(−(S_i − min S)/τ) of its
 * total cost S_i (normalized per condition), μ refitted by weighted maximum
 * likelihood on every visited (x_t, u_t) (`maxIterations` LBFGS iterations from
 * the current θ; σ stays as it is). `temperature` τ: a positive number, or
 * "auto" (default): the standard deviation of the condition's batch of costs,
 * so the weights do not depend on the cost's scale.
 */
const CostWeightedRegressionCodec = t.intersection(
  [
    strict({ kind: t.literal("costWeightedRegression") }),
    strictPartial({
      /** Rollouts of π_θ per training condition per iteration (default 1000, the 2014 paper's). */
      samples: PositiveInt,
      /** τ > 0, or "auto": the std of each condition's batch of total costs (default "auto"). */
      temperature: t.union([Positive, t.literal("auto")]),
      /** LBFGS iterations of the weighted fit (default 50). */
      maxIterations: PositiveInt,
    }),
  ],
  "costWeightedRegression",
);
/** costWeightedRegression's defaults, declared once. */
export const costWeightedRegressionDefaults: DefaultsOf<t.TypeOf<typeof CostWeightedRegressionCodec>, "samples" | "temperature" | "maxIterations"> = {
  samples: 1000,
  temperature: "auto",
  maxIterations: 50,
};

/** Importance-sampled GPS, lines 6–12: optimize Φ on the active set, sample π_θk, accept or reject. */
const IsgpsIterationCodec = t.intersection(
  [
    strict({ kind: t.literal("isgpsIteration"), maxIterations: PositiveInt }),
    strictPartial({
      /** On-policy samples added per iteration (default 10). */
      samples: PositiveInt,
      /** At most this many samples in the active set S_k (default 100). */
      activeSamples: PositiveInt,
      /** At most this many samples in the pool S the active set is chosen from, guiding samples + newest (default 400). */
      poolSize: PositiveInt,
      /** false: the "non-guided" variant, guiding samples only pretrain θ*. */
      useGuidingSamples: t.boolean,
      /** true: the "restart distribution" variant: guiding samples leave the objective and give the on-policy samples' initial states. */
      restart: t.boolean,
      weightDecay: NonNegative,
    }),
  ],
  "isgpsIteration",
);
/** isgpsIteration's defaults, declared once. */
export const isgpsIterationDefaults: DefaultsOf<t.TypeOf<typeof IsgpsIterationCodec>, "samples" | "activeSamples" | "poolSize" | "useGuidingSamples" | "restart" | "weightDecay"> = { samples: 10, activeSamples: 100, poolSize: 400, useGuidingSamples: true, restart: false, weightDecay: 0 };

/** Importance-sampled GPS, lines 13–16: w_r ÷ factor on success, × factor on failure, clamped; resample π_θ* on failure. */
const AdaptWrCodec = t.intersection(
  [strict({ kind: t.literal("adaptWr") }), strictPartial({ factor: Positive, min: NonNegative, max: NonNegative, resample: NonNegativeInt })],
  "adaptWr",
);
/** adaptWr's defaults, declared once. */
export const adaptWrDefaults: DefaultsOf<t.TypeOf<typeof AdaptWrCodec>, "factor" | "min" | "max" | "resample"> = { factor: 10, min: 1e-6, max: 1e-2, resample: 10 };

/**
 * Importance-sampled GPS §4.2, adaptive guiding distributions: `iterations` iLQG
 * iterations per condition on ℓ − weight·log π_θ*(u|x), from the current guiding
 * solution; a following guidingSamples stage samples the adapted distributions.
 */
const AdaptGuidingCodec = t.intersection(
  [strict({ kind: t.literal("adaptGuiding"), iterations: PositiveInt }), strictPartial({ weight: Positive })],
  "adaptGuiding",
);
/** adaptGuiding's defaults, declared once. */
export const adaptGuidingDefaults: DefaultsOf<t.TypeOf<typeof AdaptGuidingCodec>, "weight"> = { weight: 1 };

/**
 * Variational GPS (Levine & Koltun, NIPS 2013), the E-step: on every condition,
 * `iterations` max-entropy iLQG iterations from the current q on the cost
 * augmented with the policy, ℓ(x, u) − policyWeight·log π_θ(u|x), then q's gains
 * and covariance recomputed at the final nominal (q ← the I-projection of
 * exp(−ℓ)·π_θ). Before the first fit there is no policy: plain iLQG on ℓ.
 * The M-step is fitTheta (maximum likelihood of π_θ on samples of q), with no
 * updateLambda in the loop; docs/vgps.md.
 */
const VariationalEStepCodec = t.intersection(
  [strict({ kind: t.literal("variationalEStep") }), strictPartial({ iterations: PositiveInt, policyWeight: Positive })],
  "variationalEStep",
);
/** variationalEStep's defaults, declared once. */
export const variationalEStepDefaults: DefaultsOf<t.TypeOf<typeof VariationalEStepCodec>, "iterations" | "policyWeight"> = { iterations: 1, policyWeight: 1 };

/** Record a demonstration per condition by running a hand-crafted controller. */
const DemonstrateCodec = strict({ kind: t.literal("demonstrate"), controller: DemoControllerCodec }, "demonstrate");

const EvaluateCodec = t.intersection(
  [
    /**
     * noise: false = the mean controller; true = samples from q(u|x) plus motor
     * noise; "motor" = the mean controller with motor noise only.
     */
    strict({ kind: t.literal("evaluate"), noise: t.union([t.boolean, t.literal("motor")]) }),
    strictPartial({
      samples: PositiveInt,
      /**
       * Which controller to roll out: the trajectory distribution (default), the demonstration
       * controller, the trained policy, or "tbdp": the nearest-neighbour controller over every
       * condition's trajectory distribution (the 2013 paper's TBDP comparison).
       */
      controller: t.keyof({ trajectory: null, demonstration: null, policy: null, tbdp: null }),
      /**
       * Test grounds: roll out from every condition's x_0 on each of these grounds instead of the
       * condition's own (generalization tests; every other task setting stays the condition's).
       */
      terrains: t.array(TerrainSpecCodec),
      /**
       * Roll out this many steps instead of the task's horizon (a policy or demonstration
       * controller only: a trajectory distribution is defined for the task's horizon). Tests
       * whether a policy trained on short conditions keeps walking past them.
       */
      horizon: Horizon,
      /** Roll out from these conditions only (indices; default all), e.g. from rest on test grounds. */
      conditions: t.array(NonNegativeInt),
      /**
       * Test pushes (hopper and walker): roll out from every chosen condition once per entry, each
       * entry one push in place of the condition's own pushes (its ground stays its own), and record
       * whether it recovered: no fall from the push's onset until 5 s after it (docs/experiments.md).
       */
      pushes: t.array(PushSpecCodec),
    }),
  ],
  "evaluate",
);
/** evaluate's defaults, declared once. */
export const evaluateDefaults: DefaultsOf<t.TypeOf<typeof EvaluateCodec>, "samples" | "controller"> = { samples: 10, controller: "trajectory" };

/**
 * Measure each condition's trajectory distribution along its linearized dynamics
 * (gains, closed-loop amplification, widths, contact events, finite-difference and
 * contact-softness sensitivity: src/algorithms/diagnose.ts). Reads only.
 */
const DiagnoseTrajectoriesCodec = t.intersection(
  [
    strict({ kind: t.literal("diagnoseTrajectories") }),
    strictPartial({
      /** Steps per closed-loop amplification window (default 50). */
      window: PositiveInt,
      /** Finite-difference steps to compare the run's linearization with (default [1e-4, 1e-2]). */
      fdEpsilons: t.array(Positive),
      /** The softened contact model to compare with (default solref [0.1, 1]). */
      softContact: ContactOverrideCodec,
      /** Also measure the demonstration controller's own feedback (O(T²) controller calls; default true). */
      demonstrationGains: t.boolean,
    }),
  ],
  "diagnoseTrajectories",
);
/** diagnoseTrajectories's defaults, declared once. */
export const diagnoseTrajectoriesDefaults: DefaultsOf<t.TypeOf<typeof DiagnoseTrajectoriesCodec>, "window" | "fdEpsilons" | "softContact" | "demonstrationGains"> = { window: 50, fdEpsilons: [1e-4, 1e-2], softContact: { solref: [0.1, 1] }, demonstrationGains: true };

/**
 * Each stage kind's codec. A new kind adds its codec and defaults here, its
 * resolution in ./resolve.ts, its contract in ./plan.ts and its entry
 * (implementation) in src/algorithms/registry.ts; the compiler names each
 * place that lacks it.
 */
export const stageCodecs = {
  demonstrate: DemonstrateCodec,
  initializeTrajectories: InitializeTrajectoriesCodec,
  ilqgIteration: IlqgIterationCodec,
  optimizeQ: OptimizeQCodec,
  fitTheta: FitThetaCodec,
  updateLambda: UpdateLambdaCodec,
  guidingSamples: GuidingSamplesCodec,
  pretrainPolicy: PretrainPolicyCodec,
  isgpsIteration: IsgpsIterationCodec,
  adaptWr: AdaptWrCodec,
  adaptGuiding: AdaptGuidingCodec,
  policyGradientIteration: PolicyGradientIterationCodec,
  daggerIteration: DaggerIterationCodec,
  costWeightedRegression: CostWeightedRegressionCodec,
  variationalEStep: VariationalEStepCodec,
  evaluate: EvaluateCodec,
  diagnoseTrajectories: DiagnoseTrajectoriesCodec,
} as const;

/** Each stage kind's defaults (null: a kind whose options all say something when absent). */
export const stageDefaults = {
  demonstrate: null,
  initializeTrajectories: { ilqg: ilqgDefaults, fittedLinearization: fittedLinearizationDefaults },
  ilqgIteration: null,
  optimizeQ: optimizeQDefaults,
  fitTheta: fitThetaDefaults,
  updateLambda: updateLambdaDefaults,
  guidingSamples: guidingSamplesDefaults,
  pretrainPolicy: pretrainPolicyDefaults,
  isgpsIteration: isgpsIterationDefaults,
  adaptWr: adaptWrDefaults,
  adaptGuiding: adaptGuidingDefaults,
  policyGradientIteration: policyGradientIterationDefaults,
  daggerIteration: daggerIterationDefaults,
  costWeightedRegression: costWeightedRegressionDefaults,
  variationalEStep: variationalEStepDefaults,
  evaluate: evaluateDefaults,
  diagnoseTrajectories: diagnoseTrajectoriesDefaults,
} as const;

/** The stage kinds. */
export const StageSpecCodec = t.union(
  [
    DemonstrateCodec,
    InitializeTrajectoriesCodec,
    IlqgIterationCodec,
    OptimizeQCodec,
    FitThetaCodec,
    UpdateLambdaCodec,
    GuidingSamplesCodec,
    PretrainPolicyCodec,
    IsgpsIterationCodec,
    AdaptWrCodec,
    AdaptGuidingCodec,
    PolicyGradientIterationCodec,
    DaggerIterationCodec,
    CostWeightedRegressionCodec,
    VariationalEStepCodec,
    EvaluateCodec,
    DiagnoseTrajectoriesCodec,
  ],
  "StageSpec",
);
export type StageSpec = t.TypeOf<typeof StageSpecCodec>;
export type StageKind = StageSpec["kind"];

/** `times` copies of `body`; `S` is the stage type (a resolved pipeline repeats resolved stages). */
export interface Repeat<S = StageSpec> {
  readonly kind: "repeat";
  readonly times: number;
  readonly body: PipelineItem<S>[];
}
export type PipelineItem<S = StageSpec> = S | Repeat<S>;

/** Whether a pipeline item is a repeat (stage kinds are never "repeat"). */
export function isRepeat<S extends { readonly kind: string }>(item: PipelineItem<S>): item is Repeat<S> {
  return item.kind === "repeat";
}

export const PipelineItemCodec: t.Type<PipelineItem> = t.recursion("PipelineItem", () =>
  t.union([
    StageSpecCodec,
    strict({ kind: t.literal("repeat"), times: PositiveInt, body: t.array(PipelineItemCodec) }, "repeat"),
  ]),
);

export const ExperimentCodec = t.intersection(
  [
    strict({
      name: t.refinement(t.string, (s) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s), "Name (letters, digits, . _ -)"),
      seed: Seed,
      task: TaskSpecCodec,
      conditions: t.refinement(t.array(ConditionCodec), (a) => a.length > 0, "NonEmptyConditions"),
      pipeline: t.array(PipelineItemCodec),
    }),
    /** The policy that guided policy search trains (needed by fitTheta). */
    strictPartial({ policy: PolicySpecCodec }),
  ],
  "Experiment",
);
export type Experiment = t.TypeOf<typeof ExperimentCodec>;

// -------------------------------------------------------------- builders --

/** Identity with a type: lets an experiment file get checking and completion. */
export function experiment(e: Experiment): Experiment {
  return e;
}

export function repeat(times: number, body: PipelineItem[]): Repeat {
  return { kind: "repeat", times, body };
}

type Without<T, K extends keyof T> = Omit<T, K>;
type InitStage = Extract<StageSpec, { kind: "initializeTrajectories" }>;
type EvalStage = Extract<StageSpec, { kind: "evaluate" }>;

type OptimizeQStage = Extract<StageSpec, { kind: "optimizeQ" }>;
type FitThetaStage = Extract<StageSpec, { kind: "fitTheta" }>;
type UpdateLambdaStage = Extract<StageSpec, { kind: "updateLambda" }>;
type PretrainStage = Extract<StageSpec, { kind: "pretrainPolicy" }>;
type IsgpsIterationStage = Extract<StageSpec, { kind: "isgpsIteration" }>;
type AdaptWrStage = Extract<StageSpec, { kind: "adaptWr" }>;
type PolicyGradientStage = Extract<StageSpec, { kind: "policyGradientIteration" }>;
type DaggerStage = Extract<StageSpec, { kind: "daggerIteration" }>;
type CwrStage = Extract<StageSpec, { kind: "costWeightedRegression" }>;
type VariationalEStage = Extract<StageSpec, { kind: "variationalEStep" }>;

export const policy = {
  mlp: (o: { hidden: number; initLogStd?: number; ignoreInputs?: string[]; observation?: "state" | "groundRelativeHeight" }): PolicySpec => ({ kind: "mlp", ...o }),
};

export const stage = {
  optimizeQ: (o: Without<OptimizeQStage, "kind">): OptimizeQStage => ({ kind: "optimizeQ", ...o }),
  fitTheta: (o: Without<FitThetaStage, "kind">): FitThetaStage => ({ kind: "fitTheta", ...o }),
  updateLambda: (o: Without<UpdateLambdaStage, "kind">): UpdateLambdaStage => ({ kind: "updateLambda", ...o }),
  guidingSamples: (o: { samples: number; from?: "trajectory" | "demonstration"; noise?: number }): StageSpec => ({ kind: "guidingSamples", ...o }),
  pretrainPolicy: (o: Without<PretrainStage, "kind">): PretrainStage => ({ kind: "pretrainPolicy", ...o }),
  isgpsIteration: (o: Without<IsgpsIterationStage, "kind">): IsgpsIterationStage => ({ kind: "isgpsIteration", ...o }),
  adaptWr: (o: Without<AdaptWrStage, "kind"> = {}): AdaptWrStage => ({ kind: "adaptWr", ...o }),
  adaptGuiding: (o: { iterations: number; weight?: number }): StageSpec => ({ kind: "adaptGuiding", ...o }),
  policyGradientIteration: (o: Without<PolicyGradientStage, "kind">): PolicyGradientStage => ({ kind: "policyGradientIteration", ...o }),
  daggerIteration: (o: Without<DaggerStage, "kind">): DaggerStage => ({ kind: "daggerIteration", ...o }),
  costWeightedRegression: (o: Without<CwrStage, "kind"> = {}): CwrStage => ({ kind: "costWeightedRegression", ...o }),
  variationalEStep: (o: Without<VariationalEStage, "kind"> = {}): VariationalEStage => ({ kind: "variationalEStep", ...o }),
  demonstrate: (o: { controller: DemoController }): StageSpec => ({ kind: "demonstrate", ...o }),
  initializeTrajectories: (o: Without<InitStage, "kind" | "method"> & { method?: InitStage["method"] }): InitStage => ({
    kind: "initializeTrajectories",
    method: "ilqg",
    ...o,
  }),
  ilqgIteration: (o: { conditions?: number[] } = {}): StageSpec => ({ kind: "ilqgIteration", ...o }),
  evaluate: (o: Without<EvalStage, "kind">): EvalStage => ({ kind: "evaluate", ...o }),
  diagnoseTrajectories: (o: Without<Extract<StageSpec, { kind: "diagnoseTrajectories" }>, "kind"> = {}): StageSpec => ({ kind: "diagnoseTrajectories", ...o }),
};

/** Options of a legged task: the horizon and, optionally, the ground and pushes. */
export interface LeggedTaskOptions {
  readonly horizon: number;
  readonly terrain?: TerrainSpec;
  readonly pushes?: PushSpec[];
}

export const task = {
  swimmer: (o: { horizon: number }): TaskSpec => ({ kind: "swimmer", ...o }),
  hopper: (o: LeggedTaskOptions): TaskSpec => ({ kind: "hopper", ...o }),
  walker: (o: LeggedTaskOptions): TaskSpec => ({ kind: "walker", ...o }),
  /** Any MuJoCo model (hinge and slide joints), its cost built with `cost.*` (src/dsl/mjcf-task.ts). */
  mjcf: (o: Omit<MjcfTaskSpec, "kind" | "terrain" | "pushes">): TaskSpec => ({ kind: "mjcf", ...o }),
};

type Environment = { terrain?: TerrainSpec; pushes?: PushSpec[] };

export const condition = {
  rest: (env: Environment = {}): Condition => ({ kind: "rest", ...env }),
  state: (qpos: number[], qvel: number[], env: Environment = {}): Condition => ({ kind: "state", qpos, qvel, ...env }),
  /** `of` initial states spread over one cycle of the controller's gait. */
  gaitPhases: (controller: DemoController, of: number): Condition[] =>
    Array.from({ length: of }, (_, index) => ({ kind: "gaitPhase" as const, controller, index, of })),
  /** Starts part-way along a demonstration from rest: one condition per step count, all in `env`'s world. */
  alongDemonstration: (controller: DemoController, steps: readonly number[], env: Environment = {}): Condition[] =>
    steps.map((step) => ({ kind: "alongDemonstration" as const, controller, step, ...env })),
};

/** iLQG from an initial nominal, as one init stage plus `iterations` iteration stages. */
export function ilqg(o: Without<InitStage, "kind" | "method"> & { iterations: number }): PipelineItem[] {
  const { iterations, ...init } = o;
  return [stage.initializeTrajectories(init), repeat(iterations, [stage.ilqgIteration()])];
}

// ------------------------------------------------------------- unrolling --

export interface UnrolledStage<S = StageSpec> {
  /** Position in run order, from 0. */
  readonly index: number;
  readonly spec: S;
  /** Kind plus the counters of the repeats around it, e.g. "ilqgIteration 3/50". */
  readonly label: string;
}

/**
 * The pipeline with every stage replaced by `f(stage)` (one item or several),
 * at any depth of repeats; the repeats keep their counts. The structural map
 * that experiment variants are built with, so a nested loop is never skipped.
 */
export function mapStages(pipeline: readonly PipelineItem[], f: (stage: StageSpec) => PipelineItem | PipelineItem[]): PipelineItem[] {
  return pipeline.flatMap((item): PipelineItem[] => {
    if (item.kind === "repeat") return [{ kind: "repeat", times: item.times, body: mapStages(item.body, f) }];
    const out = f(item);
    return Array.isArray(out) ? out : [out];
  });
}

/** Flatten the pipeline into the stages in the order they run. */
export function unrollPipeline<S extends { readonly kind: string } = StageSpec>(pipeline: readonly PipelineItem<S>[]): UnrolledStage<S>[] {
  const out: UnrolledStage<S>[] = [];
  // `loops` holds the repeat counters around the current item, e.g. " 3/50".
  const walk = (items: readonly PipelineItem<S>[], loops: string): void => {
    for (const item of items) {
      if (isRepeat(item)) {
        for (let r = 0; r < item.times; r++) walk(item.body, `${loops} ${r + 1}/${item.times}`);
      } else {
        out.push({ index: out.length, spec: item, label: `${item.kind}${loops}` });
      }
    }
  };
  walk(pipeline, "");
  return out;
}

/** Number of stages without materializing them. */
export function countStages<S extends { readonly kind: string }>(pipeline: readonly PipelineItem<S>[]): number {
  let n = 0;
  for (const item of pipeline) n += isRepeat(item) ? item.times * countStages(item.body) : 1;
  return n;
}

/**
 * A demonstration from a controller exported by `gps export` (its nominal
 * states and actions), so one run's result can seed another's tracking.
 */
export function demonstrationFromExport(exported: { controller: { xbar: number[][]; ubar: number[][] } }): Demonstration {
  return { states: exported.controller.xbar, actions: exported.controller.ubar };
}
