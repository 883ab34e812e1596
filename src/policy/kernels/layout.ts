/**
 * How a policy network and a block of rows sit in the kernels' memory.
 *
 * Widths are padded to multiples of 4 (the GEMM micro-kernels work on 4×4
 * tiles of 2-wide SIMD vectors): n → np inputs, H → Hp hidden units,
 * m → mp outputs. Padding is zero in every weight, so padded hidden units
 * and outputs contribute exactly nothing, and the gradient blocks copied
 * back into θ's layout (src/policy/mlp.ts) leave the padding out.
 *
 * Work is cut into chunks of CHUNK_ROWS rows. The chunk boundaries depend on
 * the number of rows only, and per-chunk partial sums are added in chunk
 * order by the main thread: the results do not depend on how many threads
 * took the chunks.
 */
import { parameterLayout, type MlpPolicy } from "../mlp.js";

/** Rows per chunk: the unit of work and of partial sums. Changing it changes results in the last bits. */
export const CHUNK_ROWS = 512;

export const ceil4 = (v: number): number => Math.ceil(v / 4) * 4;

/** The network in the kernels' memory: sizes and byte offsets of its packed weights. */
export interface NetLayout {
  readonly n: number;
  readonly H: number;
  readonly m: number;
  readonly np: number;
  readonly Hp: number;
  readonly mp: number;
  /** θ's length P; a partial slot holds 1 + P doubles: [value | gradient in θ's layout]. */
  readonly P: number;
  /** W1ᵀ np×Hp, b1 Hp, W2ᵀ Hp×mp, W2 mp×Hp, b2 mp, W1 Hp×np (for ∂μ/∂x), 1/σ m. */
  readonly W1T: number;
  readonly b1: number;
  readonly W2T: number;
  readonly W2P: number;
  readonly b2: number;
  readonly W1P: number;
  readonly invStd: number;
  /** Input normalization, np each (padding: mean 0, std 1). */
  readonly inMean: number;
  readonly inStd: number;
}

/** Doubles of the packed-weights block. */
export function netDoubles(n: number, H: number, m: number): number {
  const np = ceil4(n);
  const Hp = ceil4(H);
  const mp = ceil4(m);
  return np * Hp + Hp + Hp * mp + mp * Hp + mp + Hp * np + mp + 2 * np;
}

/** The layout of a network whose weights block starts at byte `base`. */
export function netLayout(policy: MlpPolicy, base: number): NetLayout {
  const n = policy.nIn;
  const H = policy.nHidden;
  const m = policy.nOut;
  const np = ceil4(n);
  const Hp = ceil4(H);
  const mp = ceil4(m);
  let at = base;
  const take = (doubles: number): number => {
    const off = at;
    at += doubles * 8;
    return off;
  };
  const W1T = take(np * Hp);
  const b1 = take(Hp);
  const W2T = take(Hp * mp);
  const W2P = take(mp * Hp);
  const b2 = take(mp);
  const W1P = take(Hp * np);
  const invStd = take(mp);
  const inMean = take(np);
  const inStd = take(np);
  return { n, H, m, np, Hp, mp, P: parameterLayout(policy).total, W1T, b1, W2T, W2P, b2, W1P, invStd, inMean, inStd };
}

/** Write the input normalization (once per session: it is part of the policy value). */
export function writeNormalization(f64: Float64Array, L: NetLayout, policy: MlpPolicy): void {
  const a = L.inMean / 8;
  const s = L.inStd / 8;
  for (let i = 0; i < L.np; i++) {
    f64[a + i] = i < L.n ? policy.inputMean[i] : 0;
    f64[s + i] = i < L.n ? policy.inputStd[i] : 1;
  }
}

/** Pack θ (src/policy/mlp.ts layout) into the weights block; returns c = −Σ_j (log σ_j + ½ log 2π). */
export function packWeights(f64: Float64Array, L: NetLayout, theta: Float64Array): number {
  const { n, H, m, np, Hp, mp } = L;
  const oB1 = H * n;
  const oW2 = oB1 + H;
  const oB2 = oW2 + m * H;
  const oLs = oB2 + m;
  const w1t = L.W1T / 8;
  const w1p = L.W1P / 8;
  const w2t = L.W2T / 8;
  const w2p = L.W2P / 8;
  f64.fill(0, w1t, w1t + np * Hp);
  f64.fill(0, w1p, w1p + Hp * np);
  f64.fill(0, w2t, w2t + Hp * mp);
  f64.fill(0, w2p, w2p + mp * Hp);
  f64.fill(0, L.b1 / 8, L.b1 / 8 + Hp);
  f64.fill(0, L.b2 / 8, L.b2 / 8 + mp);
  f64.fill(0, L.invStd / 8, L.invStd / 8 + mp);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < n; i++) {
      const w = theta[h * n + i];
      f64[w1t + i * Hp + h] = w;
      f64[w1p + h * np + i] = w;
    }
    f64[L.b1 / 8 + h] = theta[oB1 + h];
  }
  for (let j = 0; j < m; j++) {
    for (let h = 0; h < H; h++) {
      const w = theta[oW2 + j * H + h];
      f64[w2t + h * mp + j] = w;
      f64[w2p + j * Hp + h] = w;
    }
    f64[L.b2 / 8 + j] = theta[oB2 + j];
  }
  let c = 0;
  for (let j = 0; j < m; j++) {
    f64[L.invStd / 8 + j] = Math.exp(-theta[oLs + j]);
    c -= theta[oLs + j] + 0.5 * Math.log(2 * Math.PI);
  }
  return c;
}

/** One lane's scratch for a chunk: byte offsets relative to the lane's base. */
export interface ScratchLayout {
  /** Byte offset of lane 0's scratch; lane k's is base + k·stride. */
  readonly base: number;
  readonly stride: number;
  readonly xn: number;
  readonly z: number;
  readonly s: number;
  readonly mean: number;
  readonly dmean: number;
  readonly g: number;
  readonly gw1: number;
  readonly gb1: number;
  readonly gw2: number;
  readonly gb2: number;
  readonly gls: number;
}

/** Doubles of one lane's scratch. */
export function scratchDoubles(L: Pick<NetLayout, "np" | "Hp" | "mp">): number {
  const R = CHUNK_ROWS;
  return R * L.np + 3 * R * L.Hp + 2 * R * L.mp + L.Hp * L.np + L.Hp + L.mp * L.Hp + 2 * L.mp + L.mp;
}

export function scratchLayout(L: Pick<NetLayout, "np" | "Hp" | "mp">, base: number): ScratchLayout {
  const R = CHUNK_ROWS;
  let at = 0;
  const take = (doubles: number): number => {
    const off = at;
    at += doubles * 8;
    return off;
  };
  const xn = take(R * L.np);
  const z = take(R * L.Hp);
  const s = take(R * L.Hp);
  const g = take(R * L.Hp);
  const mean = take(R * L.mp);
  const dmean = take(R * L.mp);
  const gw1 = take(L.Hp * L.np);
  const gb1 = take(L.Hp);
  const gw2 = take(L.mp * L.Hp);
  const gb2 = take(L.mp);
  const gls = take(L.mp);
  const stride = Math.ceil(at / 16) * 16;
  return { base, stride, xn, z, s, mean, dmean, g, gw1, gb1, gw2, gb2, gls };
}

/** Number of chunks for N rows. */
export function chunkCount(N: number): number {
  return Math.ceil(N / CHUNK_ROWS);
}
