/**
 * The sample pool of importance-sampled guided policy search (Levine & Koltun
 * 2013, Algorithm 1): every batch of rollouts the algorithm has drawn, the
 * distribution that drew it, and the fused sampling density of each sample.
 *
 * Sources. A batch comes from one source: a guiding distribution (a snapshot
 * of a condition's linear-Gaussian DDP/iLQG controller q_j(u|x), kept because
 * adaptive guiding later replaces the condition's controller) or a policy
 * π_θ (a snapshot of θ). Batches and sources are immutable values in the run
 * state; the store keeps each large array once (content-addressed blobs), so
 * a pool that grows by one batch per iteration costs one batch per checkpoint.
 *
 * Densities. Sample i, drawn from condition c(i), has the per-step log
 * densities log s_j(u_t | x_t) under every source j (the dynamics cancel in
 * every ratio, so only the action densities matter). The fused distribution
 * of the pool is the mixture of (source, condition) components with their
 * sample counts n_jc as weights ("balance heuristic"),
 *
 *     q(ζ_1:t) = Σ_j (n_{j,c}/N) Π_{t'≤t} s_j(u_t'|x_t')     for a sample of condition c,
 *
 * and since π_θ starts every condition with probability 1/C, the ratio
 * π_θ/q gains the constant 1/C: logQ = log q + log C. With one source per
 * batch of equal size this is the paper's q = (1/n) Σ_j q_j.
 *
 * The per-step densities are pure functions of (batch, source); they are
 * recomputed when needed and memoized in memory by array identity (a
 * resumed run recomputes them bit-identically), never checkpointed.
 */
import { demoController } from "../demos/index.js";
import type { DemoController } from "../dsl/experiment.js";
import { cholesky } from "../linalg/dense.js";
import type { Task } from "../tasks/types.js";
import { observeRows, type Observer } from "./observation.js";
import { createWorkspace, type MlpPolicy } from "../policy/mlp.js";
import type { Controller, LinearGaussianController } from "../trajopt/types.js";
import { meanAction } from "../trajopt/linear-gaussian.js";
import { policyStepLogProbs, type IsSampleSet } from "./isgps-objective.js";
import type { PolicyKernels } from "./kernels.js";

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * A distribution that drew samples: a DDP guiding distribution (linear-Gaussian),
 * a demonstration controller with Gaussian action noise (a guiding distribution
 * whose feedback is the example's own, state-driven one), or a policy.
 */
export type IsgpsSource =
  | { readonly kind: "guiding"; readonly condition: number; readonly controller: LinearGaussianController }
  | { readonly kind: "demonstration"; readonly condition: number; readonly controller: DemoController; readonly std: Float64Array }
  | { readonly kind: "policy"; readonly theta: Float64Array };

/** Guiding sources (DDP or demonstration) belong to one condition; policies to none. */
export function isGuidingSource(s: IsgpsSource): s is Exclude<IsgpsSource, { kind: "policy" }> {
  return s.kind !== "policy";
}

/** `count` rollouts of one source from one condition's x_0. */
export interface IsgpsBatch {
  readonly source: number;
  readonly condition: number;
  readonly count: number;
  /** count·(T+1)·nx states. */
  readonly xs: Float64Array;
  /** count·T·nu actions as drawn from the source (before motor noise and the actuator clamp). */
  readonly us: Float64Array;
  /** count·T rewards r_t = −ℓ(x_t, u_t) of the executed (noisy, clamped) actions. */
  readonly rewards: Float64Array;
  /**
   * The restart-distribution variant (2013 §6.1): the samples started from states
   * of the guiding samples instead of the condition's x_0. Such batches only mix
   * with each other (their common initial-state density cancels in every ratio).
   */
  readonly restart?: boolean;
}

/** What importance-sampled GPS keeps in the run state. */
export interface IsgpsState {
  /** The regularizer weight w_r of Φ. */
  readonly wr: number;
  readonly sources: readonly IsgpsSource[];
  readonly batches: readonly IsgpsBatch[];
  /** Completed isgpsIteration stages. */
  readonly iteration: number;
  /** Whether the last isgpsIteration replaced θ* (null before the first). */
  readonly improved: boolean | null;
  /** Set by an isgpsIteration with `restart: true`: on-policy samples (adaptWr's too) start from guiding states. */
  readonly restart?: boolean;
}

// ---------------------------------------------------------------------------
// Per-step log densities, memoized by identity

const memo = new WeakMap<Float64Array, Map<object, Float64Array>>();

function memoized(batch: IsgpsBatch, key: object, compute: () => Float64Array): Float64Array {
  let inner = memo.get(batch.xs);
  if (!inner) memo.set(batch.xs, (inner = new Map()));
  let v = inner.get(key);
  if (!v) inner.set(key, (v = compute()));
  return v;
}

/** The key a source's densities are memoized under. */
function sourceKey(source: IsgpsSource): object {
  return source.kind === "demonstration" ? source.std : source.kind === "guiding" ? source.controller.K : source.theta;
}

/**
 * Forget the memoized densities that the next pool cannot need: those of
 * batches outside `use` (the pool keeps the newest batches, so a batch that
 * left it does not come back), and, on the batches in `use`, those of sources
 * none of the batches in `use` came from. Without this the memo grows with
 * every (batch, source) pair the run ever formed (over an 80-iteration walker
 * run, hundreds of MB). A forgotten density is recomputed, bit-identically,
 * if it is asked for again.
 */
export function forgetUnusedDensities(sources: readonly IsgpsSource[], batches: readonly IsgpsBatch[], use: readonly number[]): void {
  const used = new Set(use);
  const keys = new Set(use.map((b) => sourceKey(sources[batches[b].source])));
  batches.forEach((batch, b) => {
    if (!used.has(b)) {
      memo.delete(batch.xs);
      return;
    }
    const inner = memo.get(batch.xs);
    if (inner) for (const k of [...inner.keys()]) if (!keys.has(k)) inner.delete(k);
  });
}

/** log N(u_t; ū_t + k_t + K_t(x_t − x̄_t), cov_t) for every sample and step (count·T). */
export function linearGaussianStepLogProbs(ctrl: LinearGaussianController, batch: IsgpsBatch, T: number): Float64Array {
  const { nx, nu } = ctrl;
  if (ctrl.T !== T) throw new RangeError(`linearGaussianStepLogProbs: controller horizon ${ctrl.T} ≠ ${T}`);
  const L = Float64Array.from(ctrl.cov);
  const logDet = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * nu * nu;
    if (!cholesky(L, nu, o)) throw new Error(`guiding distribution: cov at t=${t} is not positive definite`);
    let s = 0;
    for (let j = 0; j < nu; j++) s += Math.log(L[o + j * nu + j]);
    logDet[t] = 2 * s;
  }
  const out = new Float64Array(batch.count * T);
  const mean = new Float64Array(nu);
  const d = new Float64Array(nu);
  for (let i = 0; i < batch.count; i++) {
    for (let t = 0; t < T; t++) {
      meanAction(ctrl, t, batch.xs, (i * (T + 1) + t) * nx, mean, 0);
      const uo = (i * T + t) * nu;
      for (let j = 0; j < nu; j++) d[j] = batch.us[uo + j] - mean[j];
      // Solve L y = d in place: quad = ‖y‖².
      const o = t * nu * nu;
      let quad = 0;
      for (let j = 0; j < nu; j++) {
        let s = d[j];
        for (let p = 0; p < j; p++) s -= L[o + j * nu + p] * d[p];
        d[j] = s / L[o + j * nu + j];
        quad += d[j] * d[j];
      }
      out[i * T + t] = -0.5 * (quad + logDet[t] + nu * LOG_2PI);
    }
  }
  return out;
}

/** What the policy sees of a batch's states (memoized; the states themselves without an observer). */
const observedMemo = new WeakMap<Float64Array, Float64Array>();
export function observedStates(batch: IsgpsBatch, observer: Observer | null, nx: number): Float64Array {
  if (!observer) return batch.xs;
  let v = observedMemo.get(batch.xs);
  if (!v) observedMemo.set(batch.xs, (v = observeRows(observer, batch.xs, batch.xs.length / nx, nx)));
  return v;
}

/** The batch as an IsSampleSet with a placeholder logQ (for the policy's per-step densities). */
function batchSet(batch: IsgpsBatch, T: number, nx: number, nu: number, observer: Observer | null): IsSampleSet {
  return { T, nx, nu, count: batch.count, xs: observedStates(batch, observer, nx), us: batch.us, rewards: batch.rewards, logQ: new Float64Array(batch.count * T) };
}

/**
 * The mean action of a guiding source at every state of a batch (count·T·nu):
 * the DDP controller's ū_t + k_t + K_t(x_t − x̄_t), or the demonstration
 * controller's action. The demonstration controller is deterministic given the
 * state sequence (its finite-state machine is driven by x alone), so replaying
 * it along each sample's states gives the mean it drew around — or, along a
 * policy's samples, the action it would have taken there (DAgger's expert).
 */
export function guidingMeans(source: Exclude<IsgpsSource, { kind: "policy" }>, batch: IsgpsBatch, T: number, task: Task): Float64Array {
  const { nx, nu } = task;
  const out = new Float64Array(batch.count * T * nu);
  for (let i = 0; i < batch.count; i++) {
    // A fresh demonstration controller per sample: its state machine starts over.
    const act: Controller =
      source.kind === "demonstration" ? demoController(source.controller, task) : (t, x, xOff, u, uOff) => meanAction(source.controller, t, x, xOff, u, uOff);
    for (let t = 0; t < T; t++) act(t, batch.xs, (i * (T + 1) + t) * nx, out, (i * T + t) * nu);
  }
  return out;
}

/** log N(u_t; demo(x_t), diag std²) for every sample and step (count·T); the mean as guidingMeans. */
export function demonstrationStepLogProbs(task: Task, name: DemoController, std: Float64Array, batch: IsgpsBatch, T: number): Float64Array {
  const nu = task.nu;
  const means = guidingMeans({ kind: "demonstration", condition: batch.condition, controller: name, std }, batch, T, task);
  const out = new Float64Array(batch.count * T);
  let c = 0;
  for (let j = 0; j < nu; j++) c -= Math.log(std[j]) + 0.5 * LOG_2PI;
  for (let i = 0; i < batch.count; i++) {
    for (let t = 0; t < T; t++) {
      const uo = (i * T + t) * nu;
      let q = 0;
      for (let j = 0; j < nu; j++) {
        const e = (batch.us[uo + j] - means[uo + j]) / std[j];
        q += e * e;
      }
      out[i * T + t] = c - 0.5 * q;
    }
  }
  return out;
}

/**
 * Per-step log densities of a batch under a source (count·T), memoized.
 * `tasks[c]` is condition c's task (for demonstration sources) and
 * `observers[c]` what a policy sees there (null: the state).
 */
export function stepLogProbs(
  policy: MlpPolicy,
  source: IsgpsSource,
  batch: IsgpsBatch,
  T: number,
  tasks?: readonly Task[],
  observers?: readonly (Observer | null)[],
  kernels?: Pick<PolicyKernels, "stepLogProbs">,
): Float64Array {
  if (source.kind === "demonstration") {
    if (source.condition !== batch.condition) throw new Error("stepLogProbs: a guiding source only has density on its own condition");
    const task = tasks?.[source.condition];
    if (!task) throw new Error("stepLogProbs: a demonstration source needs its condition's task");
    return memoized(batch, sourceKey(source), () => demonstrationStepLogProbs(task, source.controller, source.std, batch, T));
  }
  if (source.kind === "guiding") {
    if (source.condition !== batch.condition) throw new Error("stepLogProbs: a guiding source only has density on its own condition");
    return memoized(batch, sourceKey(source), () => linearGaussianStepLogProbs(source.controller, batch, T));
  }
  return memoized(batch, sourceKey(source), () => {
    const set = batchSet(batch, T, policy.nIn, policy.nOut, observers?.[batch.condition] ?? null);
    return kernels ? kernels.stepLogProbs(policy, source.theta, set) : policyStepLogProbs(policy, source.theta, set, createWorkspace(policy, T));
  });
}

// ---------------------------------------------------------------------------
// The pool as one sample set

export interface PoolSet {
  readonly set: IsSampleSet;
  /** For sample i of the set: its batch (index into the pool's batches) and its index inside that batch. */
  readonly batchOf: Int32Array;
  readonly indexInBatch: Int32Array;
}

/**
 * The samples of `batches[b]` for b in `use` (in that order) as one
 * IsSampleSet, with logQ the fused prefix density of THOSE batches' sources
 * (module comment). Sources and policy must be those of the run.
 */
export function poolSampleSet(
  policy: MlpPolicy,
  sources: readonly IsgpsSource[],
  batches: readonly IsgpsBatch[],
  use: readonly number[],
  conditionCount: number,
  T: number,
  tasks?: readonly Task[],
  observers?: readonly (Observer | null)[],
  kernels?: Pick<PolicyKernels, "stepLogProbs">,
): PoolSet {
  const nx = policy.nIn;
  const nu = policy.nOut;
  const count = use.reduce((s, b) => s + batches[b].count, 0);
  // Component weights n_{j,c} / N over the batches in use.
  const weight = new Map<string, number>();
  for (const b of use) {
    const key = `${batches[b].source}:${batches[b].condition}`;
    weight.set(key, (weight.get(key) ?? 0) + batches[b].count / count);
  }
  const xs = new Float64Array(count * (T + 1) * nx);
  const us = new Float64Array(count * T * nu);
  const rewards = new Float64Array(count * T);
  const logQ = new Float64Array(count * T);
  const batchOf = new Int32Array(count);
  const indexInBatch = new Int32Array(count);
  const logC = Math.log(conditionCount);
  let row = 0;
  for (const b of use) {
    const batch = batches[b];
    // The set's states are what the policy sees (its objective reads nothing else from them).
    xs.set(observedStates(batch, observers?.[batch.condition] ?? null, nx), row * (T + 1) * nx);
    us.set(batch.us, row * T * nu);
    rewards.set(batch.rewards, row * T);
    // The components that have density on this batch's condition.
    const comps: { logW: number; lp: Float64Array }[] = [];
    for (const [key, w] of weight) {
      const [j, c] = key.split(":").map(Number);
      if (c !== batch.condition) continue;
      comps.push({ logW: Math.log(w), lp: stepLogProbs(policy, sources[j], batch, T, tasks, observers, kernels) });
    }
    const cum = new Float64Array(comps.length);
    const terms = new Float64Array(comps.length);
    for (let i = 0; i < batch.count; i++) {
      cum.fill(0);
      batchOf[row + i] = b;
      indexInBatch[row + i] = i;
      for (let t = 0; t < T; t++) {
        let max = -Infinity;
        for (let k = 0; k < comps.length; k++) {
          cum[k] += comps[k].lp[i * T + t];
          terms[k] = comps[k].logW + cum[k];
          if (terms[k] > max) max = terms[k];
        }
        let s = 0;
        for (let k = 0; k < comps.length; k++) s += Math.exp(terms[k] - max);
        logQ[(row + i) * T + t] = max + Math.log(s) + logC;
      }
    }
    row += batch.count;
  }
  return { set: { T, nx, nu, count, xs, us, rewards, logQ }, batchOf, indexInBatch };
}
