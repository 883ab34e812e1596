/**
 * Measurements of a linear-Gaussian trajectory distribution q(u|x) along its
 * linearized dynamics: how large its gains are, whether its closed loop
 * contracts, how wide its action and state distributions get, and how much
 * of it the actuators can realize. Pure functions over the stacked arrays of
 * ./types.ts; nothing here runs physics.
 *
 * Shapes: fx T·nx·nx, fu T·nx·nu, K T·nu·nx, cov T·nu·nu, ubar T·nu.
 */
import { EigenvalueDecomposition, Matrix } from "ml-matrix";
import { symmetricEigen } from "../linalg/eigen.js";

/** Largest singular value of the r×c block of M at off: √ of the largest eigenvalue of MᵀM (Jacobi). */
export function spectralNorm(M: Float64Array, r: number, c: number, off = 0): number {
  const G = new Float64Array(c * c);
  for (let i = 0; i < r; i++) {
    for (let a = 0; a < c; a++) {
      const v = M[off + i * c + a];
      if (v === 0) continue;
      for (let b = 0; b < c; b++) G[a * c + b] += v * M[off + i * c + b];
    }
  }
  const values = new Float64Array(c);
  symmetricEigen(G, c, values, new Float64Array(c * c), new Float64Array(c * c));
  let max = 0;
  for (let i = 0; i < c; i++) max = Math.max(max, values[i]);
  return Math.sqrt(max);
}

/** max |λ| over the eigenvalues of the n×n block of M at off (general, nonsymmetric). */
export function spectralRadius(M: Float64Array, n: number, off = 0): number {
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(M.subarray(off + i * n, off + (i + 1) * n)));
  const e = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: false });
  let r = 0;
  for (let i = 0; i < n; i++) r = Math.max(r, Math.hypot(e.realEigenvalues[i], e.imaginaryEigenvalues[i]));
  return r;
}

/** The closed-loop map of step t, out (nx·nx) = A_t + B_t K_t. */
export function closedLoop(fx: Float64Array, fu: Float64Array, K: Float64Array, t: number, nx: number, nu: number, out: Float64Array): void {
  const oA = t * nx * nx;
  const oB = t * nx * nu;
  const oK = t * nu * nx;
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nx; j++) {
      let s = fx[oA + i * nx + j];
      for (let a = 0; a < nu; a++) s += fu[oB + i * nu + a] * K[oK + a * nx + j];
      out[i * nx + j] = s;
    }
  }
}

/**
 * How much the closed loop can amplify a deviation over each window of
 * `window` steps: the spectral radius of (A+BK)_{t+w−1} ⋯ (A+BK)_t for
 * t = 0, window, 2·window, … (the product is renormalized as it grows, and
 * the scale put back in log space). Returns one radius per window.
 */
export function windowAmplification(fx: Float64Array, fu: Float64Array, K: Float64Array, T: number, nx: number, nu: number, window: number): number[] {
  const step = new Float64Array(nx * nx);
  const prod = new Float64Array(nx * nx);
  const tmp = new Float64Array(nx * nx);
  const out: number[] = [];
  for (let from = 0; from + window <= T; from += window) {
    let logScale = 0;
    prod.fill(0);
    for (let i = 0; i < nx; i++) prod[i * nx + i] = 1;
    for (let t = from; t < from + window; t++) {
      closedLoop(fx, fu, K, t, nx, nu, step);
      let maxAbs = 0;
      for (let i = 0; i < nx; i++) {
        for (let j = 0; j < nx; j++) {
          let s = 0;
          for (let k = 0; k < nx; k++) s += step[i * nx + k] * prod[k * nx + j];
          tmp[i * nx + j] = s;
          maxAbs = Math.max(maxAbs, Math.abs(s));
        }
      }
      if (maxAbs > 0) {
        for (let i = 0; i < nx * nx; i++) prod[i] = tmp[i] / maxAbs;
        logScale += Math.log(maxAbs);
      } else prod.set(tmp);
    }
    out.push(spectralRadius(prod, nx) * Math.exp(logScale));
  }
  return out;
}

/**
 * q's state covariance along the linearized dynamics, starting from Σ_0 = 0:
 *   Σ_{t+1} = (A+BK) Σ_t (A+BK)ᵀ + B (cov_t + diag(motor²)) Bᵀ
 * (q's own action noise plus the motor noise, both independent of x).
 * `covScale` multiplies q's covariance (0: the mean controller with motor
 * noise only). Returns (T+1)·nx·nx.
 */
export function stateCovariances(
  fx: Float64Array,
  fu: Float64Array,
  K: Float64Array,
  cov: Float64Array,
  motor: Float64Array | null,
  T: number,
  nx: number,
  nu: number,
  covScale = 1,
): Float64Array {
  const S = new Float64Array((T + 1) * nx * nx);
  const M = new Float64Array(nx * nx);
  const MS = new Float64Array(nx * nx);
  const N = new Float64Array(nu * nu);
  const BN = new Float64Array(nx * nu);
  for (let t = 0; t < T; t++) {
    closedLoop(fx, fu, K, t, nx, nu, M);
    const o = t * nx * nx;
    const o1 = (t + 1) * nx * nx;
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) {
        let s = 0;
        for (let k = 0; k < nx; k++) s += M[i * nx + k] * S[o + k * nx + j];
        MS[i * nx + j] = s;
      }
    }
    for (let a = 0; a < nu; a++) for (let b = 0; b < nu; b++) N[a * nu + b] = covScale * cov[t * nu * nu + a * nu + b] + (a === b && motor ? motor[a] ** 2 : 0);
    const oB = t * nx * nu;
    for (let i = 0; i < nx; i++) {
      for (let b = 0; b < nu; b++) {
        let s = 0;
        for (let a = 0; a < nu; a++) s += fu[oB + i * nu + a] * N[a * nu + b];
        BN[i * nu + b] = s;
      }
    }
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) {
        let s = 0;
        for (let k = 0; k < nx; k++) s += MS[i * nx + k] * M[j * nx + k];
        for (let b = 0; b < nu; b++) s += BN[i * nu + b] * fu[oB + j * nu + b];
        S[o1 + i * nx + j] = s;
      }
    }
    // Keep it exactly symmetric against round-off drift over long horizons.
    for (let i = 0; i < nx; i++) {
      for (let j = i + 1; j < nx; j++) {
        const v = 0.5 * (S[o1 + i * nx + j] + S[o1 + j * nx + i]);
        S[o1 + i * nx + j] = v;
        S[o1 + j * nx + i] = v;
      }
    }
  }
  return S;
}

/** Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const tt = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * tt - 1.453152027) * tt + 1.421413741) * tt - 0.284496736) * tt + 0.254829592) * tt * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/**
 * Expected share of q's sampled actions (at the nominal state) that fall
 * outside [lo, hi]: the mean over steps and joints of
 * P(u_j < lo_j) + P(u_j > hi_j) with u_j ~ N(ū_j, cov_jj).
 */
export function outsideRangeShare(ubar: Float64Array, cov: Float64Array, lo: Float64Array, hi: Float64Array, T: number, nu: number): number {
  let s = 0;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < nu; j++) {
      const m = ubar[t * nu + j];
      const sd = Math.sqrt(Math.max(cov[t * nu * nu + j * nu + j], 0));
      if (sd === 0) s += m < lo[j] || m > hi[j] ? 1 : 0;
      else s += (Number.isFinite(lo[j]) ? normalCdf((lo[j] - m) / sd) : 0) + (Number.isFinite(hi[j]) ? 1 - normalCdf((hi[j] - m) / sd) : 0);
    }
  }
  return s / (T * nu);
}

/** Frobenius norm of the n-entry block at off. */
export function frobenius(M: Float64Array, n: number, off = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += M[off + i] * M[off + i];
  return Math.sqrt(s);
}

/** ‖A_{t+1} − A_t‖_F / ‖A_t‖_F for t < T−1: how abruptly the linearization changes from one step to the next. */
export function jacobianJumps(fx: Float64Array, T: number, nx: number): Float64Array {
  const n = nx * nx;
  const out = new Float64Array(Math.max(T - 1, 0));
  for (let t = 0; t + 1 < T; t++) {
    let d = 0;
    for (let i = 0; i < n; i++) d += (fx[(t + 1) * n + i] - fx[t * n + i]) ** 2;
    out[t] = Math.sqrt(d) / Math.max(frobenius(fx, n, t * n), 1e-300);
  }
  return out;
}

/** Per step, ‖X_t − Y_t‖_F / ‖Y_t‖_F for two stacks of blocks of n entries. */
export function relativeDifferences(X: Float64Array, Y: Float64Array, T: number, n: number): Float64Array {
  const out = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let d = 0;
    for (let i = 0; i < n; i++) d += (X[t * n + i] - Y[t * n + i]) ** 2;
    out[t] = Math.sqrt(d) / Math.max(frobenius(Y, n, t * n), 1e-300);
  }
  return out;
}

/** Median of the finite entries (NaN when there are none). */
export function median(values: ArrayLike<number>): number {
  const a = Array.from(values).filter(Number.isFinite).sort((x, y) => x - y);
  if (a.length === 0) return Number.NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : 0.5 * (a[m - 1] + a[m]);
}
