import { describe, expect, it } from "vitest";
import {
  activeSet,
  estimateReturn,
  fusedPrefixLogDensity,
  isObjective,
  logSumExp,
  maxLikelihoodObjective,
  normalizedWeightStats,
  policyPrefixLogWeights,
  policyStepLogProbs,
  prefixLogWeights,
  subset,
  trajectoryLogWeights,
  type IsSampleSet,
} from "../src/algorithms/isgps-objective.js";
import { minimizeLbfgs } from "../src/optim/lbfgs.js";
import { createPolicy, createWorkspace, initParameters, logProbability, mlpShape, parameterLayout, type MlpPolicy } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { fdGradient, relErr } from "./helpers/gradient-check.js";

const NX = 4;
const NU = 2;
const H = 5;

/** f of an LBFGS objective, discarding the gradient. */
function valueOf(objective: (x: Float64Array, g: Float64Array) => number): (theta: Float64Array) => number {
  return (theta) => objective(theta, new Float64Array(theta.length));
}

/** Per-sample cumulative sums of a count·T [i][t] array. */
function prefixSums(a: Float64Array, count: number, T: number): Float64Array {
  const out = new Float64Array(count * T);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      s += a[i * T + t];
      out[i * T + t] = s;
    }
  }
  return out;
}

interface Setup {
  policy: MlpPolicy;
  theta: Float64Array;
  sampler: Sampler;
}

/** A small policy with non-zero biases and logStd (σ ≈ 0.5…0.9). */
function setupPolicy(seed: number): Setup {
  const sampler = new Sampler(seedGenerator(seed));
  const shape = mlpShape(NX, H, NU);
  const policy = createPolicy(shape);
  const theta = initParameters(shape, sampler);
  for (let k = 0; k < theta.length; k++) theta[k] += 0.3 * sampler.normal();
  const L = parameterLayout(shape);
  for (let j = 0; j < NU; j++) theta[L.logStd + j] = -0.4 + 0.2 * j;
  return { policy, theta, sampler };
}

/** Random states, actions (spread `actionScale`), rewards; logQ left 0 for the caller to fill. */
function randomSet(sampler: Sampler, count: number, T: number, actionScale = 1): IsSampleSet {
  const xs = new Float64Array(count * (T + 1) * NX);
  const us = new Float64Array(count * T * NU);
  const rewards = new Float64Array(count * T);
  for (let k = 0; k < xs.length; k++) xs[k] = sampler.normal();
  for (let k = 0; k < us.length; k++) us[k] = actionScale * sampler.normal();
  for (let k = 0; k < rewards.length; k++) rewards[k] = -1 + sampler.normal();
  return { T, nx: NX, nu: NU, count, xs, us, rewards, logQ: new Float64Array(count * T) };
}

/** logQ as the prefix density of a "behaviour" distribution: the policy's own step densities plus per-step noise. */
function withLogQ(set: IsSampleSet, logQ: Float64Array): IsSampleSet {
  return { ...set, logQ };
}

function perturbedLogQ(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, sampler: Sampler, noise: number): Float64Array {
  const lp = policyStepLogProbs(policy, theta, set);
  for (let k = 0; k < lp.length; k++) lp[k] += noise * sampler.normal();
  return prefixSums(lp, set.count, set.T);
}

/** Φ computed naively in linear space (raw ratios, Z_t = (1/m) Σ w): safe only for short horizons. */
function naivePhi(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, wr: number): number {
  const { T, count } = set;
  const ws = createWorkspace(policy, 1);
  let phi = 0;
  const piPrefix = new Float64Array(count);
  const w = new Float64Array(count);
  for (let t = 0; t < T; t++) {
    let sumW = 0;
    let sumWr = 0;
    for (let i = 0; i < count; i++) {
      piPrefix[i] += logProbability(policy, theta, set.xs, set.us, ws, (i * (T + 1) + t) * NX, (i * T + t) * NU);
      w[i] = Math.exp(piPrefix[i]) / Math.exp(set.logQ[i * T + t]);
      sumW += w[i];
      sumWr += w[i] * set.rewards[i * T + t];
    }
    phi += sumWr / sumW + wr * Math.log(sumW / count);
  }
  return phi;
}

describe("log-space primitives", () => {
  it("logSumExp matches the direct sum, handles huge values and all −∞", () => {
    const v = new Float64Array([9, 0.3, -1.2, 2.5, 0.1]);
    const direct = Math.log(Math.exp(0.3) + Math.exp(-1.2) + Math.exp(2.5));
    expect(Math.abs(logSumExp(v, 1, 3) - direct)).toBeLessThan(1e-15 * Math.abs(direct) + 1e-15);
    const big = new Float64Array([1e5, 1e5 - 1, -1e5]);
    expect(logSumExp(big, 0, 3)).toBeCloseTo(1e5 + Math.log1p(Math.exp(-1)), 9);
    const small = new Float64Array([-1e5, -1e5]);
    expect(logSumExp(small, 0, 2)).toBeCloseTo(-1e5 + Math.LN2, 9);
    expect(logSumExp(new Float64Array([-Infinity, -Infinity]), 0, 2)).toBe(-Infinity);
    expect(logSumExp(new Float64Array([-Infinity, 1]), 0, 2)).toBe(1);
    expect(logSumExp(new Float64Array(0), 0, 0)).toBe(-Infinity);
    expect(logSumExp(new Float64Array([1, NaN]), 0, 2)).toBeNaN();
    expect(logSumExp(new Float64Array([NaN, NaN]), 0, 2)).toBeNaN();
  });

  it("fusedPrefixLogDensity equals the direct mixture of prefix densities", () => {
    const sampler = new Sampler(seedGenerator(11));
    const nDist = 3;
    const count = 2;
    const T = 4;
    const step = new Float64Array(nDist * count * T);
    for (let k = 0; k < step.length; k++) step[k] = -1 - 2 * Math.abs(sampler.normal());
    const fused = fusedPrefixLogDensity(step, nDist, count, T);
    expect(fused.length).toBe(count * T);
    let worst = 0;
    for (let i = 0; i < count; i++) {
      for (let t = 0; t < T; t++) {
        let q = 0;
        for (let j = 0; j < nDist; j++) {
          let p = 1;
          for (let s = 0; s <= t; s++) p *= Math.exp(step[(j * count + i) * T + s]);
          q += p / nDist;
        }
        worst = Math.max(worst, Math.abs(fused[i * T + t] - Math.log(q)) / Math.abs(Math.log(q)));
      }
    }
    expect(worst).toBeLessThan(1e-13);
    // One distribution: the plain prefix sum.
    const one = fusedPrefixLogDensity(step.subarray(0, count * T), 1, count, T);
    expect(relErr(one, prefixSums(step.subarray(0, count * T), count, T))).toBeLessThan(1e-15);
  });

  it("fusedPrefixLogDensity stays finite and exact with prefix sums of ±1e5", () => {
    const T = 5;
    // Sample 0: q_0 prefix reaches +1e5, q_1 trails it by 1 per step. Sample 1: both reach −1e5 and −1e5 − 5.
    const step = new Float64Array(2 * 2 * T);
    for (let t = 0; t < T; t++) {
      step[(0 * 2 + 0) * T + t] = 2e4;
      step[(1 * 2 + 0) * T + t] = 2e4 - 1;
      step[(0 * 2 + 1) * T + t] = -2e4;
      step[(1 * 2 + 1) * T + t] = -2e4 - 1;
    }
    const fused = fusedPrefixLogDensity(step, 2, 2, T);
    for (const v of fused) expect(Number.isFinite(v)).toBe(true);
    const expectLast = (base: number): number => base + Math.log1p(Math.exp(-T)) - Math.LN2;
    expect(Math.abs(fused[T - 1] - expectLast(1e5))).toBeLessThan(1e-10);
    expect(Math.abs(fused[2 * T - 1] - expectLast(-1e5))).toBeLessThan(1e-10);
    expect(Math.exp(1e5)).toBe(Infinity); // the direct sum would have overflowed
  });

  it("policyStepLogProbs equals logProbability step by step; trajectoryLogWeights sums them minus logQ_T", () => {
    const { policy, theta, sampler } = setupPolicy(3);
    const T = 7;
    const base = randomSet(sampler, 3, T);
    const set = withLogQ(base, perturbedLogQ(policy, theta, base, sampler, 0.7));
    const lp = policyStepLogProbs(policy, theta, set);
    const ws = createWorkspace(policy, 1);
    const ref = new Float64Array(set.count * T);
    for (let i = 0; i < set.count; i++) {
      for (let t = 0; t < T; t++) ref[i * T + t] = logProbability(policy, theta, set.xs, set.us, ws, (i * (T + 1) + t) * NX, (i * T + t) * NU);
    }
    expect(relErr(lp, ref)).toBeLessThan(1e-14);
    const lw = trajectoryLogWeights(policy, theta, set);
    const cum = prefixSums(ref, set.count, T);
    for (let i = 0; i < set.count; i++) expect(lw[i]).toBeCloseTo(cum[i * T + T - 1] - set.logQ[i * T + T - 1], 12);
  });
});

describe("isObjective", () => {
  const T = 6;
  const COUNT = 5;
  const fixture = (seed: number): Setup & { set: IsSampleSet } => {
    const s = setupPolicy(seed);
    const base = randomSet(s.sampler, COUNT, T);
    // A behaviour density ~2 nats per step away from π_θ: weights spread but not degenerate.
    return { ...s, set: withLogQ(base, perturbedLogQ(s.policy, s.theta, base, s.sampler, 1.5)) };
  };

  for (const learnStd of [false, true]) {
    for (const wr of [0, 1e-2]) {
      it(`gradient matches central finite differences (learnStd=${learnStd}, wr=${wr}, weightDecay=0.05)`, () => {
        const { policy, theta, set } = fixture(5);
        const { objective, value } = isObjective(policy, set, { wr, weightDecay: 0.05, learnStd });
        const g = new Float64Array(theta.length);
        const f = objective(theta, g);
        const L = parameterLayout(policy);
        let sq = 0;
        for (let k = L.w1; k < L.b1; k++) sq += theta[k] * theta[k];
        for (let k = L.w2; k < L.b2; k++) sq += theta[k] * theta[k];
        expect(f).toBeCloseTo(-value(theta).phi + 0.025 * sq, 12);
        const fd = fdGradient(valueOf(objective), theta);
        if (!learnStd) {
          // σ fixed: the logStd block is zeroed, though Φ does depend on it.
          for (let j = 0; j < NU; j++) {
            expect(g[L.logStd + j]).toBe(0);
            expect(Math.abs(fd[L.logStd + j])).toBeGreaterThan(1e-4);
            fd[L.logStd + j] = 0;
          }
        } else {
          for (let j = 0; j < NU; j++) expect(Math.abs(g[L.logStd + j])).toBeGreaterThan(1e-4);
        }
        const err = relErr(g, fd);
        console.log(`isObjective gradient rel. error (learnStd=${learnStd}, wr=${wr}): ${err.toExponential(2)}`);
        expect(err).toBeLessThan(1e-6);
      });
    }
  }

  it("w_r = 0 is the self-normalized estimator computed naively in linear space; estimateReturn is Φ at w_r = 0", () => {
    const { policy, theta, set } = fixture(8);
    const phi0 = isObjective(policy, set, { wr: 0 }).value(theta);
    const naive0 = naivePhi(policy, theta, set, 0);
    expect(Math.abs(phi0.phi - naive0) / Math.abs(naive0)).toBeLessThan(1e-12);
    expect(phi0.phi).toBe(phi0.estimatedReturn);
    expect(estimateReturn(policy, theta, set)).toBe(phi0.phi);
    // The regularizer with Z_t = (1/m) Σ_i w_it, against the same naive computation.
    const wr = 0.3;
    const phi = isObjective(policy, set, { wr }).value(theta);
    const naive = naivePhi(policy, theta, set, wr);
    console.log(`w_r=0: |Φ − naive|/|naive| = ${(Math.abs(phi0.phi - naive0) / Math.abs(naive0)).toExponential(2)}; w_r=0.3: ${(Math.abs(phi.phi - naive) / Math.abs(naive)).toExponential(2)}`);
    expect(Math.abs(phi.phi - naive) / Math.abs(naive)).toBeLessThan(1e-12);
    expect(phi.estimatedReturn).toBeCloseTo(phi0.estimatedReturn, 14);
    expect(phi.phi).toBeCloseTo(phi.estimatedReturn + wr * phi.sumLogZ, 14);
    expect(phi.meanEss).toBeGreaterThan(1);
    expect(phi.meanEss).toBeLessThan(COUNT);
    expect(phi.minEss).toBeLessThanOrEqual(phi.meanEss);
  });

  it("samples drawn from π_θ itself get uniform weights: Φ = Σ_t mean_i r_it, log Z_t = 0, ESS = m", () => {
    const { policy, theta, sampler } = setupPolicy(9);
    const base = randomSet(sampler, COUNT, T);
    const set = withLogQ(base, prefixSums(policyStepLogProbs(policy, theta, base), COUNT, T));
    const b = isObjective(policy, set, { wr: 0.01 }).value(theta);
    let expected = 0;
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let i = 0; i < COUNT; i++) s += set.rewards[i * T + t];
      expected += s / COUNT;
    }
    expect(b.sumLogZ).toBe(0);
    expect(Math.abs(b.phi - expected)).toBeLessThan(1e-14 * Math.abs(expected) * T);
    expect(b.meanEss).toBeCloseTo(COUNT, 12);
  });

  it("T = 500 with log-probabilities around −50 per step: finite, shift invariant, gradient checks along a direction", () => {
    const { policy, theta, sampler } = setupPolicy(12);
    const LT = 500;
    const m = 4;
    // Actions spread ~7σ around the means: each step's log π is about −50.
    const base = randomSet(sampler, m, LT, 5);
    const lp = policyStepLogProbs(policy, theta, base);
    let mean = 0;
    for (const v of lp) mean += v / lp.length;
    expect(mean).toBeLessThan(-30);
    expect(mean).toBeGreaterThan(-90);
    const cum = prefixSums(lp, m, LT);
    expect(cum[LT - 1]).toBeLessThan(-15000);
    expect(Math.exp(cum[LT - 1])).toBe(0); // linear-space ratios would be 0/0
    // Behaviour density: the policy's own prefix, offset by thousands (log w_it ≈ −4000: every raw ratio
    // underflows), plus a per-sample random walk so that the weights are uneven but not one-hot.
    const logQ = new Float64Array(m * LT);
    for (let i = 0; i < m; i++) {
      let walk = 0;
      for (let t = 0; t < LT; t++) {
        walk += 0.3 * sampler.normal();
        logQ[i * LT + t] = cum[i * LT + t] + 4000 + 0.5 * i + walk;
      }
    }
    const set = withLogQ(base, logQ);
    const shift = 3000.25;
    const shiftedQ = Float64Array.from(logQ, (v) => v + shift);
    const shifted = withLogQ(base, shiftedQ);

    for (const wr of [0, 1e-2]) {
      const a = isObjective(policy, set, { wr, learnStd: true });
      const b = isObjective(policy, shifted, { wr, learnStd: true });
      const ga = new Float64Array(theta.length);
      const gb = new Float64Array(theta.length);
      const fa = a.objective(theta, ga);
      const fb = b.objective(theta, gb);
      expect(Number.isFinite(fa)).toBe(true);
      for (const v of ga) expect(Number.isFinite(v)).toBe(true);
      const va = a.value(theta);
      const vb = b.value(theta);
      expect(va.meanEss).toBeGreaterThan(1.05);
      // ŵ is unchanged by the shift; log Z_t moves by −shift at every step.
      expect(Math.abs(va.estimatedReturn - vb.estimatedReturn)).toBeLessThan(1e-9 * Math.abs(va.estimatedReturn));
      expect(Math.abs(vb.sumLogZ - (va.sumLogZ - LT * shift))).toBeLessThan(1e-9 * Math.abs(vb.sumLogZ));
      expect(Math.abs(fb - (fa + wr * LT * shift))).toBeLessThan(1e-9 * Math.abs(fb) + 1e-9);
      expect(relErr(gb, ga)).toBeLessThan(1e-9);
      // Directional derivative vs a central difference along a random direction.
      const dir = new Float64Array(theta.length);
      sampler.fillNormal(dir);
      const h = 1e-6;
      const tp = Float64Array.from(theta, (v, k) => v + h * dir[k]);
      const tm = Float64Array.from(theta, (v, k) => v - h * dir[k]);
      const fd = (valueOf(a.objective)(tp) - valueOf(a.objective)(tm)) / (2 * h);
      let an = 0;
      for (let k = 0; k < theta.length; k++) an += ga[k] * dir[k];
      const err = Math.abs(an - fd) / Math.abs(fd);
      console.log(`T=500 (wr=${wr}): Φ=${(-fa).toExponential(4)}, ESS=${va.meanEss.toFixed(3)}, directional derivative rel. error ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
    }
  });

  it("LBFGS on −Φ raises Φ and keeps σ fixed by default", () => {
    const { policy, theta, set } = fixture(21);
    const { objective, value } = isObjective(policy, set, { wr: 1e-2 });
    const before = value(theta).phi;
    const res = minimizeLbfgs(objective, theta, { maxIterations: 30 });
    expect(value(res.x).phi).toBeGreaterThan(before);
    const L = parameterLayout(policy);
    for (let j = 0; j < NU; j++) expect(res.x[L.logStd + j]).toBe(theta[L.logStd + j]);
  });

  it("rejects mismatched shapes and bad options", () => {
    const { policy, theta, set } = fixture(2);
    expect(() => isObjective(policy, { ...set, nu: 3 }, { wr: 0 })).toThrow(RangeError);
    expect(() => isObjective(policy, set, { wr: -1 })).toThrow(RangeError);
    expect(() => isObjective(policy, { ...set, logQ: new Float64Array(3) }, { wr: 0 })).toThrow(RangeError);
    const { objective } = isObjective(policy, set, { wr: 0 });
    expect(() => objective(theta.subarray(1), new Float64Array(theta.length - 1))).toThrow(RangeError);
  });
});

describe("maxLikelihoodObjective", () => {
  for (const learnStd of [false, true]) {
    it(`gradient matches finite differences; value is −mean log π over the listed samples' steps (learnStd=${learnStd})`, () => {
      const { policy, theta, sampler } = setupPolicy(31);
      const T = 6;
      const set = randomSet(sampler, 4, T);
      const idx = [0, 2, 3];
      const objective = maxLikelihoodObjective(policy, set, idx, { weightDecay: 0.1, learnStd });
      const g = new Float64Array(theta.length);
      const f = objective(theta, g);
      const lp = policyStepLogProbs(policy, theta, set);
      let s = 0;
      for (const i of idx) for (let t = 0; t < T; t++) s += lp[i * T + t];
      const L = parameterLayout(policy);
      let sq = 0;
      for (let k = L.w1; k < L.b1; k++) sq += theta[k] * theta[k];
      for (let k = L.w2; k < L.b2; k++) sq += theta[k] * theta[k];
      expect(f).toBeCloseTo(-s / (idx.length * T) + 0.05 * sq, 12);
      const fd = fdGradient(valueOf(objective), theta);
      if (!learnStd) {
        for (let j = 0; j < NU; j++) {
          expect(g[L.logStd + j]).toBe(0);
          fd[L.logStd + j] = 0;
        }
      }
      const err = relErr(g, fd);
      console.log(`maxLikelihoodObjective gradient rel. error (learnStd=${learnStd}): ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-6);
    });
  }

  it("LBFGS on one sample raises that sample's log weight (the 'best sample' restart)", () => {
    const { policy, theta, sampler } = setupPolicy(41);
    const T = 10;
    const base = randomSet(sampler, 3, T);
    const set = withLogQ(base, perturbedLogQ(policy, theta, base, sampler, 1));
    const best = 1;
    const before = trajectoryLogWeights(policy, theta, set);
    const res = minimizeLbfgs(maxLikelihoodObjective(policy, set, [best], { weightDecay: 1e-3 }), theta, { maxIterations: 50 });
    const after = trajectoryLogWeights(policy, res.x, set);
    console.log(`best-sample fit: log w ${before[best].toFixed(3)} → ${after[best].toFixed(3)}`);
    expect(after[best]).toBeGreaterThan(before[best] + 1);
  });
});

describe("active sets", () => {
  it("keeps the guiding indices and fills up with the highest log weights, ties by index, capped", () => {
    const set = randomSet(new Sampler(seedGenerator(1)), 8, 2);
    const lw = new Float64Array([5, -3, 2, 7, 2, NaN, -Infinity, 9]);
    // Guiding 0 and 1 always kept; then 7 (9), 3 (7), then the tie 2/4 (2) → 2.
    expect(activeSet(set, lw, new Set([1, 0]), 5)).toEqual([0, 1, 2, 3, 7]);
    expect(activeSet(set, lw, new Set([1, 0]), 6)).toEqual([0, 1, 2, 3, 4, 7]);
    // NaN ranks with −∞, after every finite weight; among those the lower index first.
    expect(activeSet(set, lw, new Set(), 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(activeSet(set, lw, new Set(), 7)).toEqual([0, 1, 2, 3, 4, 5, 7]);
    // A cap below the guiding count caps the guiding samples too (the best by log weight: 1 at −3,
    // ahead of 6 at −∞ and 5 at NaN) and keeps room for the best on-policy sample (7).
    expect(activeSet(set, lw, new Set([6, 5, 1]), 2)).toEqual([1, 7]);
    expect(activeSet(set, lw, new Set([6, 5, 1]), 3)).toEqual([1, 3, 7]);
    expect(activeSet(set, lw, new Set([6, 5, 1]), 1)).toEqual([7]);
    expect(activeSet(set, lw, new Set(), 0)).toEqual([]);
    expect(() => activeSet(set, lw, new Set([8]), 3)).toThrow(RangeError);
  });

  it("140 guiding and 50 on-policy samples, cap 100, on-policy log weights +100: the on-policy samples get their reserved half", () => {
    const g = 140;
    const o = 50;
    const set = randomSet(new Sampler(seedGenerator(3)), g + o, 1);
    // Guiding samples 0…139 with log weights −i (so the best are the lowest indices), on-policy 140…189 at +100.
    const lw = Float64Array.from({ length: g + o }, (_, i) => (i < g ? -i : 100));
    const keep = new Set(Array.from({ length: g }, (_, i) => i));
    const active = activeSet(set, lw, keep, 100);
    expect(active.length).toBe(100);
    const guiding = active.filter((i) => keep.has(i));
    const onPolicy = active.filter((i) => !keep.has(i));
    expect(onPolicy).toEqual(Array.from({ length: 50 }, (_, k) => g + k));
    // The guiding samples kept are those with the highest log weight.
    expect(guiding).toEqual(Array.from({ length: 50 }, (_, k) => k));
    // Guiding log weights in reverse order, with ties and a NaN: highest first, ties by lower index, NaN last.
    const lw2 = Float64Array.from({ length: g + o }, (_, i) => (i < g ? (i === 139 ? NaN : Math.floor(i / 2)) : 100));
    const active2 = activeSet(set, lw2, keep, 100).filter((i) => keep.has(i));
    // Weights 69 (138), 68 (136, 137), …, 45 (90, 91): 49 samples; then the tie at 44 goes to 88, not 89.
    expect(active2).toEqual([88, ...Array.from({ length: 49 }, (_, k) => 90 + k)]);
  });

  it("never exceeds max, keeps an on-policy sample when any exist (max ≥ 2), and keeps everything that fits", () => {
    const sampler = new Sampler(seedGenerator(4));
    for (let trial = 0; trial < 400; trial++) {
      const count = Math.floor(sampler.uniform() * 40);
      const set = randomSet(sampler, count, 1);
      const lw = Float64Array.from({ length: count }, () => {
        const u = sampler.uniform();
        return u < 0.05 ? NaN : u < 0.1 ? -Infinity : Math.round(4 * sampler.normal());
      });
      const keep = new Set<number>();
      for (let i = 0; i < count; i++) if (sampler.uniform() < 0.6) keep.add(i);
      const max = Math.floor(sampler.uniform() * 45);
      const active = activeSet(set, lw, keep, max);
      const others = count - keep.size;
      const onPolicy = active.filter((i) => !keep.has(i)).length;
      expect(active.length).toBe(Math.min(max, count));
      expect(new Set(active).size).toBe(active.length);
      expect(active).toEqual([...active].sort((a, b) => a - b));
      if (others > 0 && max >= 2) expect(onPolicy).toBeGreaterThanOrEqual(1);
      // At least min(others, ⌈max/2⌉) on-policy samples; every guiding sample when they fit beside them.
      expect(onPolicy).toBeGreaterThanOrEqual(Math.min(others, Math.ceil(max / 2)));
      if (keep.size + Math.min(others, Math.ceil(max / 2)) <= max) for (const i of keep) expect(active).toContain(i);
      if (count <= max) expect(active).toEqual(Array.from({ length: count }, (_, i) => i));
    }
  });

  it("the old rule's results are unchanged whenever the guiding samples fit beside the reserved places", () => {
    // The old rule: every guiding index, then the others by log weight.
    const oldRule = (lw: Float64Array, keep: Set<number>, max: number): number[] => {
      const key = (i: number) => (lw[i] !== lw[i] ? -Infinity : lw[i]);
      const rest = Array.from({ length: lw.length }, (_, i) => i)
        .filter((i) => !keep.has(i))
        .sort((a, b) => (key(a) !== key(b) ? (key(a) > key(b) ? -1 : 1) : a - b));
      return [...keep, ...rest].slice(0, Math.max(max, keep.size)).sort((a, b) => a - b);
    };
    const sampler = new Sampler(seedGenerator(5));
    // The shipped experiments: 40 guiding samples, cap 100, a growing on-policy pool.
    for (const others of [10, 60, 61, 200, 360]) {
      const count = 40 + others;
      const set = randomSet(sampler, count, 1);
      const lw = Float64Array.from({ length: count }, () => 10 * sampler.normal());
      const keep = new Set(Array.from({ length: 40 }, (_, i) => i));
      expect(activeSet(set, lw, keep, 100)).toEqual(oldRule(lw, keep, 100));
    }
  });
  it("subset copies the chosen samples", () => {
    const sampler = new Sampler(seedGenerator(2));
    const T = 3;
    const base = randomSet(sampler, 4, T);
    const logQ = new Float64Array(4 * T);
    for (let k = 0; k < logQ.length; k++) logQ[k] = sampler.normal();
    const set = withLogQ(base, logQ);
    const sub = subset(set, [3, 1]);
    expect(sub.count).toBe(2);
    expect([...sub.xs.subarray(0, (T + 1) * NX)]).toEqual([...set.xs.subarray(3 * (T + 1) * NX, 4 * (T + 1) * NX)]);
    expect([...sub.us.subarray(T * NU)]).toEqual([...set.us.subarray(T * NU, 2 * T * NU)]);
    expect([...sub.rewards]).toEqual([...set.rewards.subarray(3 * T, 4 * T), ...set.rewards.subarray(T, 2 * T)]);
    expect([...sub.logQ]).toEqual([...set.logQ.subarray(3 * T, 4 * T), ...set.logQ.subarray(T, 2 * T)]);
    // Φ does not depend on the order of the samples.
    const { policy, theta } = setupPolicy(4);
    const v1 = isObjective(policy, sub, { wr: 0.1 }).value(theta).phi;
    const v2 = isObjective(policy, subset(set, [1, 3]), { wr: 0.1 }).value(theta).phi;
    expect(Math.abs(v1 - v2)).toBeLessThan(1e-13 * Math.abs(v1));
    // A copy, not a view.
    sub.rewards[0] = 99;
    expect(set.rewards[3 * T]).not.toBe(99);
  });
});

describe("normalized weight statistics", () => {
  it("prefixLogWeights: row t holds Σ_{t'≤t} log π − log q_t, the last row trajectoryLogWeights", () => {
    const { policy, theta, sampler } = setupPolicy(51);
    const T = 6;
    const base = randomSet(sampler, 5, T);
    const set = withLogQ(base, perturbedLogQ(policy, theta, base, sampler, 0.5));
    const lp = policyStepLogProbs(policy, theta, set);
    const prefix = prefixLogWeights(set, lp);
    expect(policyPrefixLogWeights(policy, theta, set)).toEqual(prefix);
    const cum = prefixSums(lp, 5, T);
    for (let i = 0; i < 5; i++) for (let t = 0; t < T; t++) expect(prefix[t * 5 + i]).toBeCloseTo(cum[i * T + t] - set.logQ[i * T + t], 12);
    expect(trajectoryLogWeights(policy, theta, set)).toEqual(prefix.slice((T - 1) * 5));
  });

  it("normalizedWeightStats: the group's share and 1/Σŵ², as computed directly, and shift invariant", () => {
    const logW = new Float64Array([0.3, -1.2, 2.0, 0.0, -0.5]);
    const group = [true, false, true, false, false];
    const w = Array.from(logW, Math.exp);
    const sum = w.reduce((a, b) => a + b, 0);
    const share = (w[0] + w[2]) / sum;
    const ess = 1 / w.reduce((a, b) => a + (b / sum) ** 2, 0);
    const st = normalizedWeightStats(logW, group);
    expect(st.share).toBeCloseTo(share, 14);
    expect(st.ess).toBeCloseTo(ess, 12);
    // Log weights of ±1e5 (exp over- or underflows): the same numbers.
    for (const c of [1e5, -1e5]) {
      const shifted = normalizedWeightStats(logW.map((v) => v + c), group);
      expect(shifted.share).toBeCloseTo(share, 10);
      expect(shifted.ess).toBeCloseTo(ess, 8);
    }
    // Equal weights: ESS = n; one dominant weight: ESS → 1 and its group holds all of it.
    expect(normalizedWeightStats(new Float64Array(4).fill(-7), [true, false, false, false])).toEqual({ share: expect.closeTo(0.25, 14), ess: expect.closeTo(4, 12) });
    const dom = normalizedWeightStats(new Float64Array([100, 0, 0]), [false, true, true]);
    expect(dom.ess).toBeCloseTo(1, 12);
    expect(dom.share).toBeLessThan(1e-40);
    expect(normalizedWeightStats(new Float64Array([1, 2]), [false, false]).share).toBe(0);
    expect(Number.isNaN(normalizedWeightStats(new Float64Array([-Infinity, -Infinity]), [true, false]).ess)).toBe(true);
    expect(() => normalizedWeightStats(new Float64Array(2), [true])).toThrow(RangeError);
  });
});
