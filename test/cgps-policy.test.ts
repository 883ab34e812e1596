import { describe, expect, it } from "vitest";
import {
  costRamp,
  dualStep,
  expectedKl,
  fitNormalization,
  fitPolicy,
  policyFitBatch,
  renormalizePolicy,
  sampleTrainingStates,
  type PolicyFitCondition,
} from "../src/algorithms/cgps-policy.js";
import { cholesky, choleskySolveMat } from "../src/linalg/dense.js";
import {
  covarianceFitLoss,
  createPolicy,
  createWorkspace,
  forward,
  initParameters,
  mlpShape,
  parameterLayout,
  weightedFitLoss,
  type MlpPolicy,
} from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { gaussianKl } from "../src/trajopt/cgps-math.js";
import { meanAction, sampleTrajectories } from "../src/trajopt/linear-gaussian.js";
import type { LinearGaussianController } from "../src/trajopt/types.js";
import { randomLinearSystem, randomMatrix, randomSpd, type LinearSystem } from "./helpers/linear-system.js";

const NX = 4;
const NU = 2;
const T = 30;

/** Steady-state discrete LQR gain for x' = A x + B u, cost xᵀx + uᵀu: u = K x. */
function lqrGain(sys: LinearSystem, iterations = 300): Float64Array {
  const { A, B, nx, nu } = sys;
  let P = new Float64Array(nx * nx);
  for (let i = 0; i < nx; i++) P[i * nx + i] = 1;
  const K = new Float64Array(nu * nx);
  for (let it = 0; it < iterations; it++) {
    // PA = P A, PB = P B, S = I + Bᵀ P B, K = −S⁻¹ Bᵀ P A.
    const PA = new Float64Array(nx * nx);
    const PB = new Float64Array(nx * nu);
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) for (let p = 0; p < nx; p++) PA[i * nx + j] += P[i * nx + p] * A[p * nx + j];
      for (let j = 0; j < nu; j++) for (let p = 0; p < nx; p++) PB[i * nu + j] += P[i * nx + p] * B[p * nu + j];
    }
    const S = new Float64Array(nu * nu);
    const BtPA = new Float64Array(nu * nx);
    for (let a = 0; a < nu; a++) {
      for (let b = 0; b < nu; b++) {
        let s = a === b ? 1 : 0;
        for (let p = 0; p < nx; p++) s += B[p * nu + a] * PB[p * nu + b];
        S[a * nu + b] = s;
      }
      for (let j = 0; j < nx; j++) for (let p = 0; p < nx; p++) BtPA[a * nx + j] += B[p * nu + a] * PA[p * nx + j];
    }
    expect(cholesky(S, nu)).toBe(true);
    choleskySolveMat(S, nu, BtPA, nx);
    for (let k = 0; k < nu * nx; k++) K[k] = -BtPA[k];
    // P ← I + Aᵀ P (A + B K).
    const next = new Float64Array(nx * nx);
    for (let i = 0; i < nx; i++) {
      for (let j = 0; j < nx; j++) {
        let s = i === j ? 1 : 0;
        for (let p = 0; p < nx; p++) {
          let cl = PA[p * nx + j];
          for (let a = 0; a < nu; a++) cl += PB[p * nu + a] * K[a * nx + j];
          s += A[p * nx + i] * cl;
        }
        next[i * nx + j] = s;
      }
    }
    P = next;
  }
  return K;
}

/**
 * A fixed linear-Gaussian q around a nonzero nominal: K_t = LQR gain (+ a
 * small time variation when `timeVarying`), small random k_t, ū_t, x̄_t, and
 * either a random SPD cov_t or the constant diag(σ²).
 */
function makeController(sys: LinearSystem, seed: number, opts: { timeVarying: boolean; diagonalStd?: number }): LinearGaussianController {
  const s = new Sampler(seedGenerator(seed));
  const K0 = lqrGain(sys);
  const K = new Float64Array(T * NU * NX);
  const k = new Float64Array(T * NU);
  const ubar = new Float64Array(T * NU);
  const xbar = new Float64Array((T + 1) * NX);
  const cov = new Float64Array(T * NU * NU);
  const kConst = randomMatrix(s, NU, 1, 0.2);
  for (let t = 0; t < T; t++) {
    const dK = opts.timeVarying ? randomMatrix(s, NU, NX, 0.05) : new Float64Array(NU * NX);
    for (let e = 0; e < NU * NX; e++) K[t * NU * NX + e] = K0[e] + dK[e];
    const kt = opts.timeVarying ? randomMatrix(s, NU, 1, 0.2) : kConst;
    k.set(kt, t * NU);
    if (opts.timeVarying) {
      ubar.set(randomMatrix(s, NU, 1, 0.1), t * NU);
      xbar.set(randomMatrix(s, NX, 1, 0.1), t * NX);
    }
    if (opts.diagonalStd !== undefined) {
      for (let a = 0; a < NU; a++) cov[t * NU * NU + a * NU + a] = opts.diagonalStd ** 2;
    } else {
      const C = randomSpd(s, NU, 0.5);
      for (let e = 0; e < NU * NU; e++) cov[t * NU * NU + e] = 0.02 * C[e];
    }
  }
  return { T, nx: NX, nu: NU, xbar, ubar, K, k, cov };
}

const X0A = Float64Array.from([1, -0.5, 0.8, 0.3]);
const X0B = Float64Array.from([-0.6, 0.9, -0.2, -1]);

function conditions(sys: LinearSystem, qs: LinearGaussianController[], x0s: Float64Array[], count: number, seed: number, lambda = 1): PolicyFitCondition[] {
  const sampler = new Sampler(seedGenerator(seed));
  return qs.map((q, c) => ({
    q,
    states: sampleTrainingStates(sys.dyn, q, x0s[c], count, sampler),
    count,
    lambda: new Float64Array(q.T).fill(lambda),
  }));
}

function freshPolicy(batchX: ReturnType<typeof policyFitBatch>, hidden: number, seed: number): { policy: MlpPolicy; theta: Float64Array } {
  const policy = createPolicy(mlpShape(NX, hidden, NU), fitNormalization(batchX, NX));
  const theta = initParameters(policy, new Sampler(seedGenerator(seed)));
  return { policy, theta };
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe("sampleTrainingStates and policyFitBatch", () => {
  const sys = randomLinearSystem(11, NX, NU);
  const qA = makeController(sys, 21, { timeVarying: true });
  const qB = makeController(sys, 22, { timeVarying: true });

  it("samples are the rollouts of q with its noise (sampleTrajectories on the same stream)", () => {
    const states = sampleTrainingStates(sys.dyn, qA, X0A, 5, new Sampler(seedGenerator(3)));
    const ref = sampleTrajectories(sys.dyn, qA, X0A, 5, new Sampler(seedGenerator(3)));
    expect(states.length).toBe(5 * (T + 1) * NX);
    expect(Array.from(states)).toEqual(Array.from(ref.xs));
    // Every sample starts at x0 and the samples differ (the noise is on).
    for (let i = 0; i < 5; i++) expect(Array.from(states.subarray(i * (T + 1) * NX, i * (T + 1) * NX + NX))).toEqual(Array.from(X0A));
    expect(states[(T + 1) * NX + 2 * NX]).not.toBe(states[2 * NX]);
  });

  it("(f) has the documented shapes, row order and contents", () => {
    const conds = conditions(sys, [qA, qB], [X0A, X0B], 3, 5);
    conds[1] = { ...conds[1], lambda: Float64Array.from({ length: T }, (_, t) => 0.5 + t) };
    const b = policyFitBatch(conds);
    const N = 2 * 3 * T;
    expect(b.N).toBe(N);
    expect([b.n, b.m]).toEqual([NX, NU]);
    expect(b.X.length).toBe(N * NX);
    expect(b.targets.length).toBe(N * NU);
    expect(b.precisions.length).toBe(N * NU * NU);
    expect(b.weights.length).toBe(N);
    // Row of condition 1, sample 2, step 7.
    const c = 1, i = 2, t = 7;
    const row = c * 3 * T + i * T + t;
    const src = (i * (T + 1) + t) * NX;
    expect(Array.from(b.X.subarray(row * NX, (row + 1) * NX))).toEqual(Array.from(conds[c].states.subarray(src, src + NX)));
    const u = new Float64Array(NU);
    meanAction(qB, t, conds[c].states, src, u, 0);
    expect(Array.from(b.targets.subarray(row * NU, (row + 1) * NU))).toEqual(Array.from(u));
    // Absolute coordinates: ū + k + K (x − x̄) by hand.
    for (let a = 0; a < NU; a++) {
      let s = qB.ubar[t * NU + a] + qB.k[t * NU + a];
      for (let j = 0; j < NX; j++) s += qB.K[(t * NU + a) * NX + j] * (conds[c].states[src + j] - qB.xbar[t * NX + j]);
      expect(b.targets[row * NU + a]).toBeCloseTo(s, 12);
    }
    expect(b.weights[row]).toBe(0.5 + t);
    // P · A_t = I, and P symmetric.
    const P = b.precisions.subarray(row * 4, row * 4 + 4);
    const A = qB.cov.subarray(t * 4, t * 4 + 4);
    for (let r = 0; r < NU; r++) {
      for (let col = 0; col < NU; col++) {
        let s = 0;
        for (let p = 0; p < NU; p++) s += P[r * NU + p] * A[p * NU + col];
        expect(s).toBeCloseTo(r === col ? 1 : 0, 12);
      }
    }
    expect(P[1]).toBe(P[2]);
  });

  it("rejects a non-PD covariance, negative λ and wrong shapes", () => {
    const conds = conditions(sys, [qA], [X0A], 2, 5);
    const bad = { ...qA, cov: Float64Array.from(qA.cov) };
    bad.cov[3 * 4] = -1;
    expect(() => policyFitBatch([{ ...conds[0], q: bad }])).toThrow(/not positive definite/);
    const neg = Float64Array.from(conds[0].lambda);
    neg[4] = -0.1;
    expect(() => policyFitBatch([{ ...conds[0], lambda: neg }])).toThrow(/lambda\[4\]/);
    expect(() => policyFitBatch([{ ...conds[0], count: 3 }])).toThrow(/states/);
    expect(() => policyFitBatch([])).toThrow(/no conditions/);
  });
});

describe("fitPolicy and expectedKl", () => {
  const sys = randomLinearSystem(11, NX, NU);

  it("(a) the policy step cuts the fit loss > 10× and drives the KL to a fixed q down", () => {
    const qA = makeController(sys, 21, { timeVarying: true });
    const qB = makeController(sys, 22, { timeVarying: true });
    const conds = conditions(sys, [qA, qB], [X0A, X0B], 10, 7);
    const batch = policyFitBatch(conds);
    const { policy, theta } = freshPolicy(batch, 20, 9);
    const res = fitPolicy(policy, theta, batch, { maxIterations: 200 });
    const L = parameterLayout(policy);
    expect(res.loss0).toBeGreaterThan(10 * res.loss);
    expect(res.objective).toBeLessThan(res.objective0);
    for (const [c, q] of [qA, qB].entries()) {
      const before = expectedKl(policy, theta, q, conds[c].states, 10);
      const after = expectedKl(policy, res.theta, q, conds[c].states, 10);
      expect(before.perStep.length).toBe(T);
      expect(after.mean).toBeLessThan(0.1 * before.mean);
      // What no state-only policy with a diagonal, state-independent Σ^π can
      // remove: the covariance part of the KL (full A_t vs diagonal Σ^π).
      let floor = 0;
      for (let t = 0; t < T; t++) {
        floor += gaussianKl(new Float64Array(NU), Float64Array.from([Math.exp(2 * res.theta[L.logStd]), 0, 0, Math.exp(2 * res.theta[L.logStd + 1])]), new Float64Array(NU), q.cov.subarray(t * 4, t * 4 + 4), NU) / T;
      }
      expect(after.mean).toBeGreaterThan(floor);
      console.info(`(a) condition ${c}: loss ${res.loss0.toPrecision(4)} → ${res.loss.toPrecision(4)} (×${(res.loss0 / res.loss).toFixed(1)}) in ${res.iterations} its (${res.reason}); mean KL ${before.mean.toPrecision(4)} → ${after.mean.toPrecision(4)} (covariance floor ${floor.toPrecision(3)})`);
    }
    // The loss the LBFGS fit reports is weightedFitLoss at the returned θ (the batched
    // kernels it ran on agree with the per-row reference to rounding).
    const ws = createWorkspace(policy, 64);
    const reference = weightedFitLoss(policy, res.theta, batch.X, batch.targets, batch.precisions, batch.weights, null, ws);
    expect(Math.abs(reference - res.loss)).toBeLessThanOrEqual(1e-12 * reference);
  });

  it("(b) a 50-hidden-unit policy fits a linear q closely", () => {
    const q = makeController(sys, 31, { timeVarying: false, diagonalStd: 0.1 });
    const conds = conditions(sys, [q], [X0A], 20, 8);
    const batch = policyFitBatch(conds);
    const { policy, theta } = freshPolicy(batch, 50, 10);
    const res = fitPolicy(policy, theta, batch, { maxIterations: 1000 });
    const kl = expectedKl(policy, res.theta, q, conds[0].states, 20);
    // Held-out states from fresh rollouts of q.
    const test = sampleTrainingStates(sys.dyn, q, X0A, 20, new Sampler(seedGenerator(99)));
    const klTest = expectedKl(policy, res.theta, q, test, 20);
    // With cov = 0.1²·I and the closed-form σ = 0.1 the KL is ½‖μ^π − μ^q‖² / 0.01:
    // mean KL 2e-4 is an RMS action error per component of 0.0014, against an
    // RMS target action of 0.13.
    let ss = 0;
    for (const v of batch.targets) ss += v * v;
    console.info(`(b) 50 units: loss ${res.loss0.toPrecision(4)} → ${res.loss.toPrecision(4)} in ${res.iterations} its (${res.reason}); RMS target ${Math.sqrt(ss / batch.targets.length).toPrecision(3)}; mean KL train ${kl.mean.toExponential(3)}, held-out ${klTest.mean.toExponential(3)}, max_t ${maxAbs(kl.perStep).toExponential(3)}`);
    expect(kl.mean).toBeLessThan(2e-4);
    expect(klTest.mean).toBeLessThan(3e-4);
    const L = parameterLayout(policy);
    for (let j = 0; j < NU; j++) expect(res.theta[L.logStd + j]).toBeCloseTo(Math.log(0.1), 12);
  });

  it("(c) logStd is the closed form σ_j² = Σ w_i / Σ w_i (P_i)_jj and minimizes the covariance loss", () => {
    const q = makeController(sys, 41, { timeVarying: true });
    const conds = conditions(sys, [q], [X0A], 4, 12);
    conds[0] = { ...conds[0], lambda: Float64Array.from({ length: T }, (_, t) => 0.1 + 0.05 * t) };
    const batch = policyFitBatch(conds);
    const { policy, theta } = freshPolicy(batch, 10, 13);
    const res = fitPolicy(policy, theta, batch, { maxIterations: 5 });
    const L = parameterLayout(policy);
    for (let j = 0; j < NU; j++) {
      let w = 0, d = 0;
      for (let t = 0; t < T; t++) {
        // A_t⁻¹ diagonal of a 2×2 SPD matrix by hand.
        const a = q.cov[t * 4], b = q.cov[t * 4 + 1], c = q.cov[t * 4 + 3];
        const det = a * c - b * b;
        const pjj = (j === 0 ? c : a) / det;
        w += 4 * conds[0].lambda[t];
        d += 4 * conds[0].lambda[t] * pjj;
      }
      expect(res.theta[L.logStd + j]).toBeCloseTo(0.5 * Math.log(w / d), 12);
    }
    const f0 = covarianceFitLoss(res.theta, batch.precisions, batch.weights, NU, L.logStd);
    for (const delta of [-1e-3, 1e-3]) {
      for (let j = 0; j < NU; j++) {
        const p = Float64Array.from(res.theta.subarray(L.logStd, L.total));
        p[j] += delta;
        expect(covarianceFitLoss(p, batch.precisions, batch.weights, NU)).toBeGreaterThan(f0);
      }
    }
    // The mean blocks came from LBFGS only; θ0 is untouched.
    expect(Array.from(theta.subarray(L.logStd, L.total))).toEqual([0, 0]);
  });

  it("all-zero λ leaves θ unchanged ('noWeight')", () => {
    const q = makeController(sys, 41, { timeVarying: true });
    const batch = policyFitBatch(conditions(sys, [q], [X0A], 2, 12, 0));
    const { policy, theta } = freshPolicy(batch, 5, 13);
    const res = fitPolicy(policy, theta, batch, { maxIterations: 10 });
    expect(res.reason).toBe("noWeight");
    expect(Array.from(res.theta)).toEqual(Array.from(theta));
  });

  it("expectedKl is ½(tr + quad − m + logdets) per sample, by hand", () => {
    const q = makeController(sys, 51, { timeVarying: true });
    const count = 3;
    const states = sampleTrainingStates(sys.dyn, q, X0A, count, new Sampler(seedGenerator(4)));
    const policy = createPolicy(mlpShape(NX, 6, NU));
    const theta = initParameters(policy, new Sampler(seedGenerator(5)), { initLogStd: -1.3 });
    const kl = expectedKl(policy, theta, q, states, count);
    const ws = createWorkspace(policy, 1);
    const mu = new Float64Array(NU);
    const uq = new Float64Array(NU);
    for (const t of [0, 13, T - 1]) {
      let s = 0;
      for (let i = 0; i < count; i++) {
        const x = states.subarray((i * (T + 1) + t) * NX, (i * (T + 1) + t + 1) * NX);
        forward(policy, theta, x, 1, mu, ws);
        meanAction(q, t, x, 0, uq, 0);
        const a = q.cov[t * 4], b = q.cov[t * 4 + 1], c = q.cov[t * 4 + 3];
        const det = a * c - b * b;
        const P = [c / det, -b / det, -b / det, a / det];
        const v = Math.exp(2 * -1.3);
        const tr = v * (P[0] + P[3]);
        const d0 = uq[0] - mu[0], d1 = uq[1] - mu[1];
        const quad = d0 * (P[0] * d0 + P[1] * d1) + d1 * (P[2] * d0 + P[3] * d1);
        s += 0.5 * (tr + quad - NU + Math.log(det) - 2 * Math.log(v));
      }
      expect(kl.perStep[t]).toBeCloseTo(s / count, 10);
    }
    let m = 0;
    for (const v of kl.perStep) m += v;
    expect(kl.mean).toBeCloseTo(m / T, 14);
  });

  it("(e) sampling, batch, fit and KL are bit-identical when repeated", () => {
    const run = () => {
      const qA = makeController(sys, 21, { timeVarying: true });
      const qB = makeController(sys, 22, { timeVarying: true });
      const conds = conditions(sys, [qA, qB], [X0A, X0B], 5, 77);
      const batch = policyFitBatch(conds);
      const { policy, theta } = freshPolicy(batch, 10, 78);
      const res = fitPolicy(policy, theta, batch, { maxIterations: 40 });
      const kl = expectedKl(policy, res.theta, qA, conds[0].states, 5);
      return [batch.X, batch.targets, batch.precisions, batch.weights, policy.inputMean, policy.inputStd, res.theta, kl.perStep, Float64Array.of(res.loss, res.loss0, kl.mean, res.iterations)];
    };
    const a = run();
    const b = run();
    for (let k = 0; k < a.length; k++) {
      expect(Buffer.from(a[k].buffer, a[k].byteOffset, a[k].byteLength).equals(Buffer.from(b[k].buffer, b[k].byteOffset, b[k].byteLength))).toBe(true);
    }
  });

  it("renormalizePolicy keeps μ^π while changing the normalization", () => {
    const q = makeController(sys, 21, { timeVarying: true });
    const batch = policyFitBatch(conditions(sys, [q], [X0A], 3, 5));
    const { policy, theta } = freshPolicy(batch, 8, 6);
    const next = renormalizePolicy(policy, theta, { inputMean: Float64Array.from([0.3, -2, 1, 0]), inputStd: Float64Array.from([0.5, 3, 1, 0.1]) });
    const ws = createWorkspace(policy, batch.N);
    const a = new Float64Array(batch.N * NU);
    const b = new Float64Array(batch.N * NU);
    forward(policy, theta, batch.X, batch.N, a, ws);
    forward(next.policy, next.theta, batch.X, batch.N, b, ws);
    for (let k = 0; k < a.length; k++) expect(b[k]).toBeCloseTo(a[k], 12);
  });
});

describe("dualStep and costRamp", () => {
  it("(d) λ grows where KL > 0, is unchanged where KL = 0, and never goes negative", () => {
    const lambda = Float64Array.from([0, 1, 2, 0.05]);
    const kl = Float64Array.from([0.5, 0, 3, 0.01]);
    const next = dualStep(lambda, kl, 0.1);
    expect(Array.from(next)).toEqual([0.05, 1, 2.3, 0.05 + 0.1 * 0.01]);
    expect(Array.from(lambda)).toEqual([0, 1, 2, 0.05]); // input untouched
    // With a slack the step can push λ down, but the projection keeps it ≥ 0.
    const slack = dualStep(lambda, kl, 10, 0.02);
    expect(Array.from(slack)).toEqual([0 + 10 * 0.48, 1 - 0.2, 2 + 10 * 2.98, 0]);
    for (const v of slack) expect(v).toBeGreaterThanOrEqual(0);
    expect(() => dualStep(lambda, kl.subarray(0, 3), 0.1)).toThrow();
    expect(() => dualStep(lambda, Float64Array.from([NaN, 0, 0, 0]), 0.1)).toThrow();
    expect(() => dualStep(lambda, kl, -1)).toThrow();
  });

  it("costRamp goes geometrically from 1/10 to 1 over the first 50 iterations", () => {
    expect(costRamp(0)).toBeCloseTo(0.1, 15);
    expect(costRamp(25)).toBeCloseTo(Math.sqrt(0.1), 15);
    expect(costRamp(50)).toBe(1);
    expect(costRamp(80)).toBe(1);
    for (let k = 0; k < 50; k++) {
      expect(costRamp(k + 1) / costRamp(k)).toBeCloseTo(Math.pow(10, 1 / 50), 12);
    }
    expect(costRamp(3, 0)).toBe(1);
    expect(costRamp(5, 10, 100)).toBeCloseTo(0.1, 15);
    expect(() => costRamp(-1)).toThrow();
  });
});
