/**
 * Importance-sampled guided policy search (Levine & Koltun 2013, Algorithm 1)
 * as pipeline stages:
 *
 *   guidingSamples   lines 1–2: draw samples from every condition's DDP
 *                    (iLQG) distribution q_j; also the "adaptive guiding"
 *                    samples of §4.2 when run after adaptGuiding
 *   pretrainPolicy   lines 3–4: θ* ← argmax Σ log π_θ(ζ_i) over the guiding
 *                    samples (σ too, by maximum likelihood, then fixed), and
 *                    samples from π_θ* join the pool
 *   isgpsIteration   lines 6–12: active set S_k, θ_k ← argmax Φ_{S_k}(θ) (twice:
 *                    from θ* and from a fit to the best sample), samples from
 *                    π_θk, estimated returns of π_θk and π_θ*, accept or reject
 *   adaptWr          lines 13–16: w_r ÷ 10 on success, × 10 on failure,
 *                    clamped to [1e-6, 1e-2]; fresh samples of π_θ* on failure
 *
 * The run state's `policy` is always θ* (the best policy so far), so the
 * evaluate stage and `gps export --policy` see what Algorithm 1 returns.
 * The variants of §6.1 are options, not forks: `useGuidingSamples: false`
 * (non-guided: guiding samples only pretrain), `restart: true` (the guiding
 * samples leave the objective and give the on-policy samples' initial states), w_r fixed at 0
 * (`pretrainPolicy({ wr: 0 })` and `adaptWr({ min: 0, max: 0 })`:
 * unregularized).
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { minimizeLbfgs, type LbfgsResult } from "../optim/lbfgs.js";
import { parameterLayout } from "../policy/mlp.js";
import { Sampler } from "../random/generator.js";
import { linearGaussianController, linearGaussianPart } from "../trajopt/linear-gaussian.js";
import { firstFall, mean, summarize } from "./summaries.js";
import { motorNoiseFrom } from "./objective.js";
import { activeSet, estimateReturn, fitMaxLikelihood, normalizedWeightStats, policyPrefixLogWeights, subset, type IsSampleSet, type PhiBreakdown } from "./isgps-objective.js";
import { kernelsOf } from "./numerics.js";
import { policyRows, runRollouts, type RolloutController, type RolloutGroup, type RolloutResult } from "./rollouts.js";
import { observeRows, observerFor, type Observer } from "./observation.js";
import { forgetUnusedDensities, isGuidingSource, observedStates, poolSampleSet, type IsgpsBatch, type IsgpsState } from "./isgps-samples.js";
import { internalError, initialPolicyState, mlpOf, type PolicyState, type RunState, type StageEnv } from "./state.js";

type GuidingSamplesSpec = ResolvedStageSpec<"guidingSamples">;
type PretrainSpec = ResolvedStageSpec<"pretrainPolicy">;
type IterationSpec = ResolvedStageSpec<"isgpsIteration">;
type AdaptWrSpec = ResolvedStageSpec<"adaptWr">;

const tasksOf = (env: StageEnv) => env.worlds.map((w) => w.task);
const observersOf = (env: StageEnv) => env.worlds.map((w) => observerFor(env.experiment.policy, w.task));

function isgpsOf(state: RunState, where: string): IsgpsState {
  if (!state.isgps) throw internalError(`${where} needs guiding samples: run guidingSamples (and pretrainPolicy) before it`);
  return state.isgps;
}

// ---------------------------------------------------------------------------
// Drawing batches

/** A group's rollouts as a batch of the pool (the actions as the controller drew them). */
function batchOf(rollouts: readonly RolloutResult[], T: number, nx: number, nu: number, source: number, condition: number): IsgpsBatch {
  const count = rollouts.length;
  const xs = new Float64Array(count * (T + 1) * nx);
  const us = new Float64Array(count * T * nu);
  const rewards = new Float64Array(count * T);
  rollouts.forEach((r, i) => {
    xs.set(r.xs, i * (T + 1) * nx);
    us.set(r.drawn, i * T * nu);
    rewards.set(r.rewards, i * T);
  });
  return { source, condition, count, xs, us, rewards };
}

/**
 * `count` samples of π_θ spread round-robin over the conditions (one batch per
 * condition that gets any), from each condition's x_0, or (`restart`) each
 * from a state drawn uniformly from the condition's guiding samples (sample and
 * time step uniform).
 */
export function drawPolicyBatches(
  env: StageEnv,
  state: RunState,
  theta: Float64Array,
  sourceIndex: number,
  count: number,
  sampler: Sampler,
  restart = false,
): IsgpsBatch[] {
  const C = state.conditions.length;
  const T = env.horizon;
  const policy: PolicyState = { ...state.policy!, theta };
  const groups: RolloutGroup[] = [];
  const conditions: number[] = [];
  for (let c = 0; c < C; c++) {
    const n = Math.floor(count / C) + (c < count % C ? 1 : 0);
    if (n === 0) continue;
    let start: RolloutGroup["start"] = state.conditions[c].x0;
    if (restart) {
      const isgps = state.isgps!;
      const guiding = isgps.batches.filter((b) => b.condition === c && isGuidingSource(isgps.sources[b.source]));
      const total = guiding.reduce((s, b) => s + b.count, 0);
      if (total === 0) throw internalError(`restart: condition ${c} has no guiding samples to restart from`);
      const nx = env.worlds[c].task.nx;
      start = () => {
        let k = Math.min(total - 1, Math.floor(sampler.uniform() * total));
        const t = Math.min(T - 1, Math.floor(sampler.uniform() * T));
        for (const b of guiding) {
          if (k < b.count) return b.xs.slice((k * (T + 1) + t) * nx, (k * (T + 1) + t + 1) * nx);
          k -= b.count;
        }
        throw internalError("unreachable");
      };
    }
    groups.push({ world: env.worlds[c], T, count: n, start, controller: { kind: "policy", policy, spec: env.experiment.policy, noisy: true }, motorNoise: state.conditions[c].motorNoise });
    conditions.push(c);
  }
  return runRollouts(env, groups, sampler).map((rollouts, k) => {
    const { nx, nu } = env.worlds[conditions[k]].task;
    const batch = batchOf(rollouts, T, nx, nu, sourceIndex, conditions[k]);
    return restart ? { ...batch, restart: true } : batch;
  });
}

/** Mean and std of the total cost of the samples in `batches`. */
export function costStats(batches: readonly IsgpsBatch[], T: number): { mean: number; std: number; costs: number[] } {
  const costs: number[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.count; i++) {
      let s = 0;
      for (let t = 0; t < T; t++) s -= b.rewards[i * T + t];
      costs.push(s);
    }
  }
  const m = mean(costs);
  const std = Math.sqrt(mean(costs.map((c) => (c - m) ** 2)));
  return { mean: m, std, costs };
}

// ---------------------------------------------------------------------------
// Stages

/**
 * Lines 1–2: samples from every condition's guiding distribution: its current
 * linear-Gaussian DDP solution (`from: "trajectory"`, the paper's), or its
 * demonstration controller with Gaussian action noise of `noise` × the
 * demonstration's per-joint torque std (`from: "demonstration"`), plus the
 * condition's motor noise.
 */
export const guidingSamples = function* (env: StageEnv, spec: GuidingSamplesSpec, state: RunState) {
  const sampler = new Sampler(state.rng);
  const prev = state.isgps;
  const sources = [...(prev?.sources ?? [])];
  const batches = [...(prev?.batches ?? [])];
  const from = spec.from;
  const groups: RolloutGroup[] = [];
  const sourceOf: number[] = [];
  for (let c = 0; c < state.conditions.length; c++) {
    const cond = state.conditions[c];
    const world = env.worlds[c];
    let controller: RolloutController;
    if (from === "trajectory") {
      const q = cond.trajectory;
      if (!q) throw internalError(`guidingSamples: condition ${c} has no trajectory distribution; run initializeTrajectories first`);
      const lg = linearGaussianPart(q);
      sources.push({ kind: "guiding", condition: c, controller: lg });
      controller = { kind: "linearGaussian", controller: lg, noisy: true };
    } else {
      const demo = cond.demonstration;
      if (demo?.source !== "controller") throw internalError("guidingSamples from demonstration without a recorded demonstration");
      const name = demo.controller;
      const std = motorNoiseFrom(demo.us, world.task.nu, spec.noise);
      sources.push({ kind: "demonstration", condition: c, controller: name, std });
      controller = { kind: "demonstration", name, std };
    }
    sourceOf.push(sources.length - 1);
    groups.push({ world, T: env.horizon, count: spec.samples, start: cond.x0, controller, motorNoise: cond.motorNoise });
  }
  const added = runRollouts(env, groups, sampler).map((rollouts, c) => batchOf(rollouts, env.horizon, env.worlds[c].task.nx, env.worlds[c].task.nu, sourceOf[c], c));
  batches.push(...added);
  yield { fraction: 1, message: `${spec.samples} guiding samples on each of ${state.conditions.length} conditions` };
  const stats = costStats(added, env.horizon);
  const falls = fallCount(env, added);
  const isgps: IsgpsState = { wr: prev?.wr ?? 0, sources, batches, iteration: prev?.iteration ?? 0, improved: prev?.improved ?? null };
  return {
    state: { ...state, rng: sampler.state(), isgps },
    metrics: { guidingCost: stats.mean, guidingCostStd: stats.std, guidingSamples: added.reduce((s, b) => s + b.count, 0), guidingFalls: falls },
  };
};

/** How many rollouts of the batches fell (the task's fall criteria). */
export function fallCount(env: StageEnv, batches: readonly IsgpsBatch[]): number {
  let falls = 0;
  for (const b of batches) {
    const task = env.worlds[b.condition].task;
    const len = (env.horizon + 1) * task.nx;
    for (let i = 0; i < b.count; i++) if (firstFall(task, b.xs.subarray(i * len, (i + 1) * len), env.horizon) !== null) falls++;
  }
  return falls;
}

/** Indices (into the pool's sample set) of the samples of guiding batches. */
function guidingIndices(pool: { batchOf: Int32Array }, isgps: IsgpsState): Set<number> {
  const out = new Set<number>();
  pool.batchOf.forEach((b, i) => {
    if (isGuidingSource(isgps.sources[isgps.batches[b].source])) out.add(i);
  });
  return out;
}

/**
 * Lines 3–4: θ* by maximum likelihood on the guiding samples (σ too, or with
 * `std: "guiding"` σ fixed at the guiding distributions' own action noise),
 * then samples from π_θ*. With `from: "example"` (the "single example" prior method
 * of §6.1), θ*'s mean is fitted to each condition's one noise-free example
 * instead, and σ is fixed at the guiding distributions' action noise (so the
 * method explores as much as GPS does), or without guiding samples at `noise`
 * × the example's per-joint torque std. One trajectory says nothing about σ:
 * its maximum-likelihood value would shrink to the fit's residual.
 */
export const pretrainPolicy = function* (env: StageEnv, spec: PretrainSpec, state: RunState) {
  const fromExample = spec.from === "example";
  const isgps: IsgpsState = fromExample ? (state.isgps ?? { wr: 0, sources: [], batches: [], iteration: 0, improved: null }) : isgpsOf(state, "pretrainPolicy");
  const sampler = new Sampler(state.rng);
  const T = env.horizon;
  const task = env.worlds[0].task;
  const n = task.nx;
  const nu = task.nu;
  const observers = observersOf(env);
  // The fitted rows, as what the policy sees: one example per condition, or the guiding samples.
  const examples = fromExample ? exampleSampleSet(env, state, observers) : null;
  const guiding = isgps.batches.map((_, b) => b).filter((b) => isGuidingSource(isgps.sources[isgps.batches[b].source]));
  const seen = examples ? [examples] : guiding.map((b) => ({ xs: observedStates(isgps.batches[b], observers[isgps.batches[b].condition], n), count: isgps.batches[b].count }));
  // Normalization from the fitted states x_0 … x_{T−1}.
  const X = new Float64Array(seen.reduce((s, k) => s + k.count, 0) * T * n);
  let r = 0;
  for (const { xs, count } of seen) for (let i = 0; i < count; i++) for (let t = 0; t < T; t++) X.set(xs.subarray((i * (T + 1) + t) * n, (i * (T + 1) + t + 1) * n), (r++) * n);
  const init = initialPolicyState(env.experiment.policy, task, X, nu, sampler);
  // σ fixed rather than fitted: for one example (nothing to fit it to), or on request.
  const fixedStd = examples ? (guidingActionStd(isgps, nu) ?? motorNoiseFrom(examples.us, nu, spec.noise)) : spec.std === "guiding" ? guidingActionStd(isgps, nu) : null;
  if (fixedStd) {
    const L = parameterLayout(init);
    for (let j = 0; j < nu; j++) init.theta[L.logStd + j] = Math.log(fixedStd[j]);
  }
  const policy = mlpOf(init);
  const kernels = kernelsOf(env);
  const set = examples ?? poolSampleSet(policy, isgps.sources, isgps.batches, guiding, state.conditions.length, T, tasksOf(env), observers, kernels).set;
  yield { fraction: 0.1, message: `maximum likelihood on ${set.count} ${examples ? "example(s)" : "guiding samples"}` };
  const all = Array.from({ length: set.count }, (_, i) => i);
  const { f0: fit0, fit } = fitMaxLikelihood(kernels, policy, set, all, { learnStd: !fixedStd, weightDecay: spec.weightDecay }, init.theta, spec.maxIterations);
  const policyState: PolicyState = { ...init, theta: fit.x };
  const sources = [...isgps.sources, { kind: "policy" as const, theta: fit.x }];
  const drawn = drawPolicyBatches(env, { ...state, policy: policyState }, fit.x, sources.length - 1, spec.samples, sampler);
  const stats = costStats(drawn, T);
  const noiseFree = summarize(policyRows(env, state, policyState));
  return {
    state: {
      ...state,
      rng: sampler.state(),
      policy: policyState,
      isgps: { ...isgps, wr: spec.wr, sources, batches: [...isgps.batches, ...drawn] },
    },
    metrics: {
      ...noiseFree,
      sampleCost: stats.mean,
      sampleCostStd: stats.std,
      negLogLikelihood0: fit0,
      negLogLikelihood: fit.f,
      lbfgsIterations: fit.iterations,
      lbfgsEvaluations: fit.evaluations,
    },
  };
};

/**
 * The guiding distributions' own action noise per joint (the RMS over their
 * sources and steps of a DDP controller's std, or a demonstration source's
 * std): the σ GPS's pretraining would find, up to the fit's residual. Null
 * when the pool has no guiding source.
 */
function guidingActionStd(isgps: IsgpsState, nu: number): Float64Array | null {
  const guiding = isgps.sources.filter(isGuidingSource);
  if (guiding.length === 0) return null;
  const out = new Float64Array(nu);
  for (const s of guiding) {
    for (let j = 0; j < nu; j++) {
      if (s.kind === "demonstration") out[j] += s.std[j] ** 2;
      else {
        let v = 0;
        for (let t = 0; t < s.controller.T; t++) v += s.controller.cov[t * nu * nu + j * nu + j];
        out[j] += v / s.controller.T;
      }
    }
  }
  return out.map((v) => Math.sqrt(v / guiding.length));
}

/**
 * Each condition's one noise-free example, as a sample set (one sample per
 * condition) of what the policy sees: its demonstration when it has one (the
 * example DDP started from), else the noise-free rollout of its trajectory
 * distribution's mean controller (iLQG from scratch).
 */
function exampleSampleSet(env: StageEnv, state: RunState, observers: readonly (Observer | null)[]): IsSampleSet {
  const T = env.horizon;
  const C = state.conditions.length;
  const { nx, nu } = env.worlds[0].task;
  const xs = new Float64Array(C * (T + 1) * nx);
  const us = new Float64Array(C * T * nu);
  state.conditions.forEach((cond, c) => {
    const { task, sim } = env.worlds[c];
    let ex = cond.demonstration;
    if (ex && ex.us.length !== T * nu) throw internalError(`pretrainPolicy from: "example": condition ${c}'s demonstration is not ${T} steps long`);
    if (!ex) {
      if (!cond.trajectory) throw internalError(`pretrainPolicy from: "example" needs condition ${c}'s demonstration or trajectory distribution: run demonstrate or initializeTrajectories first`);
      const rx = new Float64Array((T + 1) * nx);
      const ru = new Float64Array(T * nu);
      sim.rollout(cond.x0, linearGaussianController(cond.trajectory, { noise: false }), T, rx, ru);
      ex = { source: "inline", xs: rx, us: ru };
    }
    xs.set(observeRows(observers[c], ex.xs, T + 1, task.nx), c * (T + 1) * nx);
    us.set(ex.us, c * T * nu);
  });
  return { T, nx, nu, count: C, xs, us, rewards: new Float64Array(C * T), logQ: new Float64Array(C * T) };
}

/**
 * The batches an iteration may use: all of them, or (non-guided) all but the
 * guiding ones, or (restart) the restarted on-policy batches only; capped at
 * `poolSize` samples, newest first.
 */
function usableBatches(isgps: IsgpsState, useGuiding: boolean, poolSize: number, restart: boolean): number[] {
  const out: number[] = [];
  let kept = 0;
  for (let b = 0; b < isgps.batches.length; b++) {
    if (isGuidingSource(isgps.sources[isgps.batches[b].source]) && useGuiding) {
      out.push(b);
      kept += isgps.batches[b].count;
    }
  }
  for (let b = isgps.batches.length - 1; b >= 0; b--) {
    if (isGuidingSource(isgps.sources[isgps.batches[b].source])) continue;
    if ((isgps.batches[b].restart ?? false) !== restart) continue;
    if (kept + isgps.batches[b].count > poolSize) break;
    out.push(b);
    kept += isgps.batches[b].count;
  }
  return out.sort((a, b) => a - b);
}

/** The sample with the highest total reward in the set. */
export function bestSample(set: IsSampleSet): number {
  let best = 0;
  let bestR = -Infinity;
  for (let i = 0; i < set.count; i++) {
    let s = 0;
    for (let t = 0; t < set.T; t++) s += set.rewards[i * set.T + t];
    if (s > bestR) {
      bestR = s;
      best = i;
    }
  }
  return best;
}

/** What the active set S_k is made of, for isgpsIteration's metrics. */
export interface ActiveSetStats {
  /** Guiding samples in S_k. */
  readonly activeGuiding: number;
  /** The other (on-policy: samples of earlier policies) samples in S_k. */
  readonly activeOnPolicy: number;
  /**
   * Under θ*, the share of the self-normalized importance weight of S_k on its
   * guiding samples at step t = ⌊T/2⌋ (0-based). The weights are Φ's: the
   * cumulative (prefix) weights w_it = π_θ*(ζ_i,1:t) / q(ζ_i,1:t) of the steps
   * up to and including t, normalized over S_k.
   */
  readonly guidingWeightShare: number;
  /** 1 / Σ_i ŵ_it² of the same normalized weights (between 1 and |S_k|; NaN if every weight is 0). */
  readonly effectiveSampleSize: number;
}

/**
 * Line 6 of Algorithm 1 as isgpsIteration poses it (after, with restarts, the
 * first samples of π_θ* from guiding states): the pool, the active set S_k
 * (at most `activeSamples` samples: `activeSet`), its sample set and what it
 * is made of. Exported for bench/evaluations.ts, which replays a run's Φ
 * optimizations with other LBFGS settings.
 */
export function isgpsActiveSet(env: StageEnv, spec: IterationSpec, state: RunState, sampler: Sampler) {
  let isgps = isgpsOf(state, "isgpsIteration");
  if (!state.policy) throw internalError("isgpsIteration needs θ*: run pretrainPolicy before it");
  const T = env.horizon;
  const C = state.conditions.length;
  const policy = mlpOf(state.policy);
  const thetaStar = state.policy.theta;
  const restart = spec.restart;
  const useGuiding = !restart && spec.useGuidingSamples;
  const maxActive = spec.activeSamples;
  if (restart && !isgps.batches.some((b) => b.restart)) {
    // Line 4 of the restart variant: the first samples of π_θ* start from guiding states too.
    const sources = [...isgps.sources, { kind: "policy" as const, theta: thetaStar }];
    const first = drawPolicyBatches(env, state, thetaStar, sources.length - 1, spec.samples, sampler, true);
    isgps = { ...isgps, sources, batches: [...isgps.batches, ...first], restart: true };
  }
  const kernels = kernelsOf(env);
  const usable = usableBatches(isgps, useGuiding, spec.poolSize, restart);
  forgetUnusedDensities(isgps.sources, isgps.batches, usable);
  const pool = poolSampleSet(policy, isgps.sources, isgps.batches, usable, C, T, tasksOf(env), observersOf(env), kernels);
  // Φ's prefix log weights of every pool sample under θ* ([t][i]); row T − 1 is
  // the full-trajectory log weights (trajectoryLogWeights) that rank the samples.
  // S_k's log q is the pool's (subset copies it), so S_k's weights are these rows' entries.
  const n = pool.set.count;
  const prefix = policyPrefixLogWeights(policy, thetaStar, pool.set, kernels);
  const logW = prefix.subarray((T - 1) * n, T * n);
  const keep = useGuiding ? guidingIndices(pool, isgps) : new Set<number>();
  const active = activeSet(pool.set, logW, keep, maxActive);
  if (active.length > maxActive) throw new Error(`isgpsIteration: the active set has ${active.length} samples, more than activeSamples = ${maxActive}`);
  const isGuiding = active.map((i) => keep.has(i));
  const activeGuiding = isGuiding.filter((g) => g).length;
  const mid = Math.floor(T / 2);
  const { share, ess } = normalizedWeightStats(Float64Array.from(active, (i) => prefix[mid * n + i]), isGuiding);
  const stats: ActiveSetStats = { activeGuiding, activeOnPolicy: active.length - activeGuiding, guidingWeightShare: share, effectiveSampleSize: ess };
  return { isgps, policy, thetaStar, restart, kernels, pool, active, set: subset(pool.set, active), stats };
}

/** Lines 6–12 of Algorithm 1. */
export const isgpsIteration = function* (env: StageEnv, spec: IterationSpec, state: RunState) {
  const sampler = new Sampler(state.rng);
  const T = env.horizon;
  const C = state.conditions.length;
  const { isgps, policy, thetaStar, restart, kernels, pool, active, set, stats } = isgpsActiveSet(env, spec, state, sampler);
  yield { fraction: 0.1, message: `active set: ${active.length} of ${pool.set.count} samples, w_r ${isgps.wr.toExponential(0)}` };

  // Line 7: optimize Φ twice, from θ* and from a fit to the best sample; keep the better Φ.
  const objective = kernels.isObjective(policy, set, { wr: isgps.wr, weightDecay: spec.weightDecay });
  let fromStar: LbfgsResult, bestFit: LbfgsResult, fromBest: LbfgsResult, chosen: LbfgsResult, phi: PhiBreakdown;
  try {
    fromStar = minimizeLbfgs(objective.objective, thetaStar, { maxIterations: spec.maxIterations });
    yield { fraction: 0.4, message: `Φ from θ*: ${(-fromStar.f).toFixed(2)}` };
    bestFit = fitMaxLikelihood(kernels, policy, set, [bestSample(set)], { weightDecay: spec.weightDecay }, thetaStar, spec.maxIterations).fit;
    fromBest = minimizeLbfgs(objective.objective, bestFit.x, { maxIterations: spec.maxIterations });
    yield { fraction: 0.7, message: `Φ from the best sample's fit: ${(-fromBest.f).toFixed(2)}` };
    chosen = fromBest.f < fromStar.f ? fromBest : fromStar;
    phi = objective.value(chosen.x);
  } finally {
    objective.release();
  }
  const thetaK = chosen.x;

  // Line 8: samples from π_θk join S_k and S.
  const sources = [...isgps.sources, { kind: "policy" as const, theta: thetaK }];
  const drawn = drawPolicyBatches(env, { ...state, isgps }, thetaK, sources.length - 1, spec.samples, sampler, restart);
  const batches = [...isgps.batches, ...drawn];
  // The learning-curve metric is always of samples from the conditions' own x_0: with restarts,
  // extra rollouts of π_θk for measurement only (they do not join the pool).
  const drawnStats = costStats(restart ? drawPolicyBatches(env, state, thetaK, sources.length - 1, spec.samples, sampler) : drawn, T);

  // Line 10: estimate both policies' returns on S_k plus the new samples (fused density over their sources).
  const activeBatches = [...new Set(active.map((i) => pool.batchOf[i]))];
  const newBatches = drawn.map((_, k) => isgps.batches.length + k);
  const evalUse = [...activeBatches, ...newBatches].sort((a, b) => a - b);
  const evalPool = poolSampleSet(policy, sources, batches, evalUse, C, T, tasksOf(env), observersOf(env), kernels);
  // Restrict to the active samples and the new ones.
  const activeKeys = new Set(active.map((i) => `${pool.batchOf[i]}:${pool.indexInBatch[i]}`));
  const evalIdx: number[] = [];
  for (let i = 0; i < evalPool.set.count; i++) {
    const b = evalPool.batchOf[i];
    if (b >= isgps.batches.length || activeKeys.has(`${b}:${evalPool.indexInBatch[i]}`)) evalIdx.push(i);
  }
  const evalSet = subset(evalPool.set, evalIdx);
  const returnK = estimateReturn(policy, thetaK, evalSet, kernels);
  const returnStar = estimateReturn(policy, thetaStar, evalSet, kernels);
  // Lines 11–12: accept θ_k if its estimated return is higher.
  const improved = returnK > returnStar;
  const nextPolicy: PolicyState = improved ? { ...state.policy!, theta: thetaK } : state.policy!;
  const noiseFree = summarize(policyRows(env, state, nextPolicy));
  return {
    state: {
      ...state,
      rng: sampler.state(),
      policy: nextPolicy,
      isgps: { ...isgps, sources, batches, iteration: isgps.iteration + 1, improved, restart },
    },
    metrics: {
      ...noiseFree,
      sampleCost: drawnStats.mean,
      sampleCostStd: drawnStats.std,
      sampleReward: -drawnStats.mean,
      wr: isgps.wr,
      improved: improved ? 1 : 0,
      estimatedReturnK: returnK,
      estimatedReturnStar: returnStar,
      phi: phi.phi,
      meanEss: phi.meanEss,
      activeSamples: active.length,
      activeGuiding: stats.activeGuiding,
      activeOnPolicy: stats.activeOnPolicy,
      guidingWeightShare: stats.guidingWeightShare,
      effectiveSampleSize: stats.effectiveSampleSize,
      poolSamples: pool.set.count,
      restartFromBest: chosen === fromBest ? 1 : 0,
      lbfgsIterations: chosen.iterations,
      lbfgsEvaluations: fromStar.evaluations + bestFit.evaluations + fromBest.evaluations,
    },
  };
};

/** Lines 13–16: adapt w_r, and on failure draw fresh samples from π_θ* (its value may have been overestimated). */
export const adaptWr = function* (env: StageEnv, spec: AdaptWrSpec, state: RunState) {
  const isgps = isgpsOf(state, "adaptWr");
  if (isgps.improved === null) throw internalError("adaptWr follows an isgpsIteration");
  if (!state.policy) throw internalError("adaptWr needs θ*");
  const { factor, min, max } = spec;
  const raw = isgps.improved ? isgps.wr / factor : isgps.wr * factor;
  const wr = Math.min(max, Math.max(min, raw === 0 && !isgps.improved ? min : raw));
  let sources = isgps.sources;
  let batches = isgps.batches;
  const sampler = new Sampler(state.rng);
  const resample = spec.resample;
  if (!isgps.improved && resample > 0) {
    sources = [...sources, { kind: "policy", theta: state.policy.theta }];
    batches = [...batches, ...drawPolicyBatches(env, state, state.policy.theta, sources.length - 1, resample, sampler, isgps.restart ?? false)];
    yield { fraction: 1, message: `resampled π_θ* (${resample} samples)` };
  }
  return {
    state: { ...state, rng: sampler.state(), isgps: { ...isgps, wr, sources, batches } },
    metrics: { wr, previousWr: isgps.wr, improved: isgps.improved ? 1 : 0 },
  };
};
