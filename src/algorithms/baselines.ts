/**
 * The prior methods the 2013 paper compares guided policy search with (§6.1,
 * Figure 2), as stages that share GPS's sampling, pool and metrics:
 *
 *   policyGradientIteration  "policy gradient": samples of the current π_θ, a
 *                            GPOMDP gradient estimate with a per-step baseline,
 *                            one Adam step on μ's parameters
 *   daggerIteration          "DAgger" (Ross et al. 2011): samples of the current
 *                            π_θ, every visited state labelled with the expert's
 *                            action, the aggregated data refitted
 *   costWeightedRegression   cost-weighted regression (Peters & Schaal 2007;
 *                            Kober & Peters 2009): samples of the current π_θ,
 *                            weighted by exp(−cost/τ), μ refitted to them by
 *                            weighted maximum likelihood
 *
 * "Single example" needs no stage of its own: pretrainPolicy({ from: "example" })
 * then non-guided, unregularized isgpsIteration (experiments/isgps-variants.ts).
 *
 * Both stages start from the policy already in the run state (GPS's pretrained
 * θ*, so every method starts from the same network) and leave their current
 * policy there: unlike Algorithm 1 they keep no "best so far".
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { parameterLayout } from "../policy/mlp.js";
import { Sampler } from "../random/generator.js";
import { summarize } from "./summaries.js";
import { fitMaxLikelihood, scoreFunctionGradient, type IsSampleSet } from "./isgps-objective.js";
import { kernelsOf } from "./numerics.js";
import { guidingMeans, isGuidingSource, observedStates, type IsgpsBatch, type IsgpsSource, type IsgpsState } from "./isgps-samples.js";
import { costStats, drawPolicyBatches, fallCount } from "./isgps-stages.js";
import { policyRows } from "./rollouts.js";
import { observerFor } from "./observation.js";
import { internalError, mlpOf, type PolicyState, type RunState, type StageEnv, type StageOutcome, type StageProgress } from "./state.js";
import { minimizeLbfgs } from "../optim/lbfgs.js";
import { cholesky } from "../linalg/dense.js";
import type { MlpPolicy } from "../policy/mlp.js";
import type { PolicyKernels } from "./kernels.js";

/** The per-row score-function gradient (the reference the batched kernel is tested against) lives with the IS objective now. */
export { scoreFunctionGradient };

type PolicyGradientSpec = ResolvedStageSpec<"policyGradientIteration">;
type DaggerSpec = ResolvedStageSpec<"daggerIteration">;
type CwrSpec = ResolvedStageSpec<"costWeightedRegression">;

/** Adam's moments for the policy-gradient baseline, carried in the run state. */
export type { PolicyGradientState } from "./state.js";

const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

/** The batches as one sample set of what the policy sees (rewards and actions as drawn; logQ unused). */
function batchesAsSet(env: StageEnv, batches: readonly IsgpsBatch[], actions?: readonly Float64Array[]): IsSampleSet {
  const T = env.horizon;
  const { nx, nu } = env.worlds[0].task;
  const count = batches.reduce((s, b) => s + b.count, 0);
  const xs = new Float64Array(count * (T + 1) * nx);
  const us = new Float64Array(count * T * nu);
  const rewards = new Float64Array(count * T);
  let row = 0;
  batches.forEach((b, k) => {
    xs.set(observedStates(b, observerFor(env.experiment.policy, env.worlds[b.condition].task), nx), row * (T + 1) * nx);
    us.set(actions ? actions[k] : b.us, row * T * nu);
    rewards.set(b.rewards, row * T);
    row += b.count;
  });
  return { T, nx, nu, count, xs, us, rewards, logQ: new Float64Array(count * T) };
}

/**
 * GPOMDP's per-step coefficients (count·T): (R_it − b_t)/m, with R_it = Σ_{t'≥t} r_it'
 * the reward to go and b_t = (1/m) Σ_i R_it the per-step baseline. Adding a
 * constant to every reward leaves them unchanged.
 */
export function gpomdpCoefficients(rewards: Float64Array, count: number, T: number): Float64Array {
  const out = new Float64Array(count * T);
  for (let i = 0; i < count; i++) {
    let togo = 0;
    for (let t = T - 1; t >= 0; t--) {
      togo += rewards[i * T + t];
      out[i * T + t] = togo;
    }
  }
  for (let t = 0; t < T; t++) {
    let b = 0;
    for (let i = 0; i < count; i++) b += out[i * T + t];
    b /= count;
    for (let i = 0; i < count; i++) out[i * T + t] = (out[i * T + t] - b) / count;
  }
  return out;
}

/** What both loops report per iteration: the new policy alone, noise-free, and the iteration's on-policy samples. */
function iterationMetrics(env: StageEnv, state: RunState, next: PolicyState, drawn: readonly IsgpsBatch[]) {
  const stats = costStats(drawn, env.horizon);
  return {
    ...summarize(policyRows(env, state, next)),
    sampleCost: stats.mean,
    sampleCostStd: stats.std,
    sampleReward: -stats.mean,
    sampleFalls: fallCount(env, drawn),
  };
}

function policyOf(state: RunState, where: string): PolicyState {
  if (!state.policy) throw internalError(`${where} needs a policy to start from: run pretrainPolicy before it`);
  return state.policy;
}

/** One iteration of the policy-gradient baseline (GPOMDP, Adam ascent on μ's parameters; σ fixed). */
export const policyGradientIteration = function* (env: StageEnv, spec: PolicyGradientSpec, state: RunState) {
  const policyState = policyOf(state, "policyGradientIteration");
  const policy = mlpOf(policyState);
  const theta = policyState.theta;
  const sampler = new Sampler(state.rng);
  const T = env.horizon;
  const drawn = drawPolicyBatches(env, state, theta, -1, spec.samples, sampler);
  yield { fraction: 0.5, message: `${drawn.reduce((s, b) => s + b.count, 0)} samples of π_θ` };
  const set = batchesAsSet(env, drawn);
  const grad = new Float64Array(theta.length);
  kernelsOf(env).scoreGradient(policy, theta, set, gpomdpCoefficients(set.rewards, set.count, T), grad);
  const L = parameterLayout(policy);
  grad.fill(0, L.logStd, L.logStd + policy.nOut);
  // Adam, ascending.
  const prev = state.policyGradient ?? { m: new Float64Array(theta.length), v: new Float64Array(theta.length), steps: 0 };
  const steps = prev.steps + 1;
  const m = new Float64Array(theta.length);
  const v = new Float64Array(theta.length);
  const next = Float64Array.from(theta);
  const c1 = 1 - ADAM_BETA1 ** steps;
  const c2 = 1 - ADAM_BETA2 ** steps;
  let gradNorm = 0;
  for (let k = 0; k < theta.length; k++) {
    gradNorm += grad[k] * grad[k];
    m[k] = ADAM_BETA1 * prev.m[k] + (1 - ADAM_BETA1) * grad[k];
    v[k] = ADAM_BETA2 * prev.v[k] + (1 - ADAM_BETA2) * grad[k] * grad[k];
    next[k] += (spec.stepSize * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + ADAM_EPSILON);
  }
  const nextPolicy: PolicyState = { ...policyState, theta: next };
  return {
    state: { ...state, rng: sampler.state(), policy: nextPolicy, policyGradient: { m, v, steps } },
    metrics: { ...iterationMetrics(env, state, nextPolicy, drawn), gradientNorm: Math.sqrt(gradNorm) },
  };
};

/** Condition c's expert: its newest guiding source (DDP's controller, or the demonstration controller). */
function expertOf(isgps: IsgpsState, c: number): Exclude<IsgpsSource, { kind: "policy" }> {
  for (let k = isgps.sources.length - 1; k >= 0; k--) {
    const s = isgps.sources[k];
    if (isGuidingSource(s) && s.condition === c) return s;
  }
  throw internalError(`daggerIteration: condition ${c} has no guiding distribution to act as the expert: run guidingSamples first`);
}

/** The expert's actions at a batch's states, memoized by identity (a pure function of the two). */
const labelMemo = new WeakMap<Float64Array, WeakMap<object, Float64Array>>();
function expertLabels(env: StageEnv, expert: Exclude<IsgpsSource, { kind: "policy" }>, batch: IsgpsBatch): Float64Array {
  const key = expert.kind === "guiding" ? expert.controller.K : expert.std;
  let inner = labelMemo.get(batch.xs);
  if (!inner) labelMemo.set(batch.xs, (inner = new WeakMap()));
  let v = inner.get(key);
  if (!v) inner.set(key, (v = guidingMeans(expert, batch, env.horizon, env.worlds[batch.condition].task)));
  return v;
}

/** The index of condition c's expert among the sources (see expertOf). */
function expertIndex(isgps: IsgpsState, c: number): number {
  for (let k = isgps.sources.length - 1; k >= 0; k--) {
    const s = isgps.sources[k];
    if (isGuidingSource(s) && s.condition === c) return k;
  }
  return -1;
}

/**
 * Weighted DAgger's per-step weights (count·T over the rows of `rows`, in
 * order): w_it ∝ N(x_it; x̄_t, S_t), with x̄_t and S_t the state marginal of
 * the row's condition at step t (`marginals[c]`: (T+1)·nx means and
 * (T+1)·nx·nx covariances). Log densities by Cholesky; normalized in log space
 * (the max subtracted, so the sum is ≥ 1 and cannot underflow) within each
 * (condition, step), so each condition's step sums to 1/(C·T) and all weights to 1.
 * A covariance that is not positive definite gets a growing ridge until it is.
 * Returns the weights and each (condition, step) group's effective sample size.
 */
export function trajectoryWeights(
  rows: readonly { condition: number; xs: Float64Array; offset: number }[],
  marginals: ReadonlyMap<number, { mean: Float64Array; cov: Float64Array }>,
  T: number,
  nx: number,
): { weights: Float64Array; ess: number[] } {
  const n = rows.length;
  const logw = new Float64Array(n * T);
  const conds = [...new Set(rows.map((r) => r.condition))].sort((a, b) => a - b);
  const L = new Float64Array(nx * nx);
  const d = new Float64Array(nx);
  for (const c of conds) {
    const m = marginals.get(c);
    if (!m) throw internalError(`daggerIteration: condition ${c} has no state marginal`);
    for (let t = 0; t < T; t++) {
      let ridge = 0;
      for (;;) {
        L.set(m.cov.subarray(t * nx * nx, (t + 1) * nx * nx));
        for (let j = 0; j < nx; j++) L[j * nx + j] += ridge;
        if (cholesky(L, nx)) break;
        ridge = ridge === 0 ? 1e-10 : ridge * 10;
        if (ridge > 1e10) throw internalError(`daggerIteration: condition ${c}'s state covariance at t=${t} is not positive definite`);
      }
      let logDet = 0;
      for (let j = 0; j < nx; j++) logDet += 2 * Math.log(L[j * nx + j]);
      rows.forEach((r, i) => {
        if (r.condition !== c) return;
        const o = r.offset + t * nx;
        for (let j = 0; j < nx; j++) d[j] = r.xs[o + j] - m.mean[t * nx + j];
        // Forward substitution L z = d; ‖z‖² = dᵀ S⁻¹ d.
        let q = 0;
        for (let j = 0; j < nx; j++) {
          let v = d[j];
          for (let k = 0; k < j; k++) v -= L[j * nx + k] * d[k];
          d[j] = v / L[j * nx + j];
          q += d[j] * d[j];
        }
        logw[i * T + t] = -0.5 * (q + logDet + nx * Math.log(2 * Math.PI));
      });
    }
  }
  const weights = new Float64Array(n * T);
  const ess: number[] = [];
  for (const c of conds) {
    const idx: number[] = [];
    rows.forEach((r, i) => r.condition === c && idx.push(i));
    for (let t = 0; t < T; t++) {
      let max = -Infinity;
      for (const i of idx) if (logw[i * T + t] > max) max = logw[i * T + t];
      let sum = 0;
      for (const i of idx) sum += Math.exp(logw[i * T + t] - max);
      let sumSq = 0;
      for (const i of idx) {
        const w = Math.exp(logw[i * T + t] - max) / sum;
        sumSq += w * w;
        weights[i * T + t] = w / (conds.length * T);
      }
      ess.push(1 / sumSq);
    }
  }
  return { weights, ess };
}

/**
 * Condition c's trajectory distribution's state marginal for weighted DAgger:
 * x̄_t the DDP controller's nominal, S_t the empirical second moment about x̄_t
 * of q's own (guiding) samples at step t, plus a ridge of 1e-6·(1 + tr S_t / nx)
 * (x_0 is deterministic, so S_0 would be 0).
 */
function stateMarginal(isgps: IsgpsState, c: number, T: number, nx: number): { mean: Float64Array; cov: Float64Array } {
  const k = expertIndex(isgps, c);
  const expert = isgps.sources[k];
  if (!expert || expert.kind !== "guiding") {
    throw internalError(`daggerIteration: weighting "trajectory" needs condition ${c}'s expert to be a trajectory distribution (DDP's), not a demonstration`);
  }
  const mean = expert.controller.xbar;
  const cov = new Float64Array((T + 1) * nx * nx);
  let count = 0;
  for (const b of isgps.batches) {
    if (b.source !== k || b.restart) continue;
    for (let i = 0; i < b.count; i++) {
      for (let t = 0; t <= T; t++) {
        const o = (i * (T + 1) + t) * nx;
        for (let a = 0; a < nx; a++) {
          const da = b.xs[o + a] - mean[t * nx + a];
          for (let e = 0; e <= a; e++) cov[t * nx * nx + a * nx + e] += da * (b.xs[o + e] - mean[t * nx + e]);
        }
      }
    }
    count += b.count;
  }
  if (count === 0) throw internalError(`daggerIteration: condition ${c}'s trajectory distribution has no samples`);
  for (let t = 0; t <= T; t++) {
    const o = t * nx * nx;
    let tr = 0;
    for (let a = 0; a < nx; a++) {
      for (let e = 0; e <= a; e++) {
        const v = cov[o + a * nx + e] / count;
        cov[o + a * nx + e] = v;
        cov[o + e * nx + a] = v;
      }
      tr += cov[o + a * nx + a];
    }
    const ridge = 1e-6 * (1 + tr / nx);
    for (let a = 0; a < nx; a++) cov[o + a * nx + a] += ridge;
  }
  return { mean, cov };
}

/**
 * One DAgger iteration with β = 0 (the expert's own data is the guiding samples
 * that pretrained π_θ): samples of the current π_θ join the pool; every sample in
 * the pool (guiding samples included) is labelled with its condition's expert
 * action at each visited state; μ is refitted to all of it — with `weighting`
 * "trajectory", by weighted maximum likelihood with `trajectoryWeights`.
 */
export const daggerIteration = function* (env: StageEnv, spec: DaggerSpec, state: RunState): Generator<StageProgress, StageOutcome, void> {
  const policyState = policyOf(state, "daggerIteration");
  if (!state.isgps) throw internalError("daggerIteration needs guiding samples (its expert and first data): run guidingSamples and pretrainPolicy before it");
  const isgps = state.isgps;
  const policy = mlpOf(policyState);
  const sampler = new Sampler(state.rng);
  const sources = [...isgps.sources, { kind: "policy" as const, theta: policyState.theta }];
  const drawn = drawPolicyBatches(env, state, policyState.theta, sources.length - 1, spec.samples, sampler);
  const batches = [...isgps.batches, ...drawn];
  const data = batches.filter((b) => !b.restart);
  const labels = data.map((b) => expertLabels(env, expertOf(isgps, b.condition), b));
  const set = batchesAsSet(env, data, labels);
  yield { fraction: 0.3, message: `refitting on ${set.count} labelled rollouts` };
  // The fit and what it reports: weighted by the trajectory distribution's state marginal, or plain maximum likelihood.
  let fit: ReturnType<typeof minimizeLbfgs>;
  let fitMetrics: Record<string, number>;
  if (spec.weighting === "trajectory") {
    const T = env.horizon;
    const { nx } = env.worlds[0].task;
    const conds = [...new Set(data.map((b) => b.condition))];
    const marginals = new Map(conds.map((c) => [c, stateMarginal(isgps, c, T, nx)] as const));
    const rows = data.flatMap((b) => Array.from({ length: b.count }, (_, i) => ({ condition: b.condition, xs: b.xs, offset: i * (T + 1) * nx })));
    const { weights, ess } = trajectoryWeights(rows, marginals, T, nx);
    fit = minimizeLbfgs(stepWeightedNegLogLikelihood(kernelsOf(env), policy, set, weights), policyState.theta, { maxIterations: spec.maxIterations });
    fitMetrics = { effectiveSampleSize: ess.reduce((x, y) => x + y, 0) / ess.length, effectiveSampleSizeMin: Math.min(...ess), weightedLoss0: fit.history[0], weightedLoss: fit.f };
  } else {
    const all = Array.from({ length: set.count }, (_, i) => i);
    const plain = fitMaxLikelihood(kernelsOf(env), policy, set, all, { learnStd: false }, policyState.theta, spec.maxIterations);
    fit = plain.fit;
    fitMetrics = { negLogLikelihood0: plain.f0, negLogLikelihood: fit.f };
  }
  const nextPolicy: PolicyState = { ...policyState, theta: fit.x };
  return {
    state: { ...state, rng: sampler.state(), policy: nextPolicy, isgps: { ...isgps, sources, batches } },
    metrics: {
      ...iterationMetrics(env, state, nextPolicy, drawn),
      datasetSamples: set.count,
      ...fitMetrics,
      lbfgsIterations: fit.iterations,
      lbfgsEvaluations: fit.evaluations,
    },
  };
};

/**
 * Cost-weighted regression's weights (count, summing to 1): within each
 * condition c, w_i ∝ exp(−(S_i − min_c S)/τ_c), computed in log space and
 * normalized to 1/C, so every condition weighs the same however its costs
 * compare with the others'. τ_c is `temperature`, or with "auto" the (population)
 * standard deviation of condition c's costs; a condition whose costs are all
 * equal (τ_c = 0) weighs its samples uniformly. A non-finite cost weighs 0.
 */
export function costWeights(costs: readonly number[], conditions: readonly number[], temperature: number | "auto"): { weights: Float64Array; temperatures: number[] } {
  const n = costs.length;
  const weights = new Float64Array(n);
  const groups = [...new Set(conditions)].sort((a, b) => a - b);
  const temperatures: number[] = [];
  for (const c of groups) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (conditions[i] === c && Number.isFinite(costs[i])) idx.push(i);
    if (idx.length === 0) throw internalError(`costWeightedRegression: every sample of condition ${c} has a non-finite cost`);
    let min = Infinity;
    let m = 0;
    for (const i of idx) {
      min = Math.min(min, costs[i]);
      m += costs[i];
    }
    m /= idx.length;
    let tau: number;
    if (temperature === "auto") {
      let v = 0;
      for (const i of idx) v += (costs[i] - m) ** 2;
      tau = Math.sqrt(v / idx.length);
    } else tau = temperature;
    temperatures.push(tau);
    // log w_i = −(S_i − min S)/τ ≤ 0, the best sample's 0: Σ exp ≥ 1, no underflow of the sum.
    const logw = idx.map((i) => (tau > 0 ? -(costs[i] - min) / tau : 0));
    let sum = 0;
    for (const l of logw) sum += Math.exp(l);
    const logZ = Math.log(sum) + Math.log(groups.length);
    idx.forEach((i, k) => (weights[i] = Math.exp(logw[k] - logZ)));
  }
  return { weights, temperatures };
}

/**
 * The weighted negative log-likelihood −Σ_i w_i (1/T) Σ_t log π_θ(u_it | x_it) and its
 * gradient (σ's block zero: σ stays as in θ0), for LBFGS.
 */
export function weightedNegLogLikelihood(kernels: PolicyKernels, policy: MlpPolicy, set: IsSampleSet, weights: Float64Array): (theta: Float64Array, gradOut: Float64Array) => number {
  const T = set.T;
  const coeff = new Float64Array(set.count * T);
  for (let i = 0; i < set.count; i++) coeff.fill(weights[i] / T, i * T, (i + 1) * T);
  return stepWeightedNegLogLikelihood(kernels, policy, set, coeff);
}

/** As weightedNegLogLikelihood with one weight per sample and step (count·T): −Σ_it c_it log π_θ(u_it | x_it). */
export function stepWeightedNegLogLikelihood(kernels: PolicyKernels, policy: MlpPolicy, set: IsSampleSet, coeff: Float64Array): (theta: Float64Array, gradOut: Float64Array) => number {
  const L = parameterLayout(policy);
  return (theta, gradOut) => {
    const lp = kernels.stepLogProbs(policy, theta, set);
    let f = 0;
    for (let k = 0; k < lp.length; k++) if (coeff[k] !== 0) f -= coeff[k] * lp[k];
    kernels.scoreGradient(policy, theta, set, coeff, gradOut);
    for (let k = 0; k < gradOut.length; k++) gradOut[k] = -gradOut[k];
    gradOut.fill(0, L.logStd, L.logStd + policy.nOut);
    return f;
  };
}

/** The samples of a set with a positive weight, as a set of their own (and their weights). */
function weightedSubset(set: IsSampleSet, weights: Float64Array): { set: IsSampleSet; weights: Float64Array } {
  const keep: number[] = [];
  for (let i = 0; i < set.count; i++) if (weights[i] > 0) keep.push(i);
  const { T, nx, nu } = set;
  const count = keep.length;
  const xs = new Float64Array(count * (T + 1) * nx);
  const us = new Float64Array(count * T * nu);
  const rewards = new Float64Array(count * T);
  keep.forEach((i, r) => {
    xs.set(set.xs.subarray(i * (T + 1) * nx, (i + 1) * (T + 1) * nx), r * (T + 1) * nx);
    us.set(set.us.subarray(i * T * nu, (i + 1) * T * nu), r * T * nu);
    rewards.set(set.rewards.subarray(i * T, (i + 1) * T), r * T);
  });
  return { set: { T, nx, nu, count, xs, us, rewards, logQ: new Float64Array(count * T) }, weights: Float64Array.from(keep, (i) => weights[i]) };
}

/**
 * One iteration of cost-weighted regression: `samples` rollouts of the current
 * stochastic π_θ from every condition, weights from their total costs
 * (`costWeights`), μ refitted by weighted maximum likelihood from the current θ
 * (σ fixed). No pool: each iteration sees its own samples only.
 */
export const costWeightedRegression = function* (env: StageEnv, spec: CwrSpec, state: RunState) {
  const policyState = policyOf(state, "costWeightedRegression");
  const policy = mlpOf(policyState);
  const sampler = new Sampler(state.rng);
  const C = state.conditions.length;
  const drawn = drawPolicyBatches(env, state, policyState.theta, -1, spec.samples * C, sampler);
  const set = batchesAsSet(env, drawn);
  yield { fraction: 0.4, message: `weighting ${set.count} samples of π_θ` };
  const { costs } = costStats(drawn, env.horizon);
  const conditions = drawn.flatMap((b) => Array.from({ length: b.count }, () => b.condition));
  const { weights, temperatures } = costWeights(costs, conditions, spec.temperature);
  let sumSq = 0;
  for (const w of weights) sumSq += w * w;
  const sub = weightedSubset(set, weights);
  const kernels = kernelsOf(env);
  const objective = weightedNegLogLikelihood(kernels, policy, sub.set, sub.weights);
  const fit = minimizeLbfgs(objective, policyState.theta, { maxIterations: spec.maxIterations });
  const nextPolicy: PolicyState = { ...policyState, theta: fit.x };
  return {
    state: { ...state, rng: sampler.state(), policy: nextPolicy },
    metrics: {
      ...iterationMetrics(env, state, nextPolicy, drawn),
      effectiveSampleSize: 1 / sumSq,
      temperature: temperatures.reduce((a, b) => a + b, 0) / temperatures.length,
      weightedSamples: sub.set.count,
      weightedLoss0: fit.history[0],
      weightedLoss: fit.f,
      lbfgsIterations: fit.iterations,
      lbfgsEvaluations: fit.evaluations,
    },
  };
};
