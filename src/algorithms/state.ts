/**
 * The run state that stages transform, and what a stage is.
 *
 * A run state is a plain immutable value (numbers, arrays, Float64Arrays),
 * so the store can serialize it exactly and digest it. A stage is a pure
 * function of (environment, state) where the state carries the generator:
 * it is written as a generator function that yields progress reports and
 * returns the next state with its metrics.
 */
import type { Experiment, StageSpec } from "../dsl/experiment.js";
import type { GeneratorState } from "../random/generator.js";
import { seedGenerator } from "../random/generator.js";
import type { Simulator } from "../sim/mujoco.js";
import type { Task } from "../tasks/types.js";
import type { IlqgSettings, IlqgTrajectory } from "../trajopt/ilqg.js";

/** Per-condition state of trajectory optimization. */
export interface ConditionState {
  /** Initial state x_0. */
  readonly x0: Float64Array;
  /** The current linear-Gaussian trajectory distribution, once initialized. */
  readonly trajectory: IlqgTrajectory | null;
  /** The demonstration tracked by the initial optimization, if any. */
  readonly tracking: { readonly xs: Float64Array; readonly us: Float64Array; readonly weight: number } | null;
  readonly settings: IlqgSettings | null;
}

export interface RunState {
  /** The seeded generator: every random draw of every stage comes from here. */
  readonly rng: GeneratorState;
  readonly conditions: readonly ConditionState[];
}

/**
 * A condition's world: its task (model, terrain, pushes, cost) and a MuJoCo
 * instance of it (deterministic: every use resets it). Conditions on the same
 * terrain share one world.
 */
export interface World {
  readonly task: Task;
  readonly sim: Simulator;
}

/** What a stage needs besides the state: fixed for the whole run. */
export interface StageEnv {
  readonly experiment: Experiment;
  readonly horizon: number;
  /** One world per condition, in the order of `experiment.conditions`. */
  readonly worlds: readonly World[];
}

export type Metrics = Readonly<Record<string, number | readonly number[]>>;

export interface StageProgress {
  /** Fraction of the stage done, in [0, 1]. */
  readonly fraction: number;
  readonly message: string;
  readonly metrics?: Metrics;
}

export interface StageOutcome {
  readonly state: RunState;
  readonly metrics: Metrics;
}

export type Stage<S extends StageSpec = StageSpec> = (
  env: StageEnv,
  spec: S,
  state: RunState,
) => Generator<StageProgress, StageOutcome, void>;

/** The state before stage 0: the seeded generator and each condition's x_0. */
export function initialRunState(experiment: Experiment, task: Task): RunState {
  const nq = task.stateLayout.qpos.length;
  const nv = task.stateLayout.qvel.length;
  const conditions = experiment.conditions.map((c, i): ConditionState => {
    let x0: Float64Array;
    if (c.kind === "rest") {
      x0 = Float64Array.from(task.restState);
    } else {
      if (c.qpos.length !== nq || c.qvel.length !== nv) {
        throw new Error(`conditions[${i}]: ${task.name} needs qpos of length ${nq} and qvel of length ${nv}, got ${c.qpos.length} and ${c.qvel.length}`);
      }
      x0 = Float64Array.from([...c.qpos, ...c.qvel]);
    }
    return { x0, trajectory: null, tracking: null, settings: null };
  });
  return { rng: seedGenerator(experiment.seed), conditions };
}
