/**
 * The policy kernels' chunk ops: what one lane does with one chunk of rows
 * (CHUNK_ROWS of them, the last one shorter). Each op reads its inputs from
 * the shared memory, uses the lane's own scratch, and writes its outputs to
 * places that belong to that chunk alone, so chunks can run on any thread in
 * any order. Sessions (./batched.ts) lay the memory out and add the
 * per-chunk partial sums in chunk order.
 */
import type { LaneContext } from "../../parallel/compute.js";
import { CHUNK_ROWS, type NetLayout, type ScratchLayout } from "./layout.js";
import { instantiateKernels, type KernelExports } from "./wasm.js";

/** This thread's kernels on the lane's memory (instantiated once per thread). */
function laneKernels(ctx: LaneContext): KernelExports {
  let k = ctx.cache.get("policy-kernels") as KernelExports | undefined;
  if (!k) {
    k = instantiateKernels(ctx.memory);
    ctx.cache.set("policy-kernels", k);
  }
  return k;
}

interface Chunk {
  readonly r0: number;
  readonly rows: number;
  /** Byte offset of this lane's scratch. */
  readonly at: number;
}

function chunkOf(N: number, c: number, S: ScratchLayout, lane: number): Chunk {
  const r0 = c * CHUNK_ROWS;
  return { r0, rows: Math.min(CHUNK_ROWS, N - r0), at: S.base + lane * S.stride };
}

/** Z ← XN·W1ᵀ + b1, softplus in place (S ← its slope), M ← Z·W2ᵀ + b2, for `rows` rows. */
function forwardRows(k: KernelExports, L: NetLayout, rows: number, XN: number, Z: number, S: number, M: number): void {
  k.gemmNN(rows, L.Hp, L.np, XN, L.np, L.W1T, L.Hp, Z, L.Hp, L.b1, 0);
  k.softplus(Z, S, rows * L.Hp);
  k.gemmNN(rows, L.mp, L.Hp, Z, L.Hp, L.W2T, L.mp, M, L.mp, L.b2, 0);
}

/**
 * The gradient of Σ_r dL/dμ_r · μ_r over the chunk's rows into the slot (θ's
 * layout after the value): D = dL/dμ (rows×mp), A and S the forward's
 * activations and slopes, XN its inputs. gls (m) is copied to the logStd block.
 */
function backwardRows(k: KernelExports, L: NetLayout, sc: ScratchLayout, at: number, rows: number, XN: number, A: number, S: number, D: number, slot: number, withLogStd: boolean): void {
  const G = at + sc.g;
  const GW1 = at + sc.gw1;
  const GB1 = at + sc.gb1;
  const GW2 = at + sc.gw2;
  const GB2 = at + sc.gb2;
  k.gemmNN(rows, L.Hp, L.mp, D, L.mp, L.W2P, L.Hp, G, L.Hp, 0, 0);
  k.hadamard(G, S, rows * L.Hp);
  k.zero(GW1, L.Hp * L.np + L.Hp + L.mp * L.Hp + L.mp);
  k.gemmTN(L.Hp, L.np, rows, G, L.Hp, XN, L.np, GW1, L.np);
  k.gemmTN(L.mp, L.Hp, rows, D, L.mp, A, L.Hp, GW2, L.Hp);
  k.columnSums(rows, L.Hp, G, L.Hp, GB1);
  k.columnSums(rows, L.mp, D, L.mp, GB2);
  const { n, H, m } = L;
  const g = slot + 8; // θ's layout starts after the value
  k.copyBlock(GW1, L.np, g, n, H, n, 0);
  k.copyBlock(GB1, H, g + H * n * 8, H, 1, H, 0);
  k.copyBlock(GW2, L.Hp, g + (H * n + H) * 8, H, m, H, 0);
  k.copyBlock(GB2, m, g + (H * n + H + m * H) * 8, m, 1, m, 0);
  if (withLogStd) k.copyBlock(at + sc.gls, m, g + (H * n + H + m * H + m) * 8, m, 1, m, 0);
  else k.zero(g + (H * n + H + m * H + m) * 8, m);
}

// ---------------------------------------------------------------------------
// Ops

/** Means (and optionally ∂μ/∂x) of raw rows X (ldx doubles per row). */
export interface ForwardArgs {
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly N: number;
  readonly X: number;
  readonly ldx: number;
  /** N×m means. */
  readonly meanOut: number;
  /** N×m×n Jacobians ∂μ/∂x (0: not wanted). */
  readonly jacOut: number;
}

/** Chunk c of raw rows X (ldx per row) normalized into the lane's scratch and through the network (scratch z, s, mean). */
function rawForward(a: { net: NetLayout; scratch: ScratchLayout; N: number; X: number; ldx: number }, c: number, ctx: LaneContext) {
  const k = laneKernels(ctx);
  const L = a.net;
  const S = a.scratch;
  const chunk = chunkOf(a.N, c, S, ctx.lane);
  const { r0, rows, at } = chunk;
  const XN = at + S.xn;
  k.normalizeRows(a.X + r0 * a.ldx * 8, a.ldx, rows, L.n, L.inMean, L.inStd, XN, L.np);
  forwardRows(k, L, rows, XN, at + S.z, at + S.s, at + S.mean);
  return { k, L, S, ...chunk };
}

export function forwardChunk(a: ForwardArgs, c: number, ctx: LaneContext): void {
  const { k, L, S, r0, rows, at } = rawForward(a, c, ctx);
  k.copyBlock(at + S.mean, L.mp, a.meanOut + r0 * L.m * 8, L.m, rows, L.m, 0);
  if (a.jacOut !== 0) k.jacobianRows(rows, L.n, L.H, L.m, L.W2P, L.Hp, at + S.s, L.W1P, L.np, L.inStd, a.jacOut + r0 * L.m * L.n * 8);
}

/** log π(u_r | x_r) of raw rows X (ldx) and actions U (m per row) into out (N). */
export interface LogDensityArgs {
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly N: number;
  readonly X: number;
  readonly ldx: number;
  readonly U: number;
  /** −Σ_j (log σ_j + ½ log 2π). */
  readonly c: number;
  readonly out: number;
}

export function logDensityChunk(a: LogDensityArgs, c: number, ctx: LaneContext): void {
  const { k, L, S, r0, rows, at } = rawForward(a, c, ctx);
  k.logDensityRows(rows, L.m, at + S.mean, L.mp, a.U + r0 * L.m * 8, L.invStd, a.c, a.out + r0 * 8);
}

/** The weighted least-squares fit of constrained GPS on normalized rows XN (np per row). */
export interface FitArgs {
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly N: number;
  readonly XN: number;
  readonly targets: number;
  readonly precisions: number;
  readonly weights: number;
  /** Slots of 1 + P doubles per chunk: [loss | dloss/dθ]. */
  readonly partials: number;
  readonly gradient: boolean;
}

export function fitChunk(a: FitArgs, c: number, ctx: LaneContext): void {
  const k = laneKernels(ctx);
  const L = a.net;
  const S = a.scratch;
  const { r0, rows, at } = chunkOf(a.N, c, S, ctx.lane);
  const XN = a.XN + r0 * L.np * 8;
  const slot = a.partials + c * (1 + L.P) * 8;
  forwardRows(k, L, rows, XN, at + S.z, at + S.s, at + S.mean);
  const D = a.gradient ? at + S.dmean : 0;
  const loss = k.fitLossRows(rows, L.m, at + S.mean, L.mp, a.targets + r0 * L.m * 8, a.precisions + r0 * L.m * L.m * 8, a.weights + r0 * 8, D, L.mp);
  new Float64Array(ctx.memory.buffer, slot, 1)[0] = loss;
  if (a.gradient) backwardRows(k, L, S, at, rows, XN, at + S.z, at + S.s, D, slot, false);
}

/**
 * Score-function rows on normalized rows XN: the value Σ_r log π(u_r|x_r) and
 * the gradient Σ_r scale·coef_r·∇log π(u_r|x_r) (logStd block when learnStd).
 * With `stored`, the forward pass is read from there (rows at the same
 * indices) instead of recomputed. coef = 0: every coefficient is constCoef.
 * A chunk whose coefficients are all exactly 0 has a zero gradient: its slot
 * is zeroed without a backward pass (the value is then not computed: use
 * `value` false with coefficients).
 */
export interface ScoreArgs {
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly N: number;
  readonly XN: number;
  readonly U: number;
  readonly coef: number;
  readonly constCoef: number;
  readonly scale: number;
  readonly c: number;
  readonly learnStd: boolean;
  readonly value: boolean;
  readonly partials: number;
  /** Forward results of every row (A, S: N×Hp; M: N×mp), or null. */
  readonly stored: { readonly A: number; readonly S: number; readonly M: number } | null;
}

export function scoreChunk(a: ScoreArgs, c: number, ctx: LaneContext): void {
  const k = laneKernels(ctx);
  const L = a.net;
  const S = a.scratch;
  const { r0, rows, at } = chunkOf(a.N, c, S, ctx.lane);
  const slot = a.partials + c * (1 + L.P) * 8;
  const f64 = new Float64Array(ctx.memory.buffer);
  if (a.coef !== 0 && !a.value) {
    const c0 = a.coef / 8 + r0;
    let any = false;
    for (let r = 0; r < rows; r++) {
      if (f64[c0 + r] !== 0) {
        any = true;
        break;
      }
    }
    if (!any) {
      f64.fill(0, slot / 8, slot / 8 + 1 + L.P);
      return;
    }
  }
  const XN = a.XN + r0 * L.np * 8;
  let A: number, Sl: number, M: number;
  if (a.stored) {
    A = a.stored.A + r0 * L.Hp * 8;
    Sl = a.stored.S + r0 * L.Hp * 8;
    M = a.stored.M + r0 * L.mp * 8;
  } else {
    A = at + S.z;
    Sl = at + S.s;
    M = at + S.mean;
    forwardRows(k, L, rows, XN, A, Sl, M);
  }
  const U = a.U + r0 * L.m * 8;
  let value = 0;
  if (a.value) {
    const lp = at + S.g; // rows doubles of scratch, free until the backward pass
    k.logDensityRows(rows, L.m, M, L.mp, U, L.invStd, a.c, lp);
    const v = new Float64Array(ctx.memory.buffer, lp, rows);
    for (let r = 0; r < rows; r++) value += v[r];
  }
  f64[slot / 8] = value;
  k.zero(at + S.gls, L.mp);
  k.scoreRows(rows, L.m, M, L.mp, U, L.invStd, a.coef === 0 ? 0 : a.coef + r0 * 8, a.constCoef, a.scale, at + S.dmean, L.mp, a.learnStd ? at + S.gls : 0);
  backwardRows(k, L, S, at, rows, XN, A, Sl, at + S.dmean, slot, a.learnStd);
}

/**
 * The forward pass of normalized rows XN and log π per row into out; the
 * activations are kept (A, S, M: for a backward pass) when `stored` is given,
 * else left in the lane's scratch.
 */
export interface StoredForwardArgs {
  readonly net: NetLayout;
  readonly scratch: ScratchLayout;
  readonly N: number;
  readonly XN: number;
  readonly U: number;
  readonly c: number;
  readonly stored: { readonly A: number; readonly S: number; readonly M: number } | null;
  readonly out: number;
}

export function storedForwardChunk(a: StoredForwardArgs, c: number, ctx: LaneContext): void {
  const k = laneKernels(ctx);
  const L = a.net;
  const { r0, rows, at } = chunkOf(a.N, c, a.scratch, ctx.lane);
  const A = a.stored ? a.stored.A + r0 * L.Hp * 8 : at + a.scratch.z;
  const S = a.stored ? a.stored.S + r0 * L.Hp * 8 : at + a.scratch.s;
  const M = a.stored ? a.stored.M + r0 * L.mp * 8 : at + a.scratch.mean;
  forwardRows(k, L, rows, a.XN + r0 * L.np * 8, A, S, M);
  k.logDensityRows(rows, L.m, M, L.mp, a.U + r0 * L.m * 8, L.invStd, a.c, a.out + r0 * 8);
}

export const kernelOps = {
  "mlp.forward": forwardChunk,
  "mlp.logDensity": logDensityChunk,
  "mlp.fit": fitChunk,
  "mlp.score": scoreChunk,
  "mlp.storedForward": storedForwardChunk,
} as const;
