/**
 * Samples of a trajectory distribution's Gaussian state marginals
 * q(x_t) = N(x̄_t, S_t), t = 0…T, each step drawn independently: the training
 * states of the 2014 paper's policy step ("training points x_ti are sampled
 * from q(x_t) at each time step"), as opposed to rollouts of q's controller in
 * the simulator. S_t comes from the trajectory step's covariance pass under q's
 * linearized dynamics; it is positive semi-definite (S_0 = 0 for a fixed
 * start), so the square root is the symmetric eigendecomposition's
 * V·diag(√λ) with eigenvalues at rounding level of zero set to zero, not a
 * Cholesky factor.
 */
import { symmetricEigen } from "../linalg/eigen.js";
import type { NormalSource } from "../random/generator.js";

/**
 * `count` samples, laid out like rollouts (sample k's states x_0…x_T at
 * k·(T+1)·n), x_t = x̄_t + noiseScale·S_t^½·ε with ε ~ N(0, I) from `normals`
 * (drawn sample by sample, step by step: the same generator state gives the
 * same states). xbar: (T+1)·n; S: (T+1)·n·n.
 */
export function sampleStateMarginals(xbar: Float64Array, S: Float64Array, T: number, n: number, count: number, normals: NormalSource, noiseScale = 1): Float64Array {
  if (xbar.length !== (T + 1) * n) throw new RangeError(`sampleStateMarginals: xbar has ${xbar.length} entries, expected (T+1)·n = ${(T + 1) * n}`);
  if (S.length !== (T + 1) * n * n) throw new RangeError(`sampleStateMarginals: S has ${S.length} entries, expected (T+1)·n·n = ${(T + 1) * n * n}`);
  const nn = n * n;
  // Square roots R_t = V diag(√λ⁺) (row-major n·n), one per step.
  const roots = new Float64Array((T + 1) * nn);
  const values = new Float64Array(n);
  const vectors = new Float64Array(nn);
  const work = new Float64Array(nn);
  for (let t = 0; t <= T; t++) {
    symmetricEigen(S.subarray(t * nn, (t + 1) * nn), n, values, vectors, work);
    // Eigenvalues within rounding of zero (relative to the largest) are zero: S_t's null space stays empty.
    const floor = n * Number.EPSILON * Math.max(values[n - 1] ?? 0, 0);
    for (let j = 0; j < n; j++) {
      const s = values[j] > floor ? Math.sqrt(values[j]) * noiseScale : 0;
      // vectorsOut holds eigenvector j as column j.
      for (let i = 0; i < n; i++) roots[t * nn + i * n + j] = vectors[i * n + j] * s;
    }
  }
  const out = new Float64Array(count * (T + 1) * n);
  const eps = new Float64Array(n);
  for (let k = 0; k < count; k++) {
    for (let t = 0; t <= T; t++) {
      for (let j = 0; j < n; j++) eps[j] = normals.normal();
      const o = (k * (T + 1) + t) * n;
      for (let i = 0; i < n; i++) {
        let v = xbar[t * n + i];
        for (let j = 0; j < n; j++) v += roots[t * nn + i * n + j] * eps[j];
        out[o + i] = v;
      }
    }
  }
  return out;
}
