/**
 * A seeded, serializable pseudo-random generator (xoshiro128**).
 *
 * The whole generator state is four unsigned 32-bit words, so it is a plain
 * value that a checkpoint stores and a resumed run restores exactly. Draws are
 * pure functions from a state to (value, next state); the `Sampler` class below
 * is a mutable cursor for hot loops that reads a state in and writes it back.
 */

export type GeneratorState = readonly [number, number, number, number];

/** SplitMix32 expands a seed into a well-mixed initial state (never all zero). */
export function seedGenerator(seed: number): GeneratorState {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const st: [number, number, number, number] = [next(), next(), next(), next()];
  if ((st[0] | st[1] | st[2] | st[3]) === 0) st[0] = 1;
  return st;
}

/** What a noisy controller draws from: a Sampler, or normals drawn before (`ReplayedNormals`). */
export interface NormalSource {
  normal(): number;
}

/**
 * Standard normals drawn earlier, handed out in order. Rollouts that run on
 * another thread get their noise this way: the main thread draws it from the
 * run's Sampler in exactly the order the rollouts would have, so a rollout's
 * result does not depend on where it ran.
 */
export class ReplayedNormals implements NormalSource {
  private at: number;
  constructor(
    private readonly values: Float64Array,
    from = 0,
    private readonly end = values.length,
  ) {
    this.at = from;
  }
  normal(): number {
    if (this.at >= this.end) throw new RangeError("ReplayedNormals: more normals asked for than were drawn");
    return this.values[this.at++];
  }
}

/** Mutable cursor over a generator state, for loops that draw many numbers. */
export class Sampler {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: GeneratorState) {
    [this.s0, this.s1, this.s2, this.s3] = state;
  }

  /** The state after every draw so far; store it to continue the stream later. */
  state(): GeneratorState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal by Box–Muller; no cached spare, so the state alone defines the stream. */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fill `out` with independent standard normals. */
  fillNormal(out: Float64Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
