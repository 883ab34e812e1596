/**
 * The batched policy kernels (src/policy/kernels) against the per-row
 * reference of src/policy/mlp.ts and src/algorithms/isgps-objective.ts:
 * every value and gradient within 1e-12 (normwise relative), on shapes that
 * exercise the padding (n, H, m not multiples of 4), several chunks with a
 * short last one, ignored inputs (std ∞) and both σ settings. Then the
 * softplus kernel at the extremes, and the arena's bookkeeping.
 */
import { describe, expect, it } from "vitest";
import {
  isObjective,
  isObjectiveBatched,
  maxLikelihoodObjective,
  maxLikelihoodObjectiveBatched,
  policyStepLogProbs,
  scoreFunctionGradient,
  type IsSampleSet,
} from "../src/algorithms/isgps-objective.js";
import { batchedKernels, localCompute } from "../src/algorithms/numerics.js";
import { SharedArena } from "../src/parallel/arena.js";
import { batchedFitLoss, batchedForward, batchedStepLogProbs } from "../src/policy/kernels/batched.js";
import { CHUNK_ROWS } from "../src/policy/kernels/layout.js";
import { createKernelMemory, instantiateKernels } from "../src/policy/kernels/wasm.js";
import { createPolicy, createWorkspace, ignoreInputs, initParameters, meanJacobian, mlpShape, normalizationFrom, softplus, sigmoid, weightedFitLoss, type MlpPolicy } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

/** max |a − b| / max |b|: the normwise relative difference. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

interface Case {
  readonly policy: MlpPolicy;
  readonly theta: Float64Array;
  readonly set: IsSampleSet;
}

/** A random network (input 0 ignored) and a sample set of `count` samples × T steps. */
function makeCase(n: number, H: number, m: number, count: number, T: number, seed: number): Case {
  const sampler = new Sampler(seedGenerator(seed));
  const xs = new Float64Array(count * (T + 1) * n);
  for (let k = 0; k < xs.length; k++) xs[k] = 3 * sampler.normal() + 1;
  const us = new Float64Array(count * T * m);
  for (let k = 0; k < us.length; k++) us[k] = 2 * sampler.normal();
  const rewards = new Float64Array(count * T);
  const logQ = new Float64Array(count * T);
  for (let i = 0; i < count; i++) {
    let cum = 0;
    for (let t = 0; t < T; t++) {
      rewards[i * T + t] = -1 - sampler.uniform();
      cum += -3 * m + sampler.normal();
      logQ[i * T + t] = cum;
    }
  }
  const shape = mlpShape(n, H, m);
  const theta = initParameters(shape, sampler, { initLogStd: Math.log(1.5) });
  for (let k = 0; k < m; k++) theta[theta.length - m + k] += 0.1 * k; // σ differs per action
  const policy = createPolicy(shape, ignoreInputs(shape, normalizationFrom(xs, n), theta, [0]));
  return { policy, theta, set: { T, nx: n, nu: m, count, xs, us, rewards, logQ } };
}

const compute = localCompute();
const SHAPES: readonly [number, number, number][] = [
  [5, 7, 3],
  [18, 50, 6],
];

describe("batched policy kernels against the per-row reference", () => {
  for (const [n, H, m] of SHAPES) {
    describe(`n ${n}, H ${H}, m ${m}`, () => {
      // 3 samples × 411 steps = 1233 rows: two full chunks and a short one.
      const c = makeCase(n, H, m, 3, 411, 7 + n);
      const { policy, theta, set } = c;
      const rows = set.count * set.T;

      it("weighted fit loss and its gradient", () => {
        expect(rows).toBeGreaterThan(2 * CHUNK_ROWS);
        const sampler = new Sampler(seedGenerator(11));
        const X = new Float64Array(rows * n);
        for (let k = 0; k < X.length; k++) X[k] = sampler.normal();
        const targets = new Float64Array(rows * m);
        for (let k = 0; k < targets.length; k++) targets[k] = sampler.normal();
        const precisions = new Float64Array(rows * m * m);
        for (let r = 0; r < rows; r++) for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) precisions[r * m * m + a * m + b] = a === b ? 2 + sampler.uniform() : 0.1;
        const weights = new Float64Array(rows);
        for (let r = 0; r < rows; r++) weights[r] = r % 7 === 0 ? 0 : sampler.uniform();
        const gRef = new Float64Array(theta.length);
        const ref = weightedFitLoss(policy, theta, X, targets, precisions, weights, gRef, createWorkspace(policy, 64));
        const loss = batchedFitLoss(compute, policy, X, targets, precisions, weights);
        const g = new Float64Array(theta.length).fill(7);
        const v = loss.evaluate(theta, g);
        expect(Math.abs(v - ref) / ref).toBeLessThan(1e-12);
        expect(relDiff(g, gRef)).toBeLessThan(1e-12);
        expect(loss.evaluate(theta, null)).toBe(v);
        loss.release();
      });

      it("means and Jacobians ∂μ/∂x", () => {
        const R = 600;
        const X = set.xs.subarray(0, R * n);
        const mean = new Float64Array(R * m);
        const jac = new Float64Array(R * m * n);
        batchedForward(compute, policy, theta, X, R, mean, jac);
        const ws = createWorkspace(policy, 1);
        const mRef = new Float64Array(R * m);
        const jRef = new Float64Array(R * m * n);
        const J = new Float64Array(m * n);
        const mu = new Float64Array(m);
        for (let r = 0; r < R; r++) {
          meanJacobian(policy, theta, X, J, ws, mu, r * n);
          mRef.set(mu, r * m);
          jRef.set(J, r * m * n);
        }
        expect(relDiff(mean, mRef)).toBeLessThan(1e-12);
        expect(relDiff(jac, jRef)).toBeLessThan(1e-12);
        // The ignored input's column is exactly 0.
        for (let r = 0; r < R; r++) for (let j = 0; j < m; j++) expect(jac[r * m * n + j * n]).toBe(0);
      });

      it("per-step log densities", () => {
        const lp = batchedStepLogProbs(compute, policy, theta, set.xs, set.us, set.count, set.T);
        expect(relDiff(lp, policyStepLogProbs(policy, theta, set))).toBeLessThan(1e-12);
      });

      for (const learnStd of [false, true]) {
        it(`Φ(θ) and its gradient (learnStd ${learnStd})`, () => {
          const ref = isObjective(policy, set, { wr: 1e-2, learnStd, weightDecay: 1e-3 });
          const bat = isObjectiveBatched(compute, policy, set, { wr: 1e-2, learnStd, weightDecay: 1e-3 });
          const gRef = new Float64Array(theta.length);
          const g = new Float64Array(theta.length);
          const fRef = ref.objective(theta, gRef);
          const f = bat.objective(theta, g);
          expect(Math.abs(f - fRef) / Math.abs(fRef)).toBeLessThan(1e-12);
          expect(relDiff(g, gRef)).toBeLessThan(1e-12);
          const vRef = ref.value(theta);
          const v = bat.value(theta);
          expect(Math.abs(v.phi - vRef.phi) / Math.abs(vRef.phi)).toBeLessThan(1e-12);
          expect(Math.abs(v.meanEss - vRef.meanEss) / vRef.meanEss).toBeLessThan(1e-9);
          bat.release();
        });

        it(`maximum likelihood and its gradient (learnStd ${learnStd})`, () => {
          const indices = [2, 0, 2];
          const gRef = new Float64Array(theta.length);
          const g = new Float64Array(theta.length);
          const fRef = maxLikelihoodObjective(policy, set, indices, { learnStd, weightDecay: 1e-2 })(theta, gRef);
          const bat = maxLikelihoodObjectiveBatched(compute, policy, set, indices, { learnStd, weightDecay: 1e-2 });
          const f = bat.objective(theta, g);
          expect(Math.abs(f - fRef) / Math.abs(fRef)).toBeLessThan(1e-12);
          expect(relDiff(g, gRef)).toBeLessThan(1e-12);
          bat.release();
        });
      }

      it("the score-function gradient, chunks with all-zero coefficients included", () => {
        const coef = new Float64Array(rows);
        const sampler = new Sampler(seedGenerator(3));
        // The first sample's coefficients are all 0 (a skipped chunk), the others random.
        for (let r = set.T; r < rows; r++) coef[r] = sampler.normal();
        const gRef = new Float64Array(theta.length);
        scoreFunctionGradient(policy, theta, set, coef, gRef);
        const g = new Float64Array(theta.length);
        batchedKernels(compute).scoreGradient(policy, theta, set, coef, g);
        expect(relDiff(g, gRef)).toBeLessThan(1e-12);
      });
    });
  }

  it("leaves no memory held once the sessions are released", () => {
    expect(compute.arena.bytesInUse).toBe(0);
  });
});

describe("the softplus kernel", () => {
  it("matches log1p(exp(z)) and the sigmoid from −800 to 800, with exp(z) underflowing to exactly 0", () => {
    const memory = createKernelMemory();
    const k = instantiateKernels(memory);
    const arena = new SharedArena(memory);
    const zs = [-800, -745.5, -740, -700, -40, -30.5, -1, -1e-10, -0, 0, 1e-10, 0.5, 1, 29.9, 30.5, 40, 700, 800];
    for (let i = -2000; i <= 2000; i++) zs.push(i / 50);
    if (zs.length % 2) zs.push(0.25);
    const Z = arena.alloc(zs.length);
    const S = arena.alloc(zs.length);
    arena.write(Z, zs);
    k.softplus(Z, S, zs.length);
    const sp = arena.read(Z, zs.length);
    const sg = arena.read(S, zs.length);
    // log1p(exp(z)) to the last bit (the reference softplus cuts off at |z| > 30, where it is
    // within e^−30 relative, so it is not the truth there).
    const truth = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    zs.forEach((z, i) => {
      const ref = truth(z);
      expect(Math.abs(softplus(z) - ref)).toBeLessThanOrEqual(1e-13 * Math.abs(ref));
      expect(Math.abs(sp[i] - ref)).toBeLessThanOrEqual(1e-15 * Math.abs(ref) + (ref === 0 ? 0 : Number.MIN_VALUE));
      expect(Math.abs(sg[i] - sigmoid(z))).toBeLessThanOrEqual(1e-15 * sigmoid(z));
    });
    expect(sp[0]).toBe(0); // exp(−800) is below the smallest double
    expect(sg[0]).toBe(0);
  });
});

describe("SharedArena", () => {
  it("reuses and coalesces released blocks and keeps them 16-byte aligned", () => {
    const arena = new SharedArena(createKernelMemory());
    const a = arena.alloc(3);
    const b = arena.alloc(5);
    const c = arena.alloc(7);
    for (const off of [a, b, c]) expect(off % 16).toBe(0);
    arena.release(a);
    arena.release(b);
    // a and b coalesced: a block of 8 doubles fits where they were.
    expect(arena.alloc(8)).toBe(a);
    expect(() => arena.release(b)).toThrow(/no live block/);
    // Growing past the initial memory.
    const big = arena.alloc(5_000_000);
    arena.write(big, [1, 2, 3], 4_999_997);
    expect(arena.read(big + 4_999_997 * 8, 3)).toEqual(Float64Array.from([1, 2, 3]));
    arena.release(big);
    arena.release(c);
    arena.release(a);
    expect(arena.bytesInUse).toBe(0);
  });
});
