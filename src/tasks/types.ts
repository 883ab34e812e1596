import type { Cost } from "../trajopt/types.js";

/**
 * Which MuJoCo qpos/qvel entries make up the state x, in order:
 * x = [qpos[qpos[0]], …, qvel[qvel[0]], …]. For every task of this project
 * x is the whole of qpos followed by the whole of qvel (planar models with
 * slide/hinge joints only, so nq = nv and x matches MuJoCo's tangent space).
 */
export interface StateLayout {
  readonly qpos: readonly number[];
  readonly qvel: readonly number[];
}

/** A task: a MuJoCo model written for this project plus the papers' cost. */
export interface Task {
  readonly name: string;
  /** MJCF text of the model. */
  readonly mjcf: string;
  /** MuJoCo steps per control step: the control period dt is substeps × the MJCF timestep. */
  readonly substeps: number;
  /** Control period in seconds. */
  readonly dt: number;
  readonly nx: number;
  readonly nu: number;
  readonly stateLayout: StateLayout;
  /** Human-readable name of each state entry, e.g. "qpos.rootx". */
  readonly stateNames: readonly string[];
  readonly actionNames: readonly string[];
  /** The resting initial state (x of a model at rest in its nominal pose). */
  readonly restState: Float64Array;
  /** Index in x of the root's forward velocity and of the root height (or -1). */
  readonly forwardVelocityIndex: number;
  readonly heightIndex: number;
  /** The papers' running cost l(x, u) (gps-math §1). */
  readonly cost: Cost;
}
