/**
 * The run state that stages transform, and what a stage is.
 *
 * A run state is a plain immutable value (numbers, arrays, Float64Arrays),
 * so the store can serialize it exactly and digest it. A stage is a pure
 * function of (environment, state) where the state carries the generator:
 * it is written as a generator function that yields progress reports and
 * returns the next state with its metrics.
 */
import type { DemoController, Experiment, Linearization, PushSpec, TaskSpec } from "../dsl/experiment.js";
import type { ResolvedExperiment, ResolvedPolicySpec, ResolvedStageSpec } from "../dsl/resolve.js";
import type { Compute } from "../parallel/compute.js";
import type { Numerics } from "./kernels.js";
import type { GeneratorState, Sampler } from "../random/generator.js";
import { seedGenerator } from "../random/generator.js";
import type { Simulator } from "../sim/mujoco.js";
import type { Task } from "../tasks/types.js";
import type { IlqgSettings, IlqgTrajectory } from "../trajopt/ilqg.js";
import { demoController, gaitPhaseStates } from "../demos/index.js";
import type { IsgpsState } from "./isgps-samples.js";
import { createPolicy, ignoreInputs, initParameters, mlpShape, normalizationFrom, type MlpPolicy } from "../policy/mlp.js";

/**
 * A condition's demonstration and where it came from: a demonstration
 * controller (which evaluate, guidingSamples and linearizeDemonstration can
 * run again), or the experiment itself (states and actions only).
 */
export type DemonstrationRecord =
  | { readonly source: "controller"; readonly controller: DemoController; readonly xs: Float64Array; readonly us: Float64Array }
  | { readonly source: "inline"; readonly xs: Float64Array; readonly us: Float64Array };

/** Per-condition state of trajectory optimization. */
export interface ConditionState {
  /** Initial state x_0. */
  readonly x0: Float64Array;
  /** The current linear-Gaussian trajectory distribution, once initialized. */
  readonly trajectory: IlqgTrajectory | null;
  /** Weight of the term tracking `demonstration` in the iLQG objective, if any. */
  readonly tracking: { readonly weight: number; readonly stateWeight?: number } | null;
  readonly settings: IlqgSettings | null;
  /** How iLQG linearizes this condition's dynamics (absent or null: finite differences in its world). */
  readonly linearization?: Linearization | null;
  /** A demonstration: recorded by a `demonstrate` stage, or given in the experiment; T+1 states, T actions. */
  readonly demonstration: DemonstrationRecord | null;
  /** Per-action std of motor noise added when sampling (null: none). */
  readonly motorNoise: Float64Array | null;
  /** The last evaluate stage's first rollout of this condition. */
  readonly evaluation: EvaluationRecord | null;
  /** The last evaluate stage with test pushes that rolled this condition out: one record per push. */
  readonly pushTests?: readonly PushTestRecord[] | null;
  /** Constrained GPS: the dual variables λ_t (T), and q's state covariances S_t ((T+1)·n·n). */
  readonly lambda?: Float64Array | null;
  readonly stateCovariance?: Float64Array | null;
}

/** The trained policy: the MLP's shape and input normalization, and θ. */
export interface PolicyState {
  readonly nIn: number;
  readonly nHidden: number;
  readonly nOut: number;
  readonly inputMean: Float64Array;
  readonly inputStd: Float64Array;
  readonly theta: Float64Array;
}

export interface EvaluationRecord {
  readonly controller: string;
  readonly noise: boolean;
  /** (T+1)·2: root x and root height (hopper, walker) or y (swimmer) at every step. */
  readonly root: Float64Array;
  /** First step at which it fell, −1 if it did not. */
  readonly fallStep: number;
}

/** One test push of an evaluate stage (`pushes`), from one condition: the first rollout, for the report's strip. */
export interface PushTestRecord {
  /** The push, defaults filled in (duration, body). */
  readonly push: PushSpec;
  readonly controller: string;
  readonly noise: boolean;
  /** Control steps rolled out; xs is (T+1)·nx states of the first rollout. */
  readonly T: number;
  readonly xs: Float64Array;
  /** The push's control steps [fromStep, toStep). */
  readonly fromStep: number;
  readonly toStep: number;
  /** First step at which the first rollout fell, −1 if it did not. */
  readonly fallStep: number;
  /** No rollout fell in steps 0 … fromStep + recoveryWindowSteps (5 s after the onset, or to the rollout's end). */
  readonly recovered: boolean;
  readonly recoveryWindowSteps: number;
  /** Means over the rollouts. */
  readonly cost: number;
  readonly distance: number;
}

/** The policy-gradient baseline's Adam moments (src/algorithms/baselines.ts). */
export interface PolicyGradientState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  readonly steps: number;
}

export interface RunState {
  /** The seeded generator: every random draw of every stage comes from here. */
  readonly rng: GeneratorState;
  readonly conditions: readonly ConditionState[];
  /** Guided policy search: the policy being trained (absent before the first fit). */
  readonly policy?: PolicyState | null;
  /** Completed outer iterations of constrained GPS (advanced by updateLambda; drives the cost ramp). */
  readonly gpsIteration?: number;
  /** Importance-sampled GPS: w_r, the sample pool and its sources (src/algorithms/isgps-samples.ts). */
  readonly isgps?: IsgpsState | null;
  /** The policy-gradient baseline: Adam's moments (src/algorithms/baselines.ts). */
  readonly policyGradient?: PolicyGradientState | null;
}

/**
 * A condition's world: its task (model, terrain, pushes, cost) and a MuJoCo
 * instance of it (deterministic: every use resets it). Conditions on the same
 * terrain share one world.
 */
export interface World {
  readonly task: Task;
  readonly sim: Simulator;
  /**
   * The task spec it was built from: with it, a worker thread builds the same
   * world for itself (src/algorithms/rollouts.ts). Worlds without one run
   * their physics on the main thread.
   */
  readonly spec?: TaskSpec;
}

/** What a stage needs besides the state: fixed for the whole run. */
export interface StageEnv {
  /** The resolved experiment: every option with a default has it. */
  readonly experiment: ResolvedExperiment;
  readonly horizon: number;
  /** One world per condition, in the order of `experiment.conditions`. */
  readonly worlds: readonly World[];
  /** Worlds of the test grounds the pipeline's evaluate stages name (`testTaskSpec(…).key` → world). */
  readonly testWorlds?: ReadonlyMap<string, World>;
  /** Where independent work runs (default: the calling thread alone). */
  readonly compute?: Compute;
  /** The policy kernels' implementation (default "batched"; src/algorithms/numerics.ts). */
  readonly numerics?: Numerics;
}

/**
 * A precondition the plan (src/dsl/plan.ts) guarantees, failing anyway: a
 * bug, and said as one (a user's misordered pipeline is refused before the
 * run starts, with the pipeline place).
 */
export function internalError(what: string): Error {
  return new Error(`internal error: ${what} (the plan checks this before a run starts)`);
}

export type Metrics = Readonly<Record<string, number | readonly number[]>>;

export interface StageProgress {
  /** Fraction of the stage done, in [0, 1]. */
  readonly fraction: number;
  readonly message: string;
  readonly metrics?: Metrics;
}

export interface StageOutcome<M extends Metrics = Metrics> {
  readonly state: RunState;
  readonly metrics: M;
}

/** A stage: a pure function of its resolved options, the environment and the state. */
export type Stage<S = ResolvedStageSpec, M extends Metrics = Metrics> = (
  env: StageEnv,
  spec: S,
  state: RunState,
) => Generator<StageProgress, StageOutcome<M>, void>;

/**
 * The state before stage 0: the seeded generator and each condition's x_0.
 * A `gaitPhase` condition runs its demonstration controller from rest in the
 * plain world (flat ground, no pushes; deterministic) to find the state at
 * that phase of the gait, then moves it back to rootx = 0 (the start of every
 * terrain is flat), so every condition starts at the same place. An
 * `alongDemonstration` condition runs its controller from rest for `step`
 * steps in its own world (its terrain) and starts where that leaves it.
 */
export function initialRunState(experiment: Experiment, worlds: readonly World[], plain: World = worlds[0]): RunState {
  const conditions = experiment.conditions.map((c, i): ConditionState => {
    const { task } = worlds[i];
    const nq = task.stateLayout.qpos.length;
    const nv = task.stateLayout.qvel.length;
    let x0: Float64Array;
    if (c.kind === "rest") {
      x0 = Float64Array.from(task.restState);
    } else if (c.kind === "state") {
      if (c.qpos.length !== nq || c.qvel.length !== nv) {
        throw new Error(`conditions[${i}]: ${task.name} needs qpos of length ${nq} and qvel of length ${nv}, got ${c.qpos.length} and ${c.qvel.length}`);
      }
      x0 = Float64Array.from([...c.qpos, ...c.qvel]);
    } else if (c.kind === "alongDemonstration") {
      // In the condition's own world: on terrain, the walk and its state depend on the ground.
      x0 = Float64Array.from(task.restState);
      if (c.step > 0) {
        const xs = new Float64Array((c.step + 1) * task.nx);
        worlds[i].sim.rollout(task.restState, demoController(c.controller, task), c.step, xs, new Float64Array(c.step * task.nu));
        x0 = xs.slice(c.step * task.nx);
      }
    } else {
      if (c.index >= c.of) throw new Error(`conditions[${i}].index: ${c.index} must be below of = ${c.of}`);
      x0 = gaitPhaseStates(c.controller, plain.task, plain.sim, c.of)[c.index];
      x0[0] = 0; // qpos.rootx: the gait is the same anywhere on flat ground
    }
    return { x0, trajectory: null, tracking: null, settings: null, demonstration: null, motorNoise: null, evaluation: null };
  });
  return { rng: seedGenerator(experiment.seed), conditions };
}

/** The policy's MLP value (shape and normalization; θ is kept beside it). */
/**
 * A fresh policy for the experiment's policy spec: input normalization from
 * training states X (count·nIn), θ from the seeded sampler, and the inputs the
 * spec names in `ignoreInputs` (task.stateNames) hidden from the network.
 */
export function initialPolicyState(spec: ResolvedPolicySpec | undefined, task: Task, X: Float64Array, nOut: number, sampler: Sampler): PolicyState {
  if (!spec) throw internalError("this stage needs the experiment's policy (policy: policy.mlp({ hidden }))");
  const nIn = task.nx;
  const shape = mlpShape(nIn, spec.hidden, nOut);
  const theta = initParameters(shape, sampler, { initLogStd: spec.initLogStd });
  const indices = spec.ignoreInputs.map((name, k) => {
    const i = task.stateNames.indexOf(name);
    if (i < 0) throw internalError(`policy.ignoreInputs[${k}]: "${name}" is not a state of ${task.name} (${task.stateNames.join(", ")})`);
    return i;
  });
  const norm = ignoreInputs(shape, normalizationFrom(X, nIn), theta, indices);
  return { ...shape, inputMean: norm.inputMean, inputStd: norm.inputStd, theta };
}

export function mlpOf(p: PolicyState): MlpPolicy {
  return createPolicy({ nIn: p.nIn, nHidden: p.nHidden, nOut: p.nOut }, { inputMean: p.inputMean, inputStd: p.inputStd });
}
