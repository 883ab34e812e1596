/**
 * The policy and dual steps of constrained guided policy search (Levine &
 * Koltun 2014, Algorithm 1 lines 4 and 5; gps-math §4, §5):
 *
 *   sampleTrainingStates  x_ti ~ q(x_t), by rolling out q with its noise
 *   policyFitBatch        the weighted least-squares data of §4 over every
 *                         condition, time step and sample
 *   fitPolicy             LBFGS on the policy mean, then the closed-form
 *                         state-independent diagonal Σ^π
 *   expectedKl            E_{q(x_t)} D_KL(π_θ(u|x) ‖ q(u|x)), per time step
 *   dualStep              λ_t ← max(0, λ_t + η·KL_t)             (equation 2)
 *   costRamp              the cost multiplier of the first 50 iterations
 *
 * Everything is a pure function of its arguments (the sampler is the only
 * state, and it is passed in): no I/O, no Math.random, a fixed order of
 * floating-point operations, so equal inputs give bit-identical outputs.
 */
import { fitThetaDefaults } from "../dsl/experiment.js";
import type { Observer } from "./observation.js";
import { cholesky, choleskyInverse, symmetrize } from "../linalg/dense.js";
import { minimizeLbfgs, type LbfgsMemory, type LbfgsOptions, type LbfgsResult } from "../optim/lbfgs.js";
import type { RowsLoss } from "../policy/kernels/batched.js";
import { normalizationFrom, optimalLogStd, parameterLayout, type InputNormalization, type MlpPolicy } from "../policy/mlp.js";
import { kernelsOf, type PolicyKernels } from "./numerics.js";
import type { Sampler } from "../random/generator.js";
import { gaussianKl, gaussianKlWorkspace } from "../trajopt/cgps-math.js";
import { meanAction, sampleTrajectories } from "../trajopt/linear-gaussian.js";
import type { LinearGaussianController, TrajectoryDynamics } from "../trajopt/types.js";

// ---------------------------------------------------------------------------
// 1. Training states

/**
 * `count` rollouts of q (with its noise, scaled by `noiseScale`, default 1)
 * from x0 in `dyn`; returns their states, count·(T+1)·n, sample i at
 * i·(T+1)·n, time t of it at i·(T+1)·n + t·n. These are the x_ti ~ q(x_t) of
 * §4: the marginal of a rollout of q at step t is q(x_t). The sampler is
 * advanced; the same sampler state gives the same states.
 */
export function sampleTrainingStates(
  dyn: TrajectoryDynamics,
  q: LinearGaussianController,
  x0: Float64Array,
  count: number,
  sampler: Sampler,
  noiseScale = 1,
): Float64Array {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`sampleTrainingStates: count must be a positive integer, got ${count}`);
  if (dyn.nx !== q.nx || dyn.nu !== q.nu) throw new RangeError(`sampleTrainingStates: dynamics are (${dyn.nx}, ${dyn.nu}), controller is (${q.nx}, ${q.nu})`);
  if (x0.length !== q.nx) throw new RangeError(`sampleTrainingStates: x0 has ${x0.length} entries, expected ${q.nx}`);
  return sampleTrajectories(dyn, q, x0, count, sampler, noiseScale).xs;
}

// ---------------------------------------------------------------------------
// 2. The fitting data

/** One condition's contribution to the policy step. */
export interface PolicyFitCondition {
  /** The trajectory distribution the policy is fitted to. */
  readonly q: LinearGaussianController;
  /** x_ti ~ q(x_t): count·(T+1)·n, as `sampleTrainingStates` returns them. */
  readonly states: Float64Array;
  readonly count: number;
  /** Dual variables λ_t (T entries, each ≥ 0): the weight of step t. */
  readonly lambda: Float64Array;
}

/**
 * The §4 objective as data: N = Σ_conditions count·T rows, ordered condition,
 * then sample, then time step (row r = (offset of the condition) + i·T + t).
 */
export interface PolicyFitBatch {
  readonly n: number;
  readonly m: number;
  /** Number of rows. */
  readonly N: number;
  /** States x_ti, N·n. */
  readonly X: Float64Array;
  /** q's mean action at x_ti in absolute coordinates, ū_t + k_t + K_t (x_ti − x̄_t); N·m. */
  readonly targets: Float64Array;
  /** A_t⁻¹ (inverse of q.cov[t]) per row, N·m·m, exactly symmetric. */
  readonly precisions: Float64Array;
  /** λ_t per row, N. */
  readonly weights: Float64Array;
}

/**
 * Collects the weighted least-squares problem of gps-math §4 over all t < T
 * and every sample of every condition. The state x_T has no action, so it is
 * not used. Rows with λ_t = 0 are kept (weight 0) so that the shapes depend on
 * counts and horizons only. Throws when some q.cov[t] is not positive
 * definite, when shapes disagree, or when a λ_t is negative or not finite.
 */
export function policyFitBatch(conditions: readonly PolicyFitCondition[]): PolicyFitBatch {
  if (conditions.length === 0) throw new RangeError("policyFitBatch: no conditions");
  const n = conditions[0].q.nx;
  const m = conditions[0].q.nu;
  let N = 0;
  conditions.forEach((c, ci) => {
    const { q, count, states, lambda } = c;
    if (q.nx !== n || q.nu !== m) throw new RangeError(`policyFitBatch: condition ${ci} is (${q.nx}, ${q.nu}), condition 0 is (${n}, ${m})`);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`policyFitBatch: condition ${ci}: count must be a positive integer, got ${count}`);
    if (states.length !== count * (q.T + 1) * n) throw new RangeError(`policyFitBatch: condition ${ci}: states has ${states.length} entries, expected ${count}·${q.T + 1}·${n}`);
    if (lambda.length !== q.T) throw new RangeError(`policyFitBatch: condition ${ci}: lambda has ${lambda.length} entries, expected T = ${q.T}`);
    for (let t = 0; t < q.T; t++) {
      if (!(lambda[t] >= 0) || !Number.isFinite(lambda[t])) throw new RangeError(`policyFitBatch: condition ${ci}: lambda[${t}] = ${lambda[t]} must be finite and ≥ 0`);
    }
    N += count * q.T;
  });

  const X = new Float64Array(N * n);
  const targets = new Float64Array(N * m);
  const precisions = new Float64Array(N * m * m);
  const weights = new Float64Array(N);
  const mm = m * m;
  let row = 0;
  for (let ci = 0; ci < conditions.length; ci++) {
    const { q, states, count, lambda } = conditions[ci];
    const T = q.T;
    // A_t⁻¹ once per step: Cholesky, inverse from the factor, symmetrized.
    const P = new Float64Array(T * mm);
    const L = new Float64Array(mm);
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < mm; k++) L[k] = q.cov[t * mm + k];
      symmetrize(L, m);
      if (!cholesky(L, m)) throw new RangeError(`policyFitBatch: condition ${ci}: cov at t=${t} is not positive definite`);
      choleskyInverse(L, m, P, 0, t * mm);
      symmetrize(P, m, t * mm);
    }
    for (let i = 0; i < count; i++) {
      for (let t = 0; t < T; t++) {
        const src = (i * (T + 1) + t) * n;
        for (let j = 0; j < n; j++) X[row * n + j] = states[src + j];
        meanAction(q, t, states, src, targets, row * m);
        for (let k = 0; k < mm; k++) precisions[row * mm + k] = P[t * mm + k];
        weights[row] = lambda[t];
        row++;
      }
    }
  }
  return { n, m, N, X, targets, precisions, weights };
}

/**
 * The policy's input normalization from the training states of a batch:
 * normalizationFrom(batch.X, n) (per-dimension mean and std of the x_ti).
 *
 * When to recompute it (the paper does not say). Recommended, and what a
 * caller should do: compute it at the FIRST policy fit and then keep it
 * frozen. Reasons: (1) the network function μ^π depends on θ AND the
 * normalization, so changing the normalization between iterations silently
 * changes the policy that the trajectory step has just been constrained
 * towards (its linearization μ^π, μ^π_x) and invalidates a warm start of θ
 * and of the LBFGS memory; (2) the weight decay of `fitPolicy` acts on the
 * normalized-input weights, so a moving normalization moves the prior too;
 * (3) in constrained GPS the trajectories are pulled towards the policy, so
 * q(x_t) stays close to the region of the initial trajectories; the
 * normalization only has to put the inputs at O(1), not be exact. If the
 * states do drift far (say the std of a dimension changes by an order of
 * magnitude), `renormalizePolicy` switches to a new normalization while
 * preserving μ^π exactly, which gives the benefits of "every fit" without its
 * discontinuity.
 */
export function fitNormalization(batch: PolicyFitBatch, n: number = batch.n): InputNormalization {
  if (n !== batch.n) throw new RangeError(`fitNormalization: batch states are ${batch.n}-dimensional, not ${n}`);
  return normalizationFrom(batch.X, n);
}

/**
 * The same network function under a new input normalization: with
 * x̃_old = (x − a)/s and x̃_new = (x − a')/s', W1 x̃_old + b1 =
 * W1 diag(s'/s) x̃_new + (b1 + W1 ((a' − a)/s)), so W1 and b1 are rewritten
 * and everything else is copied. Returns the new policy value and θ; μ^π(x) is
 * unchanged up to rounding for every x.
 */
export function renormalizePolicy(policy: MlpPolicy, theta: Float64Array, normalization: InputNormalization): { policy: MlpPolicy; theta: Float64Array } {
  const n = policy.nIn;
  const H = policy.nHidden;
  const L = parameterLayout(policy);
  if (theta.length !== L.total) throw new RangeError(`renormalizePolicy: θ has ${theta.length} entries, expected ${L.total}`);
  if (normalization.inputMean.length !== n || normalization.inputStd.length !== n) throw new RangeError(`renormalizePolicy: normalization must have ${n} entries`);
  const out = Float64Array.from(theta);
  const shift = new Float64Array(n);
  const ratio = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = normalization.inputStd[i];
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`renormalizePolicy: inputStd[${i}] = ${s} is not positive`);
    shift[i] = (normalization.inputMean[i] - policy.inputMean[i]) / policy.inputStd[i];
    ratio[i] = s / policy.inputStd[i];
  }
  for (let h = 0; h < H; h++) {
    let b = theta[L.b1 + h];
    for (let i = 0; i < n; i++) {
      const w = theta[L.w1 + h * n + i];
      b += w * shift[i];
      out[L.w1 + h * n + i] = w * ratio[i];
    }
    out[L.b1 + h] = b;
  }
  const next: MlpPolicy = {
    nIn: n,
    nHidden: H,
    nOut: policy.nOut,
    inputMean: Float64Array.from(normalization.inputMean),
    inputStd: Float64Array.from(normalization.inputStd),
  };
  return { policy: next, theta: out };
}

// ---------------------------------------------------------------------------
// 3. The policy step

export interface FitPolicyOptions {
  /** LBFGS iterations (accepted steps) on the mean parameters. */
  readonly maxIterations: number;
  /**
   * Weight decay r on W1 and W2 (not the biases, not logStd). The objective
   * LBFGS minimizes is the §4 mean loss per unit weight plus the decay,
   *
   *     J(θ) = L(θ) / Σ_i w_i  +  ½ · r · p̄ · (‖W1‖² + ‖W2‖²),
   *     p̄ = Σ_i w_i tr(P_i) / (m Σ_i w_i)   (the mean action precision),
   *
   * so r is dimensionless: it trades ‖W‖² against the mean squared action
   * error ‖μ − target‖² (in the metric of the mean precision), independently
   * of the number of samples, of the scale of λ and of the cost magnitude
   * (which scales every A_t⁻¹). In terms of the summed loss L with unit
   * precisions this is the "r·N" scaling (decay ½·r·N·‖W‖² for N unit-weight
   * samples). Default 1e-4: on the linear test problem it costs nothing in
   * fit quality (a 50-unit network reaches a lower held-out KL with it than
   * without it after 1000 LBFGS steps, 8.7e-5 vs 5.8e-4) and keeps weights
   * that the data do not constrain (saturated hidden units) from drifting.
   * Inputs are normalized, so W1 is on a fixed scale; W2 carries the action
   * units, so the decay is not invariant to rescaling the actions.
   */
  readonly regularization?: number;
  /** Stop when ‖∇J‖∞ ≤ this (J as above). Default 1e-8. */
  readonly gradientTolerance?: number;
  /** Stop when a step lowers J by at most tol·max(|J|, 1). Default 0 (off). */
  readonly relativeFunctionTolerance?: number;
  /** LBFGS memory. Default 10. */
  readonly memory?: number;
  /** Where the loss is evaluated (default: the batched kernels on this thread). */
  readonly kernels?: PolicyKernels;
  /** Curvature pairs to warm-start LBFGS (e.g. the previous fit's `memory`). */
  readonly initialMemory?: LbfgsMemory;
  /** LBFGS's line search (default strong Wolfe). */
  readonly lineSearch?: LbfgsOptions["lineSearch"];
}

export interface FitPolicyResult {
  /** Fitted parameters: mean blocks from LBFGS, logStd from `optimalLogStd`. */
  readonly theta: Float64Array;
  /** weightedFitLoss (the raw §4 mean loss, no decay) at theta0 and at theta. */
  readonly loss0: number;
  readonly loss: number;
  /** The regularized, normalized objective J at theta0 and at theta. */
  readonly objective0: number;
  readonly objective: number;
  readonly iterations: number;
  /** Loss evaluations in all: LBFGS's, and the loss before and after (value only). */
  readonly evaluations: number;
  /** LBFGS's evaluations beyond the first trial of each line search, and in failed line searches. */
  readonly extraTrials: number;
  readonly failedSearchEvaluations: number;
  /** J at the start and after every LBFGS step. */
  readonly history: Float64Array;
  /** LBFGS's curvature pairs at the end (to warm-start the next fit). */
  readonly memory: LbfgsMemory | null;
  /** Why LBFGS stopped, or "noWeight" when Σ λ = 0 (θ returned unchanged). */
  readonly reason: LbfgsResult["reason"] | "noWeight";
}

/**
 * The policy step of constrained GPS (Algorithm 1 line 4, gps-math §4) on the
 * data of all conditions: minimize the weighted least-squares loss of the
 * policy mean with LBFGS (only the W1, b1, W2, b2 blocks: the mean does not
 * depend on logStd, and the covariance part of the objective does not depend
 * on the mean, so the two parts separate exactly), then set logStd to the
 * closed-form minimizer of the covariance part (`optimalLogStd`):
 * σ_j² = Σ_i w_i / Σ_i w_i (A_ti⁻¹)_jj.
 *
 * theta0 (not modified) is the start, typically the previous iteration's θ.
 * When every weight is 0 the policy objective is identically 0: θ is
 * returned unchanged with reason "noWeight".
 */
export function fitPolicy(policy: MlpPolicy, theta0: Float64Array, batch: PolicyFitBatch, options: FitPolicyOptions): FitPolicyResult {
  const L = parameterLayout(policy);
  if (theta0.length !== L.total) throw new RangeError(`fitPolicy: θ has ${theta0.length} entries, expected ${L.total}`);
  if (batch.n !== policy.nIn || batch.m !== policy.nOut) throw new RangeError(`fitPolicy: batch is (${batch.n}, ${batch.m}), policy is (${policy.nIn}, ${policy.nOut})`);
  const r = options.regularization ?? fitThetaDefaults.regularization;
  if (!(r >= 0) || !Number.isFinite(r)) throw new RangeError(`fitPolicy: regularization must be finite and ≥ 0, got ${r}`);
  const { X, targets, precisions, weights } = batch;
  const rows = (options.kernels ?? kernelsOf({})).fitLoss(policy, X, targets, precisions, weights);
  try {
    return fitWith(rows, policy, theta0, batch, options, r);
  } finally {
    rows.release();
  }
}

function fitWith(rows: RowsLoss, policy: MlpPolicy, theta0: Float64Array, batch: PolicyFitBatch, options: FitPolicyOptions, r: number): FitPolicyResult {
  const L = parameterLayout(policy);
  const { N, m, precisions, weights } = batch;
  const mm = m * m;

  let wSum = 0;
  let wTr = 0;
  for (let i = 0; i < N; i++) {
    wSum += weights[i];
    let tr = 0;
    for (let j = 0; j < m; j++) tr += precisions[i * mm + j * m + j];
    wTr += weights[i] * tr;
  }
  if (!(wSum > 0)) {
    const loss0 = N > 0 ? rows.evaluate(theta0, null) : 0;
    return { theta: Float64Array.from(theta0), loss0, loss: loss0, objective0: 0, objective: 0, iterations: 0, evaluations: 1, extraTrials: 0, failedSearchEvaluations: 0, history: new Float64Array(0), memory: null, reason: "noWeight" };
  }
  const invW = 1 / wSum;
  const decay = r * (wTr / (m * wSum));

  // Mean parameters [W1 | b1 | W2 | b2] are θ[0, L.logStd).
  const nMean = L.logStd;
  const full = Float64Array.from(theta0);
  const grad = new Float64Array(L.total);
  // The raw loss at θ0 (LBFGS's first evaluation) and at the lowest J seen:
  // the loss before and after the fit without evaluating either again.
  let loss0 = NaN;
  let bestJ = Infinity;
  let bestRaw = NaN;
  const bestX = new Float64Array(nMean);
  const objective = (x: Float64Array, g: Float64Array): number => {
    for (let k = 0; k < nMean; k++) full[k] = x[k];
    const raw = rows.evaluate(full, grad);
    for (let k = 0; k < nMean; k++) g[k] = grad[k] * invW;
    let sq = 0;
    for (let k = L.w1; k < L.b1; k++) {
      sq += x[k] * x[k];
      g[k] += decay * x[k];
    }
    for (let k = L.w2; k < L.b2; k++) {
      sq += x[k] * x[k];
      g[k] += decay * x[k];
    }
    const J = raw * invW + 0.5 * decay * sq;
    if (Number.isNaN(loss0)) loss0 = raw;
    if (J < bestJ) {
      bestJ = J;
      bestRaw = raw;
      bestX.set(x);
    }
    return J;
  };
  const res = minimizeLbfgs(objective, theta0.slice(0, nMean), {
    maxIterations: options.maxIterations,
    gradientTolerance: options.gradientTolerance ?? 1e-8,
    relativeFunctionTolerance: options.relativeFunctionTolerance ?? 0,
    memory: options.memory,
    initialMemory: options.initialMemory,
    lineSearch: options.lineSearch,
  });

  const theta = Float64Array.from(theta0);
  theta.set(res.x, 0);
  optimalLogStd(precisions, weights, m, theta, L.logStd);
  // The mean loss does not depend on logStd: LBFGS's value at its x is the fitted θ's.
  let same = true;
  for (let k = 0; k < nMean && same; k++) same = bestX[k] === res.x[k] || (Number.isNaN(bestX[k]) && Number.isNaN(res.x[k]));
  const loss = same ? bestRaw : rows.evaluate(theta, null);
  return {
    theta,
    loss0,
    loss,
    objective0: res.history[0],
    objective: res.f,
    iterations: res.iterations,
    evaluations: res.evaluations + (same ? 0 : 1),
    extraTrials: res.extraTrials,
    failedSearchEvaluations: res.failedSearchEvaluations,
    history: res.history,
    memory: res.memory,
    reason: res.reason,
  };
}

// ---------------------------------------------------------------------------
// 4. The constraint: expected KL per time step

export interface ExpectedKl {
  /** E_{q(x_t)} D_KL(π_θ(u|x) ‖ q(u|x)) for t = 0 … T−1, each a mean over the count samples. */
  readonly perStep: Float64Array;
  /** Mean of perStep over t. */
  readonly mean: number;
}

/**
 * The constraint of constrained GPS estimated from samples x_ti ~ q(x_t)
 * (gps-math §5, π first):
 *
 *     KL_t = (1/count) Σ_i D_KL( N(μ^π(x_ti), Σ^π) ‖ N(ū_t + k_t + K_t (x_ti − x̄_t), A_t) ),
 *
 * Σ^π = diag(exp(2·logStd)) from θ, A_t = q.cov[t]. `states` are
 * count·(T+1)·n (as from `sampleTrainingStates`); x_T is not used.
 */
export function expectedKl(
  policy: MlpPolicy,
  theta: Float64Array,
  q: LinearGaussianController,
  states: Float64Array,
  count: number,
  T: number = q.T,
  observe: Observer | null = null,
  kernels: PolicyKernels = kernelsOf({}),
): ExpectedKl {
  const n = policy.nIn;
  const m = policy.nOut;
  const L = parameterLayout(policy);
  if (q.nx !== n || q.nu !== m) throw new RangeError(`expectedKl: controller is (${q.nx}, ${q.nu}), policy is (${n}, ${m})`);
  if (T !== q.T) throw new RangeError(`expectedKl: T = ${T} but the controller's horizon is ${q.T}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`expectedKl: count must be a positive integer, got ${count}`);
  if (states.length !== count * (T + 1) * n) throw new RangeError(`expectedKl: states has ${states.length} entries, expected ${count}·${T + 1}·${n}`);
  if (theta.length !== L.total) throw new RangeError(`expectedKl: θ has ${theta.length} entries, expected ${L.total}`);

  const mm = m * m;
  const SigmaPi = new Float64Array(mm);
  for (let j = 0; j < m; j++) SigmaPi[j * m + j] = Math.exp(2 * theta[L.logStd + j]);
  // What the policy sees of every x_ti (rows t-major), one pass of the network over all of them.
  const O = new Float64Array(T * count * n);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < count; i++) {
      const src = (i * (T + 1) + t) * n;
      if (observe) observe(states, src, O, (t * count + i) * n);
      else for (let j = 0; j < n; j++) O[(t * count + i) * n + j] = states[src + j];
    }
  }
  const muPi = new Float64Array(T * count * m);
  kernels.forward(policy, theta, O, T * count, muPi);
  const muPiRow = new Float64Array(m);
  const muQ = new Float64Array(m);
  const work = gaussianKlWorkspace(m);
  const perStep = new Float64Array(T);
  let total = 0;
  for (let t = 0; t < T; t++) {
    const A = q.cov.subarray(t * mm, (t + 1) * mm);
    let s = 0;
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < m; j++) muPiRow[j] = muPi[(t * count + i) * m + j];
      meanAction(q, t, states, (i * (T + 1) + t) * n, muQ, 0);
      s += gaussianKl(muPiRow, SigmaPi, muQ, A, m, work);
    }
    perStep[t] = s / count;
    total += perStep[t];
  }
  return { perStep, mean: T > 0 ? total / T : 0 };
}

// ---------------------------------------------------------------------------
// 5. The dual step

/**
 * Equation (2), projected on λ ≥ 0:  λ_t ← max(0, λ_t + η·(KL_t − slack)).
 *
 * Step size: a fixed η, taken from the experiment, as in the paper (Algorithm
 * 1 line 5 applies equation 2 once per outer iteration with one η; the paper
 * gives no value and no adaptation). With slack = 0 (the paper's constraint
 * D_KL = 0) and KL_t ≥ 0, λ never decreases: it keeps growing until the
 * policy matches q, and the max(0, ·) only matters with a slack.
 *
 * Recommendation (not the paper's): KL scales with the cost magnitude and the
 * task, so a single η is fragile. A robust choice is to pick η so that the
 * first step moves λ by a sensible fraction of its initial value
 * (η ≈ λ_init / mean KL after the first policy fit), and, if λ grows without
 * the KL falling, to use a small slack ε (KL_t ≤ ε instead of = 0), which lets
 * λ shrink where the constraint is already satisfied. Multiplicative rules
 * (λ_t ← λ_t·c where KL_t exceeds a target, λ_t / c below it) as in later GPS
 * work are also scale-free; none of these is implemented here.
 *
 * Returns a new array; lambda and kl are not modified.
 */
export function dualStep(lambda: Float64Array, kl: Float64Array, stepSize: number, slack = 0): Float64Array {
  if (lambda.length !== kl.length) throw new RangeError(`dualStep: lambda has ${lambda.length} entries, kl ${kl.length}`);
  if (!(stepSize >= 0) || !Number.isFinite(stepSize)) throw new RangeError(`dualStep: stepSize must be finite and ≥ 0, got ${stepSize}`);
  if (!(slack >= 0) || !Number.isFinite(slack)) throw new RangeError(`dualStep: slack must be finite and ≥ 0, got ${slack}`);
  const out = new Float64Array(lambda.length);
  for (let t = 0; t < lambda.length; t++) {
    if (!Number.isFinite(kl[t]) || !Number.isFinite(lambda[t])) throw new RangeError(`dualStep: lambda[${t}] = ${lambda[t]}, kl[${t}] = ${kl[t]} must be finite`);
    const v = lambda[t] + stepSize * (kl[t] - slack);
    out[t] = v > 0 ? v : 0;
  }
  return out;
}

// ---------------------------------------------------------------------------
// 6. The cost ramp

/**
 * Multiplier of the task cost at outer iteration `iteration` (0-based):
 *
 *     costRamp(k) = factor^( min(k, R)/R − 1 ),   R = rampIterations,
 *
 * i.e. 1/factor at the first iteration, geometric growth (× factor^(1/R) per
 * iteration, ≈ 1.047 for the defaults) and exactly 1 from iteration R on.
 * "Increase the cost magnitude by a factor of 10 over the first 50
 * iterations" (paper §4) fixes the ratio, not the end points; we END at 1, so
 * that after the ramp the optimized cost is the task's cost as specified (the
 * weights of gps-math §1 and the evaluation cost agree), and the early
 * iterations run with a 10× softer cost, whose broader trajectory
 * distributions are what the paper wants for learning. The other convention
 * (start at 1, end at factor) is factor·costRamp(k). Geometric rather than
 * linear because the cost magnitude acts multiplicatively (it scales Q_uu and
 * so A_t⁻¹): each iteration changes it by the same ratio.
 * rampIterations = 0 means no ramp (always 1).
 */
export function costRamp(iteration: number, rampIterations = 50, factor = 10): number {
  if (!(iteration >= 0) || !Number.isFinite(iteration)) throw new RangeError(`costRamp: iteration must be finite and ≥ 0, got ${iteration}`);
  if (!Number.isInteger(rampIterations) || rampIterations < 0) throw new RangeError(`costRamp: rampIterations must be a non-negative integer, got ${rampIterations}`);
  if (!(factor >= 1) || !Number.isFinite(factor)) throw new RangeError(`costRamp: factor must be finite and ≥ 1, got ${factor}`);
  if (rampIterations === 0 || iteration >= rampIterations) return 1;
  return Math.pow(factor, iteration / rampIterations - 1);
}

// ---------------------------------------------------------------------------
// 5. Variational GPS's M-step: maximum likelihood of π_θ under q

/**
 * The M-step of variational GPS, max E_q[Σ_t log π_θ(u_t|x_t)], as a policy-fit
 * batch: with u ~ q(u|x) = N(μ_q(x), A_t) and π_θ = N(μ_θ(x), Σ_π),
 *
 *     E_q(u|x)[log π_θ(u|x)] = −½ (μ_q − μ_θ)ᵀ Σ_π⁻¹ (μ_q − μ_θ) − ½ tr(Σ_π⁻¹ A_t) − ½ log|Σ_π| + c,
 *
 * so the mean is least squares with π's own precision Σ_π⁻¹ = diag(1/σ²) (the current
 * σ, `sigma2`; block-coordinate ascent: σ is then set by `likelihoodLogStd`) on every
 * row alike — not q's precisions, and not λ.
 */
export function likelihoodBatch(batch: PolicyFitBatch, sigma2: ArrayLike<number>): PolicyFitBatch {
  const { N, m } = batch;
  const mm = m * m;
  const precisions = new Float64Array(N * mm);
  for (let r = 0; r < N; r++) for (let j = 0; j < m; j++) precisions[r * mm + j * m + j] = 1 / sigma2[j];
  return { ...batch, precisions, weights: new Float64Array(N).fill(1) };
}

/**
 * The σ that maximizes the same expectation given the fitted mean: per action j,
 * σ_j² = mean over rows of (μ_q(x)_j − μ_θ(x)_j)² + (A_t)_jj. `means` holds μ_θ at
 * the batch's rows (N·m), `covDiag` q's variances per row (N·m). Writes logStd into θ.
 */
export function likelihoodLogStd(batch: PolicyFitBatch, means: Float64Array, covDiag: Float64Array, theta: Float64Array, logStdOffset: number): Float64Array {
  const { N, m, targets } = batch;
  const sigma2 = new Float64Array(m);
  for (let r = 0; r < N; r++) {
    for (let j = 0; j < m; j++) {
      const e = targets[r * m + j] - means[r * m + j];
      sigma2[j] += e * e + covDiag[r * m + j];
    }
  }
  for (let j = 0; j < m; j++) {
    sigma2[j] /= N;
    theta[logStdOffset + j] = 0.5 * Math.log(sigma2[j]);
  }
  return sigma2;
}

/** q's action variances (A_t)_jj per row of a policy-fit batch built from `conditions` (rows: condition, sample, t). */
export function rowCovarianceDiagonals(conditions: readonly PolicyFitCondition[], m: number): Float64Array {
  const N = conditions.reduce((s, c) => s + c.count * c.q.T, 0);
  const out = new Float64Array(N * m);
  let row = 0;
  for (const { q, count } of conditions) {
    for (let i = 0; i < count; i++) {
      for (let t = 0; t < q.T; t++, row++) for (let j = 0; j < m; j++) out[row * m + j] = q.cov[t * m * m + j * m + j];
    }
  }
  return out;
}
