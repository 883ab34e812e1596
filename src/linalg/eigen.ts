/**
 * Symmetric eigendecomposition by cyclic Jacobi rotations, for the small
 * matrices of trajectory optimization (n ≤ 20; action dimension ≤ 6 in
 * practice). Row-major Float64Array like ./dense.ts.
 *
 * Jacobi is slower than tridiagonal QR for large n but is short, needs no
 * special cases for repeated eigenvalues, produces exactly orthogonal-to-
 * rounding eigenvectors, and computes eigenvalues to high relative accuracy
 * for well-conditioned scalings. For n ≤ 20 a decomposition converges in
 * 5–10 sweeps.
 */

/** Sweeps after which we stop even if the off-diagonal part has not vanished (never reached in practice). */
const MAX_SWEEPS = 100;
/** Unit roundoff 2⁻⁵³. */
const EPS = 1.1102230246251565e-16;

/**
 * Scratch the decomposition works in: one n×n matrix. Reused across calls of
 * the same (or smaller) size.
 */
export function eigenWorkspace(n: number): Float64Array {
  return new Float64Array(n * n);
}

let sharedWork = new Float64Array(400);

/**
 * A = V diag(values) Vᵀ for a symmetric n×n matrix `a`.
 *
 * - `valuesOut` (length ≥ n) receives the eigenvalues sorted ascending.
 * - `vectorsOut` (n×n, row-major) receives V with the eigenvectors as
 *   COLUMNS: component i of eigenvector j is `vectorsOut[i * n + j]`. V is
 *   orthogonal to rounding.
 * - Only the symmetric part (A + Aᵀ)/2 of `a` is used; `a` is not modified
 *   unless it is passed as `work`.
 * - `work` (length ≥ n²) is scratch; when omitted a module-level buffer is used
 *   (grown once if n² exceeds it), so a call allocates nothing after the
 *   first. `vectorsOut` must not alias `a` or `work`.
 *
 * Returns the number of sweeps used. Rotations use the stable formulas of
 * Golub & Van Loan (Algorithm 8.5.1, sym.schur2); an off-diagonal entry is
 * zeroed without a rotation once |a_pq| ≤ ε·sqrt(|a_pp a_qq|), and iteration
 * stops when a whole sweep needs no rotation or the off-diagonal mass falls
 * below (ε²·‖A‖_F)².
 */
export function symmetricEigen(a: Float64Array, n: number, valuesOut: Float64Array, vectorsOut: Float64Array, work?: Float64Array): number {
  if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError(`symmetricEigen: bad size ${n}`);
  let W = work;
  if (W === undefined) {
    if (sharedWork.length < n * n) sharedWork = new Float64Array(n * n);
    W = sharedWork;
  }
  if (W.length < n * n) throw new RangeError(`symmetricEigen: work has ${W.length} entries, needs ${n * n}`);
  const V = vectorsOut;

  // W ← (A + Aᵀ)/2 (safe when W === a), V ← I.
  let frob2 = 0;
  for (let i = 0; i < n; i++) {
    W[i * n + i] = a[i * n + i];
    frob2 += a[i * n + i] * a[i * n + i];
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a[i * n + j] + a[j * n + i]);
      W[i * n + j] = v;
      W[j * n + i] = v;
      frob2 += 2 * v * v;
    }
  }
  for (let i = 0; i < n * n; i++) V[i] = 0;
  for (let i = 0; i < n; i++) V[i * n + i] = 1;

  const stopOff2 = EPS * EPS * EPS * EPS * frob2; // (ε² ‖A‖_F)²
  let sweeps = 0;
  for (; sweeps < MAX_SWEEPS; sweeps++) {
    let off2 = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off2 += W[p * n + q] * W[p * n + q];
    if (off2 === 0 || off2 <= stopOff2) break;

    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = W[p * n + q];
        if (apq === 0) continue;
        const app = W[p * n + p];
        const aqq = W[q * n + q];
        if (Math.abs(apq) <= EPS * Math.sqrt(Math.abs(app * aqq))) {
          W[p * n + q] = 0;
          W[q * n + p] = 0;
          continue;
        }
        rotated = true;
        // Choose t = tan θ, the smaller root of t² + 2τt − 1 = 0.
        const tau = (aqq - app) / (2 * apq);
        let t: number;
        if (Math.abs(tau) > 1e150) t = 0.5 / tau;
        else t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        // W ← W J (columns p, q), then W ← Jᵀ W (rows p, q); J = [[c, s], [−s, c]] on (p, q).
        for (let k = 0; k < n; k++) {
          const wkp = W[k * n + p];
          const wkq = W[k * n + q];
          W[k * n + p] = c * wkp - s * wkq;
          W[k * n + q] = s * wkp + c * wkq;
        }
        for (let k = 0; k < n; k++) {
          const wpk = W[p * n + k];
          const wqk = W[q * n + k];
          W[p * n + k] = c * wpk - s * wqk;
          W[q * n + k] = s * wpk + c * wqk;
        }
        // The exact values of the rotated 2×2 block (Golub & Van Loan).
        W[p * n + p] = app - t * apq;
        W[q * n + q] = aqq + t * apq;
        W[p * n + q] = 0;
        W[q * n + p] = 0;
        // V ← V J.
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p];
          const vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
    if (!rotated) break;
  }

  for (let i = 0; i < n; i++) valuesOut[i] = W[i * n + i];

  // Selection sort ascending, swapping the matching columns of V.
  for (let i = 0; i < n - 1; i++) {
    let best = i;
    for (let j = i + 1; j < n; j++) if (valuesOut[j] < valuesOut[best]) best = j;
    if (best !== i) {
      const tv = valuesOut[i];
      valuesOut[i] = valuesOut[best];
      valuesOut[best] = tv;
      for (let k = 0; k < n; k++) {
        const tmp = V[k * n + i];
        V[k * n + i] = V[k * n + best];
        V[k * n + best] = tmp;
      }
    }
  }
  return sweeps;
}
