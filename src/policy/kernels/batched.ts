/**
 * The batched policy kernels, main-thread side: sessions that lay a block of
 * rows out in the kernels' memory once, then evaluate the network, a loss
 * and its gradient over all of them as many times as an optimizer asks,
 * chunk by chunk on every lane of a Compute (./ops.ts), adding the chunks'
 * partial sums in chunk order.
 *
 * What a session keeps between evaluations (the inputs, normalized once; the
 * per-row constants) never changes while it lives; θ is packed per
 * evaluation. A session holds memory until `release()`.
 *
 * Results match the per-row reference (src/policy/mlp.ts) to ~1e-15
 * relative (test/batched-kernels.test.ts); they are bit-identical for any
 * number of lanes.
 */
import type { Compute, LaneContext } from "../../parallel/compute.js";
import type { MlpPolicy } from "../mlp.js";
import { ceil4, chunkCount, netDoubles, netLayout, packWeights, scratchDoubles, scratchLayout, writeNormalization, type NetLayout, type ScratchLayout } from "./layout.js";
import { forwardChunk, type FitArgs, type ForwardArgs, type LogDensityArgs, type ScoreArgs, type StoredForwardArgs } from "./ops.js";

/** Blocks a session holds, released together. */
class Blocks {
  private readonly held: number[] = [];
  constructor(private readonly compute: Compute) {}
  alloc(doubles: number): number {
    const off = this.compute.arena.alloc(doubles);
    this.held.push(off);
    return off;
  }
  free(off: number): void {
    const k = this.held.lastIndexOf(off);
    if (k < 0) throw new Error(`policy kernels: block ${off} is not held by this session`);
    this.held.splice(k, 1);
    this.compute.arena.release(off);
  }
  release(): void {
    // Newest first, so the arena's top comes back down.
    while (this.held.length > 0) this.compute.arena.release(this.held.pop()!);
  }
}

/** The network's weights block, the lanes' scratch and partial slots for `chunks` chunks. */
export class NetSession {
  readonly blocks: Blocks;
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly partials: number;
  readonly chunks: number;
  private released = false;

  constructor(
    readonly compute: Compute,
    readonly policy: MlpPolicy,
    readonly N: number,
  ) {
    this.blocks = new Blocks(compute);
    this.chunks = chunkCount(N);
    try {
      this.net = netLayout(policy, this.blocks.alloc(netDoubles(policy.nIn, policy.nHidden, policy.nOut)));
      const perLane = scratchDoubles(this.net);
      this.scratch = scratchLayout(this.net, this.blocks.alloc(perLane * compute.lanes));
      this.partials = this.blocks.alloc(Math.max(1, this.chunks) * (1 + this.net.P));
      writeNormalization(compute.arena.f64(), this.net, policy);
    } catch (e) {
      this.blocks.release();
      throw e;
    }
  }

  /** Pack θ; returns the log-density constant c. */
  load(theta: Float64Array): number {
    if (this.released) throw new Error("policy kernels: the session was released");
    if (theta.length !== this.net.P) throw new RangeError(`policy kernels: θ has ${theta.length} entries, expected ${this.net.P}`);
    return packWeights(this.compute.arena.f64(), this.net, theta);
  }

  /** Σ over chunks, in chunk order, of the slots' values; the gradients into gradOut (overwritten) when given. */
  combine(gradOut: Float64Array | null, from = 0): number {
    const f64 = this.compute.arena.f64();
    const stride = 1 + this.net.P;
    const base = this.partials / 8;
    let value = 0;
    for (let c = 0; c < this.chunks; c++) value += f64[base + c * stride];
    if (gradOut !== null) {
      gradOut.fill(0, from);
      for (let c = 0; c < this.chunks; c++) {
        const o = base + c * stride + 1;
        for (let p = from; p < this.net.P; p++) gradOut[p] += f64[o + p];
      }
    }
    return value;
  }

  /** Rows x_r (stride ldx in `src`, starting at src offsets from `rowOffset(r)`) normalized into a new block (N×np). */
  normalizedRows(rowOffset: (r: number) => number, src: Float64Array): number {
    const { n, np } = this.net;
    const XN = this.blocks.alloc(this.N * np);
    const f64 = this.compute.arena.f64();
    const mean = this.policy.inputMean;
    const std = this.policy.inputStd;
    const o = XN / 8;
    for (let r = 0; r < this.N; r++) {
      const s = rowOffset(r);
      const d = o + r * np;
      for (let i = 0; i < n; i++) f64[d + i] = (src[s + i] - mean[i]) / std[i];
      for (let i = n; i < np; i++) f64[d + i] = 0;
    }
    return XN;
  }

  /** A new block holding `values`. */
  copied(values: Float64Array): number {
    const off = this.blocks.alloc(values.length);
    this.compute.arena.write(off, values);
    return off;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.blocks.release();
  }
}

// ---------------------------------------------------------------------------
// One-shot passes

/**
 * μ(x_r) for `rows` raw states X (row stride n) into meanOut (rows·m), and
 * ∂μ/∂x into jacOut (rows·m·n) when given.
 */
export function batchedForward(compute: Compute, policy: MlpPolicy, theta: Float64Array, X: Float64Array, rows: number, meanOut: Float64Array, jacOut?: Float64Array): void {
  const { nIn: n, nOut: m } = policy;
  if (X.length < rows * n || meanOut.length < rows * m) throw new RangeError("batchedForward: X or meanOut is shorter than rows");
  if (rows === 0) return;
  const s = new NetSession(compute, policy, rows);
  try {
    s.load(theta);
    const Xb = s.copied(X.length === rows * n ? X : X.subarray(0, rows * n));
    const meanBlock = s.blocks.alloc(rows * m);
    const jacBlock = jacOut ? s.blocks.alloc(rows * m * n) : 0;
    const args: ForwardArgs = { net: s.net, scratch: s.scratch, N: rows, X: Xb, ldx: n, meanOut: meanBlock, jacOut: jacBlock };
    compute.run("mlp.forward", args, s.chunks);
    const f64 = compute.arena.f64();
    meanOut.set(f64.subarray(meanBlock / 8, meanBlock / 8 + rows * m));
    if (jacOut) jacOut.set(f64.subarray(jacBlock / 8, jacBlock / 8 + rows * m * n));
  } finally {
    s.release();
  }
}

/**
 * log π_θ(u_r | x_r) for the first T states of each of `count` samples
 * (xs: count·(T+1)·n, us: count·T·m) into a new count·T array ([i][t]).
 */
export function batchedStepLogProbs(compute: Compute, policy: MlpPolicy, theta: Float64Array, xs: Float64Array, us: Float64Array, count: number, T: number): Float64Array {
  const n = policy.nIn;
  const N = count * T;
  const out = new Float64Array(N);
  if (N === 0) return out;
  const s = new NetSession(compute, policy, N);
  try {
    const c = s.load(theta);
    // Copy the rows x_0…x_{T−1} of every sample into one block (raw: the chunk normalizes them).
    const X = s.blocks.alloc(N * n);
    const f64 = compute.arena.f64();
    for (let i = 0; i < count; i++) f64.set(xs.subarray(i * (T + 1) * n, (i * (T + 1) + T) * n), X / 8 + i * T * n);
    const U = s.copied(us);
    const outBlock = s.blocks.alloc(N);
    const args: LogDensityArgs = { net: s.net, scratch: s.scratch, N, X, ldx: n, U, c, out: outBlock };
    compute.run("mlp.logDensity", args, s.chunks);
    out.set(compute.arena.f64().subarray(outBlock / 8, outBlock / 8 + N));
  } finally {
    s.release();
  }
  return out;
}

/** Doubles a lane needs for `laneForward` of up to `rows` rows (weights, scratch, inputs, outputs). */
export function laneForwardDoubles(policy: MlpPolicy, rows: number): number {
  const net = netDoubles(policy.nIn, policy.nHidden, policy.nOut);
  const L = { np: ceil4(policy.nIn), Hp: ceil4(policy.nHidden), mp: ceil4(policy.nOut) };
  return net + scratchDoubles(L) + rows * (policy.nIn + policy.nOut + policy.nOut * policy.nIn) + 8;
}

/**
 * `batchedForward` inside one lane, in a region of the shared memory set
 * aside for that lane (laneForwardDoubles of it at byte `region`): for ops
 * that run a whole computation on a lane, such as one condition's trajectory
 * step. The same chunks and the same arithmetic as batchedForward, so the
 * same bits.
 */
export function laneForward(ctx: LaneContext, region: number, policy: MlpPolicy, theta: Float64Array, X: Float64Array, rows: number, meanOut: Float64Array, jacOut?: Float64Array): void {
  const { nIn: n, nOut: m } = policy;
  if (rows === 0) return;
  const net = netLayout(policy, region);
  let at = region + netDoubles(n, policy.nHidden, m) * 8;
  const scratch = scratchLayout(net, at);
  at += scratch.stride;
  const Xb = at;
  at += rows * n * 8;
  const meanBlock = at;
  at += rows * m * 8;
  const jacBlock = jacOut ? at : 0;
  let f64 = new Float64Array(ctx.memory.buffer);
  writeNormalization(f64, net, policy);
  packWeights(f64, net, theta);
  f64.set(X.subarray(0, rows * n), Xb / 8);
  // Lane 0 of this scratch: the region is this lane's alone.
  const own: LaneContext = { ...ctx, lane: 0 };
  const args: ForwardArgs = { net, scratch, N: rows, X: Xb, ldx: n, meanOut: meanBlock, jacOut: jacBlock };
  for (let c = 0; c < chunkCount(rows); c++) forwardChunk(args, c, own);
  f64 = new Float64Array(ctx.memory.buffer);
  meanOut.set(f64.subarray(meanBlock / 8, meanBlock / 8 + rows * m));
  if (jacOut) jacOut.set(f64.subarray(jacBlock / 8, jacBlock / 8 + rows * m * n));
}

// ---------------------------------------------------------------------------
// Sessions for optimizers

/** A loss over fixed rows: evaluate(θ, gradOut) overwrites gradOut (when given) and returns the loss. */
export interface RowsLoss {
  evaluate(theta: Float64Array, gradOut: Float64Array | null): number;
  release(): void;
}

/**
 * The §4 weighted least-squares loss of constrained GPS (the batched
 * `weightedFitLoss`): Σ_i w_i · ½ (μ(x_i) − target_i)ᵀ P_i (μ(x_i) − target_i),
 * gradient in θ's layout (logStd block 0).
 */
export function batchedFitLoss(
  compute: Compute,
  policy: MlpPolicy,
  X: Float64Array,
  targets: Float64Array,
  precisions: Float64Array,
  weights: Float64Array,
): RowsLoss {
  const { nIn: n, nOut: m } = policy;
  const N = weights.length;
  if (X.length < N * n || targets.length < N * m || precisions.length < N * m * m) throw new RangeError(`batchedFitLoss: X, targets or precisions hold fewer than ${N} rows`);
  const s = new NetSession(compute, policy, N);
  let args: FitArgs;
  try {
    const XN = s.normalizedRows((r) => r * n, X);
    args = {
      net: s.net,
      scratch: s.scratch,
      N,
      XN,
      targets: s.copied(targets.length === N * m ? targets : targets.subarray(0, N * m)),
      precisions: s.copied(precisions.length === N * m * m ? precisions : precisions.subarray(0, N * m * m)),
      weights: s.copied(weights),
      partials: s.partials,
      gradient: true,
    };
  } catch (e) {
    s.release();
    throw e;
  }
  return {
    evaluate(theta, gradOut) {
      s.load(theta);
      if (N === 0) {
        gradOut?.fill(0);
        return 0;
      }
      compute.run("mlp.fit", gradOut === null ? { ...args, gradient: false } : args, s.chunks);
      return s.combine(gradOut);
    },
    release: () => s.release(),
  };
}

/**
 * Score-function sums over rows (sample i, step t < T) of a sample set:
 *   value = Σ_r log π(u_r|x_r) (when asked), gradient = Σ_r scale·coef_r·∇ log π(u_r|x_r)
 * (logStd block only when learnStd). `coef` is per row, or a constant.
 */
export class ScoreSession {
  private readonly s: NetSession;
  private readonly XN: number;
  private readonly U: number;
  private readonly coefBlock: number;
  readonly N: number;
  private stored: { A: number; S: number; M: number } | null = null;

  constructor(
    compute: Compute,
    policy: MlpPolicy,
    xs: Float64Array,
    us: Float64Array,
    samples: readonly number[],
    T: number,
    options: { perRowCoefficients: boolean },
  ) {
    const n = policy.nIn;
    const m = policy.nOut;
    this.N = samples.length * T;
    this.s = new NetSession(compute, policy, this.N);
    try {
      this.XN = this.s.normalizedRows((r) => (samples[Math.floor(r / T)] * (T + 1) + (r % T)) * n, xs);
      this.U = this.s.blocks.alloc(this.N * m);
      const f64 = compute.arena.f64();
      samples.forEach((i, k) => f64.set(us.subarray(i * T * m, (i + 1) * T * m), this.U / 8 + k * T * m));
      this.coefBlock = options.perRowCoefficients ? this.s.blocks.alloc(this.N) : 0;
    } catch (e) {
      this.s.release();
      throw e;
    }
  }

  /**
   * log π(u_r|x_r) of every row into out (N); with `keep`, the forward pass of
   * every row is kept (memory for it is taken on the first such call) for
   * `gradient` with `reuseForward`.
   */
  forward(theta: Float64Array, out: Float64Array, keep: boolean): void {
    const c = this.s.load(theta);
    if (keep && !this.stored) {
      const { Hp, mp } = this.s.net;
      this.stored = { A: this.s.blocks.alloc(this.N * Hp), S: this.s.blocks.alloc(this.N * Hp), M: this.s.blocks.alloc(this.N * mp) };
    }
    const ob = this.s.blocks.alloc(this.N);
    try {
      const args: StoredForwardArgs = { net: this.s.net, scratch: this.s.scratch, N: this.N, XN: this.XN, U: this.U, c, stored: keep ? this.stored : null, out: ob };
      this.s.compute.run("mlp.storedForward", args, this.s.chunks);
      out.set(this.s.compute.arena.f64().subarray(ob / 8, ob / 8 + this.N));
    } finally {
      this.s.blocks.free(ob);
    }
  }

  /** Per-row coefficients (N) for the next `gradient` call. */
  setCoefficients(coef: Float64Array): void {
    if (this.coefBlock === 0) throw new Error("ScoreSession: built without per-row coefficients");
    this.s.compute.arena.write(this.coefBlock, coef);
  }

  /**
   * value (Σ log π, when `withValue`) and gradient into gradOut (overwritten).
   * reuseForward: use the rows' forward pass from the last `forward(θ)` (same θ).
   */
  gradient(theta: Float64Array, gradOut: Float64Array, o: { scale: number; constCoef?: number; learnStd: boolean; withValue: boolean; reuseForward?: boolean }): number {
    const c = this.s.load(theta);
    const args: ScoreArgs = {
      net: this.s.net,
      scratch: this.s.scratch,
      N: this.N,
      XN: this.XN,
      U: this.U,
      coef: this.coefBlock,
      constCoef: o.constCoef ?? 0,
      scale: o.scale,
      c,
      learnStd: o.learnStd,
      value: o.withValue,
      partials: this.s.partials,
      stored: o.reuseForward ? this.stored : null,
    };
    if (this.N === 0) {
      gradOut.fill(0);
      return 0;
    }
    this.s.compute.run("mlp.score", args, this.s.chunks);
    return this.s.combine(gradOut);
  }

  release(): void {
    this.s.release();
  }
}
