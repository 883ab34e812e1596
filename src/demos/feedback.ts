import type { Controller } from "../trajopt/types.js";

/**
 * The feedback of a demonstration controller along its own demonstration:
 * K_t = ∂u/∂x at (t, x̄_t) by central differences (step h), so that
 * u_t ≈ ū_t + K_t (x − x̄_t) near the demonstration. The controllers keep
 * internal state (SIMBICON's gait state machine), so each K_t replays a fresh
 * controller along x̄_0..x̄_{t−1} first: O(T²) controller calls, no physics.
 * Returns K as T·nu·nx (row-major per step, like LinearGaussianController.K).
 */
export function demonstrationFeedback(make: () => Controller, xs: Float64Array, nx: number, nu: number, T: number, h = 1e-5): Float64Array {
  if (xs.length < (T + 1) * nx) throw new RangeError(`demonstrationFeedback: xs has ${xs.length} entries, expected ${(T + 1) * nx}`);
  const K = new Float64Array(T * nu * nx);
  const x = new Float64Array(nx);
  const up = new Float64Array(nu);
  const um = new Float64Array(nu);
  const scratch = new Float64Array(nu);
  const sides = [[1, up], [-1, um]] as const;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < nx; i++) {
      for (const [sign, out] of sides) {
        const c = make();
        for (let s = 0; s < t; s++) c(s, xs, s * nx, scratch, 0);
        x.set(xs.subarray(t * nx, t * nx + nx));
        x[i] += sign * h;
        c(t, x, 0, out, 0);
      }
      for (let j = 0; j < nu; j++) K[(t * nu + j) * nx + i] = (up[j] - um[j]) / (2 * h);
    }
  }
  return K;
}
