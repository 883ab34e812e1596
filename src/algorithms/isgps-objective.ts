/**
 * The importance-sampled policy objective of guided policy search (Levine &
 * Koltun 2013, §3 and §5; gps-math §6), its analytic gradient, and the small
 * helpers around it (fused sampling densities, the maximum-likelihood fits,
 * active-set selection).
 *
 * ## The objective
 *
 * m samples ζ_i (states x_t^i, actions u_t^i, rewards r_it = r(x_t^i, u_t^i),
 * t = 1…T) were drawn from the fused distribution q(ζ) = (1/n) Σ_j q_j(ζ) (DDP
 * guiding distributions and earlier policies). With the prefix importance
 * weights
 *
 *     log w_it = log π_θ(ζ_i,1:t) − log q(ζ_i,1:t),
 *     log π_θ(ζ_i,1:t) = Σ_{t'≤t} log π_θ(u_t'^i | x_t'^i)
 *
 * (the dynamics cancel in the ratio), the normalizer and self-normalized
 * weights
 *
 *     Z_t = (1/m) Σ_i w_it,    ŵ_it = w_it / Σ_k w_kt,
 *
 * the regularized objective is
 *
 *     Φ(θ) = Σ_t [ Σ_i ŵ_it r_it + w_r log Z_t ].
 *
 * With w_r = 0 it is the paper's equation (2), the per-step self-normalized
 * return estimate (`estimateReturn`). The regularizer w_r log Z_t is a soft
 * maximum over the log weights: it rewards θ for giving some samples a high
 * probability, so the optimum cannot put negligible probability on every
 * sample and win on the relative weights alone.
 *
 * ## The Z_t convention
 *
 * The paper writes Z_t = Σ_i w_it for the normalizer of the estimator and
 * remarks that Φ is consistent "since Z_t(θ) → 1 in the limit of infinite
 * samples". Σ_i w_it grows like m; (1/m) Σ_i w_it is the one that tends to
 * E_q[π_θ/q] = 1. We use Z_t = (1/m) Σ_i w_it in the regularizer, which makes
 * that remark true. ŵ_it is unchanged (the 1/m cancels), and
 * log Z_t differs from log Σ_i w_it by the constant log m, so Φ shifts by
 * −w_r·T·log m: the same maximizer, the same gradient.
 *
 * ## Why log space
 *
 * Over a long horizon the prefix log densities are sums of hundreds of
 * per-step terms: −50 per step over 500 steps is −25 000, and exp of that is
 * 0 in double precision, so the ratios π_θ/q computed directly are 0/0. Every
 * quantity here is kept as a logarithm, and the normalizations use
 * log-sum-exp: log Z_t = logsumexp_i(log w_it) − log m,
 * ŵ_it = exp(log w_it − logsumexp_i(log w_it)). Φ and ∇Φ are therefore
 * invariant (to rounding) to adding a constant to every log w_it, apart from
 * the w_r·T·constant that the regularizer adds to Φ.
 *
 * ## The gradient
 *
 * With ∇ŵ_it = ŵ_it (∇log w_it − Σ_k ŵ_kt ∇log w_kt), ∇log Z_t =
 * Σ_i ŵ_it ∇log w_it and ∇log w_it = Σ_{t'≤t} ∇log π_θ(u_t'^i | x_t'^i)
 * (q does not depend on θ):
 *
 *     ∇Φ = Σ_t Σ_i c_it ∇log w_it,      c_it = ŵ_it (r_it − r̄_t + w_r),  r̄_t = Σ_i ŵ_it r_it
 *        = Σ_i Σ_t' ∇log π_θ(u_t'^i | x_t'^i) · s_it',   s_it' = Σ_{t≥t'} c_it
 *
 * (paper appendix A: ξ_t^i = r_it − J̃_t + w_r), so each state's policy output
 * appears once, with the reverse cumulative sum s_it' as its coefficient. For
 * the Gaussian policy, ∂log π/∂μ = (u − μ)/σ² and
 * ∂log π/∂logσ_j = ((u_j − μ_j)/σ_j)² − 1: one batched backward pass per
 * sample with dL/dμ = −s · (u − μ)/σ² (the objective handed to LBFGS is −Φ).
 *
 * ## Cost
 *
 * The m·T states are copied once into one contiguous block; one evaluation
 * is then a single batched forward pass (which caches every activation), the
 * O(m·T) weight algebra and, for the gradient, a single batched backward
 * pass. Scratch is O(m·T·H), allocated once when the objective is built;
 * evaluations allocate nothing.
 */
import { minimizeLbfgs, type LbfgsResult, type Objective } from "../optim/lbfgs.js";
import type { Compute } from "../parallel/compute.js";
import { ScoreSession } from "../policy/kernels/batched.js";
import { backward, createWorkspace, forward, parameterLayout, type MlpPolicy, type MlpWorkspace, type ParameterLayout } from "../policy/mlp.js";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * The kernels this module's objectives run on (./kernels.ts PolicyKernels
 * extends it; declared here so that module imports this one, not the reverse).
 */
export interface SampleKernels {
  stepLogProbs(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet): Float64Array;
  isObjective(policy: MlpPolicy, set: IsSampleSet, options: IsObjectiveOptions): IsObjective;
  maxLikelihood(policy: MlpPolicy, set: IsSampleSet, sampleIndices: readonly number[], options?: MaxLikelihoodOptions): HeldObjective;
}

/** Samples for the importance-sampled objective; sample i, step t is at index i·T + t of every per-step array. */
export interface IsSampleSet {
  readonly T: number;
  readonly nx: number;
  readonly nu: number;
  readonly count: number;
  /** count·(T+1)·nx: sample i at i·(T+1)·nx, state x_t of step t at + t·nx (x_T, the final state, is unused here). */
  readonly xs: Float64Array;
  /** count·T·nu: the actions as sampled (commanded, before any clamping), u_t at (i·T + t)·nu. */
  readonly us: Float64Array;
  /** count·T: r(x_t, u_t), a reward (higher is better; callers pass −cost). */
  readonly rewards: Float64Array;
  /** count·T: log q(ζ_i,1:t), the FUSED sampling density of the prefix up to and including step t. */
  readonly logQ: Float64Array;
}

/** What Φ(θ) is made of, from `isObjective(...).value`. */
export interface PhiBreakdown {
  /** Φ(θ) = estimatedReturn + w_r · sumLogZ. */
  readonly phi: number;
  /** Σ_t Σ_i ŵ_it r_it: equation (2), the estimated return of π_θ. */
  readonly estimatedReturn: number;
  /** Σ_t log Z_t with Z_t = (1/m) Σ_i w_it (0 when every sample came from π_θ). */
  readonly sumLogZ: number;
  /** Mean over t of the effective sample size 1 / Σ_i ŵ_it² (between 1 and m). */
  readonly meanEss: number;
  /** Smallest effective sample size over t. */
  readonly minEss: number;
}

export interface IsObjectiveOptions {
  /** The regularizer weight w_r ≥ 0 (the paper keeps it in [1e-6, 1e-2]). */
  wr: number;
  /** λ ≥ 0: the objective adds ½·λ·‖W1, W2‖² (not the biases, not logStd). Default 0. */
  weightDecay?: number;
  /**
   * Whether LBFGS may change logStd. Default false: the 2013 paper uses a fixed
   * σ, so the logStd block of the gradient is zeroed and σ stays as in θ0.
   */
  learnStd?: boolean;
}

export interface IsObjective {
  /** −Φ(θ) + ½·λ·‖W1, W2‖² and its gradient, for `minimizeLbfgs` (which minimizes). */
  readonly objective: Objective;
  /** Φ(θ) and its parts (no weight decay, no gradient). */
  value(theta: Float64Array): PhiBreakdown;
  /** Give back what the objective holds (the batched kernels' memory); it must not be used afterwards. */
  release(): void;
}

export interface MaxLikelihoodOptions {
  /** λ ≥ 0: the objective adds ½·λ·‖W1, W2‖². Default 0. */
  weightDecay?: number;
  /** Whether the logStd block of the gradient is kept. Default false (σ fixed, as in isObjective). */
  learnStd?: boolean;
}

// ---------------------------------------------------------------------------
// Log-space primitives

/**
 * log Σ_k exp(values[off + k]), k < len, computed as max + log Σ exp(v − max):
 * no overflow or underflow for any finite inputs. −Infinity when len is 0 or
 * every value is −Infinity; +Infinity if any value is +Infinity; NaN if any is NaN.
 */
export function logSumExp(values: Float64Array, off: number, len: number): number {
  let max = -Infinity;
  for (let k = 0; k < len; k++) {
    const v = values[off + k];
    if (v !== v) return NaN;
    if (v > max) max = v;
  }
  if (max === -Infinity || max === Infinity) return max;
  let s = 0;
  for (let k = 0; k < len; k++) s += Math.exp(values[off + k] - max);
  return max + Math.log(s);
}

/**
 * The fused prefix density log q(ζ_i,1:t) = log( (1/n) Σ_j exp( Σ_{t'≤t} log q_j(u_t'^i | x_t'^i) ) )
 * for the mixture q = (1/n) Σ_j q_j (the prefix of a mixture is the mixture of
 * the prefixes: the dynamics factor is common to every q_j and cancels in the
 * importance weights, so it is left out of both).
 *
 * stepLogProbs holds log q_j(u_t^i | x_t^i) laid out [j][i][t] (nDist·count·T);
 * the result is count·T ([i][t], the `logQ` of an IsSampleSet). Log-sum-exp
 * over j, so prefix sums of ±1e5 are fine.
 */
export function fusedPrefixLogDensity(stepLogProbs: Float64Array, nDist: number, count: number, T: number): Float64Array {
  for (const [name, v] of [["nDist", nDist], ["count", count], ["T", T]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`fusedPrefixLogDensity: ${name} must be a positive integer, got ${v}`);
  }
  if (stepLogProbs.length !== nDist * count * T) {
    throw new RangeError(`fusedPrefixLogDensity: ${stepLogProbs.length} values, expected nDist·count·T = ${nDist * count * T}`);
  }
  const out = new Float64Array(count * T);
  const cum = new Float64Array(nDist);
  const logN = Math.log(nDist);
  for (let i = 0; i < count; i++) {
    cum.fill(0);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < nDist; j++) cum[j] += stepLogProbs[(j * count + i) * T + t];
      out[i * T + t] = logSumExp(cum, 0, nDist) - logN;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Sample sets

function checkSampleSet(set: IsSampleSet, where: string): void {
  const { T, nx, nu, count } = set;
  for (const [name, v] of [["T", T], ["nx", nx], ["nu", nu]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${where}: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`${where}: count must be a non-negative integer, got ${count}`);
  if (set.xs.length !== count * (T + 1) * nx) throw new RangeError(`${where}: xs has ${set.xs.length} entries, expected count·(T+1)·nx = ${count * (T + 1) * nx}`);
  if (set.us.length !== count * T * nu) throw new RangeError(`${where}: us has ${set.us.length} entries, expected count·T·nu = ${count * T * nu}`);
  if (set.rewards.length !== count * T) throw new RangeError(`${where}: rewards has ${set.rewards.length} entries, expected count·T = ${count * T}`);
  if (set.logQ.length !== count * T) throw new RangeError(`${where}: logQ has ${set.logQ.length} entries, expected count·T = ${count * T}`);
}

function checkPolicy(policy: MlpPolicy, set: IsSampleSet, where: string): void {
  if (policy.nIn !== set.nx || policy.nOut !== set.nu) {
    throw new RangeError(`${where}: policy maps ${policy.nIn} → ${policy.nOut}, samples have nx=${set.nx}, nu=${set.nu}`);
  }
}

function checkTheta(total: number, theta: Float64Array, where: string): void {
  if (theta.length !== total) throw new RangeError(`${where}: θ has ${theta.length} entries, expected ${total}`);
}

/** The states x_0…x_{T−1} of each sample as a view (T rows, stride nx): what `forward` reads. Built once. */
function stateViews(set: IsSampleSet): Float64Array[] {
  const { T, nx } = set;
  const views: Float64Array[] = [];
  for (let i = 0; i < set.count; i++) {
    const off = i * (T + 1) * nx;
    views.push(set.xs.subarray(off, off + T * nx));
  }
  return views;
}

/** A new sample set holding the listed samples (in the order given; repeats allowed), copied. logQ is copied unchanged. */
export function subset(set: IsSampleSet, indices: readonly number[]): IsSampleSet {
  checkSampleSet(set, "subset");
  const { T, nx, nu } = set;
  const k = indices.length;
  const xs = new Float64Array(k * (T + 1) * nx);
  const us = new Float64Array(k * T * nu);
  const rewards = new Float64Array(k * T);
  const logQ = new Float64Array(k * T);
  indices.forEach((i, r) => {
    if (!Number.isInteger(i) || i < 0 || i >= set.count) throw new RangeError(`subset: index ${i} is not a sample of a set of ${set.count}`);
    xs.set(set.xs.subarray(i * (T + 1) * nx, (i + 1) * (T + 1) * nx), r * (T + 1) * nx);
    us.set(set.us.subarray(i * T * nu, (i + 1) * T * nu), r * T * nu);
    rewards.set(set.rewards.subarray(i * T, (i + 1) * T), r * T);
    logQ.set(set.logQ.subarray(i * T, (i + 1) * T), r * T);
  });
  return { T, nx, nu, count: k, xs, us, rewards, logQ };
}

/**
 * The sample indices of the next active set S_k (Algorithm 1, line 6): the
 * guiding samples (`keep`), then the other (on-policy) samples in decreasing
 * order of `logWeightsUnderBest` (full-trajectory log weights under π_θ*, from
 * `trajectoryLogWeights`) until `max` indices are chosen. The result never
 * has more than `max` entries and is sorted by index.
 *
 * The guiding samples are capped too, so that adaptive guiding (which adds
 * guiding samples every round) cannot crowd the on-policy samples out of Φ:
 * with g guiding and o other samples, R = min(o, ⌈max/2⌉) places are reserved
 * for the others and the guiding samples get at most max − R of them. When
 * g ≤ max − R (in particular whenever g + o ≤ max, when everything is kept)
 * every guiding sample is kept, exactly as without the cap; otherwise the
 * max − R guiding samples with the highest log weights are kept. The others
 * then fill the remaining places, so at least one of them is kept whenever
 * o ≥ 1 and max ≥ 1 (with max = 1 the one place goes to an on-policy sample).
 *
 * Both rankings are by log weight, highest first, ties broken by the lower
 * index, NaN ranked with −∞ (last).
 */
export function activeSet(set: IsSampleSet, logWeightsUnderBest: Float64Array, keep: ReadonlySet<number>, max: number): number[] {
  const count = set.count;
  if (logWeightsUnderBest.length !== count) throw new RangeError(`activeSet: ${logWeightsUnderBest.length} log weights for ${count} samples`);
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`activeSet: max must be a non-negative integer, got ${max}`);
  for (const i of keep) {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`activeSet: kept index ${i} is not a sample of a set of ${count}`);
  }
  const key = (i: number): number => {
    const v = logWeightsUnderBest[i];
    return v !== v ? -Infinity : v;
  };
  const byWeight = (a: number, b: number): number => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka > kb ? -1 : 1;
    // Equal keys (−∞/NaN included): lower index first.
    return a - b;
  };
  const guiding: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < count; i++) (keep.has(i) ? guiding : rest).push(i);
  const reserved = Math.min(rest.length, Math.ceil(max / 2));
  const guidingCap = max - reserved;
  const chosen = guiding.length <= guidingCap ? guiding : guiding.sort(byWeight).slice(0, guidingCap);
  rest.sort(byWeight);
  for (let r = 0; r < rest.length && chosen.length < max; r++) chosen.push(rest[r]);
  return chosen.sort((a, b) => a - b);
}

/**
 * Statistics of the self-normalized weights ŵ_k = w_k / Σ_l w_l of the given
 * log weights log w_k, computed in log space (log-sum-exp, as Φ does):
 * `share`, Σ_{k: inGroup[k]} ŵ_k (0 for an empty group), and `ess`, the
 * effective sample size 1 / Σ_k ŵ_k² = exp(2·logsumexp(log w) − logsumexp(2·log w)).
 * Both are NaN when every weight is 0 (all log weights −∞) or one is NaN.
 */
export function normalizedWeightStats(logW: Float64Array, inGroup: ArrayLike<boolean>): { share: number; ess: number } {
  const n = logW.length;
  if (inGroup.length !== n) throw new RangeError(`normalizedWeightStats: ${inGroup.length} group flags for ${n} weights`);
  const lse = logSumExp(logW, 0, n);
  const group = new Float64Array(n);
  const twice = new Float64Array(n);
  let g = 0;
  for (let k = 0; k < n; k++) {
    if (inGroup[k]) group[g++] = logW[k];
    twice[k] = 2 * logW[k];
  }
  const finite = Number.isFinite(lse);
  return {
    share: finite ? Math.exp(logSumExp(group, 0, g) - lse) : NaN,
    ess: finite ? Math.exp(2 * lse - logSumExp(twice, 0, n)) : NaN,
  };
}

// ---------------------------------------------------------------------------
// Policy log densities

/**
 * Per-step log π_θ(u_t | x_t) for sample i into out[i·T …] from the means the
 * preceding forward pass left in `mean` (T·nu), with σ_j = 1 / invStd[j] and
 * c = −Σ_j (log σ_j + ½ log 2π).
 */
function stepLogProbsFromMeans(us: Float64Array, i: number, T: number, nu: number, mean: Float64Array, invStd: Float64Array, c: number, out: Float64Array): void {
  const uOff = i * T * nu;
  for (let t = 0; t < T; t++) {
    let q = 0;
    for (let j = 0; j < nu; j++) {
      const e = (us[uOff + t * nu + j] - mean[t * nu + j]) * invStd[j];
      q += e * e;
    }
    out[i * T + t] = c - 0.5 * q;
  }
}

/** Writes 1/σ_j into invStd and returns c = −Σ_j (log σ_j + ½ log 2π). */
function loadStd(theta: Float64Array, oLs: number, nu: number, invStd: Float64Array): number {
  let c = 0;
  for (let j = 0; j < nu; j++) {
    invStd[j] = Math.exp(-theta[oLs + j]);
    c -= theta[oLs + j] + 0.5 * LOG_2PI;
  }
  return c;
}

/**
 * log π_θ(u_t^i | x_t^i) for every sample and step (count·T, [i][t]), one
 * batched forward pass of T rows per sample. `ws` (batch ≥ T) is created when
 * not given.
 */
export function policyStepLogProbs(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, ws?: MlpWorkspace): Float64Array {
  checkSampleSet(set, "policyStepLogProbs");
  checkPolicy(policy, set, "policyStepLogProbs");
  checkTheta(parameterLayout(policy).total, theta, "policyStepLogProbs");
  const { T, nu, count } = set;
  const work = ws ?? createWorkspace(policy, T);
  if (work.batch < T) throw new RangeError(`policyStepLogProbs: the workspace holds ${work.batch} rows, T = ${T}`);
  const oLs = parameterLayout(policy).logStd;
  const views = stateViews(set);
  const out = new Float64Array(count * T);
  const invStd = new Float64Array(nu);
  const c = loadStd(theta, oLs, nu, invStd);
  for (let i = 0; i < count; i++) {
    forward(policy, theta, views[i], T, work.mean, work);
    stepLogProbsFromMeans(set.us, i, T, nu, work.mean, invStd, c, out);
  }
  return out;
}

/**
 * The prefix log importance weights of Φ (module comment),
 * log w_it = Σ_{t'≤t} log π_θ(u_t'^i | x_t'^i) − log q(ζ_i,1:t), from the
 * policy's per-step log densities stepLp ([i][t], count·T) into `out`, laid
 * out [t][i] (T·count: step t's weights are contiguous). Row T − 1 holds the
 * full-trajectory log weights.
 */
export function prefixLogWeights(set: IsSampleSet, stepLp: Float64Array, out: Float64Array = new Float64Array(set.T * set.count)): Float64Array {
  const { T, count: m, logQ } = set;
  if (stepLp.length !== m * T || out.length !== m * T) throw new RangeError(`prefixLogWeights: expected count·T = ${m * T} entries, got ${stepLp.length} and ${out.length}`);
  for (let i = 0; i < m; i++) {
    let cum = 0;
    for (let t = 0; t < T; t++) {
      cum += stepLp[i * T + t];
      out[t * m + i] = cum - logQ[i * T + t];
    }
  }
  return out;
}

/**
 * The prefix log importance weights of π_θ ([t][i], `prefixLogWeights`), with
 * the policy's per-step log densities from `kernels` when given.
 */
export function policyPrefixLogWeights(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, kernels?: Pick<SampleKernels, "stepLogProbs">): Float64Array {
  const lp = kernels ? kernels.stepLogProbs(policy, theta, set) : policyStepLogProbs(policy, theta, set);
  return prefixLogWeights(set, lp);
}

/** log π_θ(ζ_i,1:T) − log q(ζ_i,1:T) for every sample (count): the full-trajectory log importance weights. */
export function trajectoryLogWeights(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, kernels?: Pick<SampleKernels, "stepLogProbs">): Float64Array {
  const { T, count } = set;
  return policyPrefixLogWeights(policy, theta, set, kernels).slice((T - 1) * count, T * count);
}

// ---------------------------------------------------------------------------
// Weight decay

function checkDecay(weightDecay: number, where: string): void {
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) throw new RangeError(`${where}: weightDecay must be finite and ≥ 0, got ${weightDecay}`);
}

/** Adds λ·W to grad's W1 and W2 blocks (when grad is given) and returns ½·λ·‖W1, W2‖². */
function addWeightDecay(L: ParameterLayout, theta: Float64Array, lambda: number, grad: Float64Array | null): number {
  if (lambda === 0) return 0;
  let sq = 0;
  for (let k = L.w1; k < L.b1; k++) sq += theta[k] * theta[k];
  for (let k = L.w2; k < L.b2; k++) sq += theta[k] * theta[k];
  if (grad !== null) {
    for (let k = L.w1; k < L.b1; k++) grad[k] += lambda * theta[k];
    for (let k = L.w2; k < L.b2; k++) grad[k] += lambda * theta[k];
  }
  return 0.5 * lambda * sq;
}

// ---------------------------------------------------------------------------
// The importance-sampled objective

/**
 * Pass 1 of Φ after the policy's per-step log densities stepLp ([i][t]):
 * prefix log weights, log Z_t, ŵ_it, r̄_t, the ESS and Φ's parts into
 * `breakdown`, and (when `coef` is given) the gradient coefficients
 * c_it = ŵ_it (r_it − r̄_t + w_r) into coef ([i][t]). logW is T·m scratch.
 */
function phiWeights(set: IsSampleSet, stepLp: Float64Array, wr: number, logW: Float64Array, coef: Float64Array | null, breakdown: { -readonly [K in keyof PhiBreakdown]: number }): void {
  const { T, count: m, rewards } = set;
  prefixLogWeights(set, stepLp, logW);
  // Per step: log Z_t, ŵ_it, r̄_t, ESS and the gradient coefficients c_it.
  const logM = Math.log(m);
  let ret = 0;
  let sumLogZ = 0;
  let essSum = 0;
  let essMin = Infinity;
  for (let t = 0; t < T; t++) {
    const base = t * m;
    const lse = logSumExp(logW, base, m);
    sumLogZ += lse - logM;
    let rbar = 0;
    let sq = 0;
    for (let i = 0; i < m; i++) {
      const w = Math.exp(logW[base + i] - lse);
      logW[base + i] = w; // log w_it is not needed again: keep ŵ_it in its place
      rbar += w * rewards[i * T + t];
      sq += w * w;
    }
    ret += rbar;
    const ess = 1 / sq;
    essSum += ess;
    if (ess < essMin) essMin = ess;
    if (coef !== null) {
      for (let i = 0; i < m; i++) coef[i * T + t] = logW[base + i] * (rewards[i * T + t] - rbar + wr);
    }
  }
  breakdown.estimatedReturn = ret;
  breakdown.sumLogZ = sumLogZ;
  breakdown.phi = ret + wr * sumLogZ;
  breakdown.meanEss = essSum / T;
  breakdown.minEss = essMin;
}

/** In place, per sample: s_it' = Σ_{t≥t'} c_it. */
function reverseCumulativeSums(coef: Float64Array, m: number, T: number): void {
  for (let i = 0; i < m; i++) {
    const cOff = i * T;
    let s = 0;
    for (let t = T - 1; t >= 0; t--) {
      s += coef[cOff + t];
      coef[cOff + t] = s;
    }
  }
}

function checkIsObjective(policy: MlpPolicy, set: IsSampleSet, options: IsObjectiveOptions): { wr: number; lambda: number; learnStd: boolean } {
  checkSampleSet(set, "isObjective");
  checkPolicy(policy, set, "isObjective");
  if (set.count < 1) throw new RangeError("isObjective: the sample set is empty");
  const wr = options.wr;
  if (!(wr >= 0) || !Number.isFinite(wr)) throw new RangeError(`isObjective: wr must be finite and ≥ 0, got ${wr}`);
  const lambda = options.weightDecay ?? 0;
  checkDecay(lambda, "isObjective");
  return { wr, lambda, learnStd: options.learnStd ?? false };
}

/**
 * Φ(θ) (module comment) over `set`, as an LBFGS objective −Φ(θ) + ½·λ·‖W1, W2‖²
 * with its analytic gradient, and as a value breakdown. Scratch is allocated
 * here, once; `objective` and `value` share it (not re-entrant). The set is
 * read, never copied: do not change it while the objective is in use.
 */
export function isObjective(policy: MlpPolicy, set: IsSampleSet, options: IsObjectiveOptions): IsObjective {
  const { wr, lambda, learnStd } = checkIsObjective(policy, set, options);
  const { T, nu, count: m } = set;

  const L = parameterLayout(policy);
  const oLs = L.logStd;
  // All m·T states in one contiguous block, so one forward pass caches every
  // activation and the gradient needs one backward pass (no second forward).
  const rows = m * T;
  const ws = createWorkspace(policy, rows);
  const X = new Float64Array(rows * set.nx);
  stateViews(set).forEach((v, i) => X.set(v, i * T * set.nx));
  const meanAll = new Float64Array(rows * nu);
  const dMeanAll = new Float64Array(rows * nu);
  const { us } = set;

  const stepLp = new Float64Array(m * T); // [i][t] log π_θ(u_t|x_t)
  const logW = new Float64Array(T * m); // [t][i] log w_it, then ŵ_it (transposed: log-sum-exp over i is contiguous)
  const coef = new Float64Array(m * T); // [i][t] c_it, then in place the reverse cumulative sums s_it
  const invStd = new Float64Array(nu);
  const breakdown = { phi: 0, estimatedReturn: 0, sumLogZ: 0, meanEss: 0, minEss: 0 };

  /** Fills `breakdown`; with `grad`, also writes d(−Φ)/dθ into it (overwritten, no decay). */
  const evaluate = (theta: Float64Array, grad: Float64Array | null): void => {
    // Pass 1: per-step log densities, then the weight algebra.
    const c = loadStd(theta, oLs, nu, invStd);
    forward(policy, theta, X, rows, meanAll, ws);
    for (let i = 0; i < m; i++) stepLogProbsFromMeans(us, i, T, nu, meanAll.subarray(i * T * nu, (i + 1) * T * nu), invStd, c, stepLp);
    phiWeights(set, stepLp, wr, logW, grad !== null ? coef : null, breakdown);
    if (grad === null) return;

    // Pass 2: ∇(−Φ) = −Σ_i Σ_t' s_it' ∇log π_θ(u_t'|x_t'), s_it' = Σ_{t≥t'} c_it.
    grad.fill(0);
    reverseCumulativeSums(coef, m, T);
    for (let i = 0; i < m; i++) {
      const cOff = i * T;
      const uOff = i * T * nu;
      for (let t = 0; t < T; t++) {
        const st = coef[cOff + t];
        for (let j = 0; j < nu; j++) {
          const e = (us[uOff + t * nu + j] - meanAll[uOff + t * nu + j]) * invStd[j];
          dMeanAll[uOff + t * nu + j] = -st * e * invStd[j];
          if (learnStd) grad[oLs + j] -= st * (e * e - 1);
        }
      }
    }
    backward(policy, theta, dMeanAll, rows, grad, ws);
  };

  return objectiveOf(L, lambda, evaluate, breakdown, () => {});
}

/**
 * The LBFGS objective −Φ + decay and the value breakdown around an
 * evaluation function. `value` at the point with the lowest objective seen so
 * far (where an optimizer ends) returns that evaluation's breakdown instead of
 * evaluating Φ again: the same numbers, bit for bit.
 */
function objectiveOf(L: ParameterLayout, lambda: number, evaluate: (theta: Float64Array, grad: Float64Array | null) => void, breakdown: PhiBreakdown, release: () => void): IsObjective {
  let bestF = Infinity;
  let best: PhiBreakdown | null = null;
  const bestX = new Float64Array(L.total);
  const isBest = (theta: Float64Array): boolean => {
    if (!best) return false;
    for (let k = 0; k < L.total; k++) if (theta[k] !== bestX[k]) return false;
    return true;
  };
  return {
    objective: (theta, gradOut) => {
      checkTheta(L.total, theta, "isObjective");
      if (gradOut.length !== theta.length) throw new RangeError("isObjective: gradOut's length differs from θ's");
      evaluate(theta, gradOut);
      const f = -breakdown.phi + addWeightDecay(L, theta, lambda, gradOut);
      if (f < bestF) {
        bestF = f;
        best = { ...breakdown };
        bestX.set(theta);
      }
      return f;
    },
    value: (theta) => {
      checkTheta(L.total, theta, "isObjective.value");
      if (isBest(theta)) return { ...best! };
      evaluate(theta, null);
      return { ...breakdown };
    },
    release,
  };
}

/**
 * `isObjective` on the batched kernels (src/policy/kernels): the same Φ, its
 * weight algebra shared, the network's passes chunked over `compute`'s lanes.
 * The forward pass of every row is kept between Φ and its gradient. Holds
 * kernel memory until `release()`.
 */
export function isObjectiveBatched(compute: Compute, policy: MlpPolicy, set: IsSampleSet, options: IsObjectiveOptions): IsObjective {
  const { wr, lambda, learnStd } = checkIsObjective(policy, set, options);
  const { T, count: m } = set;
  const L = parameterLayout(policy);
  const session = new ScoreSession(compute, policy, set.xs, set.us, Array.from({ length: m }, (_, i) => i), T, { perRowCoefficients: true });
  const stepLp = new Float64Array(m * T);
  const logW = new Float64Array(T * m);
  const coef = new Float64Array(m * T);
  const breakdown = { phi: 0, estimatedReturn: 0, sumLogZ: 0, meanEss: 0, minEss: 0 };
  const evaluate = (theta: Float64Array, grad: Float64Array | null): void => {
    session.forward(theta, stepLp, grad !== null);
    phiWeights(set, stepLp, wr, logW, grad !== null ? coef : null, breakdown);
    if (grad === null) return;
    reverseCumulativeSums(coef, m, T);
    session.setCoefficients(coef);
    session.gradient(theta, grad, { scale: -1, learnStd, withValue: false, reuseForward: true });
  };
  return objectiveOf(L, lambda, evaluate, breakdown, () => session.release());
}

/**
 * The paper's equation (2), Φ with w_r = 0: Σ_t Σ_i ŵ_it r_it, the
 * self-normalized per-step importance-sampled return of π_θ (Algorithm 1,
 * line 10, compares π_θk and π_θ* with it).
 */
export function estimateReturn(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, kernels?: Pick<SampleKernels, "isObjective">): number {
  const objective = kernels ? kernels.isObjective(policy, set, { wr: 0 }) : isObjective(policy, set, { wr: 0 });
  try {
    return objective.value(theta).estimatedReturn;
  } finally {
    objective.release();
  }
}

// ---------------------------------------------------------------------------
// Maximum likelihood

function checkMaxLikelihood(policy: MlpPolicy, set: IsSampleSet, sampleIndices: readonly number[], options: MaxLikelihoodOptions): { lambda: number; learnStd: boolean } {
  checkSampleSet(set, "maxLikelihoodObjective");
  checkPolicy(policy, set, "maxLikelihoodObjective");
  if (sampleIndices.length === 0) throw new RangeError("maxLikelihoodObjective: no samples");
  for (const i of sampleIndices) {
    if (!Number.isInteger(i) || i < 0 || i >= set.count) throw new RangeError(`maxLikelihoodObjective: index ${i} is not a sample of a set of ${set.count}`);
  }
  const lambda = options.weightDecay ?? 0;
  checkDecay(lambda, "maxLikelihoodObjective");
  return { lambda, learnStd: options.learnStd ?? false };
}

/**
 * −(1/N) Σ log π_θ(u_t^i | x_t^i) over every step of the listed samples
 * (N = sampleIndices.length · T; repeats count twice) plus ½·λ·‖W1, W2‖², with
 * its gradient, for `minimizeLbfgs`. Used to pretrain θ* on the guiding samples
 * (Algorithm 1, line 3), and, on one sample, for the restart "that maximizes
 * the log weight of the best sample" (§5): log w_i,T = log π_θ(ζ_i) − log q(ζ_i)
 * and q does not depend on θ. With learnStd false (default) the logStd block
 * of the gradient is 0, so σ stays as in θ0 and the fit is a least-squares fit
 * of the means scaled by 1/σ².
 */
export function maxLikelihoodObjective(policy: MlpPolicy, set: IsSampleSet, sampleIndices: readonly number[], options: MaxLikelihoodOptions = {}): Objective {
  const { lambda, learnStd } = checkMaxLikelihood(policy, set, sampleIndices, options);
  const { T, nu } = set;
  const indices = Int32Array.from(sampleIndices);
  const invN = 1 / (indices.length * T);
  const L = parameterLayout(policy);
  const oLs = L.logStd;
  const ws = createWorkspace(policy, T);
  const views = stateViews(set);
  const invStd = new Float64Array(nu);
  const us = set.us;

  return (theta, gradOut) => {
    checkTheta(L.total, theta, "maxLikelihoodObjective");
    if (gradOut.length !== theta.length) throw new RangeError("maxLikelihoodObjective: gradOut's length differs from θ's");
    gradOut.fill(0);
    const c = loadStd(theta, oLs, nu, invStd);
    const mean = ws.mean;
    const dMean = ws.dMean;
    let sumLp = 0;
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      forward(policy, theta, views[i], T, mean, ws);
      const uOff = i * T * nu;
      for (let t = 0; t < T; t++) {
        let q = 0;
        for (let j = 0; j < nu; j++) {
          const e = (us[uOff + t * nu + j] - mean[t * nu + j]) * invStd[j];
          q += e * e;
          dMean[t * nu + j] = -invN * e * invStd[j];
          if (learnStd) gradOut[oLs + j] -= invN * (e * e - 1);
        }
        sumLp += c - 0.5 * q;
      }
      backward(policy, theta, dMean, T, gradOut, ws);
    }
    return -invN * sumLp + addWeightDecay(L, theta, lambda, gradOut);
  };
}

/** An LBFGS objective that holds kernel memory until `release()`. */
export interface HeldObjective {
  readonly objective: Objective;
  release(): void;
}

/** `maxLikelihoodObjective` on the batched kernels (chunked over `compute`'s lanes). */
export function maxLikelihoodObjectiveBatched(compute: Compute, policy: MlpPolicy, set: IsSampleSet, sampleIndices: readonly number[], options: MaxLikelihoodOptions = {}): HeldObjective {
  const { lambda, learnStd } = checkMaxLikelihood(policy, set, sampleIndices, options);
  const invN = 1 / (sampleIndices.length * set.T);
  const L = parameterLayout(policy);
  const session = new ScoreSession(compute, policy, set.xs, set.us, sampleIndices, set.T, { perRowCoefficients: false });
  return {
    objective: (theta, gradOut) => {
      checkTheta(L.total, theta, "maxLikelihoodObjective");
      if (gradOut.length !== theta.length) throw new RangeError("maxLikelihoodObjective: gradOut's length differs from θ's");
      const sumLp = session.gradient(theta, gradOut, { scale: -1, constCoef: invN, learnStd, withValue: true });
      return -invN * sumLp + addWeightDecay(L, theta, lambda, gradOut);
    },
    release: () => session.release(),
  };
}

// ---------------------------------------------------------------------------
// Score-function gradient (the policy-gradient baseline)

/**
 * Σ_i Σ_t c_it ∇_θ log π_θ(u_it | x_it) into `gradOut` (the logStd block
 * included: ∂ log π/∂ logStd_j = e_j² − 1 with e_j = (u_j − μ_j)/σ_j).
 */
export function scoreFunctionGradient(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, coefficients: Float64Array, gradOut: Float64Array): void {
  const { T, nx, nu, count } = set;
  const L = parameterLayout(policy);
  const ws = createWorkspace(policy, T);
  const invStd = new Float64Array(nu);
  for (let j = 0; j < nu; j++) invStd[j] = Math.exp(-theta[L.logStd + j]);
  gradOut.fill(0);
  for (let i = 0; i < count; i++) {
    forward(policy, theta, set.xs.subarray(i * (T + 1) * nx, (i * (T + 1) + T) * nx), T, ws.mean, ws);
    for (let t = 0; t < T; t++) {
      const c = coefficients[i * T + t];
      for (let j = 0; j < nu; j++) {
        const e = (set.us[(i * T + t) * nu + j] - ws.mean[t * nu + j]) * invStd[j];
        ws.dMean[t * nu + j] = c * e * invStd[j];
        gradOut[L.logStd + j] += c * (e * e - 1);
      }
    }
    backward(policy, theta, ws.dMean, T, gradOut, ws);
  }
}

/**
 * Maximum likelihood on the kernels: LBFGS from θ0 (`maxIterations` steps)
 * and the objective at θ0 (its first evaluation), the kernel memory released
 * whatever happens.
 */
export function fitMaxLikelihood(
  kernels: Pick<SampleKernels, "maxLikelihood">,
  policy: MlpPolicy,
  set: IsSampleSet,
  sampleIndices: readonly number[],
  options: MaxLikelihoodOptions,
  theta0: Float64Array,
  maxIterations: number,
): { f0: number; fit: LbfgsResult } {
  const ml = kernels.maxLikelihood(policy, set, sampleIndices, options);
  try {
    const fit = minimizeLbfgs(ml.objective, theta0, { maxIterations });
    return { f0: fit.history[0], fit };
  } finally {
    ml.release();
  }
}
