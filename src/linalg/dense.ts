/**
 * Small dense linear algebra on row-major Float64Arrays.
 *
 * Sizes here are tiny (state ≤ 18, action ≤ 6), so plain loops beat a library
 * call, and every routine writes into caller-owned storage: the iLQG passes
 * call these thousands of times per iteration without allocating.
 * A matrix of r rows and c columns stores entry (i, j) at [i * c + j].
 */

/** out = A (r×k) · B (k×c). `out` must not alias A or B. */
export function matMul(A: Float64Array, B: Float64Array, r: number, k: number, c: number, out: Float64Array, aOff = 0, bOff = 0, outOff = 0): void {
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[aOff + i * k + p] * B[bOff + p * c + j];
      out[outOff + i * c + j] = s;
    }
  }
}

/** out = Aᵀ (k×r → r×k given A is k×r) · B (k×c): out is r×c. */
export function matTMul(A: Float64Array, B: Float64Array, k: number, r: number, c: number, out: Float64Array, aOff = 0, bOff = 0, outOff = 0): void {
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[aOff + p * r + i] * B[bOff + p * c + j];
      out[outOff + i * c + j] = s;
    }
  }
}

/** out = A (r×c) · v (c). */
export function matVec(A: Float64Array, v: Float64Array, r: number, c: number, out: Float64Array, aOff = 0, vOff = 0, outOff = 0): void {
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += A[aOff + i * c + j] * v[vOff + j];
    out[outOff + i] = s;
  }
}

/** out = Aᵀ v, with A r×c: out has c entries. */
export function matTVec(A: Float64Array, v: Float64Array, r: number, c: number, out: Float64Array, aOff = 0, vOff = 0, outOff = 0): void {
  for (let j = 0; j < c; j++) {
    let s = 0;
    for (let i = 0; i < r; i++) s += A[aOff + i * c + j] * v[vOff + i];
    out[outOff + j] = s;
  }
}

/**
 * In-place Cholesky A = L Lᵀ of a symmetric n×n matrix; the lower triangle of
 * `a` becomes L and the strict upper triangle is zeroed. Returns false (leaving
 * `a` partly overwritten) when A is not positive definite.
 */
export function cholesky(a: Float64Array, n: number, off = 0): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[off + j * n + j];
    for (let p = 0; p < j; p++) d -= a[off + j * n + p] * a[off + j * n + p];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[off + j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[off + i * n + j];
      for (let p = 0; p < j; p++) s -= a[off + i * n + p] * a[off + j * n + p];
      a[off + i * n + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) a[off + i * n + j] = 0;
  }
  return true;
}

/** Solve L Lᵀ x = b in place for one right-hand side (b has n entries at bOff). */
export function choleskySolveVec(L: Float64Array, n: number, b: Float64Array, lOff = 0, bOff = 0): void {
  for (let i = 0; i < n; i++) {
    let s = b[bOff + i];
    for (let p = 0; p < i; p++) s -= L[lOff + i * n + p] * b[bOff + p];
    b[bOff + i] = s / L[lOff + i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[bOff + i];
    for (let p = i + 1; p < n; p++) s -= L[lOff + p * n + i] * b[bOff + p];
    b[bOff + i] = s / L[lOff + i * n + i];
  }
}

/** Solve L Lᵀ X = B in place for an n×c right-hand side B (row-major). */
export function choleskySolveMat(L: Float64Array, n: number, B: Float64Array, c: number, lOff = 0, bOff = 0): void {
  for (let col = 0; col < c; col++) {
    for (let i = 0; i < n; i++) {
      let s = B[bOff + i * c + col];
      for (let p = 0; p < i; p++) s -= L[lOff + i * n + p] * B[bOff + p * c + col];
      B[bOff + i * c + col] = s / L[lOff + i * n + i];
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = B[bOff + i * c + col];
      for (let p = i + 1; p < n; p++) s -= L[lOff + p * n + i] * B[bOff + p * c + col];
      B[bOff + i * c + col] = s / L[lOff + i * n + i];
    }
  }
}

/** out = (L Lᵀ)⁻¹ from a Cholesky factor: the identity solved column by column. */
export function choleskyInverse(L: Float64Array, n: number, out: Float64Array, lOff = 0, outOff = 0): void {
  for (let i = 0; i < n * n; i++) out[outOff + i] = 0;
  for (let i = 0; i < n; i++) out[outOff + i * n + i] = 1;
  choleskySolveMat(L, n, out, n, lOff, outOff);
}

/** Make a square matrix exactly symmetric: A ← (A + Aᵀ) / 2. */
export function symmetrize(a: Float64Array, n: number, off = 0): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (a[off + i * n + j] + a[off + j * n + i]);
      a[off + i * n + j] = v;
      a[off + j * n + i] = v;
    }
  }
}
