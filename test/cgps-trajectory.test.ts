import { describe, it, expect } from "vitest";
import { Matrix, inverse } from "ml-matrix";
import {
  covariancePass,
  initialCgpsTrajectory,
  laplaceLagrangian,
  meanLagrangian,
  meanPass,
  stateCovariances,
  trajectoryStep,
  type CgpsTrajectory,
  type TrajectoryStepInfo,
} from "../src/trajopt/cgps-trajectory.js";
import {
  affinePolicyMean,
  allocPolicyLinearization,
  linearizePolicy,
  linearizePolicyMonteCarlo,
  shiftPolicyLinearization,
  type PolicyLinearization,
} from "../src/trajopt/policy-linearization.js";
import { backwardPass, defaultIlqgSettings, ilqgIteration, initialTrajectory, lqApproximation, type IlqgSettings } from "../src/trajopt/ilqg.js";
import { createPolicy, createWorkspace, forward, initParameters, mlpShape, parameterLayout } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import type { Cost, TrajectoryDynamics } from "../src/trajopt/types.js";
import { maxAbsDiff } from "./helpers/compare.js";
import {
  pendulumCost,
  pendulumDynamics,
  quadraticCost,
  randomLinearSystem,
  randomMatrix,
  randomQuadraticCostTerms,
  type LinearSystem,
} from "./helpers/linear-system.js";

const nx = 4;
const nu = 2;
const T = 20;

const exact: IlqgSettings = { ...defaultIlqgSettings, muInit: 0 };
const mat = (a: ArrayLike<number>, r: number, c: number): Matrix => Matrix.from1DArray(r, c, Array.from(a));

function maxAbs(a: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]));
  return e;
}

/** An arbitrary affine "policy": μ^π(x) = P x + c, fixed diagonal Σ^π. */
interface AffinePolicy {
  readonly P: Float64Array; // nu·nx
  readonly c: Float64Array; // nu
  readonly sigma: Float64Array; // nu·nu
  linearize(xs: Float64Array): PolicyLinearization;
  mean(x: Float64Array, xOff: number, out: Float64Array, outOff: number): void;
}

function affinePolicy(seed: number): AffinePolicy {
  const s = new Sampler(seedGenerator(seed));
  const P = randomMatrix(s, nu, nx, 0.3);
  const c = randomMatrix(s, nu, 1, 0.5);
  const sigma = new Float64Array(nu * nu);
  sigma[0] = 0.04;
  sigma[3] = 0.09;
  const mean = (x: Float64Array, xOff: number, out: Float64Array, outOff: number): void => {
    for (let a = 0; a < nu; a++) {
      let v = c[a];
      for (let j = 0; j < nx; j++) v += P[a * nx + j] * x[xOff + j];
      out[outOff + a] = v;
    }
  };
  return {
    P,
    c,
    sigma,
    mean,
    linearize(xs) {
      const lin = allocPolicyLinearization(T, nx, nu);
      for (let t = 0; t < T; t++) {
        mean(xs, t * nx, lin.mu, t * nu);
        lin.muX.set(P, t * nu * nx);
        lin.sigma.set(sigma, t * nu * nu);
      }
      return lin;
    },
  };
}

interface Problem {
  readonly sys: LinearSystem;
  readonly dyn: TrajectoryDynamics;
  readonly cost: Cost;
  readonly pol: AffinePolicy;
  readonly traj0: CgpsTrajectory;
  readonly il0: ReturnType<typeof initialTrajectory>;
}

function problem(seed = 1, settings: IlqgSettings = exact): Problem {
  const sys = randomLinearSystem(seed, nx, nu);
  const cost = quadraticCost(nx, nu, randomQuadraticCostTerms(seed + 100, nx, nu));
  const s = new Sampler(seedGenerator(seed + 200));
  const x0 = randomMatrix(s, nx, 1);
  const us = randomMatrix(s, T, nu, 0.3);
  const il = initialTrajectory(sys.dyn, cost, x0, us, settings);
  const traj0 = initialCgpsTrajectory(sys.dyn, cost, il, settings);
  return { sys, dyn: sys.dyn, cost, pol: affinePolicy(seed + 300), traj0, il0: il };
}

function constLambda(v: number): Float64Array {
  return new Float64Array(T).fill(v);
}

/** Run `n` steps, relinearizing the affine policy at every nominal. */
function run(p: Problem, lambda: Float64Array, n: number, settings: IlqgSettings) {
  let traj = p.traj0;
  const infos: TrajectoryStepInfo[] = [];
  for (let i = 0; i < n; i++) {
    const r = trajectoryStep(p.dyn, p.cost, traj, p.pol.linearize(traj.xbar), lambda, settings, {
      relinearizePolicy: (q) => p.pol.linearize(q.xbar),
    });
    traj = r.trajectory;
    infos.push(r.info);
  }
  return { traj, infos };
}

/**
 * Independent (ml-matrix) recomputation of Q_uu,t from the final K, A of a
 * covariance pass: L_xx,T = 0, Q_uu = l_uu + f_uᵀ L_xx,t+1 f_u, and
 * L_xx,t = Q_xx + KᵀQ_uu K + KᵀQ_ux + Q_uxᵀK + λ(K − μ_x)ᵀA⁻¹(K − μ_x).
 */
function quuFromFinal(p: Problem, lq: ReturnType<typeof lqApproximation>, K: Float64Array, A: Float64Array, lin: PolicyLinearization, lambda: Float64Array): Matrix[] {
  const F = mat(p.sys.A, nx, nx);
  const G = mat(p.sys.B, nx, nu);
  let Lxx = Matrix.zeros(nx, nx);
  const out: Matrix[] = new Array(T);
  for (let t = T - 1; t >= 0; t--) {
    const Quu = Matrix.add(mat(lq.luu.subarray(t * nu * nu, (t + 1) * nu * nu), nu, nu), G.transpose().mmul(Lxx).mmul(G));
    const Qux = Matrix.add(mat(lq.lux.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx), G.transpose().mmul(Lxx).mmul(F));
    const Qxx = Matrix.add(mat(lq.lxx.subarray(t * nx * nx, (t + 1) * nx * nx), nx, nx), F.transpose().mmul(Lxx).mmul(F));
    out[t] = Matrix.mul(Matrix.add(Quu, Quu.transpose()), 0.5);
    const Kt = mat(K.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx);
    const D = Matrix.sub(Kt, mat(lin.muX.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx));
    const Ainv = inverse(mat(A.subarray(t * nu * nu, (t + 1) * nu * nu), nu, nu));
    Lxx = Qxx
      .clone()
      .add(Kt.transpose().mmul(Quu).mmul(Kt))
      .add(Kt.transpose().mmul(Qux))
      .add(Qux.transpose().mmul(Kt))
      .add(Matrix.mul(D.transpose().mmul(Ainv).mmul(D), lambda[t]));
    Lxx = Matrix.mul(Matrix.add(Lxx, Lxx.transpose()), 0.5);
  }
  return out;
}

/** max_t ‖A Q_uu A + (λ−1)A − λM‖_max / max(1, ‖λM‖_max), M from K_t and S_t. */
function equation8Residual(Quu: Matrix[], K: Float64Array, A: Float64Array, S: Float64Array, ubar: Float64Array, lin: PolicyLinearization, lambda: Float64Array): number {
  let worst = 0;
  for (let t = 0; t < T; t++) {
    const At = mat(A.subarray(t * nu * nu, (t + 1) * nu * nu), nu, nu);
    const d = Matrix.sub(mat(ubar.subarray(t * nu, (t + 1) * nu), nu, 1), mat(lin.mu.subarray(t * nu, (t + 1) * nu), nu, 1));
    const D = Matrix.sub(mat(K.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx), mat(lin.muX.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx));
    const M = mat(lin.sigma.subarray(t * nu * nu, (t + 1) * nu * nu), nu, nu)
      .add(d.mmul(d.transpose()))
      .add(D.mmul(mat(S.subarray(t * nx * nx, (t + 1) * nx * nx), nx, nx)).mmul(D.transpose()));
    const lam = lambda[t];
    const R = At.mmul(Quu[t]).mmul(At).add(Matrix.mul(At, lam - 1)).sub(Matrix.mul(M, lam));
    worst = Math.max(worst, Math.max(R.max(), -R.min()) / Math.max(1, lam * Math.max(M.max(), -M.min())));
  }
  return worst;
}

function frob(a: Float64Array, off: number, b: Float64Array, bOff: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += (a[off + i] - b[bOff + i]) ** 2;
  return Math.sqrt(s);
}

// ---------------------------------------------------------------------------

describe("policy linearization", () => {
  const shape = mlpShape(nx, 6, nu);
  const s = new Sampler(seedGenerator(11));
  const policy = createPolicy(shape);
  const theta = initParameters(shape, s, { initLogStd: -1 });
  theta[parameterLayout(shape).logStd + 1] = -0.5;
  const xs = randomMatrix(s, T + 1, nx);

  it("writes the absolute mean, the raw-state Jacobian (finite differences) and diag(exp(2·logStd))", () => {
    const lin = linearizePolicy(policy, theta, xs, T, allocPolicyLinearization(T, nx, nu));
    const ws = createWorkspace(shape, 1);
    const out = new Float64Array(nu);
    const out2 = new Float64Array(nu);
    let jacErr = 0;
    for (let t = 0; t < T; t++) {
      forward(policy, theta, xs.subarray(t * nx, (t + 1) * nx), 1, out, ws);
      expect(maxAbsDiff(lin.mu.subarray(t * nu, (t + 1) * nu), out)).toBeLessThan(1e-14);
      for (let j = 0; j < nx; j++) {
        const xp = Float64Array.from(xs.subarray(t * nx, (t + 1) * nx));
        const xm = Float64Array.from(xp);
        xp[j] += 1e-6;
        xm[j] -= 1e-6;
        forward(policy, theta, xp, 1, out, ws);
        forward(policy, theta, xm, 1, out2, ws);
        for (let a = 0; a < nu; a++) jacErr = Math.max(jacErr, Math.abs((out[a] - out2[a]) / 2e-6 - lin.muX[(t * nu + a) * nx + j]));
      }
      expect(Array.from(lin.sigma.subarray(t * 4, t * 4 + 4))).toEqual([Math.exp(-2), 0, 0, Math.exp(-1)]);
    }
    expect(jacErr).toBeLessThan(1e-8);
  });

  it("Monte Carlo: one sample (the nominal) equals linearizePolicy; several give the sample averages", () => {
    const lin = linearizePolicy(policy, theta, xs, T, allocPolicyLinearization(T, nx, nu));
    const one = linearizePolicyMonteCarlo(policy, theta, xs, 1, allocPolicyLinearization(T, nx, nu));
    expect(Array.from(one.mu)).toEqual(Array.from(lin.mu));
    expect(Array.from(one.muX)).toEqual(Array.from(lin.muX));
    expect(Array.from(one.sigma)).toEqual(Array.from(lin.sigma));

    const count = 3;
    const samples = new Float64Array(count * (T + 1) * nx);
    const singles: PolicyLinearization[] = [];
    for (let i = 0; i < count; i++) {
      const xi = randomMatrix(s, T + 1, nx);
      samples.set(xi, i * (T + 1) * nx);
      singles.push(linearizePolicy(policy, theta, xi, T, allocPolicyLinearization(T, nx, nu)));
    }
    const mc = linearizePolicyMonteCarlo(policy, theta, samples, count, allocPolicyLinearization(T, nx, nu));
    const avg = (f: (l: PolicyLinearization) => Float64Array) => f(singles[0]).map((_, k) => singles.reduce((acc, l) => acc + f(l)[k], 0) / count);
    expect(maxAbsDiff(mc.mu, avg((l) => l.mu))).toBeLessThan(1e-14);
    expect(maxAbsDiff(mc.muX, avg((l) => l.muX))).toBeLessThan(1e-14);
    expect(maxAbsDiff(mc.sigma, lin.sigma)).toBe(0);
    expect(() => linearizePolicyMonteCarlo(policy, theta, samples.subarray(1), count, allocPolicyLinearization(T, nx, nu))).toThrow();
  });

  it("shiftPolicyLinearization re-centres an affine model exactly", () => {
    const pol = affinePolicy(5);
    const a = randomMatrix(s, T + 1, nx);
    const b = randomMatrix(s, T + 1, nx);
    const shifted = shiftPolicyLinearization(pol.linearize(a), T, nx, nu, a, b);
    expect(maxAbsDiff(shifted.mu, pol.linearize(b).mu)).toBeLessThan(1e-14);
    const out = new Float64Array(nu);
    const ref = new Float64Array(nu);
    affinePolicyMean(pol.linearize(a), 3, nx, nu, a, b, 3 * nx, out);
    pol.mean(b, 3 * nx, ref, 0);
    expect(maxAbsDiff(out, ref)).toBeLessThan(1e-14);
  });
});

describe("stateCovariances", () => {
  it("propagates S_{t+1} = [f_x f_u] Σ_t [f_x f_u]ᵀ + F_t with Σ_t the joint covariance", () => {
    const p = problem(3);
    const s = new Sampler(seedGenerator(4));
    const lq = lqApproximation(p.dyn, p.cost, p.traj0);
    const K = randomMatrix(s, T * nu, nx, 0.2);
    const A = new Float64Array(T * nu * nu);
    for (let t = 0; t < T; t++) A.set([0.5, 0.1, 0.1, 0.3], t * 4);
    const S0 = new Float64Array(nx * nx);
    for (let i = 0; i < nx; i++) S0[i * nx + i] = 0.01 * (i + 1);
    const F = new Float64Array(T * nx * nx);
    for (let t = 0; t < T; t++) for (let i = 0; i < nx; i++) F[t * nx * nx + i * nx + i] = 1e-3;
    const S = stateCovariances(lq, K, A, S0, F);
    const fxu = Matrix.zeros(nx, nx + nu);
    fxu.setSubMatrix(mat(p.sys.A, nx, nx), 0, 0);
    fxu.setSubMatrix(mat(p.sys.B, nx, nu), 0, nx);
    let St = mat(S0, nx, nx);
    let err = maxAbsDiff(S.subarray(0, nx * nx), S0);
    for (let t = 0; t < T; t++) {
      const Kt = mat(K.subarray(t * nu * nx, (t + 1) * nu * nx), nu, nx);
      const Sig = Matrix.zeros(nx + nu, nx + nu);
      Sig.setSubMatrix(St, 0, 0);
      Sig.setSubMatrix(St.mmul(Kt.transpose()), 0, nx);
      Sig.setSubMatrix(Kt.mmul(St), nx, 0);
      Sig.setSubMatrix(Kt.mmul(St).mmul(Kt.transpose()).add(mat(A.subarray(t * 4, t * 4 + 4), nu, nu)), nx, nx);
      St = fxu.mmul(Sig).mmul(fxu.transpose()).add(mat(F.subarray(t * nx * nx, (t + 1) * nx * nx), nx, nx));
      err = Math.max(err, maxAbsDiff(S.subarray((t + 1) * nx * nx, (t + 2) * nx * nx), St.to1DArray()) / Math.max(1, St.max(), -St.min()));
    }
    expect(err).toBeLessThan(1e-12);
  });
});

describe("(a) λ = 0 reduces to max-entropy iLQG", () => {
  it("trajectoryStep's mean-pass gains are ilqg.ts's backward pass, its nominal iLQG's, and A = Q_uu⁻¹", () => {
    const p = problem(1);
    const lam0 = constLambda(0);
    const lq = lqApproximation(p.dyn, p.cost, p.traj0);
    const bp = backwardPass(lq, { mu: 0, muFactor: 1 }, exact);
    const r = trajectoryStep(p.dyn, p.cost, p.traj0, p.pol.linearize(p.traj0.xbar), lam0, exact);
    const eK = maxAbsDiff(r.info.meanPass.K, bp.K);
    const ek = maxAbsDiff(r.info.meanPass.k, bp.k);
    console.log(`(a) λ=0 mean pass vs ilqg backwardPass: max|ΔK| = ${eK.toExponential(2)}, max|Δk| = ${ek.toExponential(2)}`);
    expect(eK).toBeLessThan(1e-9);
    expect(ek).toBeLessThan(1e-9);
    expect(r.info.accepted).toBe(true);
    expect(r.info.alpha).toBe(1);

    // Same step as ilqgIteration: same nominal.
    const il = ilqgIteration(p.dyn, p.cost, p.il0, exact);
    expect(r.info.previousMeanLagrangian).toBe(p.il0.cost);
    expect(il.info.accepted).toBe(true);
    expect(maxAbsDiff(r.trajectory.xbar, il.trajectory.xbar)).toBeLessThan(1e-12);
    expect(maxAbsDiff(r.trajectory.ubar, il.trajectory.ubar)).toBeLessThan(1e-12);
    expect(r.info.meanLagrangian).toBeCloseTo(il.info.cost, 10);

    // Covariance pass at the new nominal: A = Q_uu⁻¹ and K = −Q_uu⁻¹Q_ux there.
    const bp2 = backwardPass(lqApproximation(p.dyn, p.cost, r.trajectory), { mu: 0, muFactor: 1 }, exact);
    const eA = maxAbsDiff(r.trajectory.cov, bp2.cov);
    const eK2 = maxAbsDiff(r.trajectory.K, bp2.K);
    console.log(`(a) λ=0 covariance pass: max|A − Q_uu⁻¹| = ${eA.toExponential(2)}, max|K − K_ilqg| = ${eK2.toExponential(2)}`);
    expect(eA).toBeLessThan(1e-9);
    expect(eK2).toBeLessThan(1e-9);
    expect(r.info.covarianceMu).toBe(0);
    expect(r.trajectory.k.every((v) => v === 0)).toBe(true);
  });

  it("meanPass equals backwardPass at λ = 0 for μ > 0 and through restarts (indefinite Q_uu)", () => {
    const p = problem(2);
    const lin = p.pol.linearize(p.traj0.xbar);
    const lam0 = constLambda(0);
    const garbageA = new Float64Array(T * nu * nu).fill(-1); // never read at λ = 0
    const lq = lqApproximation(p.dyn, p.cost, p.traj0);
    for (const mu of [0.3, 5]) {
      const bp = backwardPass(lq, { mu, muFactor: 1 }, exact);
      const mp = meanPass(lq, p.traj0.ubar, lin, lam0, garbageA, { mu, muFactor: 1 }, exact);
      expect(maxAbsDiff(mp.K, bp.K)).toBeLessThan(1e-9);
      expect(maxAbsDiff(mp.k, bp.k)).toBeLessThan(1e-9);
      expect(mp.dV1).toBeCloseTo(bp.dV1, 9);
      expect(mp.dV2).toBeCloseTo(bp.dV2, 9);
    }
    const neg = quadraticCost(nx, nu, randomQuadraticCostTerms(7, nx, nu, { negativeR: true }));
    const lqn = lqApproximation(p.dyn, neg, p.traj0);
    const bpn = backwardPass(lqn, { mu: 0, muFactor: 1 }, exact);
    const mpn = meanPass(lqn, p.traj0.ubar, lin, lam0, garbageA, { mu: 0, muFactor: 1 }, exact);
    expect(bpn.restarts).toBeGreaterThan(0);
    expect(mpn.restarts).toBe(bpn.restarts);
    expect(mpn.reg).toEqual(bpn.reg);
    expect(maxAbsDiff(mpn.K, bpn.K)).toBeLessThan(1e-9);
    expect(maxAbsDiff(mpn.k, bpn.k)).toBeLessThan(1e-9);
  });
});

describe("(b) the covariance pass solves equation (8)", () => {
  it("an A_t it cannot invert makes the sweep fail like a non-PD Q_uu: μ escalates, then the pass gives up with K0, A0 (no crash)", () => {
    // A long run once died here ("A at t=162 is not positive definite") after 55 iterations:
    // an ill-conditioned iterate must cost one step's covariance update, not the run.
    const p = problem(4);
    const lambda = constLambda(3);
    const lin = p.pol.linearize(p.traj0.xbar);
    const lq = lqApproximation(p.dyn, p.cost, p.traj0);
    const A0 = Float64Array.from(p.traj0.cov);
    A0.fill(0, 7 * nu * nu, 8 * nu * nu); // a singular block where λ_t > 0
    const cp = covariancePass(lq, p.traj0.ubar, lin, lambda, p.traj0.K, A0, undefined, { passes: 2, innerIterations: 5 }, { mu: 0, muFactor: 1 }, exact);
    expect(cp.ok).toBe(false);
    expect(cp.restarts).toBeGreaterThan(0);
    expect(Array.from(cp.A)).toEqual(Array.from(A0));
    expect(Array.from(cp.K)).toEqual(Array.from(p.traj0.K));
    // The same pass from q's own (valid) covariance succeeds at μ = 0.
    const good = covariancePass(lq, p.traj0.ubar, lin, lambda, p.traj0.K, p.traj0.cov, undefined, { passes: 2, innerIterations: 5 }, { mu: 0, muFactor: 1 }, exact);
    expect(good.ok).toBe(true);
    expect(good.restarts).toBe(0);
  });

  it("every A_t satisfies A Q_uu A + (λ−1)A − λM = 0 with M from the final K_t and the sweep's S_t", () => {
    const p = problem(4);
    const s = new Sampler(seedGenerator(40));
    const lambda = new Float64Array(T);
    for (let t = 0; t < T; t++) lambda[t] = 0.2 + 30 * s.uniform();
    lambda[5] = 0; // a mix of active and inactive constraints
    const lin = p.pol.linearize(p.traj0.xbar);
    const lq = lqApproximation(p.dyn, p.cost, p.traj0);
    const S0 = new Float64Array(nx * nx);
    for (let i = 0; i < nx; i++) S0[i * nx + i] = 0.05;
    const residuals: number[] = [];
    for (const passes of [1, 2, 6, 15]) {
      const cp = covariancePass(lq, p.traj0.ubar, lin, lambda, p.traj0.K, p.traj0.cov, S0, { passes, innerIterations: 5 }, { mu: 0, muFactor: 1 }, exact);
      expect(cp.ok).toBe(true);
      expect(cp.mu).toBe(0);
      const Quu = quuFromFinal(p, lq, cp.K, cp.A, lin, lambda);
      const rSweep = equation8Residual(Quu, cp.K, cp.A, cp.sweepS, p.traj0.ubar, lin, lambda);
      const rFinal = equation8Residual(Quu, cp.K, cp.A, cp.S, p.traj0.ubar, lin, lambda);
      console.log(
        `(b) passes=${passes}: eq.(8) residual with the sweep's S = ${rSweep.toExponential(2)}, with S of the final K, A = ${rFinal.toExponential(2)}; ` +
          `last-pass change K ${cp.lastPassChange.K.toExponential(2)}, A ${cp.lastPassChange.A.toExponential(2)}`,
      );
      expect(rSweep).toBeLessThan(1e-9);
      residuals.push(rFinal);
      // A_t symmetric positive definite; λ_t = 0 gives Q_uu⁻¹.
      for (let t = 0; t < T; t++) {
        const At = mat(cp.A.subarray(t * 4, t * 4 + 4), nu, nu);
        expect(At.get(0, 1)).toBe(At.get(1, 0));
        expect(At.get(0, 0) > 0 && At.get(0, 0) * At.get(1, 1) - At.get(0, 1) ** 2 > 0).toBe(true);
      }
      expect(maxAbsDiff(cp.A.subarray(20, 24), inverse(Quu[5]).to1DArray())).toBeLessThan(1e-9);
    }
    // More passes: A also solves (8) with the S of the final K, A.
    for (let i = 1; i < residuals.length; i++) expect(residuals[i]).toBeLessThan(residuals[i - 1]);
    expect(residuals[3]).toBeLessThan(1e-9);
  });
});

describe("regularization of the covariance pass", () => {
  it("an indefinite Q_uu (negative action cost) is regularized: A stays symmetric positive definite", () => {
    const p = problem(9);
    const neg = quadraticCost(nx, nu, randomQuadraticCostTerms(9, nx, nu, { negativeR: true }));
    for (const lam of [0, 2]) {
      const r = trajectoryStep(p.dyn, neg, p.traj0, p.pol.linearize(p.traj0.xbar), constLambda(lam), exact, {
        relinearizePolicy: (q) => p.pol.linearize(q.xbar),
      });
      expect(r.info.covariancePassFailed).toBe(false);
      if (lam === 0) expect(r.info.covarianceMu).toBeGreaterThan(0);
      for (let t = 0; t < T; t++) {
        const a = r.trajectory.cov.subarray(t * 4, t * 4 + 4);
        expect(a[1]).toBe(a[2]);
        expect(a[0] > 0 && a[0] * a[3] - a[1] * a[2] > 0).toBe(true);
      }
      expect([r.trajectory.K, r.trajectory.S].every((v) => v.every(Number.isFinite))).toBe(true);
    }
  });
});

describe("(c) large λ pulls q toward the policy", () => {
  it("K → μ^π_x, ū → μ^π(x̄) and A → Σ^π monotonically as λ grows", () => {
    const p = problem(5);
    const rows: { lam: number; dK: number; dU: number; dA: number }[] = [];
    for (const lam of [0, 1, 10, 100, 1e4]) {
      const { traj, infos } = run(p, constLambda(lam), 6, exact);
      expect(infos.every((i) => !i.backwardPassFailed && !i.covariancePassFailed)).toBe(true);
      const lin = p.pol.linearize(traj.xbar);
      let dK = 0;
      let dU = 0;
      let dA = 0;
      for (let t = 0; t < T; t++) {
        dK = Math.max(dK, frob(traj.K, t * nu * nx, lin.muX, t * nu * nx, nu * nx));
        dU = Math.max(dU, frob(traj.ubar, t * nu, lin.mu, t * nu, nu)); // k = 0: q's mean action at x̄ is ū
        dA = Math.max(dA, frob(traj.cov, t * nu * nu, lin.sigma, t * nu * nu, nu * nu));
      }
      rows.push({ lam, dK, dU, dA });
    }
    console.log(
      "(c) λ: max_t‖K−μ_x‖_F, max_t‖ū−μ^π(x̄)‖, max_t‖A−Σ^π‖_F\n" +
        rows.map((r) => `    λ=${r.lam}: ${r.dK.toExponential(3)}, ${r.dU.toExponential(3)}, ${r.dA.toExponential(3)}`).join("\n"),
    );
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].dK).toBeLessThan(rows[i - 1].dK);
      expect(rows[i].dU).toBeLessThan(rows[i - 1].dU);
      expect(rows[i].dA).toBeLessThan(rows[i - 1].dA);
    }
    const last = rows[rows.length - 1];
    expect(last.dK).toBeLessThan(1e-2);
    expect(last.dU).toBeLessThan(1e-2);
    expect(last.dA).toBeLessThan(1e-2);
  });
});

describe("(d) the Lagrangian does not increase", () => {
  for (const [name, settings] of [
    ["μ starts at 0", exact],
    ["default μ schedule (μ₀ = 1)", defaultIlqgSettings],
  ] as const) {
    it(`across accepted steps with λ > 0 (${name})`, () => {
      const p = problem(6, settings);
      const s = new Sampler(seedGenerator(60));
      const lambda = new Float64Array(T);
      for (let t = 0; t < T; t++) lambda[t] = 0.5 + 20 * s.uniform();
      const { infos } = run(p, lambda, 12, settings);
      const accepted = infos.filter((i) => i.accepted).length;
      console.log(
        `(d) ${name}: ${accepted}/12 accepted; full Laplace L: ` +
          [infos[0].previousLagrangian, ...infos.map((i) => i.lagrangian)].map((v) => v.toFixed(6)).join(" → "),
      );
      expect(accepted).toBeGreaterThan(2);
      for (let i = 0; i < infos.length; i++) {
        const info = infos[i];
        const scale = Math.max(1, Math.abs(info.previousLagrangian));
        if (info.accepted) expect(info.meanLagrangian).toBeLessThan(info.previousMeanLagrangian);
        else expect(info.meanLagrangian).toBe(info.previousMeanLagrangian);
        expect(info.lagrangian).toBeLessThanOrEqual(info.previousLagrangian + 1e-10 * scale);
        if (i > 0) expect(Math.abs(info.previousLagrangian - infos[i - 1].lagrangian)).toBeLessThan(1e-10 * scale);
        expect(info.terms.kl.every((v) => v >= 0)).toBe(true);
      }
    });
  }

  it("the line-search Lagrangian is cost + Σ λ_t KL(π‖q) on the mean rollout", () => {
    const p = problem(7);
    const lambda = constLambda(3);
    const lin = p.pol.linearize(p.traj0.xbar);
    const { xbar, ubar, cov } = p.traj0;
    let ref = 0;
    for (let t = 0; t < T; t++) {
      ref += p.cost.value(xbar, ubar, t, t * nx, t * nu);
      const d = Matrix.sub(mat(ubar.subarray(t * nu, (t + 1) * nu), nu, 1), mat(lin.mu.subarray(t * nu, (t + 1) * nu), nu, 1));
      const Ai = inverse(mat(cov.subarray(t * 4, t * 4 + 4), nu, nu));
      const Sp = mat(lin.sigma.subarray(t * 4, t * 4 + 4), nu, nu);
      const kl = 0.5 * (Ai.mmul(Sp).trace() + d.transpose().mmul(Ai).mmul(d).get(0, 0) - nu - Math.log(Sp.get(0, 0) * Sp.get(1, 1)) + 0); // |A| = 1 (cov = I)
      ref += 3 * kl;
    }
    expect(meanLagrangian(p.cost, xbar, ubar, T, cov, lin, xbar, lambda)).toBeCloseTo(ref, 10);
    const terms = laplaceLagrangian(p.cost, lqApproximation(p.dyn, p.cost, p.traj0), p.traj0, lin, lambda);
    expect(terms.total).toBeCloseTo(terms.cost + terms.covarianceCost + terms.negEntropy + terms.constraint, 12);
  });
});

describe("(e) determinism and a nonlinear system with an MLP policy", () => {
  it("the same inputs give bit-identical trajectories", () => {
    const p = problem(8, defaultIlqgSettings);
    const lambda = constLambda(4);
    const a = run(p, lambda, 4, defaultIlqgSettings);
    const b = run(p, lambda, 4, defaultIlqgSettings);
    for (const key of ["xbar", "ubar", "K", "k", "cov", "S"] as const) expect(Array.from(a.traj[key])).toEqual(Array.from(b.traj[key]));
    expect(a.traj.mu).toBe(b.traj.mu);
    expect(a.infos.map((i) => i.lagrangian)).toEqual(b.infos.map((i) => i.lagrangian));
  });

  it("pendulum + softplus MLP: relinearized each step, finite, line-search Lagrangian decreasing, deterministic", () => {
    const dyn = pendulumDynamics();
    const cost = pendulumCost();
    const Tp = 40;
    const shape = mlpShape(2, 8, 1);
    const s = new Sampler(seedGenerator(90));
    const policy = createPolicy(shape);
    const theta = initParameters(shape, s, { initLogStd: -1 });
    const lin = (xs: Float64Array) => linearizePolicy(policy, theta, xs, Tp, allocPolicyLinearization(Tp, 2, 1));
    const lambda = new Float64Array(Tp).fill(0.5);
    const go = () => {
      const il = initialTrajectory(dyn, cost, new Float64Array([0, 0]), new Float64Array(Tp), defaultIlqgSettings);
      let traj = initialCgpsTrajectory(dyn, cost, il, defaultIlqgSettings);
      const infos: TrajectoryStepInfo[] = [];
      for (let i = 0; i < 8; i++) {
        const r = trajectoryStep(dyn, cost, traj, lin(traj.xbar), lambda, defaultIlqgSettings, { relinearizePolicy: (q) => lin(q.xbar) });
        traj = r.trajectory;
        infos.push(r.info);
      }
      return { traj, infos };
    };
    const a = go();
    const b = go();
    expect(Array.from(a.traj.K)).toEqual(Array.from(b.traj.K));
    expect(Array.from(a.traj.cov)).toEqual(Array.from(b.traj.cov));
    expect([a.traj.xbar, a.traj.ubar, a.traj.K, a.traj.cov, a.traj.S].every((v) => v.every(Number.isFinite))).toBe(true);
    expect(a.infos.filter((i) => i.accepted).length).toBeGreaterThan(0);
    for (const i of a.infos) if (i.accepted) expect(i.meanLagrangian).toBeLessThan(i.previousMeanLagrangian);
    console.log(`(e) pendulum: line-search L ${a.infos[0].previousMeanLagrangian.toFixed(4)} → ${a.infos[a.infos.length - 1].meanLagrangian.toFixed(4)}`);
  });
});
