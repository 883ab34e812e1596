/**
 * What every rollout-producing stage reports about a rollout: task cost,
 * forward distance, mean speed and the first fall. A leaf module: stages,
 * rollouts and the condition step import it, it imports no stage.
 */
import { trajectoryCost } from "../tasks/cost.js";
import { hasFallen } from "../tasks/index.js";
import type { Task } from "../tasks/types.js";

export function rolloutSummary(task: Task, T: number, xs: Float64Array, us: Float64Array) {
  const { nx } = task;
  // Displacement of the task's forward coordinate (qpos.rootx for the built-in tasks; none: 0).
  const p = task.positionIndex ?? 0;
  const distance = p < 0 ? 0 : xs[T * nx + p] - xs[p];
  return { distance, meanVelocity: distance / (T * task.dt), cost: trajectoryCost(task.cost, xs, us, T), fallStep: firstFall(task, xs, T) };
}

/**
 * First step at which the task has fallen (`hasFallen`: its fall criteria, and
 * a non-finite height or pitch counts as fallen), or null (tasks without
 * criteria never fall).
 */
export function firstFall(task: Task, xs: Float64Array, T: number): number | null {
  if (!task.fall || task.heightIndex < 0) return null;
  for (let t = 0; t <= T; t++) if (hasFallen(task, xs, t * task.nx)) return t;
  return null;
}

/** The metrics every rollout-producing stage reports, averaged and per condition. */
export function summarize(rows: readonly { cost: number; distance: number; meanVelocity: number; fallStep: number | null }[]) {
  return {
    cost: mean(rows.map((r) => r.cost)),
    costs: rows.map((r) => r.cost),
    distance: mean(rows.map((r) => r.distance)),
    distances: rows.map((r) => r.distance),
    meanVelocity: mean(rows.map((r) => r.meanVelocity)),
    falls: rows.filter((r) => r.fallStep !== null).length,
    /** −1 where the rollout did not fall. */
    fallSteps: rows.map((r) => r.fallStep ?? -1),
  };
}

export function mean(a: readonly number[]): number {
  return a.length === 0 ? 0 : a.reduce((s, v) => s + v, 0) / a.length;
}
