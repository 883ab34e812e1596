/**
 * Tasks by spec: the experiment's `task.kind` picks the model, and its
 * `terrain` and `pushes` (hopper and walker only) set the environment: the
 * ground in the MJCF and the cost, and the perturbations of the simulator.
 */
import type { TaskSpec } from "../dsl/experiment.js";
import { hopper, hopperTask } from "./hopper.js";
import { swimmerTask } from "./swimmer.js";
import { isFlatTerrain, normalizePushes, normalizeTerrain } from "./terrain.js";
import type { Task } from "./types.js";
import type { MjcfTaskSpec } from "../dsl/mjcf-task.js";
import { mjcfTask, TaskSpecError } from "./mjcf.js";
import { walker, walkerTask } from "./walker.js";

export { TaskSpecError } from "./mjcf.js";
export type { Task, LeggedTask, StateLayout, FallCriteria, Perturbation, GroundProfile } from "./types.js";
export { groundProfile, groundHeight, groundSlope, groundOf, pushPerturbations, pushWindow, mjcfBodyNames, normalizeTerrain, normalizePushes, PUSH_DEFAULT_BODY, PUSH_DEFAULT_DURATION } from "./terrain.js";

/** Tasks built from specs, by canonical key (kind + environment with defaults filled in). */
const cache = new Map<string, Task>();

/** Canonical JSON: object keys sorted, so equal specs give equal keys whatever their field order. */
function canonicalKey(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalKey).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * The task of a spec. The horizon does not change the task; terrain and
 * pushes do. Repeated calls with equal specs (same kind, same terrain and
 * pushes once defaults are filled in; field order does not matter) return the
 * same Task object. Terrain and pushes apply to the hopper and walker only.
 */
export function taskFor(spec: TaskSpec): Task {
  if (spec.kind === "mjcf") return declaredTask(spec);
  const terrain = normalizeTerrain(spec.terrain);
  const pushes = normalizePushes(spec.pushes);
  const plain = isFlatTerrain(terrain) && pushes.length === 0;
  if (spec.kind === "swimmer") {
    if (!plain) throw new Error("task: terrain and pushes apply to the hopper and walker only, not the swimmer");
    return swimmerTask;
  }
  if (plain) return spec.kind === "hopper" ? hopper : walker;
  const key = canonicalKey({ kind: spec.kind, terrain, pushes });
  let task = cache.get(key);
  if (!task) {
    task = spec.kind === "hopper" ? hopperTask({ terrain, pushes }) : walkerTask({ terrain, pushes });
    cache.set(key, task);
  }
  return task;
}

/** A declared model's task, built once per distinct spec (the horizon aside). */
function declaredTask(spec: MjcfTaskSpec): Task {
  if (spec.xml === undefined) {
    throw new TaskSpecError(`task.path: the model file ${spec.path ?? "(none)"} has not been read into the experiment (load experiment files with loadExperimentFile, or give the MJCF text as task.xml)`);
  }
  const { horizon: _horizon, ...identity } = spec;
  const key = canonicalKey(identity);
  let task = cache.get(key);
  if (!task) {
    task = mjcfTask({ ...spec, xml: spec.xml });
    cache.set(key, task);
  }
  return task;
}

/** Ground height under x for any task (0 where the task has no terrain). */
export function taskGroundHeight(task: Task, x: number): number {
  return task.groundHeight ? task.groundHeight(x) : 0;
}

/**
 * Whether the state x (at xOff) has fallen by the task's criteria: the root
 * height above the ground under qpos.rootx (x[heightIndex] − ground(x[0]))
 * below `fall.minHeightAboveGround`, or |x[fall.pitchIndex]| above
 * `fall.maxAbsPitch`; a non-finite height or pitch counts as fallen. Tasks
 * without criteria (the swimmer) never fall.
 */
export function hasFallen(task: Task, x: Float64Array | readonly number[], xOff = 0): boolean {
  const fall = task.fall;
  if (!fall || task.heightIndex < 0) return false;
  const height = x[xOff + task.heightIndex] - taskGroundHeight(task, x[xOff]);
  // A task may judge falls by height alone (pitchIndex −1).
  const pitch = fall.pitchIndex < 0 ? 0 : x[xOff + fall.pitchIndex];
  if (!Number.isFinite(height) || !Number.isFinite(pitch)) return true;
  return height < fall.minHeightAboveGround || Math.abs(pitch) > fall.maxAbsPitch;
}
