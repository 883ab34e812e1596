/**
 * Small closed forms of constrained guided policy search (Levine & Koltun
 * 2014; gps-math §3 and §5):
 *
 *  - the conditional covariance A_t of the trajectory distribution, the
 *    symmetric positive definite root of equation (8)
 *        A Q_uu A + (λ − 1) A − λ M = 0,
 *  - its target M = Σ^π + (û − μ^π)(û − μ^π)ᵀ + (K − μ^π_x) S (K − μ^π_x)ᵀ,
 *  - the KL divergence between two Gaussians (the dual step, equation 2).
 *
 * All matrices are row-major Float64Array (see ../linalg/dense.ts). The hot
 * functions write into caller-owned outputs and a reusable workspace, so the
 * covariance pass allocates nothing per time step.
 */
import { cholesky, choleskyInverse, matMul, matTMul, symmetrize } from "../linalg/dense.js";
import { symmetricEigen } from "../linalg/eigen.js";

/**
 * Default relative floor on the eigenvalues b_i of B = Rᵀ A R (see
 * `solveConditionalCovariance`): b_i ≥ floor · max_j b_j (or ≥ floor when
 * every b_j is 0). B = I is the max-entropy covariance Q_uu⁻¹, so this keeps
 * A within a condition number of 1e12 of it in whitened coordinates.
 */
export const CONDITIONAL_COVARIANCE_FLOOR = 1e-12;

/** Scratch for `solveConditionalCovariance` at action dimension m. */
export interface ConditionalCovarianceWorkspace {
  readonly m: number;
  /** Cholesky factor R of Q_uu (lower), m×m. */
  readonly R: Float64Array;
  /** M R, m×m. */
  readonly MR: Float64Array;
  /** N = Rᵀ M R, m×m. */
  readonly N: Float64Array;
  /** Eigenvectors of N (columns), then W = R⁻ᵀ V in place, m×m. */
  readonly V: Float64Array;
  /** Eigenvalues n_i of N, then b_i, m. */
  readonly values: Float64Array;
  /** Jacobi scratch, m×m. */
  readonly eigenWork: Float64Array;
}

export function conditionalCovarianceWorkspace(m: number): ConditionalCovarianceWorkspace {
  return {
    m,
    R: new Float64Array(m * m),
    MR: new Float64Array(m * m),
    N: new Float64Array(m * m),
    V: new Float64Array(m * m),
    values: new Float64Array(m),
    eigenWork: new Float64Array(m * m),
  };
}

/**
 * The positive root b of b² + (λ − 1) b − λ n = 0 (n ≥ 0, λ ≥ 0), i.e.
 * b = ((1 − λ) + sqrt((λ − 1)² + 4 λ n)) / 2, evaluated without cancellation:
 * when λ > 1 the two terms nearly cancel for small n, so we use
 * b = 2 λ n / (sqrt(·) + (λ − 1)) (the product of the roots is −λ n).
 */
export function conditionalCovarianceRoot(n: number, lambda: number): number {
  const nn = n > 0 ? n : 0; // rounding can make an eigenvalue of a PSD matrix slightly negative
  const d = Math.hypot(lambda - 1, 2 * Math.sqrt(lambda * nn)); // sqrt((λ−1)² + 4λn) without overflow
  if (lambda <= 1) return 0.5 * ((1 - lambda) + d);
  const den = d + (lambda - 1);
  return den > 0 ? (2 * lambda * nn) / den : 0;
}

/**
 * Solves equation (8), A Q_uu A + (λ − 1) A − λ M = 0, for the symmetric
 * positive definite A (gps-math §3): with Q_uu = R Rᵀ (Cholesky, R lower) and
 * B = Rᵀ A R the equation becomes B² + (λ − 1) B − λ N = 0 with N = Rᵀ M R.
 * With N = V diag(n_i) Vᵀ (Jacobi), B = V diag(b_i) Vᵀ where b_i is the
 * positive root `conditionalCovarianceRoot(n_i, λ)`, and
 *     A = R⁻ᵀ B R⁻¹ = W diag(b_i) Wᵀ,  W = R⁻ᵀ V,
 * which is formed as a sum of outer products, so A is exactly symmetric and
 * positive definite whenever every b_i > 0.
 *
 * Inputs: Q_uu (m×m, symmetric positive definite), M (m×m, symmetric positive
 * semidefinite; only its symmetric part is used), λ ≥ 0 finite. Writes A into
 * `Aout` (m×m; it may alias Q_uu or M, which are read before it is written,
 * but not the workspace). Neither input is otherwise modified.
 *
 * Cases:
 *  - λ = 0: the constraint is inactive and A = Q_uu⁻¹, the max-entropy
 *    covariance of gps-math §2 (b_i = 1). This is returned directly from the
 *    Cholesky factor, without the eigendecomposition, and M is not read.
 *  - λ > 0 and M positive definite: every n_i > 0, so every b_i > 0.
 *  - M singular with 0 < λ < 1: in a null direction of N, b_i = 1 − λ > 0.
 *  - M singular with λ ≥ 1: the root in a null direction of N is b_i = 0, so
 *    the exact solution A is singular (the policy is deterministic along that
 *    direction and the KL constraint forces q to be too). A singular A cannot
 *    be used (A⁻¹ appears in equations 3–5), so each b_i is floored at
 *    `floor · max_j b_j` (`floor` when all b_j are 0). A then solves (8) up to
 *    a residual of about (λ − 1)·floor·max_j b_j in those directions, in the
 *    whitened coordinates of B.
 *
 * Returns false, leaving `Aout` untouched, when Q_uu is not positive definite
 * (its Cholesky factorization fails); true otherwise. Throws a RangeError for
 * a negative or non-finite λ.
 */
export function solveConditionalCovariance(
  Quu: Float64Array,
  M: Float64Array,
  lambda: number,
  Aout: Float64Array,
  ws: ConditionalCovarianceWorkspace,
  floor: number = CONDITIONAL_COVARIANCE_FLOOR,
): boolean {
  if (!(lambda >= 0) || !Number.isFinite(lambda)) throw new RangeError(`solveConditionalCovariance: λ must be finite and ≥ 0, got ${lambda}`);
  const { m, R, MR, N, V, values, eigenWork } = ws;
  for (let i = 0; i < m * m; i++) R[i] = Quu[i];
  symmetrize(R, m);
  if (!cholesky(R, m)) return false;

  if (lambda === 0) {
    choleskyInverse(R, m, Aout);
    symmetrize(Aout, m);
    return true;
  }

  // N = Rᵀ M R (M symmetrized on the fly: N uses only (M + Mᵀ)/2 since N is symmetrized after).
  matMul(M, R, m, m, m, MR);
  matTMul(R, MR, m, m, m, N);
  symmetrize(N, m);
  symmetricEigen(N, m, values, V, eigenWork);

  let bMax = 0;
  for (let i = 0; i < m; i++) {
    const b = conditionalCovarianceRoot(values[i], lambda);
    values[i] = b;
    if (b > bMax) bMax = b;
  }
  const bMin = floor * (bMax > 0 ? bMax : 1);
  for (let i = 0; i < m; i++) if (!(values[i] >= bMin)) values[i] = bMin;

  // W = R⁻ᵀ V in place: back substitution with the upper-triangular Rᵀ, column by column.
  for (let c = 0; c < m; c++) {
    for (let i = m - 1; i >= 0; i--) {
      let s = V[i * m + c];
      for (let p = i + 1; p < m; p++) s -= R[p * m + i] * V[p * m + c];
      V[i * m + c] = s / R[i * m + i];
    }
  }
  // A = W diag(b) Wᵀ.
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += V[i * m + k] * values[k] * V[j * m + k];
      Aout[i * m + j] = s;
      Aout[j * m + i] = s;
    }
  }
  return true;
}

/**
 * The target of equation (8),
 *     M = Σ^π + (û − μ^π)(û − μ^π)ᵀ + (K − μ^π_x) S (K − μ^π_x)ᵀ,
 * i.e. E_{x∼N(x̂,S)} of the second moment of π's action about q's conditional
 * mean, with π linearized at x̂: π(u|x) ≈ N(μ^π + μ^π_x (x − x̂), Σ^π) and
 * q(u|x) = N(û + K (x − x̂), A).
 *
 * `uHat` and `muPi` must be in the same coordinates: if μ^π is π's mean at x̂
 * minus the nominal ū (perturbation coordinates, gps-math §3), `uHat` is q's
 * conditional mean at x̂ minus ū too. Shapes: SigmaPi m×m, uHat and muPi m,
 * K and muPiX m×n, S n×n (symmetric), Mout m×m (must alias no input).
 * Allocation-free; the output is exactly symmetric.
 */
export function conditionalCovarianceTarget(
  SigmaPi: Float64Array,
  uHat: Float64Array,
  muPi: Float64Array,
  K: Float64Array,
  muPiX: Float64Array,
  S: Float64Array,
  m: number,
  n: number,
  Mout: Float64Array,
): void {
  for (let i = 0; i < m; i++) {
    const di = uHat[i] - muPi[i];
    for (let j = i; j < m; j++) {
      const v = 0.5 * (SigmaPi[i * m + j] + SigmaPi[j * m + i]) + di * (uHat[j] - muPi[j]);
      Mout[i * m + j] = v;
    }
  }
  // Upper triangle += D S Dᵀ with D = K − μ^π_x formed on the fly:
  // for row i, t_q = (D S)_iq, then M_ij += t_q D_jq for j ≥ i.
  for (let i = 0; i < m; i++) {
    for (let q = 0; q < n; q++) {
      let t = 0;
      for (let p = 0; p < n; p++) t += (K[i * n + p] - muPiX[i * n + p]) * S[p * n + q];
      for (let j = i; j < m; j++) Mout[i * m + j] += t * (K[j * n + q] - muPiX[j * n + q]);
    }
  }
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) Mout[j * m + i] = Mout[i * m + j];
}

/** log |L Lᵀ| = 2 Σ log L_ii from a Cholesky factor. */
export function logDetFromCholesky(L: Float64Array, n: number, off = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[off + i * n + i]);
  return 2 * s;
}

/**
 * log |A| of a symmetric positive definite n×n matrix by Cholesky. `work`
 * (n², default: freshly allocated) receives the factor; `a` is not modified.
 * Throws a RangeError when A is not positive definite.
 */
export function logDetSpd(a: Float64Array, n: number, work: Float64Array = new Float64Array(n * n)): number {
  for (let i = 0; i < n * n; i++) work[i] = a[i];
  symmetrize(work, n);
  if (!cholesky(work, n)) throw new RangeError("logDetSpd: matrix is not positive definite");
  return logDetFromCholesky(work, n);
}

/** Scratch for `gaussianKl` at dimension m: 2m² + m entries. */
export function gaussianKlWorkspace(m: number): Float64Array {
  return new Float64Array(2 * m * m + m);
}

/**
 * D_KL(N(μ1, Σ1) ‖ N(μ2, Σ2)) =
 *   ½ [ tr(Σ2⁻¹ Σ1) + (μ2 − μ1)ᵀ Σ2⁻¹ (μ2 − μ1) − m + log|Σ2| − log|Σ1| ]
 * (gps-math §5), without forming an inverse: with Σ1 = L1 L1ᵀ and
 * Σ2 = L2 L2ᵀ, tr(Σ2⁻¹ Σ1) = ‖L2⁻¹ L1‖_F², the quadratic form is
 * ‖L2⁻¹ (μ2 − μ1)‖², and the log-determinants are 2 Σ log diag L.
 *
 * Shapes: mu1, mu2 m; Sigma1, Sigma2 m×m symmetric positive definite (only
 * their symmetric parts are used; pass subarrays for offsets). `work`
 * (≥ 2m² + m entries, see `gaussianKlWorkspace`) is scratch; when omitted it
 * is allocated. Throws a RangeError when either covariance is not positive
 * definite. The result is clamped at 0 against rounding.
 */
export function gaussianKl(mu1: Float64Array, Sigma1: Float64Array, mu2: Float64Array, Sigma2: Float64Array, m: number, work: Float64Array = gaussianKlWorkspace(m)): number {
  const mm = m * m;
  if (work.length < 2 * mm + m) throw new RangeError(`gaussianKl: work has ${work.length} entries, needs ${2 * mm + m}`);
  const L1 = work; // [0, m²)
  const o2 = mm; // L2 at [m², 2m²)
  const od = 2 * mm; // d at [2m², 2m² + m)
  for (let i = 0; i < mm; i++) {
    L1[i] = Sigma1[i];
    work[o2 + i] = Sigma2[i];
  }
  symmetrize(L1, m);
  symmetrize(work, m, o2);
  if (!cholesky(L1, m)) throw new RangeError("gaussianKl: Sigma1 is not positive definite");
  if (!cholesky(work, m, o2)) throw new RangeError("gaussianKl: Sigma2 is not positive definite");

  // tr(Σ2⁻¹Σ1) = ‖X‖_F² with L2 X = L1; X overwrites L1 (X is lower triangular too,
  // so column c only needs rows i ≥ c). log|Σ1| is read from L1 first.
  const logDet1 = logDetFromCholesky(L1, m);
  const logDet2 = logDetFromCholesky(work, m, o2);
  let trace = 0;
  for (let c = 0; c < m; c++) {
    for (let i = c; i < m; i++) {
      let s = L1[i * m + c];
      for (let p = c; p < i; p++) s -= work[o2 + i * m + p] * L1[p * m + c];
      const x = s / work[o2 + i * m + i];
      L1[i * m + c] = x;
      trace += x * x;
    }
  }
  // Quadratic form: ‖y‖² with L2 y = μ2 − μ1.
  let quad = 0;
  for (let i = 0; i < m; i++) {
    let s = mu2[i] - mu1[i];
    for (let p = 0; p < i; p++) s -= work[o2 + i * m + p] * work[od + p];
    const y = s / work[o2 + i * m + i];
    work[od + i] = y;
    quad += y * y;
  }
  const kl = 0.5 * (trace + quad - m + logDet2 - logDet1);
  return kl > 0 ? kl : 0;
}
