import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import {
  backward,
  covarianceFitLoss,
  createPolicy,
  createWorkspace,
  forward,
  identityNormalization,
  ignoreInputs,
  initParameters,
  logProbability,
  logProbabilityGradient,
  meanJacobian,
  mlpShape,
  normalizationFrom,
  optimalLogStd,
  parameterCount,
  parameterLayout,
  sigmoid,
  softplus,
  weightedFitLoss,
  type MlpPolicy,
  type MlpShape,
} from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { randomMatrix, randomSpd } from "./helpers/linear-system.js";
import { fdGradient, relErr } from "./helpers/gradient-check.js";

/** States whose dimensions have very different offsets and scales. */
function randomStates(sampler: Sampler, count: number, n: number): Float64Array {
  const X = new Float64Array(count * n);
  for (let r = 0; r < count; r++) for (let i = 0; i < n; i++) X[r * n + i] = (i - 2) * 1.5 + (0.2 + i) * sampler.normal();
  return X;
}

/** A policy with non-trivial normalization and θ with non-zero biases and logStd. */
function randomSetup(seed: number, n = 5, H = 7, m = 3): { shape: MlpShape; policy: MlpPolicy; theta: Float64Array; sampler: Sampler } {
  const sampler = new Sampler(seedGenerator(seed));
  const shape = mlpShape(n, H, m);
  const policy = createPolicy(shape, normalizationFrom(randomStates(sampler, 50, n), n));
  const theta = initParameters(shape, sampler);
  for (let k = 0; k < theta.length; k++) theta[k] += 0.3 * sampler.normal();
  return { shape, policy, theta, sampler };
}

function meansOf(policy: MlpPolicy, theta: Float64Array, X: Float64Array, batch: number): Float64Array {
  const out = new Float64Array(batch * policy.nOut);
  forward(policy, theta, X, batch, out, createWorkspace(policy, batch));
  return out;
}

describe("MLP policy: layout and initialization", () => {
  it("packs [W1, b1, W2, b2, logStd] into one θ", () => {
    const shape = mlpShape(18, 50, 6);
    const L = parameterLayout(shape);
    expect(L).toEqual({ w1: 0, b1: 900, w2: 950, b2: 1250, logStd: 1256, total: 1262 });
    expect(parameterCount(shape)).toBe(1262);
    expect(() => mlpShape(0, 5, 2)).toThrow();
    expect(() => mlpShape(3, 2.5, 2)).toThrow();
  });

  it("initializes with scaled normals, zero biases and the requested logStd, deterministically", () => {
    const shape = mlpShape(10, 200, 4);
    const L = parameterLayout(shape);
    const theta = initParameters(shape, new Sampler(seedGenerator(3)), { initLogStd: -1.5 });
    expect(initParameters(shape, new Sampler(seedGenerator(3)), { initLogStd: -1.5 })).toEqual(theta);
    const variance = (from: number, to: number): number => {
      let s = 0;
      for (let k = from; k < to; k++) s += theta[k] * theta[k];
      return s / (to - from);
    };
    expect(variance(L.w1, L.b1)).toBeGreaterThan(0.8 * (2 / 10));
    expect(variance(L.w1, L.b1)).toBeLessThan(1.2 * (2 / 10));
    expect(variance(L.w2, L.b2)).toBeGreaterThan(0.8 * (2 / 204));
    expect(variance(L.w2, L.b2)).toBeLessThan(1.2 * (2 / 204));
    for (let k = L.b1; k < L.w2; k++) expect(theta[k]).toBe(0);
    for (let k = L.b2; k < L.logStd; k++) expect(theta[k]).toBe(0);
    for (let k = L.logStd; k < L.total; k++) expect(theta[k]).toBe(-1.5);
    expect(initParameters(shape, new Sampler(seedGenerator(3))).subarray(L.logStd)).toEqual(new Float64Array(4));
  });
});

describe("MLP policy: activations", () => {
  it("softplus and its derivative are finite and accurate at ±1000 and across the switch points", () => {
    expect(softplus(1000)).toBe(1000);
    expect(softplus(-1000)).toBe(0);
    expect(Number.isFinite(softplus(-1000))).toBe(true);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(-1000)).toBe(0);
    expect(softplus(0)).toBeCloseTo(Math.LN2, 15);
    expect(softplus(-40)).toBeCloseTo(Math.exp(-40), 30);
    for (const z of [-30.5, -30, -29.5, -5, -0.1, 0.1, 5, 29.5, 30, 30.5]) {
      const ref = Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
      expect(Math.abs(softplus(z) - ref)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(ref)));
      expect(sigmoid(z)).toBeCloseTo(1 / (1 + Math.exp(-z)), 14);
    }
  });

  it("forward and gradients stay finite when hidden pre-activations reach ±1000", () => {
    const shape = mlpShape(2, 2, 1);
    const policy = createPolicy(shape);
    const L = parameterLayout(shape);
    const theta = new Float64Array(L.total);
    theta.set([1000, 0, -1000, 0], L.w1); // z = ±1000 at x = (1, 0)
    theta.set([1, 1], L.w2);
    const ws = createWorkspace(shape, 1);
    const x = Float64Array.of(1, 0);
    const mu = new Float64Array(1);
    forward(policy, theta, x, 1, mu, ws);
    expect(mu[0]).toBe(1000);
    const g = new Float64Array(L.total);
    backward(policy, theta, Float64Array.of(1), 1, g, ws);
    for (const v of g) expect(Number.isFinite(v)).toBe(true);
    const J = new Float64Array(2);
    meanJacobian(policy, theta, x, J, ws);
    expect(Array.from(J)).toEqual([1000, 0]);
  });
});

describe("MLP policy: input normalization", () => {
  it("computes per-dimension mean and population std, with std 1 for constant dimensions", () => {
    const sampler = new Sampler(seedGenerator(5));
    const n = 4;
    const count = 200;
    const X = randomStates(sampler, count, n);
    for (let r = 0; r < count; r++) X[r * n + 2] = 7.25; // constant dimension
    const { inputMean, inputStd } = normalizationFrom(X, n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let r = 0; r < count; r++) s += X[r * n + i];
      const mean = s / count;
      let v = 0;
      for (let r = 0; r < count; r++) v += (X[r * n + i] - mean) ** 2;
      expect(inputMean[i]).toBeCloseTo(mean, 12);
      if (i === 2) expect(inputStd[i]).toBe(1);
      else expect(inputStd[i]).toBeCloseTo(Math.sqrt(v / count), 12);
    }
    // Normalized training states: mean 0, std 1 (the constant one: all 0).
    for (let i = 0; i < n; i++) {
      let s = 0;
      let q = 0;
      for (let r = 0; r < count; r++) {
        const v = (X[r * n + i] - inputMean[i]) / inputStd[i];
        s += v;
        q += v * v;
      }
      expect(s / count).toBeCloseTo(0, 12);
      expect(q / count).toBeCloseTo(i === 2 ? 0 : 1, 12);
    }
    expect(normalizationFrom(new Float64Array(0), 3)).toEqual(identityNormalization(3));
    expect(() => normalizationFrom(new Float64Array(5), 3)).toThrow();
    expect(() => createPolicy(mlpShape(3, 2, 1), { inputMean: new Float64Array(3), inputStd: Float64Array.of(1, 0, 1) })).toThrow();
  });

  it("normalizing inputs equals folding the normalization into W1 and b1", () => {
    const { shape, policy, theta, sampler } = randomSetup(7);
    const { nIn: n, nHidden: H } = shape;
    const L = parameterLayout(shape);
    const folded = Float64Array.from(theta);
    for (let h = 0; h < H; h++) {
      let shift = 0;
      for (let i = 0; i < n; i++) {
        folded[L.w1 + h * n + i] = theta[L.w1 + h * n + i] / policy.inputStd[i];
        shift += theta[L.w1 + h * n + i] * (policy.inputMean[i] / policy.inputStd[i]);
      }
      folded[L.b1 + h] = theta[L.b1 + h] - shift;
    }
    const raw = createPolicy(shape);
    const X = randomStates(sampler, 9, n);
    expect(relErr(meansOf(raw, folded, X, 9), meansOf(policy, theta, X, 9))).toBeLessThan(1e-12);
    // ...and the normalization is a real part of the policy: dropping it changes the output.
    expect(relErr(meansOf(raw, theta, X, 9), meansOf(policy, theta, X, 9))).toBeGreaterThan(1e-3);
  });
});

describe("MLP policy: ignored inputs", () => {
  it("an ignored input changes neither μ, nor ∂μ/∂x, nor the gradient, and its W1 column stays 0", () => {
    const shape = mlpShape(4, 6, 2);
    const sampler = new Sampler(seedGenerator(21));
    const theta = initParameters(shape, sampler);
    const norm = ignoreInputs(shape, { inputMean: Float64Array.of(1, 2, 3, 4), inputStd: Float64Array.of(1, 2, 3, 4) }, theta, [0]);
    expect(norm.inputStd[0]).toBe(Infinity);
    expect(norm.inputStd[1]).toBe(2);
    const policy = createPolicy(shape, norm);
    const ws = createWorkspace(shape, 2);
    const X = Float64Array.of(0.3, -1, 0.5, 2, 1e4, -1, 0.5, 2); // same state but x_0
    const out = new Float64Array(4);
    forward(policy, theta, X, 2, out, ws);
    expect(out[0]).toBe(out[2]);
    expect(out[1]).toBe(out[3]);
    expect(Number.isFinite(out[0])).toBe(true);
    const grad = new Float64Array(theta.length);
    backward(policy, theta, Float64Array.of(1, -2, 0.5, 3), 2, grad, ws);
    const L = parameterLayout(shape);
    for (let h = 0; h < 6; h++) expect(grad[L.w1 + h * 4]).toBe(0);
    const J = new Float64Array(8);
    meanJacobian(policy, theta, X, J, ws);
    expect(J[0]).toBe(0);
    expect(J[4]).toBe(0);
    expect(Math.abs(J[1])).toBeGreaterThan(0);
  });
});

describe("MLP policy: forward pass and mean Jacobian", () => {
  it("a batch forward equals per-sample forwards", () => {
    const { policy, theta, sampler } = randomSetup(11);
    const batch = 7;
    const X = randomStates(sampler, batch, policy.nIn);
    const ws = createWorkspace(policy, 10);
    const all = new Float64Array(batch * policy.nOut);
    forward(policy, theta, X, batch, all, ws);
    const one = new Float64Array(policy.nOut);
    const ws1 = createWorkspace(policy, 1);
    for (let r = 0; r < batch; r++) {
      forward(policy, theta, X.slice(r * policy.nIn, (r + 1) * policy.nIn), 1, one, ws1);
      expect(Array.from(one)).toEqual(Array.from(all.subarray(r * policy.nOut, (r + 1) * policy.nOut)));
    }
    expect(() => forward(policy, theta, X, 11, new Float64Array(11 * policy.nOut), ws)).toThrow();
    expect(() => forward(policy, theta.subarray(1), X, batch, all, ws)).toThrow();
  });

  it("the mean does not depend on logStd", () => {
    const { shape, policy, theta, sampler } = randomSetup(12);
    const X = randomStates(sampler, 4, policy.nIn);
    const other = Float64Array.from(theta);
    other.fill(3, parameterLayout(shape).logStd);
    expect(meansOf(policy, other, X, 4)).toEqual(meansOf(policy, theta, X, 4));
  });

  it("meanJacobian matches central differences with respect to the raw state", () => {
    for (const seed of [21, 22, 23]) {
      const { policy, theta, sampler } = randomSetup(seed, 6, 9, 4);
      const { nIn: n, nOut: m } = policy;
      const x = randomStates(sampler, 1, n);
      const ws = createWorkspace(policy, 1);
      const J = new Float64Array(m * n);
      const mu = new Float64Array(m);
      meanJacobian(policy, theta, x, J, ws, mu);
      expect(mu).toEqual(meansOf(policy, theta, x, 1));
      const Jfd = new Float64Array(m * n);
      const xp = Float64Array.from(x);
      const h = 1e-5;
      for (let i = 0; i < n; i++) {
        xp[i] = x[i] + h;
        const up = meansOf(policy, theta, xp, 1);
        xp[i] = x[i] - h;
        const dn = meansOf(policy, theta, xp, 1);
        xp[i] = x[i];
        for (let j = 0; j < m; j++) Jfd[j * n + i] = (up[j] - dn[j]) / (2 * h);
      }
      expect(relErr(J, Jfd)).toBeLessThan(1e-6);
      // With an offset into a longer array.
      const padded = new Float64Array(n + 3);
      padded.set(x, 3);
      const J2 = new Float64Array(m * n);
      meanJacobian(policy, theta, padded, J2, ws, undefined, 3);
      expect(J2).toEqual(J);
    }
  });
});

describe("MLP policy: gradients vs central differences", () => {
  it("backward accumulates the gradient of Σ g·μ over a batch", () => {
    const { shape, policy, theta, sampler } = randomSetup(31);
    const batch = 5;
    const X = randomStates(sampler, batch, policy.nIn);
    const G = randomMatrix(sampler, batch, policy.nOut);
    const ws = createWorkspace(shape, batch);
    const mu = new Float64Array(batch * policy.nOut);
    const f = (t: Float64Array): number => {
      const out = meansOf(policy, t, X, batch);
      let s = 0;
      for (let k = 0; k < out.length; k++) s += G[k] * out[k];
      return s;
    };
    forward(policy, theta, X, batch, mu, ws);
    const grad = new Float64Array(theta.length);
    backward(policy, theta, G, batch, grad, ws);
    const fd = fdGradient(f, theta);
    expect(relErr(grad, fd)).toBeLessThan(1e-6);
    const L = parameterLayout(shape);
    for (let k = L.logStd; k < L.total; k++) expect(grad[k]).toBe(0);
    // Accumulates rather than overwrites.
    backward(policy, theta, G, batch, grad, ws);
    for (let k = 0; k < grad.length; k++) expect(grad[k]).toBeCloseTo(2 * fd[k], 8);
    // Refuses a batch that the caches do not hold.
    expect(() => backward(policy, theta, G, batch - 1, grad, ws)).toThrow();
  });

  it("weightedFitLoss: value and analytic gradient (chunked batch, non-symmetric-safe)", () => {
    for (const seed of [41, 42]) {
      const { shape, policy, theta, sampler } = randomSetup(seed);
      const { nIn: n, nOut: m } = shape;
      const batch = 10;
      const X = randomStates(sampler, batch, n);
      const targets = randomMatrix(sampler, batch, m);
      const precisions = new Float64Array(batch * m * m);
      for (let i = 0; i < batch; i++) precisions.set(randomSpd(sampler, m, 0.3), i * m * m);
      const weights = new Float64Array(batch);
      for (let i = 0; i < batch; i++) weights[i] = 0.1 + sampler.uniform();
      const ws = createWorkspace(shape, 4); // 10 samples → chunks of 4, 4, 2
      // Reference value.
      const mu = meansOf(policy, theta, X, batch);
      let ref = 0;
      for (let i = 0; i < batch; i++) {
        let q = 0;
        for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) q += (mu[i * m + a] - targets[i * m + a]) * precisions[i * m * m + a * m + b] * (mu[i * m + b] - targets[i * m + b]);
        ref += weights[i] * 0.5 * q;
      }
      const grad = new Float64Array(theta.length).fill(99); // overwritten, not added to
      const loss = weightedFitLoss(policy, theta, X, targets, precisions, weights, grad, ws);
      expect(loss).toBeCloseTo(ref, 10);
      expect(weightedFitLoss(policy, theta, X, targets, precisions, weights, null, createWorkspace(shape, 32))).toBeCloseTo(ref, 10);
      const fd = fdGradient((t) => weightedFitLoss(policy, t, X, targets, precisions, weights, null, ws), theta);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
      const L = parameterLayout(shape);
      for (let k = L.logStd; k < L.total; k++) expect(grad[k]).toBe(0);
    }
  });

  it("weightedFitLoss uses the symmetric part of a non-symmetric precision consistently", () => {
    const { shape, policy, theta, sampler } = randomSetup(43, 3, 4, 2);
    const batch = 3;
    const X = randomStates(sampler, batch, 3);
    const targets = randomMatrix(sampler, batch, 2);
    const precisions = randomMatrix(sampler, batch, 4);
    const weights = Float64Array.of(1, 0.5, 2);
    const ws = createWorkspace(shape, batch);
    const grad = new Float64Array(theta.length);
    weightedFitLoss(policy, theta, X, targets, precisions, weights, grad, ws);
    const fd = fdGradient((t) => weightedFitLoss(policy, t, X, targets, precisions, weights, null, ws), theta);
    expect(relErr(grad, fd)).toBeLessThan(1e-6);
  });

  it("logProbability is the Gaussian log density, and its gradient (logStd included) matches FD", () => {
    for (const seed of [51, 52, 53]) {
      const { shape, policy, theta, sampler } = randomSetup(seed);
      const { nIn: n, nOut: m } = shape;
      const L = parameterLayout(shape);
      const x = randomStates(sampler, 1, n);
      const mu = meansOf(policy, theta, x, 1);
      const u = new Float64Array(m);
      for (let j = 0; j < m; j++) u[j] = mu[j] + Math.exp(theta[L.logStd + j]) * sampler.normal();
      const ws = createWorkspace(shape, 1);
      let ref = 0;
      for (let j = 0; j < m; j++) {
        const s = Math.exp(theta[L.logStd + j]);
        ref += -0.5 * ((u[j] - mu[j]) / s) ** 2 - Math.log(s * Math.sqrt(2 * Math.PI));
      }
      expect(logProbability(policy, theta, x, u, ws)).toBeCloseTo(ref, 12);
      const grad = new Float64Array(theta.length);
      const lp = logProbabilityGradient(policy, theta, x, u, grad, ws);
      expect(lp).toBeCloseTo(ref, 12);
      const fd = fdGradient((t) => logProbability(policy, t, x, u, ws), theta);
      expect(relErr(grad, fd)).toBeLessThan(1e-6);
      expect(relErr(grad.subarray(L.logStd), fd.subarray(L.logStd))).toBeLessThan(1e-6);
      // Scaled accumulation, and offsets into longer arrays.
      const xs = new Float64Array(2 * n);
      xs.set(x, n);
      const us = new Float64Array(m + 1);
      us.set(u, 1);
      const acc = Float64Array.from(grad);
      expect(logProbabilityGradient(policy, theta, xs, us, acc, ws, -0.5, n, 1)).toBeCloseTo(ref, 12);
      for (let k = 0; k < acc.length; k++) expect(acc[k]).toBeCloseTo(0.5 * grad[k], 12);
      expect(logProbability(policy, theta, xs, us, ws, n, 1)).toBeCloseTo(ref, 12);
    }
  });
});

describe("MLP policy: covariance closed form", () => {
  it("optimalLogStd minimizes Σ w_i ½ [tr(Σ P_i) − log|Σ|]", () => {
    const sampler = new Sampler(seedGenerator(61));
    const m = 4;
    const batch = 12;
    const precisions = new Float64Array(batch * m * m);
    for (let i = 0; i < batch; i++) precisions.set(randomSpd(sampler, m, 0.2 + i * 0.1), i * m * m);
    const weights = new Float64Array(batch);
    for (let i = 0; i < batch; i++) weights[i] = 0.05 + 2 * sampler.uniform();
    const ls = optimalLogStd(precisions, weights, m);
    // The formula itself.
    let wSum = 0;
    for (let i = 0; i < batch; i++) wSum += weights[i];
    for (let j = 0; j < m; j++) {
      let d = 0;
      for (let i = 0; i < batch; i++) d += weights[i] * precisions[i * m * m + j * m + j];
      expect(Math.exp(2 * ls[j])).toBeCloseTo(wSum / d, 12);
    }
    const best = covarianceFitLoss(ls, precisions, weights, m);
    // Coordinate and random perturbations only increase the objective.
    const p = Float64Array.from(ls);
    for (let j = 0; j < m; j++) {
      for (const d of [-0.1, -1e-3, 1e-3, 0.1]) {
        p.set(ls);
        p[j] += d;
        expect(covarianceFitLoss(p, precisions, weights, m)).toBeGreaterThan(best);
      }
    }
    for (let trial = 0; trial < 20; trial++) {
      for (let j = 0; j < m; j++) p[j] = ls[j] + 0.05 * sampler.normal();
      expect(covarianceFitLoss(p, precisions, weights, m)).toBeGreaterThan(best);
    }
    // Stationary: FD gradient at the optimum ≈ 0.
    const g = fdGradient((t) => covarianceFitLoss(t, precisions, weights, m), ls);
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-8);
    // Writes in place into θ's logStd block.
    const shape = mlpShape(3, 2, m);
    const L = parameterLayout(shape);
    const theta = new Float64Array(L.total);
    optimalLogStd(precisions, weights, m, theta, L.logStd);
    expect(theta.subarray(L.logStd)).toEqual(ls);
    expect(() => optimalLogStd(precisions, new Float64Array(batch), m)).toThrow();
  });
});

describe("MLP policy: training sanity", () => {
  it("plain gradient descent on weightedFitLoss fits a linear map (loss drops 100×)", () => {
    const sampler = new Sampler(seedGenerator(71));
    const n = 3;
    const m = 2;
    const count = 200;
    const A = randomMatrix(sampler, m, n);
    const c = Float64Array.of(0.5, -1);
    const X = randomStates(sampler, count, n);
    const norm = normalizationFrom(X, n);
    const targets = new Float64Array(count * m);
    for (let r = 0; r < count; r++) {
      for (let j = 0; j < m; j++) {
        let s = c[j];
        // Map on normalized states, so the targets are O(1).
        for (let i = 0; i < n; i++) s += A[j * n + i] * (X[r * n + i] - norm.inputMean[i]) / norm.inputStd[i];
        targets[r * m + j] = s;
      }
    }
    const precisions = new Float64Array(count * m * m);
    for (let r = 0; r < count; r++) for (let j = 0; j < m; j++) precisions[r * m * m + j * m + j] = 1;
    const weights = new Float64Array(count).fill(1 / count);
    const shape = mlpShape(n, 20, m);
    const policy = createPolicy(shape, norm);
    const theta = initParameters(shape, sampler);
    const ws = createWorkspace(shape, 64);
    const grad = new Float64Array(theta.length);
    const initial = weightedFitLoss(policy, theta, X, targets, precisions, weights, null, ws);
    let loss = initial;
    for (let step = 0; step < 400; step++) {
      loss = weightedFitLoss(policy, theta, X, targets, precisions, weights, grad, ws);
      for (let k = 0; k < theta.length; k++) theta[k] -= 0.2 * grad[k];
    }
    loss = weightedFitLoss(policy, theta, X, targets, precisions, weights, null, ws);
    expect(loss).toBeLessThan(initial / 100);
  });
});

describe("MLP policy: allocation-free hot paths", () => {
  it("10k forward/backward/jacobian/log-density calls barely grow the heap and trigger no GC", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const { shape, policy, theta, sampler } = randomSetup(81, 10, 20, 3);
    const batch = 8;
    const X = randomStates(sampler, batch, shape.nIn);
    const dMean = randomMatrix(sampler, batch, shape.nOut);
    const mu = new Float64Array(batch * shape.nOut);
    const grad = new Float64Array(theta.length);
    const J = new Float64Array(shape.nOut * shape.nIn);
    const u = new Float64Array(shape.nOut);
    const ws = createWorkspace(shape, batch);
    const run = (iterations: number): number => {
      let acc = 0;
      for (let it = 0; it < iterations; it++) {
        forward(policy, theta, X, batch, mu, ws);
        backward(policy, theta, dMean, batch, grad, ws);
        meanJacobian(policy, theta, X, J, ws);
        acc += logProbabilityGradient(policy, theta, X, u, grad, ws, 1e-6);
      }
      return acc;
    };
    const gcStarts: number[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcStarts.push(e.startTime);
    });
    observer.observe({ entryTypes: ["gc"] });
    try {
      run(3000); // warm up the JIT
      gc();
      const used = (): number => {
        const m = process.memoryUsage();
        return m.heapUsed + m.arrayBuffers;
      };
      const t0 = performance.now();
      const before = used();
      const acc = run(10_000);
      const growth = used() - before;
      await new Promise((resolve) => setTimeout(resolve, 50)); // let GC entries arrive
      expect(Number.isFinite(acc)).toBe(true);
      // A heap delta alone misses allocation when a scavenge runs mid-loop, so
      // also require that no GC ran. Measured: ~160 kB growth (V8 boxes the
      // returned log density, 16 B per call) and 0 GCs; one 4-entry
      // Float64Array per iteration already gives ~420 kB and a scavenge.
      expect(gcStarts.filter((t) => t >= t0)).toEqual([]);
      expect(growth).toBeLessThan(1_000_000);
    } finally {
      observer.disconnect();
    }
  });
});
