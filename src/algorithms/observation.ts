/**
 * What the policy network sees. By default the state x itself (minus the
 * inputs the policy ignores). With `observation: "groundRelativeHeight"` the
 * root height is replaced by the height above the ground under the root, as in
 * the 2013 paper's generalization experiments ("the root height was only given
 * relative to the ground"): a policy trained on one ground then cannot tell
 * where it stands, only how high above the ground it is, and it cannot
 * perceive the slope.
 */
import type { PolicySpec } from "../dsl/experiment.js";
import type { Task } from "../tasks/types.js";
import { groundOf } from "../tasks/terrain.js";

/** Writes the observation of x[xOff…] into out[outOff…] (same length as x). */
export type Observer = (x: Float64Array, xOff: number, out: Float64Array, outOff: number) => void;

/** The observer of a task for a policy spec, or null where the observation is x itself. */
export function observerFor(spec: PolicySpec | undefined, task: Task): Observer | null {
  if (!spec?.observation || spec.observation === "state") return null;
  const hi = task.heightIndex;
  if (hi < 0) throw new Error(`policy.observation: "groundRelativeHeight" needs a task with a root height (${task.name} has none)`);
  const ground = task.groundHeight;
  if (!ground || !task.ground) return null; // the plane z = 0: relative and absolute height agree
  const n = task.nx;
  return (x, xOff, out, outOff) => {
    for (let i = 0; i < n; i++) out[outOff + i] = x[xOff + i];
    out[outOff + hi] = x[xOff + hi] - ground(x[xOff]);
  };
}

/** Observations of `rows` stacked states (row stride nx), as a new array; the states themselves if there is no observer. */
export function observeRows(observer: Observer | null, xs: Float64Array, rows: number, nx: number): Float64Array {
  if (!observer) return xs;
  const out = new Float64Array(rows * nx);
  for (let r = 0; r < rows; r++) observer(xs, r * nx, out, r * nx);
  return out;
}

/**
 * Turns ∂μ/∂o (m×n, row-major, at the state x[xOff…]) into ∂μ/∂x in place:
 * the chain rule through the observer, for the trajectory step of constrained
 * GPS. groundRelativeHeight: o_h = x_h − g(x_rootx), so column rootx gains
 * −g'(x_rootx) × column h. Null where the observation is x itself.
 */
export type ObservationChain = (x: Float64Array, xOff: number, J: Float64Array, m: number) => void;

export function observationChainFor(spec: PolicySpec | undefined, task: Task): ObservationChain | null {
  if (!observerFor(spec, task) || !task.ground) return null;
  const slope = groundOf(task.ground).slope;
  const hi = task.heightIndex;
  const n = task.nx;
  return (x, xOff, J, m) => {
    const g1 = slope(x[xOff]);
    for (let j = 0; j < m; j++) J[j * n] -= g1 * J[j * n + hi];
  };
}
