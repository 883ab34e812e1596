/**
 * Local linear-Gaussian models of the neural-network policy
 * π_θ(u|x) = N(μ^π(x), Σ^π), as the constrained-GPS trajectory step needs
 * them (Levine & Koltun 2014 §3.1; gps-math §3, and its last paragraph for the
 * Monte Carlo variant).
 *
 * COORDINATES. Everything here is ABSOLUTE: states and actions as the
 * simulator sees them, never perturbations. At time step t the policy is
 * modelled as the affine-Gaussian
 *
 *     π(u | x) ≈ N( μ_t + μ_xt (x − x̂_t),  Σ_t )
 *
 * where x̂_t is the point the model was built at (the nominal state of the
 * trajectory distribution q), μ_t = μ^π(x̂_t) is the policy's ABSOLUTE mean
 * action there (not "minus û_t"), μ_xt = ∂μ^π/∂x at x̂_t (m×n, with respect to
 * the raw state, input normalization included), and Σ_t = Σ^π =
 * diag(exp(2·logStd)) (state-independent for our MLP). The paper's and the
 * note's perturbation-coordinate mean "μ^π_t" of equations (3)–(5) is
 * μ_t − û_t; ./cgps-trajectory.ts forms that difference itself.
 *
 * The Monte Carlo variant replaces μ_t, μ_xt, Σ_t by their averages over
 * samples x_ti ~ q(x_t) (the paper's "simply substituting the sample
 * averages"); the model is then still used as an affine function centred at
 * the nominal x̂_t (the mean of q(x_t)), i.e. μ_t = (1/N) Σ_i μ^π(x_ti) plays
 * the role of "the policy's mean at x̂_t".
 *
 * Shapes (row-major Float64Array, stacked over t = 0 … T−1, n = state
 * dimension, m = action dimension):
 *     mu    T·m      μ_t
 *     muX   T·m·n    μ_xt (row j = ∂μ_j/∂x)
 *     sigma T·m·m    Σ_t
 */
import { createWorkspace, meanJacobian, parameterLayout, type MlpPolicy, type MlpWorkspace } from "../policy/mlp.js";

/** The per-time-step affine-Gaussian model of π_θ (see the header for coordinates). */
export interface PolicyLinearization {
  /** μ_t = μ^π(x̂_t), absolute action (T·m). */
  readonly mu: Float64Array;
  /** μ_xt = ∂μ^π/∂x at x̂_t, raw-state Jacobian (T·m·n). */
  readonly muX: Float64Array;
  /** Σ^π_t (T·m·m), symmetric positive definite. */
  readonly sigma: Float64Array;
}

export function allocPolicyLinearization(T: number, n: number, m: number): PolicyLinearization {
  return { mu: new Float64Array(T * m), muX: new Float64Array(T * m * n), sigma: new Float64Array(T * m * m) };
}

function checkOut(out: PolicyLinearization, T: number, n: number, m: number, where: string): void {
  if (out.mu.length !== T * m || out.muX.length !== T * m * n || out.sigma.length !== T * m * m) {
    throw new Error(`${where}: out has (${out.mu.length}, ${out.muX.length}, ${out.sigma.length}) entries, expected (${T * m}, ${T * m * n}, ${T * m * m}) for T=${T}, n=${n}, m=${m}`);
  }
}

/** Writes diag(exp(2·logStd)) of θ into sigma at offset off (m×m). */
export function writeSigma(policy: MlpPolicy, theta: Float64Array, sigma: Float64Array, off: number): void {
  const m = policy.nOut;
  const ls = parameterLayout(policy).logStd;
  for (let i = 0; i < m * m; i++) sigma[off + i] = 0;
  for (let j = 0; j < m; j++) sigma[off + j * m + j] = Math.exp(2 * theta[ls + j]);
}

/**
 * Linearize π_θ at the nominal states xs ((T+1)·n; x̂_T is not used: there is
 * no action at T). Writes into `out` (T·m, T·m·n, T·m·m) and returns it:
 *     mu[t]    = μ^π(x̂_t)            (absolute)
 *     muX[t]   = ∂μ^π/∂x (x̂_t)       (raw state)
 *     sigma[t] = diag(exp(2·logStd)).
 * `ws` (batch ≥ 1) is scratch; allocated when omitted.
 */
export function linearizePolicy(
  policy: MlpPolicy,
  theta: Float64Array,
  xs: Float64Array,
  T: number,
  out: PolicyLinearization,
  ws: MlpWorkspace = createWorkspace(policy, 1),
): PolicyLinearization {
  const n = policy.nIn;
  const m = policy.nOut;
  if (!Number.isInteger(T) || T < 1) throw new Error(`linearizePolicy: T must be a positive integer, got ${T}`);
  if (xs.length < T * n) throw new Error(`linearizePolicy: xs has ${xs.length} entries, needs at least T·n = ${T * n}`);
  checkOut(out, T, n, m, "linearizePolicy");
  const J = new Float64Array(m * n);
  const mean = new Float64Array(m);
  for (let t = 0; t < T; t++) {
    meanJacobian(policy, theta, xs, J, ws, mean, t * n);
    out.mu.set(mean, t * m);
    out.muX.set(J, t * m * n);
    writeSigma(policy, theta, out.sigma, t * m * m);
  }
  return out;
}

/**
 * The Monte Carlo variant (end of 2014 §3.1): `stateSamples` holds `count`
 * state trajectories x_i drawn from q, stacked count·(T+1)·n (sample i, time
 * t at (i·(T+1) + t)·n). For every t < T writes the sample averages
 *     mu[t]    = (1/count) Σ_i μ^π(x_ti)
 *     muX[t]   = (1/count) Σ_i ∂μ^π/∂x (x_ti)
 *     sigma[t] = (1/count) Σ_i Σ^π(x_ti)   (= diag(exp(2·logStd)) for our MLP)
 * into `out` (whose size fixes T) and returns it. With count = 1 and the
 * nominal as the sample this is exactly `linearizePolicy`.
 */
export function linearizePolicyMonteCarlo(
  policy: MlpPolicy,
  theta: Float64Array,
  stateSamples: Float64Array,
  count: number,
  out: PolicyLinearization,
  ws: MlpWorkspace = createWorkspace(policy, 1),
): PolicyLinearization {
  const n = policy.nIn;
  const m = policy.nOut;
  if (!Number.isInteger(count) || count < 1) throw new Error(`linearizePolicyMonteCarlo: count must be a positive integer, got ${count}`);
  const T = out.mu.length / m;
  if (!Number.isInteger(T) || T < 1) throw new Error(`linearizePolicyMonteCarlo: out.mu has ${out.mu.length} entries, not a positive multiple of m=${m}`);
  checkOut(out, T, n, m, "linearizePolicyMonteCarlo");
  if (stateSamples.length !== count * (T + 1) * n) {
    throw new Error(`linearizePolicyMonteCarlo: stateSamples has ${stateSamples.length} entries, expected count·(T+1)·n = ${count * (T + 1) * n}`);
  }
  out.mu.fill(0);
  out.muX.fill(0);
  const J = new Float64Array(m * n);
  const mean = new Float64Array(m);
  const w = 1 / count;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < count; i++) {
      meanJacobian(policy, theta, stateSamples, J, ws, mean, (i * (T + 1) + t) * n);
      for (let j = 0; j < m; j++) out.mu[t * m + j] += w * mean[j];
      for (let k = 0; k < m * n; k++) out.muX[t * m * n + k] += w * J[k];
    }
    // Σ^π does not depend on the state for our MLP, so its average is itself.
    writeSigma(policy, theta, out.sigma, t * m * m);
  }
  return out;
}

/**
 * Evaluate the affine model's mean at time t for the state x[xOff…]:
 *     out[outOff…] = μ_t + μ_xt (x − x̂_t),
 * with x̂_t read from xRef[t·n…] (the states the model was built at).
 */
export function affinePolicyMean(
  lin: PolicyLinearization,
  t: number,
  n: number,
  m: number,
  xRef: Float64Array,
  x: Float64Array,
  xOff: number,
  out: Float64Array,
  outOff = 0,
): void {
  for (let j = 0; j < m; j++) {
    let s = lin.mu[t * m + j];
    const row = (t * m + j) * n;
    for (let i = 0; i < n; i++) s += lin.muX[row + i] * (x[xOff + i] - xRef[t * n + i]);
    out[outOff + j] = s;
  }
}

/**
 * Re-centre an affine model built at states `from` on new states `to`
 * ((T+1)·n each): μ_t ← μ_t + μ_xt (to_t − from_t), μ_xt and Σ_t unchanged.
 * Exact when the policy mean is affine; otherwise a first-order stand-in for
 * relinearizing the policy at `to`. Returns a new linearization.
 */
export function shiftPolicyLinearization(lin: PolicyLinearization, T: number, n: number, m: number, from: Float64Array, to: Float64Array): PolicyLinearization {
  const out: PolicyLinearization = { mu: new Float64Array(T * m), muX: Float64Array.from(lin.muX), sigma: Float64Array.from(lin.sigma) };
  for (let t = 0; t < T; t++) affinePolicyMean(lin, t, n, m, from, to, t * n, out.mu, t * m);
  return out;
}
