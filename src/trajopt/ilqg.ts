/**
 * Max-entropy iLQG (gps-math §2; Levine & Koltun 2013 §4.1), with the
 * Levenberg–Marquardt regularization and μ schedule of Tassa, Erez & Todorov
 * 2012 ("Synthesis and stabilization of complex behaviors through online
 * trajectory optimization", §II-F).
 *
 * Pure-function API: every function returns new values and keeps no state
 * between calls. The regularization state (μ, and Tassa's Δ as `muFactor`)
 * lives in the trajectory value itself, so an iteration started from a
 * deserialized trajectory reproduces bit-identically. Scratch buffers are
 * allocated once per call and reused over time steps.
 *
 * Shapes (row-major Float64Array, stacked over time as in ./types.ts):
 *   xbar (T+1)·nx, ubar T·nu, fx T·nx·nx, fu T·nx·nu,
 *   K T·nu·nx, k T·nu, cov T·nu·nu, lx T·nx, lu T·nu, lxx T·nx·nx,
 *   luu T·nu·nu, lux T·nu·nx.
 * Time: states x_0 … x_T, actions u_0 … u_{T-1}; the cost is Σ_{t<T} l_t(x_t, u_t)
 * with no terminal term, so the value function starts from V_T = 0.
 */
import { allocCostExpansion, trajectoryCost, type Cost, type LinearGaussianController, type TrajectoryDynamics, type Linearizer } from "./types.js";
import { cholesky, choleskyInverse, choleskySolveMat, choleskySolveVec, matMul, matTMul, matTVec, symmetrize } from "../linalg/dense.js";

export interface IlqgSettings {
  /** μ of a fresh trajectory (0: start unregularized). */
  readonly muInit: number;
  /** Below this a decrease sets μ to exactly 0; an increase from 0 jumps to it. */
  readonly muMin: number;
  /** The backward pass gives up when μ would exceed this. */
  readonly muMax: number;
  /** Tassa's Δ₀ (> 1): μ grows/shrinks by a factor that itself grows by Δ₀ per step. */
  readonly muFactor: number;
  /** Step sizes tried in order by the line search on k. */
  readonly lineSearchAlphas: readonly number[];
  /** Accept a step when actual > 0 and actual > ratio × expected reduction (Tassa's z test). */
  readonly minReductionRatio: number;
  /**
   * When set, q's feedback gains K and covariance come from a backward pass at
   * this fixed μ at the accepted nominal (raised by the schedule only if Q̃_uu
   * is not positive definite there), instead of from the pass at whatever μ
   * the step happened to need. The step itself still uses the schedule.
   * Absent: the gains of the step's pass (the original behaviour).
   */
  readonly gainMu?: number;
}

/** Tassa 2012's values: Δ₀ = 2, μ_min = 1e-6; alphas 1, ½, …, 2⁻¹⁰ ≈ 1e-3; z_min = 0. */
export const defaultIlqgSettings: IlqgSettings = {
  muInit: 1,
  muMin: 1e-6,
  muMax: 1e10,
  muFactor: 2,
  lineSearchAlphas: Array.from({ length: 11 }, (_, i) => 2 ** -i),
  minReductionRatio: 0,
};

/**
 * A nominal trajectory with its total cost and the max-entropy controller
 * q(u|x) around it, plus the regularization state to resume from.
 */
export interface IlqgTrajectory extends LinearGaussianController {
  /** Σ_{t<T} l_t(x̄_t, ū_t). */
  readonly cost: number;
  /** Regularization μ the next backward pass starts with. */
  readonly mu: number;
  /** Tassa's Δ: the current multiplicative step of μ (1 initially). */
  readonly muFactor: number;
}

/** Regularization state (μ, Δ). */
export interface Regularization {
  readonly mu: number;
  readonly muFactor: number;
}

/** Tassa's increase: Δ ← max(Δ₀, Δ·Δ₀), μ ← max(μ_min, μ·Δ). */
export function increaseMu(reg: Regularization, settings: IlqgSettings): Regularization {
  const d0 = settings.muFactor;
  const muFactor = Math.max(d0, reg.muFactor * d0);
  return { mu: Math.max(settings.muMin, reg.mu * muFactor), muFactor };
}

/** Tassa's decrease: Δ ← min(1/Δ₀, Δ/Δ₀), μ ← μ·Δ if μ > μ_min else 0. */
export function decreaseMu(reg: Regularization, settings: IlqgSettings): Regularization {
  const d0 = settings.muFactor;
  const muFactor = Math.min(1 / d0, reg.muFactor / d0);
  return { mu: reg.mu > settings.muMin ? reg.mu * muFactor : 0, muFactor };
}

function checkDims(dyn: Pick<TrajectoryDynamics, "nx" | "nu">, cost: Cost): void {
  if (dyn.nx !== cost.nx || dyn.nu !== cost.nu) {
    throw new Error(`iLQG: dynamics (nx=${dyn.nx}, nu=${dyn.nu}) and cost (nx=${cost.nx}, nu=${cost.nu}) disagree`);
  }
}

/**
 * Roll out the open-loop actions usInit (T·nu) from x0. The controller is
 * K = k = 0 and cov = I: no backward pass has run yet, so there is no Q_uu to
 * invert, and unit covariance is a neutral exploration noise for sampling the
 * initial trajectory. μ and Δ start at settings.muInit and 1.
 */
export function initialTrajectory(dyn: TrajectoryDynamics, cost: Cost, x0: Float64Array, usInit: Float64Array, settings: IlqgSettings): IlqgTrajectory {
  checkDims(dyn, cost);
  const { nx, nu } = dyn;
  const T = usInit.length / nu;
  if (!Number.isInteger(T) || T < 1) throw new Error(`initialTrajectory: usInit length ${usInit.length} is not a positive multiple of nu=${nu}`);
  const xbar = new Float64Array((T + 1) * nx);
  const ubar = new Float64Array(T * nu);
  dyn.rollout(
    x0,
    (t, _x, _xOff, u, uOff) => {
      for (let i = 0; i < nu; i++) u[uOff + i] = usInit[t * nu + i];
    },
    T,
    xbar,
    ubar,
  );
  const cov = new Float64Array(T * nu * nu);
  for (let t = 0; t < T; t++) for (let i = 0; i < nu; i++) cov[t * nu * nu + i * nu + i] = 1;
  return {
    T,
    nx,
    nu,
    xbar,
    ubar,
    K: new Float64Array(T * nu * nx),
    k: new Float64Array(T * nu),
    cov,
    cost: trajectoryCost(cost, xbar, ubar, T),
    mu: settings.muInit,
    muFactor: 1,
  };
}

/** Linear dynamics and quadratic cost along a nominal, stacked over t < T. */
export interface LqApproximation {
  readonly T: number;
  readonly nx: number;
  readonly nu: number;
  readonly fx: Float64Array; // T·nx·nx
  readonly fu: Float64Array; // T·nx·nu
  readonly lx: Float64Array; // T·nx
  readonly lu: Float64Array; // T·nu
  readonly lxx: Float64Array; // T·nx·nx
  readonly luu: Float64Array; // T·nu·nu
  readonly lux: Float64Array; // T·nu·nx
}

/** Jacobians from dyn.linearize and the cost expansion at every (x̄_t, ū_t). */
export function lqApproximation(dyn: Linearizer, cost: Cost, nominal: LinearGaussianController): LqApproximation {
  checkDims(dyn, cost);
  const { T, nx, nu, xbar, ubar } = nominal;
  const fx = new Float64Array(T * nx * nx);
  const fu = new Float64Array(T * nx * nu);
  dyn.linearize(xbar, ubar, T, fx, fu);
  const lx = new Float64Array(T * nx);
  const lu = new Float64Array(T * nu);
  const lxx = new Float64Array(T * nx * nx);
  const luu = new Float64Array(T * nu * nu);
  const lux = new Float64Array(T * nu * nx);
  // Cost.expand fills a single-step expansion; copy it into the stacks.
  const e = allocCostExpansion(nx, nu);
  for (let t = 0; t < T; t++) {
    cost.expand(xbar, ubar, t, e, t * nx, t * nu);
    lx.set(e.lx, t * nx);
    lu.set(e.lu, t * nu);
    lxx.set(e.lxx, t * nx * nx);
    luu.set(e.luu, t * nu * nu);
    lux.set(e.lux, t * nu * nx);
  }
  return { T, nx, nu, fx, fu, lx, lu, lxx, luu, lux };
}

export interface BackwardPassResult {
  /** False when Q_uu stayed indefinite up to μ_max; then K, k, cov are meaningless. */
  readonly ok: boolean;
  readonly K: Float64Array; // T·nu·nx
  readonly k: Float64Array; // T·nu
  /** (regularized Q_uu)⁻¹ per step: exactly Q_uu⁻¹ when μ = 0. */
  readonly cov: Float64Array; // T·nu·nu
  /** Σ_t k_tᵀ Q_u,t (≤ 0 when Q_uu is positive definite). */
  readonly dV1: number;
  /** Σ_t ½ k_tᵀ Q_uu,t k_t with the unregularized Q_uu (Tassa's choice). */
  readonly dV2: number;
  /** The (μ, Δ) the successful pass used, after any restarts. */
  readonly reg: Regularization;
  /** How many times a non-positive-definite Q_uu forced μ up and the pass to restart. */
  readonly restarts: number;
}

/**
 * The backward pass of gps-math §2 with Tassa's regularization: μI is added to
 * V'_xx inside Q_uu and Q_ux only (Q̃_uu = l_uu + f_uᵀ(V'_xx + μI) f_u,
 * Q̃_ux = l_ux + f_uᵀ(V'_xx + μI) f_x), gains come from the regularized terms,
 * and V_x, V_xx use the exact updates with the unregularized Q terms. When the
 * Cholesky factorization of Q̃_uu fails, μ is increased and the pass restarts
 * from t = T−1.
 */
export function backwardPass(lq: LqApproximation, reg: Regularization, settings: IlqgSettings): BackwardPassResult {
  const { T, nx, nu } = lq;
  const K = new Float64Array(T * nu * nx);
  const k = new Float64Array(T * nu);
  const cov = new Float64Array(T * nu * nu);
  // Per-call scratch, reused at every step.
  const s = {
    ...qScratch(nx, nu),
    Vx: new Float64Array(nx),
    Vxx: new Float64Array(nx * nx),
    L: new Float64Array(nu * nu), // Cholesky factor of Q̃_uu
    tmpXX: new Float64Array(nx * nx),
    tmpUU: new Float64Array(nu * nu),
    tmpUX: new Float64Array(nu * nx),
    QuuK: new Float64Array(nu * nx),
    Quuk: new Float64Array(nu),
  };

  let current = reg;
  let restarts = 0;
  for (;;) {
    const res = backwardSweep(lq, current.mu, s, K, k, cov);
    if (res !== null) return { ok: true, K, k, cov, dV1: res.dV1, dV2: res.dV2, reg: current, restarts };
    const next = increaseMu(current, settings);
    if (!(next.mu <= settings.muMax)) return { ok: false, K, k, cov, dV1: 0, dV2: 0, reg: { mu: settings.muMax, muFactor: next.muFactor }, restarts };
    current = next;
    restarts++;
  }
}

/**
 * Tassa's regularization of the Q terms at step t: H ← Q_uu + μ f_uᵀf_u
 * (symmetrized) and K_t ← −(Q_ux + μ f_uᵀf_x). Shared by the iLQG backward
 * pass and the constrained-GPS mean pass, which then add their own terms.
 */
export function regularizedQ(
  lq: LqApproximation,
  t: number,
  mu: number,
  Quu: Float64Array,
  Qux: Float64Array,
  tmpUU: Float64Array,
  tmpUX: Float64Array,
  H: Float64Array,
  K: Float64Array,
): void {
  const { nx, nu, fx, fu } = lq;
  const oXX = t * nx * nx;
  const oXU = t * nx * nu;
  const oUX = t * nu * nx;
  if (mu !== 0) {
    matTMul(fu, fu, nx, nu, nu, tmpUU, oXU, oXU);
    matTMul(fu, fx, nx, nu, nx, tmpUX, oXU, oXX);
    for (let i = 0; i < nu * nu; i++) H[i] = Quu[i] + mu * tmpUU[i];
    for (let i = 0; i < nu * nx; i++) K[oUX + i] = -(Qux[i] + mu * tmpUX[i]);
    symmetrize(H, nu);
  } else {
    H.set(Quu);
    for (let i = 0; i < nu * nx; i++) K[oUX + i] = -Qux[i];
  }
}

/** Scratch for `qTerms` (allocated once per pass). */
export interface QScratch {
  Qx: Float64Array;
  Qu: Float64Array;
  Qxx: Float64Array;
  Quu: Float64Array;
  Qux: Float64Array;
  LxxFx: Float64Array;
  LxxFu: Float64Array;
}

export function qScratch(nx: number, nu: number): QScratch {
  return {
    Qx: new Float64Array(nx),
    Qu: new Float64Array(nu),
    Qxx: new Float64Array(nx * nx),
    Quu: new Float64Array(nu * nu),
    Qux: new Float64Array(nu * nx),
    LxxFx: new Float64Array(nx * nx),
    LxxFu: new Float64Array(nx * nu),
  };
}

/**
 * The Q terms of gps-math §2 at step t from the value (or Lagrangian)
 * gradient and Hessian of step t+1 (V′_x, V′_xx; unregularized). Shared by
 * the iLQG backward pass and constrained GPS's mean and covariance passes.
 * Lx null: skip Q_x, Q_u.
 */
export function qTerms(lq: LqApproximation, t: number, Lx: Float64Array | null, Lxx: Float64Array, s: QScratch): void {
  const { nx, nu, fx, fu, lx, lu, lxx, luu, lux } = lq;
  const oXX = t * nx * nx;
  const oXU = t * nx * nu;
  const oUU = t * nu * nu;
  const oUX = t * nu * nx;
  const { Qx, Qu, Qxx, Quu, Qux, LxxFx, LxxFu } = s;
  if (Lx !== null) {
    matTVec(fx, Lx, nx, nx, Qx, oXX);
    for (let i = 0; i < nx; i++) Qx[i] += lx[t * nx + i];
    matTVec(fu, Lx, nx, nu, Qu, oXU);
    for (let i = 0; i < nu; i++) Qu[i] += lu[t * nu + i];
  }
  matMul(Lxx, fx, nx, nx, nx, LxxFx, 0, oXX);
  matMul(Lxx, fu, nx, nx, nu, LxxFu, 0, oXU);
  matTMul(fx, LxxFx, nx, nx, nx, Qxx, oXX);
  for (let i = 0; i < nx * nx; i++) Qxx[i] += lxx[oXX + i];
  matTMul(fu, LxxFu, nx, nu, nu, Quu, oXU);
  for (let i = 0; i < nu * nu; i++) Quu[i] += luu[oUU + i];
  matTMul(fu, LxxFx, nx, nu, nx, Qux, oXU);
  for (let i = 0; i < nu * nx; i++) Qux[i] += lux[oUX + i];
  symmetrize(Quu, nu);
}

interface Scratch extends QScratch {
  Vx: Float64Array;
  Vxx: Float64Array;
  L: Float64Array;
  tmpXX: Float64Array;
  tmpUU: Float64Array;
  tmpUX: Float64Array;
  QuuK: Float64Array;
  Quuk: Float64Array;
}

/** One sweep t = T−1 … 0 at fixed μ; null when some Q̃_uu is not positive definite. */
function backwardSweep(lq: LqApproximation, mu: number, s: Scratch, K: Float64Array, k: Float64Array, cov: Float64Array): { dV1: number; dV2: number } | null {
  const { T, nx, nu } = lq;
  const { Vx, Vxx, Qx, Qu, Qxx, Quu, Qux, L, tmpXX, tmpUU, tmpUX, QuuK, Quuk } = s;
  Vx.fill(0); // V_T = 0: no terminal cost
  Vxx.fill(0);
  let dV1 = 0;
  let dV2 = 0;
  for (let t = T - 1; t >= 0; t--) {
    const oUU = t * nu * nu;
    const oUX = t * nu * nx;

    // Q terms with the unregularized V'_x, V'_xx.
    qTerms(lq, t, Vx, Vxx, s);

    // Q̃_uu = Q_uu + μ f_uᵀ f_u into L (then factored); −Q̃_ux = −(Q_ux + μ f_uᵀ f_x) into K_t.
    regularizedQ(lq, t, mu, Quu, Qux, tmpUU, tmpUX, L, K);
    if (!cholesky(L, nu)) return null;

    // k = −Q̃_uu⁻¹ Q_u,  K = −Q̃_uu⁻¹ Q̃_ux (Cholesky solves), cov = Q̃_uu⁻¹.
    for (let i = 0; i < nu; i++) k[t * nu + i] = -Qu[i];
    choleskySolveVec(L, nu, k, 0, t * nu);
    choleskySolveMat(L, nu, K, nx, 0, oUX);
    choleskyInverse(L, nu, cov, 0, oUU);
    symmetrize(cov, nu, oUU);

    // Expected-reduction terms, with the unregularized Q_uu.
    matVecAt(Quu, k, nu, Quuk, t * nu);
    for (let i = 0; i < nu; i++) {
      dV1 += k[t * nu + i] * Qu[i];
      dV2 += 0.5 * k[t * nu + i] * Quuk[i];
    }

    // V_x  = Q_x  + Kᵀ Q_uu k + Kᵀ Q_u + Q_uxᵀ k
    // V_xx = Q_xx + Kᵀ Q_uu K + Kᵀ Q_ux + Q_uxᵀ K   (overwrites V' — no longer needed)
    matMul(Quu, K, nu, nu, nx, QuuK, 0, oUX);
    for (let i = 0; i < nx; i++) {
      let v = Qx[i];
      for (let a = 0; a < nu; a++) v += K[oUX + a * nx + i] * (Quuk[a] + Qu[a]) + Qux[a * nx + i] * k[t * nu + a];
      Vx[i] = v;
    }
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) {
        let v = Qxx[i * nx + j];
        for (let a = 0; a < nu; a++) {
          const Kai = K[oUX + a * nx + i];
          v += Kai * (QuuK[a * nx + j] + Qux[a * nx + j]) + Qux[a * nx + i] * K[oUX + a * nx + j];
        }
        tmpXX[i * nx + j] = v;
      }
    }
    Vxx.set(tmpXX);
    symmetrize(Vxx, nx);
  }
  return { dV1, dV2 };
}

/** out = A (n×n) · v[vOff .. vOff+n). */
function matVecAt(A: Float64Array, v: Float64Array, n: number, out: Float64Array, vOff: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += A[i * n + j] * v[vOff + j];
    out[i] = s;
  }
}

/** Predicted cost decrease of the step α: −(α dV1 + α² dV2). */
export function expectedReduction(dV1: number, dV2: number, alpha: number): number {
  return -(alpha * dV1 + alpha * alpha * dV2);
}

export interface IlqgIterationInfo {
  readonly accepted: boolean;
  /** Cost of the returned trajectory (= previousCost when rejected). */
  readonly cost: number;
  readonly previousCost: number;
  /** The accepted step size; 0 when rejected. */
  readonly alpha: number;
  /** μ the backward pass used (after its restarts); the trajectory carries the updated μ. */
  readonly mu: number;
  /** Of the accepted step, or of the last step tried when rejected. */
  readonly expectedReduction: number;
  readonly actualReduction: number;
  /** True when Q_uu stayed indefinite up to μ_max, so no step was tried. */
  readonly backwardPassFailed: boolean;
  /** With settings.gainMu: the μ q's gains were computed at (after an accepted step). */
  readonly gainMu?: number;
}

export interface IlqgIterationResult {
  readonly trajectory: IlqgTrajectory;
  readonly info: IlqgIterationInfo;
}

/**
 * One iLQG iteration: linearize at the nominal (with `linearizer`, default the
 * rollout dynamics themselves: e.g. a softened model, or dynamics fitted to
 * samples), backward pass, line search on
 * u = ū + α k + K (x − x̄) rolled out with dyn.rollout, trying the alphas in
 * order and accepting the first whose actual reduction is positive and, when
 * the predicted one is positive, more than minReductionRatio × predicted.
 *
 * Accepted: μ decreases; the new nominal is the rollout, and the controller
 * is K and cov from this pass with k = 0. That is exactly the line-search
 * controller re-expressed around the new nominal (ū_new = ū + αk + K(x̄_new − x̄)),
 * so q(u|x) = N(ū_new + K (x − x̄_new), Q̃_uu⁻¹) is consistent with its nominal.
 * Rejected (or the pass failed): μ increases and the old nominal and controller
 * come back unchanged (copied), so the cost never increases across iterations.
 */
export function ilqgIteration(dyn: TrajectoryDynamics, cost: Cost, traj: IlqgTrajectory, settings: IlqgSettings, linearizer: Linearizer = dyn): IlqgIterationResult {
  const { T, nx, nu, xbar, ubar } = traj;
  const lq = lqApproximation(linearizer, cost, traj);
  const bp = backwardPass(lq, { mu: traj.mu, muFactor: traj.muFactor }, settings);

  const reject = (reg: Regularization, expected: number, actual: number): IlqgIterationResult => ({
    trajectory: {
      ...copyController(traj),
      cost: traj.cost,
      mu: reg.mu,
      muFactor: reg.muFactor,
    },
    info: {
      accepted: false,
      cost: traj.cost,
      previousCost: traj.cost,
      alpha: 0,
      mu: bp.reg.mu,
      expectedReduction: expected,
      actualReduction: actual,
      backwardPassFailed: !bp.ok,
    },
  });
  if (!bp.ok) return reject(bp.reg, 0, 0);

  const { K, k } = bp;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  let alpha = 0;
  const policy = (t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number): void => {
    for (let i = 0; i < nu; i++) {
      const row = (t * nu + i) * nx;
      let v = ubar[t * nu + i] + alpha * k[t * nu + i];
      for (let j = 0; j < nx; j++) v += K[row + j] * (x[xOff + j] - xbar[t * nx + j]);
      u[uOff + i] = v;
    }
  };
  const x0 = xbar.subarray(0, nx);

  let expected = 0;
  let actual = 0;
  for (const a of settings.lineSearchAlphas) {
    alpha = a;
    dyn.rollout(x0, policy, T, xs, us);
    const newCost = trajectoryCost(cost, xs, us, T);
    expected = expectedReduction(bp.dV1, bp.dV2, a);
    actual = traj.cost - newCost;
    const enough = expected > 0 ? actual > settings.minReductionRatio * expected : true;
    if (Number.isFinite(newCost) && actual > 0 && enough) {
      const reg = decreaseMu(bp.reg, settings);
      const gains = settings.gainMu === undefined ? null : gainsAt(linearizer, cost, { T, nx, nu, xbar: xs, ubar: us, K, k, cov: bp.cov }, settings.gainMu, settings);
      return {
        trajectory: { T, nx, nu, xbar: xs, ubar: us, K: gains ? gains.K : K, k: new Float64Array(T * nu), cov: gains ? gains.cov : bp.cov, cost: newCost, mu: reg.mu, muFactor: reg.muFactor },
        info: {
          accepted: true,
          cost: newCost,
          previousCost: traj.cost,
          alpha: a,
          mu: bp.reg.mu,
          expectedReduction: expected,
          actualReduction: actual,
          backwardPassFailed: false,
          ...(gains ? { gainMu: gains.mu } : {}),
        },
      };
    }
  }
  // Clamp so that a resumed pass can still start (it only tests μ_max when raising μ).
  const up = increaseMu(bp.reg, settings);
  return reject({ mu: Math.min(up.mu, settings.muMax), muFactor: up.muFactor }, expected, actual);
}

/**
 * q's gains at a nominal from one backward pass at the fixed μ (raised by the
 * schedule only where Q̃_uu is not positive definite): K and cov = Q̃_uu⁻¹.
 * When no μ up to μ_max works, the step's own gains are kept (μ reported as NaN).
 */
export function gainsAt(dyn: Linearizer, cost: Cost, nominal: LinearGaussianController, mu: number, settings: IlqgSettings): { K: Float64Array; cov: Float64Array; mu: number } {
  const bp = backwardPass(lqApproximation(dyn, cost, nominal), { mu, muFactor: 1 }, settings);
  if (!bp.ok) return { K: nominal.K, cov: nominal.cov, mu: Number.NaN };
  return { K: bp.K, cov: bp.cov, mu: bp.reg.mu };
}

function copyController(c: LinearGaussianController): LinearGaussianController {
  return {
    T: c.T,
    nx: c.nx,
    nu: c.nu,
    xbar: Float64Array.from(c.xbar),
    ubar: Float64Array.from(c.ubar),
    K: Float64Array.from(c.K),
    k: Float64Array.from(c.k),
    cov: Float64Array.from(c.cov),
  };
}

/** Run `iterations` iLQG iterations from traj; returns the last trajectory and every iteration's info. */
export function optimize(
  dyn: TrajectoryDynamics,
  cost: Cost,
  traj: IlqgTrajectory,
  settings: IlqgSettings,
  iterations: number,
): { trajectory: IlqgTrajectory; history: IlqgIterationInfo[] } {
  let current = traj;
  const history: IlqgIterationInfo[] = [];
  for (let i = 0; i < iterations; i++) {
    const r = ilqgIteration(dyn, cost, current, settings);
    current = r.trajectory;
    history.push(r.info);
  }
  return { trajectory: current, history };
}
