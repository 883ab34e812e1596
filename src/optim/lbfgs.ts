/**
 * Limited-memory BFGS with a strong-Wolfe line search.
 *
 * Used for the policy step of guided policy search (Levine & Koltun 2014,
 * §3.2) and for the importance-sampled policy objective (Levine & Koltun
 * 2013). Everything here is deterministic: no randomness, a fixed order of
 * floating-point operations, so the same objective and start give a
 * bit-identical result.
 *
 * Algorithm (Nocedal & Wright, "Numerical Optimization", 2nd ed.):
 *  - search direction from the two-loop recursion (Alg. 7.4) with the initial
 *    inverse Hessian H₀ = γI, γ = sᵀy / yᵀy from the newest pair (eq. 7.20);
 *  - pairs with sᵀy ≤ ε‖s‖‖y‖ are not stored (curvature safeguard), so the
 *    implicit inverse Hessian stays positive definite;
 *  - step length from a strong-Wolfe line search: bracketing (Alg. 3.5) then
 *    zoom (Alg. 3.6), trial steps from safeguarded cubic interpolation;
 *  - while the memory is empty (the first iteration, or after a reset) the
 *    first trial step is 1/‖g‖₂, i.e. a unit-length move along −g;
 *  - a trial point where f or ∇f is not finite is treated as "too far": the
 *    line search backtracks towards the last finite point.
 *
 * Every accepted step satisfies the sufficient-decrease (Armijo) condition, so
 * f decreases strictly and the returned point is never worse than x0.
 *
 * Storage: all work arrays are allocated once per call (O(m·n)); iterations
 * allocate nothing. The objective receives internal buffers as `x` and
 * `gradOut`: it must not modify `x` nor keep either array after returning.
 */

export interface LbfgsOptions {
  /** Upper bound on accepted steps (line searches). 0 evaluates x0 only. */
  maxIterations: number;
  /** Number of (s, y) pairs kept. Default 10. */
  memory?: number;
  /** Stop when ‖∇f‖∞ ≤ this. Default 1e-6. */
  gradientTolerance?: number;
  /**
   * Stop when an accepted step lowers f by at most
   * tol · max(|f_prev|, |f|, 1). Default 0 (disabled).
   */
  relativeFunctionTolerance?: number;
  /** Objective evaluations allowed per line search. Default 25. */
  maxLineSearchSteps?: number;
  /** Sufficient-decrease constant, 0 < c1 < c2. Default 1e-4. */
  c1?: number;
  /** Curvature constant (strong Wolfe), c1 < c2 < 1. Default 0.9. */
  c2?: number;
  /**
   * "strongWolfe" (default): bracketing and zoom until |φ'(α)| ≤ −c2·φ'(0).
   * "backtracking": accept the first step with sufficient decrease, trying
   * α = 1 (the quasi-Newton step) and then interpolated shorter ones; a step
   * whose (s, y) pair fails the curvature test is taken but not stored. Fewer
   * evaluations where the objective is rough and long steps overshoot.
   */
  lineSearch?: "strongWolfe" | "backtracking";
  /**
   * Curvature pairs from an earlier run (`LbfgsResult.memory`) to warm-start
   * the inverse-Hessian approximation. Only the newest `memory` pairs are used.
   */
  initialMemory?: LbfgsMemory;
}

/** Returns f(x) and writes ∇f(x) into `gradOut` (same length as x). */
export type Objective = (x: Float64Array, gradOut: Float64Array) => number;

/**
 * The curvature pairs of the inverse-Hessian approximation: `count` pairs,
 * oldest first, stored row-major (pair k occupies [k·n, (k+1)·n)).
 * Plain typed arrays, so it serializes with the rest of a checkpoint.
 */
export interface LbfgsMemory {
  n: number;
  count: number;
  s: Float64Array;
  y: Float64Array;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  /** ‖∇f(x)‖∞ at the returned point. */
  gradientNorm: number;
  /** Accepted steps. */
  iterations: number;
  /** Objective calls, including the one at x0. */
  evaluations: number;
  /**
   * Where they went: calls beyond a line search's first trial (bracketing and
   * zoom), and calls spent on line searches that found no lower point
   * (including a failed steepest-descent retry). evaluations = 1 + accepted
   * line searches' first trials + extraTrials + failedSearches' calls.
   */
  extraTrials: number;
  failedSearchEvaluations: number;
  /** f at x0, then after every accepted step (iterations + 1 values). */
  history: Float64Array;
  converged: boolean;
  reason: "gradient" | "function" | "maxIterations" | "lineSearch";
  /** Curvature pairs at exit (a copy), for warm starts. */
  memory: LbfgsMemory;
}

/** Relative curvature threshold: store (s, y) only if sᵀy > ε‖s‖‖y‖. */
const CURVATURE_EPS = 1e-10;
const EPS = Number.EPSILON;

function dot(a: Float64Array, b: Float64Array, n: number, aOff = 0, bOff = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
  return s;
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (!(v <= m)) m = v; // NaN propagates as NaN
  }
  return m;
}

function allFinite(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/**
 * Minimizer of the cubic interpolating (a1, f1, d1) and (a2, f2, d2), where
 * d is the slope. NaN when the cubic has no local minimizer (N&W eq. 3.59).
 */
function cubicMinimizer(a1: number, f1: number, d1: number, a2: number, f2: number, d2: number): number {
  const e1 = d1 + d2 - (3 * (f1 - f2)) / (a1 - a2);
  const rad = e1 * e1 - d1 * d2;
  if (!(rad >= 0)) return NaN;
  const e2 = Math.sign(a2 - a1) * Math.sqrt(rad);
  const den = d2 - d1 + 2 * e2;
  if (den === 0) return NaN;
  return a2 - ((a2 - a1) * (d2 + e2 - e1)) / den;
}

/** Minimizer of the quadratic through (a1, f1) with slope d1 and (a2, f2). */
function quadraticMinimizer(a1: number, f1: number, d1: number, a2: number, f2: number): number {
  const h = a2 - a1;
  const curv = f2 - f1 - d1 * h; // = c·h² with c the quadratic's half-curvature
  if (!(curv > 0)) return NaN;
  return a1 - (d1 * h * h) / (2 * curv);
}

function checkOptions(n: number, o: LbfgsOptions, m: number, c1: number, c2: number, maxLs: number): void {
  if (!Number.isInteger(o.maxIterations) || o.maxIterations < 0) throw new RangeError(`lbfgs: maxIterations must be a non-negative integer, got ${o.maxIterations}`);
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`lbfgs: memory must be a positive integer, got ${m}`);
  if (!Number.isInteger(maxLs) || maxLs < 1) throw new RangeError(`lbfgs: maxLineSearchSteps must be a positive integer, got ${maxLs}`);
  if (!(c1 > 0 && c1 < c2 && c2 < 1)) throw new RangeError(`lbfgs: need 0 < c1 < c2 < 1, got c1=${c1}, c2=${c2}`);
  const gt = o.gradientTolerance, ft = o.relativeFunctionTolerance;
  if (gt !== undefined && !(gt >= 0)) throw new RangeError(`lbfgs: gradientTolerance must be ≥ 0, got ${gt}`);
  if (ft !== undefined && !(ft >= 0)) throw new RangeError(`lbfgs: relativeFunctionTolerance must be ≥ 0, got ${ft}`);
  const mem = o.initialMemory;
  if (mem !== undefined) {
    if (mem.n !== n) throw new RangeError(`lbfgs: initialMemory has n=${mem.n}, problem has n=${n}`);
    if (!Number.isInteger(mem.count) || mem.count < 0 || mem.s.length < mem.count * n || mem.y.length < mem.count * n) {
      throw new RangeError("lbfgs: initialMemory is malformed");
    }
  }
}

/** Minimizes `objective` from `x0` (not modified). Throws if f or ∇f is not finite at x0. */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions): LbfgsResult {
  const n = x0.length;
  const m = options.memory ?? 10;
  const gtol = options.gradientTolerance ?? 1e-6;
  const ftol = options.relativeFunctionTolerance ?? 0;
  const maxLs = options.maxLineSearchSteps ?? 25;
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxIter = options.maxIterations;
  checkOptions(n, options, m, c1, c2, maxLs);

  // ---- all storage for the whole run ----
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const d = new Float64Array(n); // search direction
  const xt = new Float64Array(n); // latest trial point / its gradient
  const gt = new Float64Array(n);
  const xLo = new Float64Array(n); // best Armijo point of the current line search
  const gLo = new Float64Array(n);
  const S = new Float64Array(m * n); // ring buffer of pairs
  const Y = new Float64Array(m * n);
  const rho = new Float64Array(m);
  const alphas = new Float64Array(m);
  let head = 0; // slot the next pair is written to
  let count = 0;
  let gamma = 1;
  let evaluations = 0;
  let extraTrials = 0;
  let failedSearchEvaluations = 0;
  const history = new Float64Array(maxIter + 1);

  const storePair = (sOff: number, sy: number, yy: number): void => {
    rho[sOff / n] = 1 / sy;
    gamma = sy / yy;
    head = (head + 1) % m;
    if (count < m) count++;
  };

  // Warm start: load the newest min(m, count) pairs that pass the safeguard.
  const init = options.initialMemory;
  if (init !== undefined) {
    for (let k = Math.max(0, init.count - m); k < init.count; k++) {
      const off = head * n;
      for (let i = 0; i < n; i++) {
        S[off + i] = init.s[k * n + i];
        Y[off + i] = init.y[k * n + i];
      }
      const sy = dot(S, Y, n, off, off), ss = dot(S, S, n, off, off), yy = dot(Y, Y, n, off, off);
      if (Number.isFinite(sy) && sy > CURVATURE_EPS * Math.sqrt(ss * yy)) storePair(off, sy, yy);
    }
  }

  let f = objective(x, g);
  evaluations++;
  if (!Number.isFinite(f) || !allFinite(g)) {
    throw new RangeError(`lbfgs: objective or gradient not finite at x0 (f=${f})`);
  }

  const exportMemory = (): LbfgsMemory => {
    const s = new Float64Array(count * n), y = new Float64Array(count * n);
    for (let k = 0; k < count; k++) {
      const src = ((head - count + k + m) % m) * n;
      for (let i = 0; i < n; i++) {
        s[k * n + i] = S[src + i];
        y[k * n + i] = Y[src + i];
      }
    }
    return { n, count, s, y };
  };
  const finish = (iterations: number, reason: LbfgsResult["reason"]): LbfgsResult => ({
    x: Float64Array.from(x),
    f,
    gradientNorm: infNorm(g),
    iterations,
    evaluations,
    extraTrials,
    failedSearchEvaluations,
    history: history.slice(0, iterations + 1),
    converged: reason === "gradient" || reason === "function",
    reason,
    memory: exportMemory(),
  });

  // ---- line search along d from (x, f, g) ----
  // Outputs of the line search (closure state: no per-iteration objects).
  let trialSlope = 0; // φ'(α) of the latest finite trial
  let lsF = 0; // f at the accepted point
  let lsSteps = 0;
  let loAlpha = 0; // best Armijo point so far (α > 0 once found)
  let loF = 0;

  /** φ(α) = f(x + α d); writes xt, gt, trialSlope. NaN when f or φ' is not finite. */
  const phi = (a: number): number => {
    for (let i = 0; i < n; i++) xt[i] = x[i] + a * d[i];
    const ft = objective(xt, gt);
    evaluations++;
    lsSteps++;
    if (!Number.isFinite(ft)) return NaN;
    const slope = dot(gt, d, n);
    if (!Number.isFinite(slope)) return NaN;
    trialSlope = slope;
    return ft;
  };
  const recordLo = (a: number, fa: number): void => {
    if (loAlpha === 0 || fa < loF) {
      loAlpha = a;
      loF = fa;
      xLo.set(xt);
      gLo.set(gt);
    }
  };

  // Per-line-search constants, set by lineSearch (closure state).
  let f0 = 0; // φ(0)
  let d0 = 0; // φ'(0) < 0
  let dInf = 0; // ‖d‖∞, ‖x‖∞: for the "steps no longer move x" test
  let xInf = 0;
  const armijo = (a: number, fa: number): boolean => fa <= f0 + c1 * a * d0;
  const curvatureOk = (s: number): boolean => Math.abs(s) <= -c2 * d0;
  const negligible = (da: number): boolean => da * dInf <= EPS * Math.max(1, xInf);

  /** Zoom (Alg. 3.6) on the bracket [alo, ahi] (either order); fhi may be NaN. 1 on a strong-Wolfe point. */
  const zoom = (alo: number, flo: number, dlo: number, ahi: number, fhi: number, dhi: number): number => {
    while (lsSteps < maxLs) {
      const w = ahi - alo;
      const aw = Math.abs(w);
      if (aw <= EPS * Math.max(Math.abs(alo), Math.abs(ahi)) || negligible(aw)) break;
      let a = NaN;
      if (Number.isFinite(fhi)) {
        a = cubicMinimizer(alo, flo, dlo, ahi, fhi, dhi);
        if (!Number.isFinite(a)) a = quadraticMinimizer(alo, flo, dlo, ahi, fhi);
      }
      const left = Math.min(alo, ahi), right = Math.max(alo, ahi);
      if (!Number.isFinite(a)) a = alo + 0.5 * w;
      else a = Math.min(Math.max(a, left + 0.1 * aw), right - 0.1 * aw);
      const fa = phi(a);
      if (Number.isNaN(fa)) {
        ahi = a;
        fhi = NaN;
        dhi = NaN;
        continue;
      }
      const sa = trialSlope;
      if (!armijo(a, fa) || fa >= flo) {
        ahi = a;
        fhi = fa;
        dhi = sa;
        continue;
      }
      recordLo(a, fa);
      if (curvatureOk(sa)) {
        lsF = fa;
        return 1;
      }
      if (sa * w >= 0) {
        ahi = alo;
        fhi = flo;
        dhi = dlo;
      }
      alo = a;
      flo = fa;
      dlo = sa;
    }
    return 0;
  };

  /**
   * Backtracking (Armijo) line search along d, first trial step a0: 1 with
   * the first sufficient-decrease point (left in xt/gt, f in lsF), 0 if none.
   */
  const backtrack = (phi0: number, slope0: number, a0: number): number => {
    f0 = phi0;
    d0 = slope0;
    dInf = infNorm(d);
    xInf = infNorm(x);
    lsSteps = 0;
    let a = a0;
    while (lsSteps < maxLs) {
      const fa = phi(a);
      if (!Number.isNaN(fa) && armijo(a, fa)) {
        lsF = fa;
        return 1;
      }
      // The minimizer of the quadratic through φ(0), φ'(0) and φ(α), kept in [0.1α, 0.5α].
      let next = Number.isNaN(fa) ? 0.5 * a : quadraticMinimizer(0, f0, d0, a, fa);
      if (!Number.isFinite(next)) next = 0.5 * a;
      next = Math.min(Math.max(next, 0.1 * a), 0.5 * a);
      if (negligible(next)) break;
      a = next;
    }
    return 0;
  };

  /**
   * Strong-Wolfe line search along d from (x, f, g), first trial step a0.
   * Returns 1 if a strong-Wolfe point was found (left in xt/gt, f in lsF),
   * 2 if only a sufficient-decrease point was found (left in xLo/gLo, f in
   * lsF), 0 if no point with f below φ(0) was found.
   */
  const lineSearch = (phi0: number, slope0: number, a0: number): number => {
    if (options.lineSearch === "backtracking") return backtrack(phi0, slope0, a0);
    f0 = phi0;
    d0 = slope0;
    dInf = infNorm(d);
    xInf = infNorm(x);
    lsSteps = 0;
    loAlpha = 0;
    loF = f0;

    // Bracketing (Alg. 3.5).
    let aPrev = 0, fPrev = f0, sPrev = d0;
    let a = a0;
    let aBad = Infinity; // smallest step known to give a non-finite value
    let status = 0;
    while (lsSteps < maxLs) {
      const fa = phi(a);
      if (Number.isNaN(fa)) {
        // Non-finite: backtrack halfway towards the last finite trial.
        aBad = a;
        a = aPrev + 0.5 * (a - aPrev);
        if (!(a > aPrev) || negligible(a - aPrev)) break;
        continue;
      }
      const sa = trialSlope;
      if (!armijo(a, fa) || (aPrev > 0 && fa >= fPrev)) {
        status = zoom(aPrev, fPrev, sPrev, a, fa, sa);
        break;
      }
      recordLo(a, fa);
      if (curvatureOk(sa)) {
        lsF = fa;
        return 1;
      }
      if (sa >= 0) {
        status = zoom(a, fa, sa, aPrev, fPrev, sPrev);
        break;
      }
      // Still descending: extrapolate, staying short of any non-finite step.
      const stepLen = a - aPrev;
      let lo = a + 0.1 * stepLen;
      let hi = a + 4 * stepLen;
      if (aBad < Infinity) {
        hi = Math.min(hi, a + 0.5 * (aBad - a));
        lo = Math.min(lo, hi);
      }
      let next = cubicMinimizer(aPrev, fPrev, sPrev, a, fa, sa);
      if (!Number.isFinite(next) || next <= a) next = hi;
      next = Math.min(Math.max(next, lo), hi);
      aPrev = a;
      fPrev = fa;
      sPrev = sa;
      a = next;
    }
    if (status === 1) return 1;
    if (loAlpha > 0 && loF < f0) {
      lsF = loF;
      return 2;
    }
    return 0;
  };

  // ---- main loop ----
  let iterations = 0;
  history[0] = f;
  if (!(infNorm(g) > gtol)) return finish(0, "gradient");
  if (maxIter === 0) return finish(0, "maxIterations");

  for (;;) {
    // d = −H g by the two-loop recursion.
    for (let i = 0; i < n; i++) d[i] = g[i];
    for (let k = 0; k < count; k++) {
      const j = (head - 1 - k + m) % m;
      const a = rho[j] * dot(S, d, n, j * n, 0);
      alphas[j] = a;
      const off = j * n;
      for (let i = 0; i < n; i++) d[i] -= a * Y[off + i];
    }
    const scale = count > 0 ? gamma : 1;
    for (let i = 0; i < n; i++) d[i] *= scale;
    for (let k = count - 1; k >= 0; k--) {
      const j = (head - 1 - k + m) % m;
      const off = j * n;
      const b = rho[j] * dot(Y, d, n, off, 0);
      const c = alphas[j] - b;
      for (let i = 0; i < n; i++) d[i] += c * S[off + i];
    }
    for (let i = 0; i < n; i++) d[i] = -d[i];

    let slope = dot(g, d, n);
    if (count > 0 && !(slope < 0)) {
      // Not a descent direction (round-off): fall back to steepest descent.
      count = 0;
      head = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d, n);
    }
    if (!(slope < 0)) return finish(iterations, "lineSearch");
    const a0 = count > 0 ? 1 : 1 / Math.sqrt(-slope); // −slope = ‖g‖² when d = −g

    let status = lineSearch(f, slope, a0);
    if (status === 0 && count > 0) {
      failedSearchEvaluations += lsSteps;
      lsSteps = 0;
      // Retry once along steepest descent with the memory dropped.
      count = 0;
      head = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d, n);
      if (slope < 0) status = lineSearch(f, slope, 1 / Math.sqrt(-slope));
    }
    if (status === 0) {
      failedSearchEvaluations += lsSteps;
      return finish(iterations, "lineSearch");
    }
    extraTrials += lsSteps - 1;
    const xNew = status === 1 ? xt : xLo;
    const gNew = status === 1 ? gt : gLo;

    // s = x_new − x, y = g_new − g into the next ring slot.
    const off = head * n;
    for (let i = 0; i < n; i++) {
      S[off + i] = xNew[i] - x[i];
      Y[off + i] = gNew[i] - g[i];
    }
    const sy = dot(S, Y, n, off, off), ss = dot(S, S, n, off, off), yy = dot(Y, Y, n, off, off);
    if (sy > CURVATURE_EPS * Math.sqrt(ss * yy)) storePair(off, sy, yy);

    const fPrev = f;
    x.set(xNew);
    g.set(gNew);
    f = lsF;
    iterations++;
    history[iterations] = f;

    if (!(infNorm(g) > gtol)) return finish(iterations, "gradient");
    if (ftol > 0 && fPrev - f <= ftol * Math.max(Math.abs(fPrev), Math.abs(f), 1)) return finish(iterations, "function");
    if (iterations >= maxIter) return finish(iterations, "maxIterations");
  }
}
