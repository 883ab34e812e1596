/** Helpers for checking analytic gradients against finite differences. */
import { expect } from "vitest";

/** max_k |a_k − b_k| / max_k |b_k|: error relative to the reference's scale. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  expect(s).toBeGreaterThan(0);
  return e / s;
}

/** Central finite differences of f at θ, step h. */
export function fdGradient(f: (theta: Float64Array) => number, theta: Float64Array, h = 1e-5): Float64Array {
  const t = Float64Array.from(theta);
  const g = new Float64Array(t.length);
  for (let k = 0; k < t.length; k++) {
    const v = t[k];
    t[k] = v + h;
    const fp = f(t);
    t[k] = v - h;
    const fm = f(t);
    t[k] = v;
    g[k] = (fp - fm) / (2 * h);
  }
  return g;
}
