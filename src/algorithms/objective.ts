/**
 * The objective iLQG minimizes for a condition (task cost, plus tracking) and
 * the motor noise relative to a demonstration. A leaf module of the stages.
 */
import { withTracking } from "../tasks/cost.js";
import type { Cost } from "../trajopt/types.js";
import type { Task } from "../tasks/types.js";
import { internalError, type ConditionState } from "./state.js";

/** The objective iLQG minimizes for one condition: task cost, plus tracking if any. */
export function objectiveFor(task: Task, c: ConditionState): Cost {
  if (!c.tracking) return task.cost;
  if (!c.demonstration) throw internalError("tracking needs the condition's demonstration");
  return withTracking(task.cost, c.demonstration.xs, c.demonstration.us, c.tracking.weight, c.tracking.stateWeight);
}

/**
 * Motor noise of the 2013 paper: per joint, `fraction` × the std over time of
 * the demonstration's torque on that joint.
 */
export function motorNoiseFrom(us: Float64Array, nu: number, fraction: number): Float64Array {
  const T = us.length / nu;
  const std = new Float64Array(nu);
  for (let j = 0; j < nu; j++) {
    let m = 0;
    for (let t = 0; t < T; t++) m += us[t * nu + j];
    m /= T;
    let v = 0;
    for (let t = 0; t < T; t++) v += (us[t * nu + j] - m) ** 2;
    std[j] = fraction * Math.sqrt(v / T);
  }
  return std;
}
