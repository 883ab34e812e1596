/**
 * The trajectory step of constrained guided policy search (Levine & Koltun
 * 2014 §3.1, Algorithm 2; gps-math §3): optimize the linear-Gaussian
 * trajectory distribution q(τ) against the Lagrangian
 *
 *     L(q) = Σ_t E_q[l(x_t,u_t)] − H(q) + Σ_t λ_t E_{q(x_t)}[ D_KL(π(u_t|x_t) ‖ q(u_t|x_t)) ].
 *
 * KL DIRECTION. The trajectory step uses D_KL(π ‖ q) — the policy first — as
 * the paper's trajectory-step Lagrangian, its equation (1)/(2) constraint
 * D_KL(q(x)π(u|x) ‖ q(x,u)) and its policy step all do. Re-derived from the
 * equations: for Gaussians D_KL(π‖q) = ½[tr(A⁻¹Σ^π) + (û−μ^π)ᵀA⁻¹(û−μ^π)
 * − m + log|A| − log|Σ^π|], whose mean terms are weighted by q's precision
 * A⁻¹, which is exactly the λA⁻¹(·) of equations (3)–(5); its A-derivative
 * ½λ(A⁻¹ − A⁻¹MA⁻¹), added to ½Q_uu − ½A⁻¹ from the cost and the entropy,
 * gives equation (8), A Q_uu A + (λ−1)A − λM = 0. (D_KL(q‖π) would weight the
 * means by (Σ^π)⁻¹ instead and give a different equation for A.)
 *
 * COORDINATES. States and actions are ABSOLUTE throughout (see
 * ./policy-linearization.ts). q is
 *
 *     q(u_t|x_t) = N(ū_t + k_t + K_t (x_t − x̄_t), A_t),   A_t = `cov`,
 *
 * around the nominal (x̄, ū) = (x̂, û), and the policy model is
 * π(u|x) ≈ N(μ_t + μ_xt (x − x̄_t), Σ^π_t) with μ_t the policy's absolute mean
 * at x̄_t. In each equation:
 *   (3) k_t = −(Q_uu + λA⁻¹)⁻¹ (Q_u − λA⁻¹ (μ_t − ū_t))      [paper's μ^π_t = μ_t − ū_t]
 *   (4) K_t = −(Q_uu + λA⁻¹)⁻¹ (Q_ux − λA⁻¹ μ_xt)
 *   (5) L_x = Q_x + KᵀQ_uu k + KᵀQ_u + Q_uxᵀk + λ(K − μ_xt)ᵀA⁻¹(k − (μ_t − ū_t))
 *       L_xx = Q_xx + KᵀQ_uu K + KᵀQ_ux + Q_uxᵀK + λ(K − μ_xt)ᵀA⁻¹(K − μ_xt)
 *       (L_x, L_xx are derivatives with respect to the state perturbation;
 *        Q_x, Q_u are the cost gradients at the nominal, which is absolute.)
 *   (8) M = Σ^π_t + (ū_t − μ_t)(ū_t − μ_t)ᵀ + (K_t − μ_xt) S_t (K_t − μ_xt)ᵀ
 *       (û − μ^π is a difference, the same in either coordinate system; û is
 *        q's mean action at x̄_t, i.e. ū_t because k = 0 after a step.)
 *
 * NOMINAL = MEAN. As in ./ilqg.ts, every trajectory this module returns has
 * k = 0: the nominal (x̄, ū) IS the mean of q (the accepted rollout), and the
 * feedforward of the last mean pass is reported in `info.meanPass`.
 *
 * LAGRANGIANS. Two values are computed:
 *  - the line-search ("mean") Lagrangian, evaluated on a deterministic mean
 *    rollout (x_t, u_t):  Σ_t l(x_t,u_t) + Σ_t λ_t D_KL(N(μ^π(x_t),Σ^π_t) ‖ N(u_t,A_t))
 *    with A_t held at the input trajectory's covariances and μ^π(x_t) from the
 *    affine policy model built at the INPUT nominal (the Laplace
 *    approximation: no network evaluations inside the line search). This is
 *    the paper's L(τ̂′, K, A) vs L(τ̂, K, A): the terms that K and S affect are
 *    equal on both sides and are dropped;
 *  - the full Laplace Lagrangian (`laplaceLagrangian`), the paper's L(q):
 *        Σ_t [ l(x̄_t,ū_t) + ½ tr(Σ_t l_xu,xu) − ½ log|A_t|
 *              + λ_t · ½ (tr(A_t⁻¹M_t) − m + log|A_t| − log|Σ^π_t|) ]
 *    where Σ_t is the joint covariance of (x_t, u_t) under q and the last
 *    bracket is E_{q(x_t)} D_KL(π‖q) under the affine policy model (so it is
 *    ≥ 0; the additive constants of the entropy are left out). For linear
 *    dynamics, quadratic cost and an affine policy it is exact, and with
 *    μ = 0 it never increases across `trajectoryStep`s (both the mean step and
 *    the covariance pass are exact block minimizations).
 *
 * REGULARIZATION. The mean pass uses Tassa's scheme exactly as
 * ilqg.ts's backwardPass: μ f_uᵀf_u is added to Q_uu and μ f_uᵀf_x to Q_ux
 * (i.e. μI to L′_xx inside them) before adding λA⁻¹, the gains come from the
 * regularized terms and L_x, L_xx from the exact updates with the
 * unregularized Q terms; when Q_uu + μf_uᵀf_u + λA⁻¹ is not positive definite
 * μ increases and the pass restarts. With λ = 0 this is ilqg.ts's
 * backwardPass, term by term. The covariance pass first tries μ = 0 (so λ = 0
 * gives A_t = Q_uu⁻¹ exactly); only if Q_uu (needed positive definite by
 * equation 8) or Q_uu + λA⁻¹ is not, it restarts with Tassa's increases.
 *
 * Shapes as in ./types.ts (row-major Float64Array stacked over time), plus
 * S (T+1)·n·n, lambda T, policy linearization as in ./policy-linearization.ts.
 */
import { cholesky, choleskyInverse, choleskySolveMat, choleskySolveVec, matMul, matTMul, symmetrize } from "../linalg/dense.js";
import {
  conditionalCovarianceTarget,
  conditionalCovarianceWorkspace,
  gaussianKl,
  gaussianKlWorkspace,
  logDetFromCholesky,
  solveConditionalCovariance,
} from "./cgps-math.js";
import { decreaseMu, expectedReduction, increaseMu, lqApproximation, qScratch, qTerms, regularizedQ, type IlqgSettings, type LqApproximation, type QScratch, type Regularization } from "./ilqg.js";
import { affinePolicyMean, shiftPolicyLinearization, type PolicyLinearization } from "./policy-linearization.js";
import type { Cost, LinearGaussianController, TrajectoryDynamics, Linearizer } from "./types.js";

// ---------------------------------------------------------------------------
// Types

/**
 * The trajectory distribution q(τ): the linear-Gaussian controller around its
 * nominal (k = 0, `cov` = A_t), the state covariances S_t of q(x_t)
 * ((T+1)·n·n; S_0 is the initial-state covariance, 0 for a deterministic
 * start) and the regularization state (μ, Tassa's Δ) the next mean pass
 * starts from. The dual variables λ are not part of it: they belong to the
 * outer loop and are passed to every step.
 */
export interface CgpsTrajectory extends LinearGaussianController {
  readonly S: Float64Array; // (T+1)·nx·nx
  readonly mu: number;
  readonly muFactor: number;
}

export interface MeanPassResult {
  /** False when the regularized Hessian stayed indefinite up to μ_max; K, k are then meaningless. */
  readonly ok: boolean;
  readonly K: Float64Array; // T·nu·nx
  /** Feedforward in perturbation coordinates: the new mean action at x̄_t is ū_t + k_t. */
  readonly k: Float64Array; // T·nu
  /** Σ_t k_tᵀ (Q_u − λA⁻¹(μ_t − ū_t)): the Lagrangian's first-order change per unit α. */
  readonly dV1: number;
  /** Σ_t ½ k_tᵀ (Q_uu + λA⁻¹) k_t (unregularized): its second-order change per α². */
  readonly dV2: number;
  readonly reg: Regularization;
  readonly restarts: number;
}

export interface CovariancePassOptions {
  /** Whole forward/backward passes (Algorithm 2 lines 12–21); the paper uses 2. */
  readonly passes: number;
  /** K/A alternations per time step (lines 15–18); the paper: "about 5". */
  readonly innerIterations: number;
  /** Stop the alternation at a step once max |ΔK|, |ΔA| ≤ tolerance (0: always run innerIterations). */
  readonly tolerance?: number;
  /** Process noise F_t (T·n·n) added in S_{t+1} = f_xu Σ_t f_xuᵀ + F_t; default 0. */
  readonly processNoise?: Float64Array;
}

export interface CovariancePassResult {
  /** False when no μ up to μ_max made Q_uu (and Q_uu + λA⁻¹) positive definite; K, A, S are then the inputs'. */
  readonly ok: boolean;
  readonly K: Float64Array; // T·nu·nx
  readonly A: Float64Array; // T·nu·nu
  /** State covariances from the final K and A (the S of the returned q). */
  readonly S: Float64Array; // (T+1)·nx·nx
  /** The S the last backward sweep built its targets M from (A_t solves (8) exactly with these). */
  readonly sweepS: Float64Array; // (T+1)·nx·nx
  /** μ of the last sweep (0 unless Q_uu needed regularizing). */
  readonly mu: number;
  readonly restarts: number;
  /** max |ΔK| and max |ΔA| over the last pass (how far from converged the passes ended). */
  readonly lastPassChange: { readonly K: number; readonly A: number };
}

/** The terms of the full Laplace Lagrangian (see the header); total = their sum. */
export interface LagrangianTerms {
  /** Σ_t l(x̄_t, ū_t). */
  readonly cost: number;
  /** Σ_t ½ tr(Σ_t l_xu,xu): the expected cost beyond the mean's. */
  readonly covarianceCost: number;
  /** Σ_t −½ log|A_t| (the negative entropy, constants dropped). */
  readonly negEntropy: number;
  /** Σ_t λ_t kl[t]. */
  readonly constraint: number;
  /** E_{q(x_t)} D_KL(π(u|x_t) ‖ q(u|x_t)) per t under the affine policy model (≥ 0). */
  readonly kl: Float64Array; // T
  readonly total: number;
}

export interface TrajectoryStepOptions {
  readonly covariancePasses?: number; // default 2
  readonly innerIterations?: number; // default 5
  readonly tolerance?: number; // default 0
  readonly processNoise?: Float64Array; // T·n·n, default 0
  /**
   * Relinearize the policy at an accepted step's new nominal before the
   * covariance pass (Algorithm 2 line 11), handed the q whose nominal it is:
   * the line search's controller re-centred on its own rollout (x̄, ū = the
   * rollout, K = the mean pass's gains, k = 0, the old covariance), so a
   * noise-free rollout of it reproduces x̄; e.g.
   * `q => linearizePolicy(policy, θ, q.xbar, T, allocPolicyLinearization(T, n, m))`.
   * Default: the input model re-centred on the new nominal
   * (`shiftPolicyLinearization`), exact for an affine policy.
   */
  readonly relinearizePolicy?: (q: LinearGaussianController) => PolicyLinearization;
  /** The dynamics to linearize (default: `dyn` itself; e.g. a model with softened contacts). Rollouts use `dyn`. */
  readonly linearizer?: Linearizer;
}

export interface TrajectoryStepInfo {
  readonly accepted: boolean;
  /** Accepted step size (0 when rejected). */
  readonly alpha: number;
  /** μ the mean pass used (after its restarts). */
  readonly mu: number;
  readonly backwardPassFailed: boolean;
  readonly covariancePassFailed: boolean;
  /** Line-search Lagrangian of the input nominal and of the returned one (equal when rejected). */
  readonly previousMeanLagrangian: number;
  readonly meanLagrangian: number;
  /** Of the accepted step, or of the last step tried. */
  readonly expectedReduction: number;
  readonly actualReduction: number;
  /** Full Laplace Lagrangian of the input q (input policy model) and of the returned q (relinearized model). */
  readonly previousLagrangian: number;
  readonly lagrangian: number;
  /** The terms of `lagrangian` (their kl is the Laplace estimate the dual step can use). */
  readonly terms: LagrangianTerms;
  /** K, k of the mean pass, at the INPUT nominal (K, k both zero-filled when it failed). */
  readonly meanPass: { readonly K: Float64Array; readonly k: Float64Array };
  /** The policy model at the returned nominal (what the covariance pass used). */
  readonly policy: PolicyLinearization;
  readonly covarianceMu: number;
  readonly covarianceChange: { readonly K: number; readonly A: number };
}

export interface TrajectoryStepResult {
  readonly trajectory: CgpsTrajectory;
  readonly info: TrajectoryStepInfo;
}

export const defaultTrajectoryStepOptions = { covariancePasses: 2, innerIterations: 5, tolerance: 0 } as const;

// ---------------------------------------------------------------------------
// Small helpers

function checkLambda(lambda: Float64Array, T: number, where: string): void {
  if (lambda.length !== T) throw new Error(`${where}: lambda has ${lambda.length} entries, expected T=${T}`);
  for (let t = 0; t < T; t++) {
    const l = lambda[t];
    if (!(l >= 0) || !Number.isFinite(l)) throw new RangeError(`${where}: lambda[${t}] must be finite and ≥ 0, got ${l}`);
  }
}

function checkLin(lin: PolicyLinearization, T: number, nx: number, nu: number, where: string): void {
  if (lin.mu.length !== T * nu || lin.muX.length !== T * nu * nx || lin.sigma.length !== T * nu * nu) {
    throw new Error(`${where}: policy linearization has (${lin.mu.length}, ${lin.muX.length}, ${lin.sigma.length}) entries, expected (${T * nu}, ${T * nu * nx}, ${T * nu * nu})`);
  }
}

/** out (m×m at outOff) = A⁻¹ for the m×m block A at aOff; `work` m². False when A is not positive definite. */
function spdInverse(A: Float64Array, aOff: number, m: number, out: Float64Array, outOff: number, work: Float64Array): boolean {
  for (let i = 0; i < m * m; i++) work[i] = A[aOff + i];
  symmetrize(work, m);
  if (!cholesky(work, m)) return false;
  choleskyInverse(work, m, out, 0, outOff);
  symmetrize(out, m, outOff);
  return true;
}

/**
 * Lxx ← Q_xx + KᵀQ_uu K + KᵀQ_ux + Q_uxᵀK + λ (K − μ_x)ᵀ A⁻¹ (K − μ_x),
 * K at K[kOff…], μ_x at muX[mOff…], A⁻¹ in Ainv (m×m, read only when λ > 0).
 * `QuuK` (m×n), `D` (m×n), `AinvD` (m×n) and `tmp` (n×n) are scratch.
 */
function updateLxx(
  nx: number,
  nu: number,
  s: QScratch,
  K: Float64Array,
  kOff: number,
  lam: number,
  Ainv: Float64Array,
  muX: Float64Array,
  mOff: number,
  QuuK: Float64Array,
  D: Float64Array,
  AinvD: Float64Array,
  tmp: Float64Array,
  Lxx: Float64Array,
): void {
  const { Qxx, Quu, Qux } = s;
  matMul(Quu, K, nu, nu, nx, QuuK, 0, kOff);
  if (lam > 0) {
    for (let i = 0; i < nu * nx; i++) D[i] = K[kOff + i] - muX[mOff + i];
    matMul(Ainv, D, nu, nu, nx, AinvD);
  }
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nx; j++) {
      let v = Qxx[i * nx + j];
      for (let a = 0; a < nu; a++) {
        const Kai = K[kOff + a * nx + i];
        v += Kai * (QuuK[a * nx + j] + Qux[a * nx + j]) + Qux[a * nx + i] * K[kOff + a * nx + j];
      }
      if (lam > 0) {
        let w = 0;
        for (let a = 0; a < nu; a++) w += D[a * nx + i] * AinvD[a * nx + j];
        v += lam * w;
      }
      tmp[i * nx + j] = v;
    }
  }
  Lxx.set(tmp);
  symmetrize(Lxx, nx);
}

// ---------------------------------------------------------------------------
// State covariances

/**
 * Forward pass of the covariance dynamics (Algorithm 2 line 13):
 * S_{t+1} = [f_x f_u] Σ_t [f_x f_u]ᵀ + F_t with Σ_t the joint covariance of
 * (x_t, u_t) under q, i.e. S_{t+1} = G S_t Gᵀ + f_u A_t f_uᵀ + F_t,
 * G = f_x + f_u K_t. S_0 = `S0` (n×n; default 0: deterministic start).
 * Returns S ((T+1)·n·n), every block exactly symmetric.
 */
export function stateCovariances(lq: LqApproximation, K: Float64Array, A: Float64Array, S0?: Float64Array, processNoise?: Float64Array): Float64Array {
  const { T, nx, nu, fx, fu } = lq;
  const S = new Float64Array((T + 1) * nx * nx);
  if (S0 !== undefined) {
    if (S0.length !== nx * nx) throw new Error(`stateCovariances: S0 has ${S0.length} entries, expected ${nx * nx}`);
    S.set(S0);
    symmetrize(S, nx);
  }
  if (processNoise !== undefined && processNoise.length !== T * nx * nx) {
    throw new Error(`stateCovariances: processNoise has ${processNoise.length} entries, expected T·n·n = ${T * nx * nx}`);
  }
  const G = new Float64Array(nx * nx);
  const GS = new Float64Array(nx * nx);
  const FuA = new Float64Array(nx * nu);
  for (let t = 0; t < T; t++) {
    const oXX = t * nx * nx;
    const oXU = t * nx * nu;
    // G = f_x + f_u K_t
    matMul(fu, K, nx, nu, nx, G, oXU, t * nu * nx);
    for (let i = 0; i < nx * nx; i++) G[i] += fx[oXX + i];
    matMul(G, S, nx, nx, nx, GS, 0, oXX);
    matMul(fu, A, nx, nu, nu, FuA, oXU, t * nu * nu);
    const o1 = (t + 1) * nx * nx;
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) {
        let v = 0;
        for (let p = 0; p < nx; p++) v += GS[i * nx + p] * G[j * nx + p];
        for (let a = 0; a < nu; a++) v += FuA[i * nu + a] * fu[oXU + j * nu + a];
        if (processNoise !== undefined) v += processNoise[oXX + i * nx + j];
        S[o1 + i * nx + j] = v;
      }
    }
    symmetrize(S, nx, o1);
  }
  return S;
}

// ---------------------------------------------------------------------------
// Mean pass (Algorithm 2 lines 2–5)

/**
 * Backward pass of equations (3)–(5) at the nominal whose LQ expansion is
 * `lq` and whose actions are `ubar` (T·nu), with the policy model `lin`
 * (built at the same nominal), duals λ (T) and the current conditional
 * covariances A (T·nu·nu; only read where λ_t > 0, and must be positive
 * definite there). Tassa's regularization as in ilqg.ts's backwardPass
 * (header). Returns K, k and the expected-change terms: a step α changes the
 * line-search Lagrangian by about α·dV1 + α²·dV2 (`expectedReduction` in
 * ilqg.ts gives the predicted decrease).
 */
export function meanPass(
  lq: LqApproximation,
  ubar: Float64Array,
  lin: PolicyLinearization,
  lambda: Float64Array,
  A: Float64Array,
  reg: Regularization,
  settings: IlqgSettings,
): MeanPassResult {
  const { T, nx, nu } = lq;
  checkLambda(lambda, T, "meanPass");
  checkLin(lin, T, nx, nu, "meanPass");
  if (ubar.length !== T * nu) throw new Error(`meanPass: ubar has ${ubar.length} entries, expected ${T * nu}`);
  const Ainv = new Float64Array(T * nu * nu);
  const work = new Float64Array(nu * nu);
  for (let t = 0; t < T; t++) {
    if (lambda[t] > 0 && !spdInverse(A, t * nu * nu, nu, Ainv, t * nu * nu, work)) {
      throw new Error(`meanPass: A at t=${t} is not positive definite`);
    }
  }
  const K = new Float64Array(T * nu * nx);
  const k = new Float64Array(T * nu);
  let current = reg;
  let restarts = 0;
  for (;;) {
    const res = meanSweep(lq, ubar, lin, lambda, Ainv, current.mu, K, k);
    if (res !== null) return { ok: true, K, k, dV1: res.dV1, dV2: res.dV2, reg: current, restarts };
    const next = increaseMu(current, settings);
    if (!(next.mu <= settings.muMax)) return { ok: false, K, k, dV1: 0, dV2: 0, reg: { mu: settings.muMax, muFactor: next.muFactor }, restarts };
    current = next;
    restarts++;
  }
}

function meanSweep(
  lq: LqApproximation,
  ubar: Float64Array,
  lin: PolicyLinearization,
  lambda: Float64Array,
  Ainv: Float64Array,
  mu: number,
  K: Float64Array,
  k: Float64Array,
): { dV1: number; dV2: number } | null {
  const { T, nx, nu } = lq;
  const s = qScratch(nx, nu);
  const Lx = new Float64Array(nx); // L_T = 0: no terminal cost
  const Lxx = new Float64Array(nx * nx);
  const H = new Float64Array(nu * nu);
  const tmpUU = new Float64Array(nu * nu);
  const tmpUX = new Float64Array(nu * nx);
  const g = new Float64Array(nu); // Q_u − λA⁻¹(μ_t − ū_t)
  const dmu = new Float64Array(nu); // μ_t − ū_t (the paper's μ^π_t)
  const Hk = new Float64Array(nu);
  const e = new Float64Array(nu);
  const AinvE = new Float64Array(nu);
  const QuuK = new Float64Array(nu * nx);
  const D = new Float64Array(nu * nx);
  const AinvD = new Float64Array(nu * nx);
  const tmpXX = new Float64Array(nx * nx);
  let dV1 = 0;
  let dV2 = 0;
  for (let t = T - 1; t >= 0; t--) {
    const oUU = t * nu * nu;
    const oUX = t * nu * nx;
    const lam = lambda[t];
    qTerms(lq, t, Lx, Lxx, s);
    const { Qx, Qu, Quu, Qux } = s;

    // H = Q_uu + μ f_uᵀf_u + λA⁻¹ (factored in place); K_t ← −(Q_ux + μ f_uᵀf_x − λA⁻¹μ_x).
    regularizedQ(lq, t, mu, Quu, Qux, tmpUU, tmpUX, H, K);
    for (let i = 0; i < nu; i++) {
      dmu[i] = lin.mu[t * nu + i] - ubar[t * nu + i];
      g[i] = Qu[i];
    }
    if (lam > 0) {
      for (let i = 0; i < nu * nu; i++) H[i] += lam * Ainv[oUU + i];
      symmetrize(H, nu);
      // K_t += λ A⁻¹ μ_x ;  g −= λ A⁻¹ dmu
      for (let a = 0; a < nu; a++) {
        for (let j = 0; j < nx; j++) {
          let v = 0;
          for (let b = 0; b < nu; b++) v += Ainv[oUU + a * nu + b] * lin.muX[oUX + b * nx + j];
          K[oUX + a * nx + j] += lam * v;
        }
        let w = 0;
        for (let b = 0; b < nu; b++) w += Ainv[oUU + a * nu + b] * dmu[b];
        g[a] -= lam * w;
      }
    }
    // Hessian for dV2, before H is overwritten by its factor: Q_uu + λA⁻¹ (unregularized).
    for (let i = 0; i < nu * nu; i++) tmpUU[i] = Quu[i] + (lam > 0 ? lam * Ainv[oUU + i] : 0);
    if (!cholesky(H, nu)) return null;

    for (let i = 0; i < nu; i++) k[t * nu + i] = -g[i];
    choleskySolveVec(H, nu, k, 0, t * nu);
    choleskySolveMat(H, nu, K, nx, 0, oUX);

    for (let i = 0; i < nu; i++) {
      let v = 0;
      for (let j = 0; j < nu; j++) v += tmpUU[i * nu + j] * k[t * nu + j];
      Hk[i] = v;
    }
    for (let i = 0; i < nu; i++) {
      dV1 += k[t * nu + i] * g[i];
      dV2 += 0.5 * k[t * nu + i] * Hk[i];
    }

    // L_x = Q_x + Kᵀ(Q_uu k + Q_u) + Q_uxᵀ k + λ (K − μ_x)ᵀ A⁻¹ (k − dmu)
    const Quuk = Hk; // reuse: Q_uu k (unregularized, without λ)
    for (let i = 0; i < nu; i++) {
      let v = 0;
      for (let j = 0; j < nu; j++) v += Quu[i * nu + j] * k[t * nu + j];
      Quuk[i] = v;
    }
    if (lam > 0) {
      for (let i = 0; i < nu; i++) e[i] = k[t * nu + i] - dmu[i];
      for (let a = 0; a < nu; a++) {
        let v = 0;
        for (let b = 0; b < nu; b++) v += Ainv[oUU + a * nu + b] * e[b];
        AinvE[a] = v;
      }
    }
    for (let i = 0; i < nx; i++) {
      let v = Qx[i];
      for (let a = 0; a < nu; a++) v += K[oUX + a * nx + i] * (Quuk[a] + Qu[a]) + Qux[a * nx + i] * k[t * nu + a];
      if (lam > 0) {
        let w = 0;
        for (let a = 0; a < nu; a++) w += (K[oUX + a * nx + i] - lin.muX[oUX + a * nx + i]) * AinvE[a];
        v += lam * w;
      }
      Lx[i] = v;
    }
    updateLxx(nx, nu, s, K, oUX, lam, Ainv.subarray(oUU, oUU + nu * nu), lin.muX, oUX, QuuK, D, AinvD, tmpXX, Lxx);
  }
  return { dV1, dV2 };
}

// ---------------------------------------------------------------------------
// Covariance pass (Algorithm 2 lines 12–21)

/**
 * The covariance pass at a fixed nominal (expansion `lq`, q's mean actions
 * `ubar`), policy model `lin` built at that nominal: `passes` times, a forward
 * pass for S (from S0 and the current K, A) and a backward sweep that at
 * every t alternates `innerIterations` times K_t by equation (7) (= (4)) with
 * the current A_t and A_t by equation (8) (`solveConditionalCovariance`) with
 * M from the new K_t and S_t, then forms L_xx,t = 2 L_S,t (equation 6) for
 * step t−1. K0, A0 are the starting values (A0 must be positive definite where
 * λ_t > 0). A sweep that cannot factor Q̃_uu or invert an A_t is redone with more
 * regularization; past μ_max the pass gives up (ok: false) and returns K0, A0 —
 * a long run keeps going with q's previous covariance rather than dying at one
 * ill-conditioned step. Returns new arrays; the inputs are not modified.
 */
export function covariancePass(
  lq: LqApproximation,
  ubar: Float64Array,
  lin: PolicyLinearization,
  lambda: Float64Array,
  K0: Float64Array,
  A0: Float64Array,
  S0: Float64Array | undefined,
  options: CovariancePassOptions,
  reg: Regularization,
  settings: IlqgSettings,
): CovariancePassResult {
  const { T, nx, nu } = lq;
  checkLambda(lambda, T, "covariancePass");
  checkLin(lin, T, nx, nu, "covariancePass");
  if (!Number.isInteger(options.passes) || options.passes < 1) throw new Error(`covariancePass: passes must be a positive integer, got ${options.passes}`);
  if (!Number.isInteger(options.innerIterations) || options.innerIterations < 1) {
    throw new Error(`covariancePass: innerIterations must be a positive integer, got ${options.innerIterations}`);
  }
  const tol = options.tolerance ?? 0;
  const K = Float64Array.from(K0);
  const A = Float64Array.from(A0);
  let mu = 0;
  let escalation: Regularization = { mu: Math.max(reg.mu, 0), muFactor: reg.muFactor };
  let restarts = 0;
  let sweepS: Float64Array = new Float64Array((T + 1) * nx * nx);
  let change = { K: 0, A: 0 };
  for (let pass = 0; pass < options.passes; pass++) {
    const Kstart = Float64Array.from(K);
    const Astart = Float64Array.from(A);
    for (;;) {
      sweepS = stateCovariances(lq, K, A, S0, options.processNoise);
      if (covarianceSweep(lq, ubar, lin, lambda, sweepS, mu, options.innerIterations, tol, K, A)) break;
      // Q_uu (or Q_uu + λA⁻¹) not positive definite: regularize more and redo this pass.
      K.set(Kstart);
      A.set(Astart);
      // First failure: continue from the mean pass's μ (at least μ_min); later ones: Tassa's increase.
      escalation = mu === 0 && escalation.mu >= settings.muMin ? escalation : increaseMu(escalation, settings);
      if (!(escalation.mu <= settings.muMax)) {
        const S = stateCovariances(lq, K0, A0, S0, options.processNoise);
        return { ok: false, K: Float64Array.from(K0), A: Float64Array.from(A0), S, sweepS: S, mu, restarts, lastPassChange: { K: 0, A: 0 } };
      }
      mu = escalation.mu;
      restarts++;
    }
    let dK = 0;
    let dA = 0;
    for (let i = 0; i < K.length; i++) dK = Math.max(dK, Math.abs(K[i] - Kstart[i]));
    for (let i = 0; i < A.length; i++) dA = Math.max(dA, Math.abs(A[i] - Astart[i]));
    change = { K: dK, A: dA };
  }
  const S = stateCovariances(lq, K, A, S0, options.processNoise);
  return { ok: true, K, A, S, sweepS, mu, restarts, lastPassChange: change };
}

/** One backward sweep in place on K, A; false when a Cholesky factorization fails (Q̃_uu, or an A_t that cannot be inverted). */
function covarianceSweep(
  lq: LqApproximation,
  ubar: Float64Array,
  lin: PolicyLinearization,
  lambda: Float64Array,
  S: Float64Array,
  mu: number,
  inner: number,
  tol: number,
  K: Float64Array,
  A: Float64Array,
): boolean {
  const { T, nx, nu, fx, fu } = lq;
  const s = qScratch(nx, nu);
  const Lxx = new Float64Array(nx * nx); // 2 L_S,T = 0
  const QuuR = new Float64Array(nu * nu); // Q_uu + μ f_uᵀf_u
  const QuxR = new Float64Array(nu * nx); // Q_ux + μ f_uᵀf_x
  const H = new Float64Array(nu * nu);
  const Ainv = new Float64Array(nu * nu);
  const Knew = new Float64Array(nu * nx);
  const Anew = new Float64Array(nu * nu);
  const M = new Float64Array(nu * nu);
  const work = new Float64Array(nu * nu);
  const QuuK = new Float64Array(nu * nx);
  const D = new Float64Array(nu * nx);
  const AinvD = new Float64Array(nu * nx);
  const tmpXX = new Float64Array(nx * nx);
  const tmpUU = new Float64Array(nu * nu);
  const tmpUX = new Float64Array(nu * nx);
  const ws = conditionalCovarianceWorkspace(nu);
  for (let t = T - 1; t >= 0; t--) {
    const oXX = t * nx * nx;
    const oXU = t * nx * nu;
    const oUU = t * nu * nu;
    const oUX = t * nu * nx;
    const lam = lambda[t];
    qTerms(lq, t, null, Lxx, s);
    QuuR.set(s.Quu);
    QuxR.set(s.Qux);
    if (mu !== 0) {
      matTMul(fu, fu, nx, nu, nu, tmpUU, oXU, oXU);
      matTMul(fu, fx, nx, nu, nx, tmpUX, oXU, oXX);
      for (let i = 0; i < nu * nu; i++) QuuR[i] += mu * tmpUU[i];
      for (let i = 0; i < nu * nx; i++) QuxR[i] += mu * tmpUX[i];
      symmetrize(QuuR, nu);
    }
    const uHat = ubar.subarray(t * nu, (t + 1) * nu);
    const muPi = lin.mu.subarray(t * nu, (t + 1) * nu);
    const muPiX = lin.muX.subarray(oUX, oUX + nu * nx);
    const sigmaPi = lin.sigma.subarray(oUU, oUU + nu * nu);
    const St = S.subarray(oXX, oXX + nx * nx);
    for (let it = 0; it < inner; it++) {
      // (7): K = −(Q_uu + λA⁻¹)⁻¹ (Q_ux − λA⁻¹ μ_x) with the current A_t.
      H.set(QuuR);
      for (let i = 0; i < nu * nx; i++) Knew[i] = -QuxR[i];
      if (lam > 0) {
        // An A_t from equation (8) whose eigenvalues were floored can be too ill-conditioned to
        // factor: a failed sweep like a non-PD Q_uu (more μ, or the step keeps q's A), not a crash.
        if (!spdInverse(A, oUU, nu, Ainv, 0, work)) return false;
        for (let i = 0; i < nu * nu; i++) H[i] += lam * Ainv[i];
        symmetrize(H, nu);
        matMul(Ainv, muPiX, nu, nu, nx, tmpUX);
        for (let i = 0; i < nu * nx; i++) Knew[i] += lam * tmpUX[i];
      }
      if (!cholesky(H, nu)) return false;
      choleskySolveMat(H, nu, Knew, nx);
      // (8) with M from the new K_t and S_t.
      conditionalCovarianceTarget(sigmaPi, uHat, muPi, Knew, muPiX, St, nu, nx, M);
      if (!solveConditionalCovariance(QuuR, M, lam, Anew, ws)) return false;
      let dmax = 0;
      for (let i = 0; i < nu * nx; i++) dmax = Math.max(dmax, Math.abs(Knew[i] - K[oUX + i]));
      for (let i = 0; i < nu * nu; i++) dmax = Math.max(dmax, Math.abs(Anew[i] - A[oUU + i]));
      K.set(Knew, oUX);
      A.set(Anew, oUU);
      if (lam === 0 || dmax <= tol) break; // λ = 0: K and A do not depend on each other
    }
    // L_xx,t = 2 L_S,t (equation 6) with the final K_t, A_t.
    if (lam > 0 && !spdInverse(A, oUU, nu, Ainv, 0, work)) return false;
    updateLxx(nx, nu, s, K, oUX, lam, Ainv, lin.muX, oUX, QuuK, D, AinvD, tmpXX, Lxx);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Lagrangians

/**
 * The line-search Lagrangian of a mean rollout (xs (T+1)·n, us T·m):
 *     Σ_t l(x_t,u_t) + Σ_{t: λ_t>0} λ_t D_KL( N(μ_t + μ_xt(x_t − xRef_t), Σ^π_t) ‖ N(u_t, A_t) ),
 * the policy model `lin` having been built at the states xRef ((T+1)·n).
 * Returns +∞ for a non-finite rollout.
 */
export function meanLagrangian(
  cost: Cost,
  xs: Float64Array,
  us: Float64Array,
  T: number,
  A: Float64Array,
  lin: PolicyLinearization,
  xRef: Float64Array,
  lambda: Float64Array,
): number {
  const { nx, nu } = cost;
  const mp = new Float64Array(nu);
  const work = gaussianKlWorkspace(nu);
  let total = 0;
  for (let t = 0; t < T; t++) {
    total += cost.value(xs, us, t, t * nx, t * nu);
    if (lambda[t] > 0) {
      affinePolicyMean(lin, t, nx, nu, xRef, xs, t * nx, mp);
      const kl = gaussianKl(
        mp,
        lin.sigma.subarray(t * nu * nu, (t + 1) * nu * nu),
        us.subarray(t * nu, (t + 1) * nu),
        A.subarray(t * nu * nu, (t + 1) * nu * nu),
        nu,
        work,
      );
      total += lambda[t] * kl;
    }
  }
  return Number.isFinite(total) ? total : Infinity;
}

/**
 * The full Laplace Lagrangian L(q) of the header at q's nominal, with the LQ
 * expansion `lq` and policy model `lin` at that nominal; `traj.S` must be the
 * state covariances of (K, cov) (as `stateCovariances` makes them). Throws
 * when some A_t or Σ^π_t is not positive definite.
 */
export function laplaceLagrangian(
  cost: Cost,
  lq: LqApproximation,
  traj: Pick<CgpsTrajectory, "xbar" | "ubar" | "K" | "cov" | "S">,
  lin: PolicyLinearization,
  lambda: Float64Array,
): LagrangianTerms {
  const { T, nx, nu, lxx, luu, lux } = lq;
  checkLambda(lambda, T, "laplaceLagrangian");
  checkLin(lin, T, nx, nu, "laplaceLagrangian");
  const { xbar, ubar, K, cov: A, S } = traj;
  const kl = new Float64Array(T);
  const KS = new Float64Array(nu * nx);
  const KSKA = new Float64Array(nu * nu);
  const LA = new Float64Array(nu * nu);
  const LP = new Float64Array(nu * nu);
  const M = new Float64Array(nu * nu);
  let c = 0;
  let covCost = 0;
  let negEntropy = 0;
  let constraint = 0;
  for (let t = 0; t < T; t++) {
    const oXX = t * nx * nx;
    const oUU = t * nu * nu;
    const oUX = t * nu * nx;
    c += cost.value(xbar, ubar, t, t * nx, t * nu);
    // ½ tr(Σ_t l_xu,xu) = ½ [tr(S l_xx) + 2 Σ (K S)∘l_ux + tr((K S Kᵀ + A) l_uu)]
    matMul(K, S, nu, nx, nx, KS, oUX, oXX);
    let tr = 0;
    for (let i = 0; i < nx; i++) for (let j = 0; j < nx; j++) tr += S[oXX + i * nx + j] * lxx[oXX + j * nx + i];
    for (let i = 0; i < nu * nx; i++) tr += 2 * KS[i] * lux[oUX + i];
    for (let a = 0; a < nu; a++) {
      for (let b = 0; b < nu; b++) {
        let v = A[oUU + a * nu + b];
        for (let p = 0; p < nx; p++) v += KS[a * nx + p] * K[oUX + b * nx + p];
        KSKA[a * nu + b] = v;
      }
    }
    for (let a = 0; a < nu; a++) for (let b = 0; b < nu; b++) tr += KSKA[a * nu + b] * luu[oUU + b * nu + a];
    covCost += 0.5 * tr;

    for (let i = 0; i < nu * nu; i++) LA[i] = A[oUU + i];
    symmetrize(LA, nu);
    if (!cholesky(LA, nu)) throw new Error(`laplaceLagrangian: A at t=${t} is not positive definite`);
    const logDetA = logDetFromCholesky(LA, nu);
    negEntropy -= 0.5 * logDetA;

    // E KL(π‖q) = ½ [tr(A⁻¹M) − m + log|A| − log|Σ^π|]
    for (let i = 0; i < nu * nu; i++) LP[i] = lin.sigma[oUU + i];
    symmetrize(LP, nu);
    if (!cholesky(LP, nu)) throw new Error(`laplaceLagrangian: Σ^π at t=${t} is not positive definite`);
    conditionalCovarianceTarget(
      lin.sigma.subarray(oUU, oUU + nu * nu),
      ubar.subarray(t * nu, (t + 1) * nu),
      lin.mu.subarray(t * nu, (t + 1) * nu),
      K.subarray(oUX, oUX + nu * nx),
      lin.muX.subarray(oUX, oUX + nu * nx),
      S.subarray(oXX, oXX + nx * nx),
      nu,
      nx,
      M,
    );
    choleskySolveMat(LA, nu, M, nu); // M ← A⁻¹ M
    let trAM = 0;
    for (let i = 0; i < nu; i++) trAM += M[i * nu + i];
    const klt = 0.5 * (trAM - nu + logDetA - logDetFromCholesky(LP, nu));
    kl[t] = klt > 0 ? klt : 0;
    constraint += lambda[t] * kl[t];
  }
  return { cost: c, covarianceCost: covCost, negEntropy, constraint, kl, total: c + covCost + negEntropy + constraint };
}

// ---------------------------------------------------------------------------
// Trajectories and the step

/**
 * A CgpsTrajectory from a linear-Gaussian controller (e.g. an iLQG result):
 * its nominal, K and cov (= A_t) copied, S from `stateCovariances` at the
 * nominal's linearization with S_0 = opts.S0 (default 0), μ and Δ from opts
 * (default settings.muInit and 1). The controller must have k = 0 (its nominal
 * is q's mean, as for every ilqg.ts trajectory): throws otherwise.
 */
export function initialCgpsTrajectory(
  dyn: Linearizer,
  cost: Cost,
  ctrl: LinearGaussianController,
  settings: IlqgSettings,
  opts: { readonly S0?: Float64Array; readonly processNoise?: Float64Array; readonly reg?: Regularization } = {},
): CgpsTrajectory {
  if (ctrl.k.some((v) => v !== 0)) throw new Error("initialCgpsTrajectory: k must be 0 (the nominal must be q's mean); roll the controller out first");
  const lq = lqApproximation(dyn, cost, ctrl);
  const S = stateCovariances(lq, ctrl.K, ctrl.cov, opts.S0, opts.processNoise);
  return {
    T: ctrl.T,
    nx: ctrl.nx,
    nu: ctrl.nu,
    xbar: Float64Array.from(ctrl.xbar),
    ubar: Float64Array.from(ctrl.ubar),
    K: Float64Array.from(ctrl.K),
    k: new Float64Array(ctrl.T * ctrl.nu),
    cov: Float64Array.from(ctrl.cov),
    S,
    mu: opts.reg?.mu ?? settings.muInit,
    muFactor: opts.reg?.muFactor ?? 1,
  };
}

/**
 * One iteration of Algorithm 2 on q = `traj` with duals λ and the policy
 * model `policyLin` built at traj.xbar (by `linearizePolicy`, or the Monte
 * Carlo variant with samples from q):
 *
 *  1. linearize dynamics and cost at the nominal (dyn.linearize, Cost.expand);
 *  2. mean pass, equations (3)–(5), with A = traj.cov;
 *  3. line search: roll out u_t = ū_t + α k_t + K_t (x_t − x̄_t) with
 *     dyn.rollout for α in settings.lineSearchAlphas (1, ½, ¼, … by default)
 *     and accept the first α whose line-search Lagrangian (header) is finite
 *     and lower than the nominal's (and, when the predicted decrease
 *     −(α dV1 + α² dV2) is positive, by more than settings.minReductionRatio
 *     of it). Accepted: the rollout is the new nominal and μ decreases;
 *     rejected (or the mean pass failed): the nominal stays and μ increases;
 *  4. relinearize dynamics, cost and policy at the (new) nominal (line 11;
 *     options.relinearizePolicy, default: re-centre the affine model);
 *  5. covariance pass (lines 12–21) from K (the mean pass's when accepted,
 *     the input's otherwise) and A = traj.cov, with S_0 = traj.S's first
 *     block (0 for a deterministic start) and options.processNoise.
 *
 * λ = 0 reduces it to max-entropy iLQG: the mean pass is ilqg.ts's
 * backwardPass, the line search compares costs, and A_t = Q_uu⁻¹ at the new
 * nominal (unregularized unless Q_uu is indefinite). Returns a new
 * trajectory (k = 0) and the step's report; the inputs are not modified.
 */
export function trajectoryStep(
  dyn: TrajectoryDynamics,
  cost: Cost,
  traj: CgpsTrajectory,
  policyLin: PolicyLinearization,
  lambda: Float64Array,
  settings: IlqgSettings,
  options: TrajectoryStepOptions = {},
): TrajectoryStepResult {
  const { T, nx, nu, xbar, ubar } = traj;
  checkLambda(lambda, T, "trajectoryStep");
  checkLin(policyLin, T, nx, nu, "trajectoryStep");
  if (traj.S.length !== (T + 1) * nx * nx) throw new Error(`trajectoryStep: S has ${traj.S.length} entries, expected ${(T + 1) * nx * nx}`);
  const passes = options.covariancePasses ?? defaultTrajectoryStepOptions.covariancePasses;
  const inner = options.innerIterations ?? defaultTrajectoryStepOptions.innerIterations;
  const tolerance = options.tolerance ?? defaultTrajectoryStepOptions.tolerance;
  const S0 = traj.S.slice(0, nx * nx);

  // 1–2. Expansion and mean pass at the input nominal.
  const linearizer = options.linearizer ?? dyn;
  const lq = lqApproximation(linearizer, cost, traj);
  const Sin = stateCovariances(lq, traj.K, traj.cov, S0, options.processNoise);
  const previousLagrangian = laplaceLagrangian(cost, lq, { xbar, ubar, K: traj.K, cov: traj.cov, S: Sin }, policyLin, lambda).total;
  const previousMean = meanLagrangian(cost, xbar, ubar, T, traj.cov, policyLin, xbar, lambda);
  const mp = meanPass(lq, ubar, policyLin, lambda, traj.cov, { mu: traj.mu, muFactor: traj.muFactor }, settings);

  // 3. Line search.
  let accepted = false;
  let alphaUsed = 0;
  let expected = 0;
  let actual = 0;
  let meanL = previousMean;
  let newX: Float64Array = xbar;
  let newU: Float64Array = ubar;
  let reg: Regularization;
  if (mp.ok) {
    const xs = new Float64Array((T + 1) * nx);
    const us = new Float64Array(T * nu);
    let alpha = 0;
    const controller = (t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number): void => {
      for (let i = 0; i < nu; i++) {
        const row = (t * nu + i) * nx;
        let v = ubar[t * nu + i] + alpha * mp.k[t * nu + i];
        for (let j = 0; j < nx; j++) v += mp.K[row + j] * (x[xOff + j] - xbar[t * nx + j]);
        u[uOff + i] = v;
      }
    };
    const x0 = xbar.subarray(0, nx);
    for (const a of settings.lineSearchAlphas) {
      alpha = a;
      dyn.rollout(x0, controller, T, xs, us);
      const value = meanLagrangian(cost, xs, us, T, traj.cov, policyLin, xbar, lambda);
      expected = expectedReduction(mp.dV1, mp.dV2, a);
      actual = previousMean - value;
      const enough = expected > 0 ? actual > settings.minReductionRatio * expected : true;
      if (Number.isFinite(value) && actual > 0 && enough) {
        accepted = true;
        alphaUsed = a;
        meanL = value;
        newX = xs;
        newU = us;
        break;
      }
    }
  }
  if (accepted) {
    reg = decreaseMu(mp.reg, settings);
  } else {
    const up = increaseMu(mp.reg, settings);
    reg = { mu: Math.min(up.mu, settings.muMax), muFactor: up.muFactor };
  }

  // 4. Relinearize at the (new) nominal.
  const lq2 = accepted ? lqApproximation(linearizer, cost, { T, nx, nu, xbar: newX, ubar: newU, K: mp.K, k: mp.k, cov: traj.cov }) : lq;
  let lin2 = policyLin;
  if (accepted) {
    lin2 = options.relinearizePolicy !== undefined ? options.relinearizePolicy({ T, nx, nu, xbar: newX, ubar: newU, K: mp.K, k: new Float64Array(T * nu), cov: traj.cov }) : shiftPolicyLinearization(policyLin, T, nx, nu, xbar, newX);
    checkLin(lin2, T, nx, nu, "trajectoryStep (relinearizePolicy)");
  }

  // 5. Covariance pass.
  const Kstart = accepted ? mp.K : traj.K;
  const cp = covariancePass(lq2, newU, lin2, lambda, Kstart, traj.cov, S0, { passes, innerIterations: inner, tolerance, processNoise: options.processNoise }, reg, settings);

  const trajectory: CgpsTrajectory = {
    T,
    nx,
    nu,
    xbar: Float64Array.from(newX),
    ubar: Float64Array.from(newU),
    K: cp.K,
    k: new Float64Array(T * nu),
    cov: cp.A,
    S: cp.S,
    mu: reg.mu,
    muFactor: reg.muFactor,
  };
  const terms = laplaceLagrangian(cost, lq2, trajectory, lin2, lambda);
  return {
    trajectory,
    info: {
      accepted,
      alpha: alphaUsed,
      mu: mp.reg.mu,
      backwardPassFailed: !mp.ok,
      covariancePassFailed: !cp.ok,
      previousMeanLagrangian: previousMean,
      meanLagrangian: meanL,
      expectedReduction: expected,
      actualReduction: actual,
      previousLagrangian,
      lagrangian: terms.total,
      terms,
      meanPass: { K: mp.ok ? mp.K : new Float64Array(T * nu * nx), k: mp.ok ? mp.k : new Float64Array(T * nu) },
      policy: lin2,
      covarianceMu: cp.mu,
      covarianceChange: cp.lastPassChange,
    },
  };
}
