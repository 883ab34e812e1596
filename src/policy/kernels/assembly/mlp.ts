/**
 * Batched kernels of the policy network (AssemblyScript, compiled to
 * WebAssembly with SIMD by `npm run build:kernels`; see ../README.md).
 *
 * Every function works on row blocks in the one linear memory that all
 * threads share: arguments are byte offsets and sizes, nothing is allocated,
 * nothing is kept between calls. Matrices are row-major Float64 with an
 * explicit leading dimension (elements per row). Column counts handed to the
 * GEMMs (q) are multiples of 4 and leading dimensions are even, so rows are
 * 16-byte aligned: the JavaScript side pads every block (../batched.ts).
 *
 * Floating point: IEEE double, no fused multiply-add, and every loop runs in
 * a fixed order, so a call's result depends only on its inputs (not on the
 * thread, not on what ran before).
 */

// ---------------------------------------------------------------------------
// GEMM micro-kernels

/**
 * C (p×q, ldc) = init + A (p×k, lda) · B (k×q, ldb).
 * init: the row vector bias[0…q) when bias ≠ 0, else 0 (accumulate = false)
 * or C itself (accumulate = true). q must be a multiple of 4.
 */
export function gemmNN(p: i32, q: i32, k: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32, bias: usize, accumulate: bool): void {
  const sa = <usize>lda << 3;
  const sb = <usize>ldb << 3;
  const sc = <usize>ldc << 3;
  let r = 0;
  for (; r + 4 <= p; r += 4) {
    const a0 = A + <usize>r * sa;
    const c0 = C + <usize>r * sc;
    for (let c = 0; c < q; c += 4) {
      const co = <usize>c << 3;
      let x00: v128, x01: v128, x10: v128, x11: v128, x20: v128, x21: v128, x30: v128, x31: v128;
      if (bias != 0) {
        x00 = v128.load(bias + co);
        x01 = v128.load(bias + co, 16);
        x10 = x00; x11 = x01; x20 = x00; x21 = x01; x30 = x00; x31 = x01;
      } else if (accumulate) {
        x00 = v128.load(c0 + co); x01 = v128.load(c0 + co, 16);
        x10 = v128.load(c0 + sc + co); x11 = v128.load(c0 + sc + co, 16);
        x20 = v128.load(c0 + 2 * sc + co); x21 = v128.load(c0 + 2 * sc + co, 16);
        x30 = v128.load(c0 + 3 * sc + co); x31 = v128.load(c0 + 3 * sc + co, 16);
      } else {
        x00 = f64x2.splat(0); x01 = x00; x10 = x00; x11 = x00; x20 = x00; x21 = x00; x30 = x00; x31 = x00;
      }
      let bp = B + co;
      let ap = a0;
      for (let i = 0; i < k; i++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const v0 = f64x2.splat(load<f64>(ap));
        const v1 = f64x2.splat(load<f64>(ap + sa));
        const v2 = f64x2.splat(load<f64>(ap + 2 * sa));
        const v3 = f64x2.splat(load<f64>(ap + 3 * sa));
        x00 = f64x2.add(x00, f64x2.mul(v0, b0)); x01 = f64x2.add(x01, f64x2.mul(v0, b1));
        x10 = f64x2.add(x10, f64x2.mul(v1, b0)); x11 = f64x2.add(x11, f64x2.mul(v1, b1));
        x20 = f64x2.add(x20, f64x2.mul(v2, b0)); x21 = f64x2.add(x21, f64x2.mul(v2, b1));
        x30 = f64x2.add(x30, f64x2.mul(v3, b0)); x31 = f64x2.add(x31, f64x2.mul(v3, b1));
        bp += sb;
        ap += 8;
      }
      v128.store(c0 + co, x00); v128.store(c0 + co, x01, 16);
      v128.store(c0 + sc + co, x10); v128.store(c0 + sc + co, x11, 16);
      v128.store(c0 + 2 * sc + co, x20); v128.store(c0 + 2 * sc + co, x21, 16);
      v128.store(c0 + 3 * sc + co, x30); v128.store(c0 + 3 * sc + co, x31, 16);
    }
  }
  for (; r < p; r++) {
    const a0 = A + <usize>r * sa;
    const c0 = C + <usize>r * sc;
    for (let c = 0; c < q; c += 4) {
      const co = <usize>c << 3;
      let x0: v128, x1: v128;
      if (bias != 0) {
        x0 = v128.load(bias + co);
        x1 = v128.load(bias + co, 16);
      } else if (accumulate) {
        x0 = v128.load(c0 + co);
        x1 = v128.load(c0 + co, 16);
      } else {
        x0 = f64x2.splat(0);
        x1 = x0;
      }
      let bp = B + co;
      for (let i = 0; i < k; i++) {
        const v = f64x2.splat(load<f64>(a0 + (<usize>i << 3)));
        x0 = f64x2.add(x0, f64x2.mul(v, v128.load(bp)));
        x1 = f64x2.add(x1, f64x2.mul(v, v128.load(bp, 16)));
        bp += sb;
      }
      v128.store(c0 + co, x0);
      v128.store(c0 + co, x1, 16);
    }
  }
}

/**
 * C (p×q, ldc) += Aᵀ · B with A stored k×p (lda) and B stored k×q (ldb): the
 * reduction over k (the rows of a block) of outer products, as gradients of
 * weights need it. p and q must be multiples of 4; C is added to.
 */
export function gemmTN(p: i32, q: i32, k: i32, A: usize, lda: i32, B: usize, ldb: i32, C: usize, ldc: i32): void {
  const sa = <usize>lda << 3;
  const sb = <usize>ldb << 3;
  const sc = <usize>ldc << 3;
  for (let r = 0; r < p; r += 4) {
    const c0 = C + <usize>r * sc;
    const ao = <usize>r << 3;
    for (let c = 0; c < q; c += 4) {
      const co = <usize>c << 3;
      let x00 = v128.load(c0 + co), x01 = v128.load(c0 + co, 16);
      let x10 = v128.load(c0 + sc + co), x11 = v128.load(c0 + sc + co, 16);
      let x20 = v128.load(c0 + 2 * sc + co), x21 = v128.load(c0 + 2 * sc + co, 16);
      let x30 = v128.load(c0 + 3 * sc + co), x31 = v128.load(c0 + 3 * sc + co, 16);
      let ap = A + ao;
      let bp = B + co;
      for (let i = 0; i < k; i++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        const a01 = v128.load(ap);
        const a23 = v128.load(ap, 16);
        const v0 = f64x2.shuffle(a01, a01, 0, 0);
        const v1 = f64x2.shuffle(a01, a01, 1, 1);
        const v2 = f64x2.shuffle(a23, a23, 0, 0);
        const v3 = f64x2.shuffle(a23, a23, 1, 1);
        x00 = f64x2.add(x00, f64x2.mul(v0, b0)); x01 = f64x2.add(x01, f64x2.mul(v0, b1));
        x10 = f64x2.add(x10, f64x2.mul(v1, b0)); x11 = f64x2.add(x11, f64x2.mul(v1, b1));
        x20 = f64x2.add(x20, f64x2.mul(v2, b0)); x21 = f64x2.add(x21, f64x2.mul(v2, b1));
        x30 = f64x2.add(x30, f64x2.mul(v3, b0)); x31 = f64x2.add(x31, f64x2.mul(v3, b1));
        ap += sa;
        bp += sb;
      }
      v128.store(c0 + co, x00); v128.store(c0 + co, x01, 16);
      v128.store(c0 + sc + co, x10); v128.store(c0 + sc + co, x11, 16);
      v128.store(c0 + 2 * sc + co, x20); v128.store(c0 + 2 * sc + co, x21, 16);
      v128.store(c0 + 3 * sc + co, x30); v128.store(c0 + 3 * sc + co, x31, 16);
    }
  }
}

/** out[0…q) += Σ_r A[r, 0…q) over `rows` rows (q even), rows in order. */
export function columnSums(rows: i32, q: i32, A: usize, lda: i32, out: usize): void {
  const sa = <usize>lda << 3;
  for (let c = 0; c < q; c += 2) {
    const co = <usize>c << 3;
    let s = v128.load(out + co);
    let ap = A + co;
    for (let r = 0; r < rows; r++) {
      s = f64x2.add(s, v128.load(ap));
      ap += sa;
    }
    v128.store(out + co, s);
  }
}

/** D[i] *= S[i] for `count` (even) contiguous elements. */
export function hadamard(D: usize, S: usize, count: i32): void {
  for (let i = 0; i < count; i += 2) {
    const o = <usize>i << 3;
    v128.store(D + o, f64x2.mul(v128.load(D + o), v128.load(S + o)));
  }
}

/** Zero `count` doubles at P. */
export function zero(P: usize, count: i32): void {
  memory.fill(P, 0, <usize>count << 3);
}

/**
 * Copy a rows×cols block from src (lds) to dst (ldd), or add it (add = true).
 */
export function copyBlock(src: usize, lds: i32, dst: usize, ldd: i32, rows: i32, cols: i32, add: bool): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * lds) << 3);
    const d = dst + (<usize>(r * ldd) << 3);
    if (add) for (let c = 0; c < cols; c++) store<f64>(d + (<usize>c << 3), load<f64>(d + (<usize>c << 3)) + load<f64>(s + (<usize>c << 3)));
    else for (let c = 0; c < cols; c++) store<f64>(d + (<usize>c << 3), load<f64>(s + (<usize>c << 3)));
  }
}

/**
 * XN (rows×ldxn) = (X − mean) / std row by row for the first n columns (X has
 * row stride ldx), zero in the padding columns n…ldxn. An infinite std (an
 * ignored input) gives ±0.
 */
export function normalizeRows(X: usize, ldx: i32, rows: i32, n: i32, mean: usize, std: usize, XN: usize, ldxn: i32): void {
  for (let r = 0; r < rows; r++) {
    const x = X + (<usize>(r * ldx) << 3);
    const o = XN + (<usize>(r * ldxn) << 3);
    for (let i = 0; i < n; i++) {
      const io = <usize>i << 3;
      store<f64>(o + io, (load<f64>(x + io) - load<f64>(mean + io)) / load<f64>(std + io));
    }
    for (let i = n; i < ldxn; i++) store<f64>(o + (<usize>i << 3), 0);
  }
}

// ---------------------------------------------------------------------------
// The soft rectifier

// exp(x) for x ≤ 0: x = k·ln2 + r, |r| ≤ ln2/2, e^r by the rational form of
// fdlibm's __ieee754_exp (error < 1 ulp), 2^k applied in two steps so that
// results down to the subnormals are right; x < −745.2 gives 0.
// @ts-ignore: decorator
@inline function expNonPositive(x: v128): v128 {
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.4426950408889634)));
  const hi = f64x2.sub(x, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01)));
  const lo = f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10));
  const r = f64x2.sub(hi, lo);
  const t = f64x2.mul(r, r);
  let p = f64x2.splat(4.13813679705723846039e-08);
  p = f64x2.add(f64x2.splat(-1.65339022054652515390e-06), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(6.61375632143793436117e-05), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(-2.77777777770155933842e-03), f64x2.mul(t, p));
  p = f64x2.add(f64x2.splat(1.66666666666666019037e-01), f64x2.mul(t, p));
  const c = f64x2.sub(r, f64x2.mul(t, p));
  const y = f64x2.sub(f64x2.splat(1.0), f64x2.sub(f64x2.sub(lo, f64x2.div(f64x2.mul(r, c), f64x2.sub(f64x2.splat(2.0), c))), hi));
  // 2^k = 2^k1 · 2^k2 with k1 = max(k, −1000) and k2 = k − k1 ∈ [−80, 0].
  const kc = f64x2.max(k, f64x2.splat(-1080.0));
  const k1 = f64x2.max(kc, f64x2.splat(-1000.0));
  const k2 = f64x2.sub(kc, k1);
  const e1 = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k1)), i64x2.splat(1023)), 52);
  const e2 = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k2)), i64x2.splat(1023)), 52);
  const v = f64x2.mul(f64x2.mul(y, e1), e2);
  return v128.andnot(v, f64x2.lt(x, f64x2.splat(-745.2)));
}

/**
 * softplus and sigmoid of one vector z: Z[o] ← softplus(z) = log(1 + e^z),
 * S[o] ← sigmoid(z) = dsoftplus/dz. With e = exp(−|z|) ∈ (0, 1]:
 * softplus = max(z, 0) + log1p(e), sigmoid = 1/(1+e) for z ≥ 0, e/(1+e)
 * otherwise. log1p(e) = log(y) + (e − (y − 1))/y with y = 1 + e rounded, and
 * log(y) = k·ln2 + 2·atanh(s), s = (y' − 1)/(y' + 1), y' = y or y/2 ∈ [1/√2, √2],
 * the atanh series evaluated by Estrin's scheme (short dependency chains).
 * Relative error below 1e-15 against log1p(exp(z)) (test/batched-kernels.test.ts).
 */
// @ts-ignore: decorator
@inline function softplusVector(z: v128, Z: usize, S: usize, o: usize): void {
  const one = f64x2.splat(1.0);
  const zero = f64x2.splat(0.0);
  const e = expNonPositive(f64x2.neg(f64x2.abs(z)));
  const y = f64x2.add(one, e);
  const inv = f64x2.div(one, y);
  const corr = f64x2.mul(f64x2.sub(e, f64x2.sub(y, one)), inv);
  const big = f64x2.gt(y, f64x2.splat(1.4142135623730951));
  const yr = v128.bitselect(f64x2.mul(y, f64x2.splat(0.5)), y, big);
  const kl = v128.and(big, f64x2.splat(0.6931471805599453));
  const s = f64x2.div(f64x2.sub(yr, one), f64x2.add(yr, one));
  const s2 = f64x2.mul(s, s);
  const s4 = f64x2.mul(s2, s2);
  const s8 = f64x2.mul(s4, s4);
  // q(u) = Σ_{k=0…11} u^k / (2k+1) at u = s² (|s| ≤ 0.172: the last term is below 1e-18).
  const a0 = f64x2.add(one, f64x2.mul(s2, f64x2.splat(1.0 / 3.0)));
  const a1 = f64x2.add(f64x2.splat(1.0 / 5.0), f64x2.mul(s2, f64x2.splat(1.0 / 7.0)));
  const a2 = f64x2.add(f64x2.splat(1.0 / 9.0), f64x2.mul(s2, f64x2.splat(1.0 / 11.0)));
  const a3 = f64x2.add(f64x2.splat(1.0 / 13.0), f64x2.mul(s2, f64x2.splat(1.0 / 15.0)));
  const a4 = f64x2.add(f64x2.splat(1.0 / 17.0), f64x2.mul(s2, f64x2.splat(1.0 / 19.0)));
  const a5 = f64x2.add(f64x2.splat(1.0 / 21.0), f64x2.mul(s2, f64x2.splat(1.0 / 23.0)));
  const b0 = f64x2.add(a0, f64x2.mul(s4, a1));
  const b1 = f64x2.add(a2, f64x2.mul(s4, a3));
  const b2 = f64x2.add(a4, f64x2.mul(s4, a5));
  const q = f64x2.add(b0, f64x2.mul(s8, f64x2.add(b1, f64x2.mul(s8, b2))));
  const log1pE = f64x2.add(f64x2.add(kl, f64x2.mul(f64x2.add(s, s), q)), corr);
  v128.store(Z + o, f64x2.add(f64x2.max(z, zero), log1pE));
  v128.store(S + o, v128.bitselect(inv, f64x2.mul(e, inv), f64x2.ge(z, zero)));
}

/**
 * In place over `count` (even) values: Z ← softplus(Z), S ← sigmoid(Z).
 * Four vectors per step, all loaded before any is stored, so their long
 * dependency chains overlap (about twice as fast as one at a time).
 */
export function softplus(Z: usize, S: usize, count: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const o = <usize>i << 3;
    const z0 = v128.load(Z + o);
    const z1 = v128.load(Z + o, 16);
    const z2 = v128.load(Z + o, 32);
    const z3 = v128.load(Z + o, 48);
    softplusVector(z0, Z, S, o);
    softplusVector(z1, Z, S, o + 16);
    softplusVector(z2, Z, S, o + 32);
    softplusVector(z3, Z, S, o + 48);
  }
  for (; i < count; i += 2) {
    const o = <usize>i << 3;
    softplusVector(v128.load(Z + o), Z, S, o);
  }
}

// ---------------------------------------------------------------------------
// Per-row losses (scalar: m is small)

/**
 * The weighted least-squares loss of constrained GPS over `rows` rows:
 * returns Σ_r ½ w_r eᵀ P_r e with e = μ_r − target_r (rows in order), and,
 * when D ≠ 0, writes dL/dμ_r = w_r · ½ (P_r + P_rᵀ) e into D (ldd; padding
 * columns m…ldd set to 0). μ at M (ldm), targets m per row, P m·m per row.
 */
export function fitLossRows(rows: i32, m: i32, M: usize, ldm: i32, targets: usize, P: usize, weights: usize, D: usize, ldd: i32): f64 {
  let loss = 0.0;
  const mm = m * m;
  for (let r = 0; r < rows; r++) {
    const mu = M + (<usize>(r * ldm) << 3);
    const tg = targets + (<usize>(r * m) << 3);
    const pr = P + (<usize>(r * mm) << 3);
    const w = load<f64>(weights + (<usize>r << 3));
    let q = 0.0;
    for (let a = 0; a < m; a++) {
      const ea = load<f64>(mu + (<usize>a << 3)) - load<f64>(tg + (<usize>a << 3));
      for (let b = 0; b < m; b++) {
        q += ea * load<f64>(pr + (<usize>(a * m + b) << 3)) * (load<f64>(mu + (<usize>b << 3)) - load<f64>(tg + (<usize>b << 3)));
      }
    }
    loss += 0.5 * w * q;
    if (D != 0) {
      const d = D + (<usize>(r * ldd) << 3);
      for (let a = 0; a < m; a++) {
        let g = 0.0;
        for (let b = 0; b < m; b++) {
          g += 0.5 * (load<f64>(pr + (<usize>(a * m + b) << 3)) + load<f64>(pr + (<usize>(b * m + a) << 3))) * (load<f64>(mu + (<usize>b << 3)) - load<f64>(tg + (<usize>b << 3)));
        }
        store<f64>(d + (<usize>a << 3), w * g);
      }
      for (let a = m; a < ldd; a++) store<f64>(d + (<usize>a << 3), 0);
    }
  }
  return loss;
}

/**
 * Gaussian log densities log N(u_r; μ_r, diag σ²) = c − ½ Σ_j ((u_rj − μ_rj)·invStd_j)²
 * into out[r] for `rows` rows (U: m per row; M: ldm per row).
 */
export function logDensityRows(rows: i32, m: i32, M: usize, ldm: i32, U: usize, invStd: usize, c: f64, out: usize): void {
  for (let r = 0; r < rows; r++) {
    const mu = M + (<usize>(r * ldm) << 3);
    const u = U + (<usize>(r * m) << 3);
    let q = 0.0;
    for (let j = 0; j < m; j++) {
      const e = (load<f64>(u + (<usize>j << 3)) - load<f64>(mu + (<usize>j << 3))) * load<f64>(invStd + (<usize>j << 3));
      q += e * e;
    }
    store<f64>(out + (<usize>r << 3), c - 0.5 * q);
  }
}

/**
 * The score-function rows: for coefficients coef_r, with e_rj = (u_rj − μ_rj)·invStd_j,
 * D[r, j] = scale · coef_r · e_rj · invStd_j (padding columns 0) and
 * gLogStd[j] += scale · coef_r · (e_rj² − 1) (rows in order) when gLogStd ≠ 0.
 * scale = +1 for ∇ log π, −1 for ∇(−log π). coef = 0 means every coef_r is `constCoef`.
 */
export function scoreRows(rows: i32, m: i32, M: usize, ldm: i32, U: usize, invStd: usize, coef: usize, constCoef: f64, scale: f64, D: usize, ldd: i32, gLogStd: usize): void {
  for (let r = 0; r < rows; r++) {
    const mu = M + (<usize>(r * ldm) << 3);
    const u = U + (<usize>(r * m) << 3);
    const d = D + (<usize>(r * ldd) << 3);
    const cr = coef != 0 ? load<f64>(coef + (<usize>r << 3)) : constCoef;
    for (let j = 0; j < m; j++) {
      const jo = <usize>j << 3;
      const is = load<f64>(invStd + jo);
      const e = (load<f64>(u + jo) - load<f64>(mu + jo)) * is;
      store<f64>(d + jo, scale * cr * e * is);
      if (gLogStd != 0) store<f64>(gLogStd + jo, load<f64>(gLogStd + jo) + scale * cr * (e * e - 1));
    }
    for (let j = m; j < ldd; j++) store<f64>(d + (<usize>j << 3), 0);
  }
}

/**
 * ∂μ/∂x for `rows` rows: J_r (m×n, row-major, into out + r·m·n) =
 * W2 · diag(S_r) · W1 · diag(1/std), with W2 stored m×ldh, S rows×ldh and
 * W1 as H rows of ldw (≥ n).
 */
export function jacobianRows(rows: i32, n: i32, H: i32, m: i32, W2: usize, ldh: i32, S: usize, W1: usize, ldw: i32, std: usize, out: usize): void {
  const mn = m * n;
  for (let r = 0; r < rows; r++) {
    const s = S + (<usize>(r * ldh) << 3);
    const J = out + (<usize>(r * mn) << 3);
    for (let j = 0; j < m; j++) {
      const jr = J + (<usize>(j * n) << 3);
      for (let i = 0; i < n; i++) store<f64>(jr + (<usize>i << 3), 0);
      for (let h = 0; h < H; h++) {
        const cf = load<f64>(W2 + (<usize>(j * ldh + h) << 3)) * load<f64>(s + (<usize>h << 3));
        if (cf == 0) continue;
        const w = W1 + (<usize>(h * ldw) << 3);
        for (let i = 0; i < n; i++) store<f64>(jr + (<usize>i << 3), load<f64>(jr + (<usize>i << 3)) + cf * load<f64>(w + (<usize>i << 3)));
      }
      for (let i = 0; i < n; i++) store<f64>(jr + (<usize>i << 3), load<f64>(jr + (<usize>i << 3)) / load<f64>(std + (<usize>i << 3)));
    }
  }
}
