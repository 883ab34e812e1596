import type { PushSpec, TerrainSpec } from "../dsl/experiment.js";
import type { Perturbation } from "../sim/mujoco.js";
import type { Cost } from "../trajopt/types.js";
import type { GroundProfile } from "./terrain.js";

export type { Perturbation } from "../sim/mujoco.js";
export type { GroundProfile } from "./terrain.js";

/**
 * When a rollout counts as fallen (evaluation; `hasFallen` in tasks/index.ts):
 * the root (torso centre) lower than `minHeightAboveGround` above the ground
 * directly below it, or the torso pitch x[pitchIndex] beyond ±maxAbsPitch.
 */
export interface FallCriteria {
  /** Metres, measured vertically from the ground under qpos.rootx. */
  readonly minHeightAboveGround: number;
  /** Radians. */
  readonly maxAbsPitch: number;
  /** Index in x of the torso pitch (qpos.rooty). */
  readonly pitchIndex: number;
}

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
  /** Index in x of the coordinate whose displacement is a rollout's distance (absent: 0, qpos.rootx; −1: none). */
  readonly positionIndex?: number;
  /** The papers' running cost l(x, u) (gps-math §1); on terrain its height term is relative to the ground. */
  readonly cost: Cost;
  // Environment (optional: the swimmer has none; the hopper and walker always set them, see
  // LeggedTask; read them through `taskGroundHeight`, `taskPerturbations`, `hasFallen`).
  /** The ground this task was built with, defaults filled in ({ kind: "flat" } for the plane). */
  readonly terrain?: TerrainSpec;
  /** The ground polyline, or null for the flat plane z = 0. */
  readonly ground?: GroundProfile | null;
  /** Ground height under x (0 on flat ground). */
  readonly groundHeight?: (x: number) => number;
  /** The pushes this task was built with, defaults filled in. */
  readonly pushes?: readonly PushSpec[];
  /** The pushes as simulator perturbations (control steps at this task's dt); pass them to the Simulator. */
  readonly perturbations?: readonly Perturbation[];
  /** Fall criteria for evaluation; null or absent where falling means nothing (the swimmer). */
  readonly fall?: FallCriteria | null;
}

/** A hopper or walker task: the environment fields are always there. */
export interface LeggedTask extends Task {
  readonly terrain: TerrainSpec;
  readonly ground: GroundProfile | null;
  readonly groundHeight: (x: number) => number;
  readonly pushes: readonly PushSpec[];
  readonly perturbations: readonly Perturbation[];
  readonly fall: FallCriteria;
}
