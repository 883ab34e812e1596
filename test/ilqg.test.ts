import { describe, it, expect } from "vitest";
import { Matrix, inverse } from "ml-matrix";
import {
  backwardPass,
  decreaseMu,
  defaultIlqgSettings,
  ilqgIteration,
  increaseMu,
  initialTrajectory,
  lqApproximation,
  optimize,
  type IlqgSettings,
  type IlqgTrajectory,
} from "../src/trajopt/ilqg.js";
import { emptyController, linearGaussianController, meanAction, sampleTrajectories } from "../src/trajopt/linear-gaussian.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import {
  pendulumCost,
  pendulumDynamics,
  randomMatrix,
  type LinearSystem,
  type QuadraticCostTerms,
  lqProblem as lqProblemOf,
} from "./helpers/linear-system.js";

const nx = 4;
const nu = 2;
const T = 30;

const mat = (a: Float64Array, r: number, c: number): Matrix => Matrix.from1DArray(r, c, Array.from(a));

/** max |a − b| / max(1, max |b|) and the plain max |a − b|. */
function errors(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; abs: number } {
  expect(a.length).toBe(b.length);
  let e = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return { rel: e / s, abs: e };
}

function allFinite(...arrays: Float64Array[]): boolean {
  return arrays.every((a) => a.every((v) => Number.isFinite(v)));
}

interface Lqr {
  /** Absolute-coordinate optimal policy u_t = K_t x_t + k_t. */
  readonly K: Float64Array; // T·nu·nx
  readonly k: Float64Array; // T·nu
  /** (R + Bᵀ P_{t+1} B)⁻¹. */
  readonly quuInv: Float64Array; // T·nu·nu
}

/**
 * Independent finite-horizon discrete LQR with affine terms, on ml-matrix:
 * V_t(x) = ½ xᵀ P_t x + p_tᵀ x + const, P_T = 0, p_T = 0 (no terminal cost).
 */
function riccati(sys: LinearSystem, c: QuadraticCostTerms, horizon: number): Lqr {
  const A = mat(sys.A, nx, nx);
  const B = mat(sys.B, nx, nu);
  const Q = mat(c.Q, nx, nx);
  const R = mat(c.R, nu, nu);
  const N = mat(c.N, nu, nx);
  const q = mat(c.q, nx, 1);
  const r = mat(c.r, nu, 1);
  const At = A.transpose();
  const Bt = B.transpose();
  let P = Matrix.zeros(nx, nx);
  let p = Matrix.zeros(nx, 1);
  const K = new Float64Array(horizon * nu * nx);
  const k = new Float64Array(horizon * nu);
  const quuInv = new Float64Array(horizon * nu * nu);
  for (let t = horizon - 1; t >= 0; t--) {
    const Quu = Matrix.add(R, Bt.mmul(P).mmul(B));
    const Qux = Matrix.add(N, Bt.mmul(P).mmul(A));
    const Qu = Matrix.add(r, Bt.mmul(p));
    const Qxx = Matrix.add(Q, At.mmul(P).mmul(A));
    const Qx = Matrix.add(q, At.mmul(p));
    const inv = inverse(Quu);
    const Kt = Matrix.mul(inv.mmul(Qux), -1);
    const kt = Matrix.mul(inv.mmul(Qu), -1);
    K.set(Kt.to1DArray(), t * nu * nx);
    k.set(kt.to1DArray(), t * nu);
    quuInv.set(inv.to1DArray(), t * nu * nu);
    P = Matrix.add(Qxx, Qux.transpose().mmul(Kt));
    P = Matrix.mul(Matrix.add(P, P.transpose()), 0.5);
    p = Matrix.add(Qx, Qux.transpose().mmul(kt));
  }
  return { K, k, quuInv };
}

/** x_{t+1} = A x_t + B (K_t x_t + k_t) from x0. */
function lqrRollout(sys: LinearSystem, lqr: Lqr, x0: Float64Array, horizon: number): { xs: Float64Array; us: Float64Array } {
  const xs = new Float64Array((horizon + 1) * nx);
  const us = new Float64Array(horizon * nu);
  xs.set(x0);
  for (let t = 0; t < horizon; t++) {
    for (let a = 0; a < nu; a++) {
      let s = lqr.k[t * nu + a];
      for (let j = 0; j < nx; j++) s += lqr.K[(t * nu + a) * nx + j] * xs[t * nx + j];
      us[t * nu + a] = s;
    }
    for (let i = 0; i < nx; i++) {
      let s = 0;
      for (let j = 0; j < nx; j++) s += sys.A[i * nx + j] * xs[t * nx + j];
      for (let a = 0; a < nu; a++) s += sys.B[i * nu + a] * us[t * nu + a];
      xs[(t + 1) * nx + i] = s;
    }
  }
  return { xs, us };
}

/** The shared seeded LQ problem at this file's sizes. */
const lqProblem = (seed = 1, opts: { negativeR?: boolean } = {}) => lqProblemOf(nx, nu, seed, opts);

const exact: IlqgSettings = { ...defaultIlqgSettings, muInit: 0 };

describe("initialTrajectory", () => {
  it("rolls out the open-loop actions with K = k = 0 and cov = I", () => {
    const { sys, cost, x0 } = lqProblem();
    const us = randomMatrix(new Sampler(seedGenerator(3)), T, nu);
    const traj = initialTrajectory(sys.dyn, cost, x0, us, exact);
    expect(traj.T).toBe(T);
    expect(Array.from(traj.ubar)).toEqual(Array.from(us));
    expect(Array.from(traj.xbar.subarray(0, nx))).toEqual(Array.from(x0));
    let c = 0;
    for (let t = 0; t < T; t++) c += cost.value(traj.xbar, traj.ubar, t, t * nx, t * nu);
    expect(traj.cost).toBe(c);
    expect(traj.K.every((v) => v === 0)).toBe(true);
    expect(traj.k.every((v) => v === 0)).toBe(true);
    for (let t = 0; t < T; t++) expect(Array.from(traj.cov.subarray(t * 4, t * 4 + 4))).toEqual([1, 0, 0, 1]);
    expect(traj.mu).toBe(0);
    expect(traj.muFactor).toBe(1);
  });
});

describe("regularization schedule (Tassa 2012)", () => {
  it("grows the step factor geometrically and snaps small μ to zero", () => {
    const s = defaultIlqgSettings;
    let r = increaseMu({ mu: 0, muFactor: 1 }, s);
    expect(r).toEqual({ mu: s.muMin, muFactor: 2 });
    r = increaseMu(r, s);
    expect(r).toEqual({ mu: s.muMin * 4, muFactor: 4 });
    r = decreaseMu(r, s);
    expect(r).toEqual({ mu: s.muMin * 4 * 0.5, muFactor: 0.5 });
    r = decreaseMu({ mu: s.muMin, muFactor: 0.5 }, s);
    expect(r).toEqual({ mu: 0, muFactor: 0.25 });
  });
});

describe("iLQG on a linear-quadratic problem equals LQR", () => {
  const { sys, terms, cost, x0 } = lqProblem();
  const lqr = riccati(sys, terms, T);
  const traj0 = initialTrajectory(sys.dyn, cost, x0, new Float64Array(T * nu), exact);

  it("backward pass at μ = 0 gives the Riccati gains and cov = (R + BᵀP'B)⁻¹", () => {
    const bp = backwardPass(lqApproximation(sys.dyn, cost, traj0), { mu: 0, muFactor: 1 }, exact);
    expect(bp.ok).toBe(true);
    expect(bp.restarts).toBe(0);
    expect(bp.reg.mu).toBe(0);
    // Perturbation feedforward around (x̄, ū): k_iLQG = k_LQR + K x̄_t − ū_t.
    const kExpected = new Float64Array(T * nu);
    for (let t = 0; t < T; t++) {
      for (let a = 0; a < nu; a++) {
        let s = lqr.k[t * nu + a] - traj0.ubar[t * nu + a];
        for (let j = 0; j < nx; j++) s += lqr.K[(t * nu + a) * nx + j] * traj0.xbar[t * nx + j];
        kExpected[t * nu + a] = s;
      }
    }
    const eK = errors(bp.K, lqr.K);
    const ek = errors(bp.k, kExpected);
    const eCov = errors(bp.cov, lqr.quuInv);
    console.log(`backward pass vs Riccati: max|ΔK| ${eK.abs.toExponential(2)}, max|Δk| ${ek.abs.toExponential(2)}, max|Δcov| ${eCov.abs.toExponential(2)}`);
    expect(eK.rel).toBeLessThan(1e-9);
    expect(ek.rel).toBeLessThan(1e-9);
    expect(eCov.rel).toBeLessThan(1e-9);
    // Convex problem: the quadratic model predicts a decrease.
    expect(bp.dV1).toBeLessThan(0);
    expect(bp.dV2).toBeGreaterThan(0);
  });

  it("one iteration accepts α = 1 and lands on the optimal LQR trajectory", () => {
    const { trajectory: traj1, info } = ilqgIteration(sys.dyn, cost, traj0, exact);
    expect(info.accepted).toBe(true);
    expect(info.alpha).toBe(1);
    expect(info.mu).toBe(0);
    expect(info.backwardPassFailed).toBe(false);
    expect(traj1.mu).toBe(0);
    expect(info.previousCost).toBe(traj0.cost);
    expect(info.cost).toBe(traj1.cost);
    expect(info.expectedReduction).toBeGreaterThan(0);
    // The quadratic model is exact for an LQ problem.
    expect(Math.abs(info.actualReduction - info.expectedReduction) / info.expectedReduction).toBeLessThan(1e-9);

    const opt = lqrRollout(sys, lqr, x0, T);
    const eX = errors(traj1.xbar, opt.xs);
    const eU = errors(traj1.ubar, opt.us);
    const eK = errors(traj1.K, lqr.K);
    const eCov = errors(traj1.cov, lqr.quuInv);
    expect(eX.rel).toBeLessThan(1e-9);
    expect(eU.rel).toBeLessThan(1e-9);
    expect(eK.rel).toBeLessThan(1e-9);
    expect(eCov.rel).toBeLessThan(1e-9);
    expect(traj1.k.every((v) => v === 0)).toBe(true);
    let cOpt = 0;
    for (let t = 0; t < T; t++) cOpt += cost.value(opt.xs, opt.us, t, t * nx, t * nu);
    expect(Math.abs(traj1.cost - cOpt) / Math.abs(cOpt)).toBeLessThan(1e-9);

    // The returned q(u|x) has the LQR mean at any state: ū + K (x − x̄) = K_LQR x + k_LQR.
    const xr = randomMatrix(new Sampler(seedGenerator(9)), nx, 1);
    const u = new Float64Array(nu);
    let eMean = 0;
    for (let t = 0; t < T; t++) {
      meanAction(traj1, t, xr, 0, u, 0);
      for (let a = 0; a < nu; a++) {
        let s = lqr.k[t * nu + a];
        for (let j = 0; j < nx; j++) s += lqr.K[(t * nu + a) * nx + j] * xr[j];
        eMean = Math.max(eMean, Math.abs(u[a] - s));
      }
    }
    expect(eMean).toBeLessThan(1e-9);
    console.log(
      `iteration vs LQR: max|Δx̄| ${eX.abs.toExponential(2)}, max|Δū| ${eU.abs.toExponential(2)}, max|ΔK| ${eK.abs.toExponential(2)}, ` +
        `max|Δcov| ${eCov.abs.toExponential(2)}, max|Δmean| ${eMean.toExponential(2)}`,
    );

    // A second iteration cannot improve on the optimum.
    const { trajectory: traj2, info: info2 } = ilqgIteration(sys.dyn, cost, traj1, exact);
    expect(traj2.cost).toBeLessThanOrEqual(traj1.cost);
    expect(Math.abs(traj2.cost - traj1.cost) / Math.abs(traj1.cost)).toBeLessThan(1e-9);
    expect(Math.abs(info2.expectedReduction)).toBeLessThan(1e-9 * Math.abs(traj1.cost));
  });

  it("resumes bit-identically from a serialized trajectory", () => {
    const { trajectory: traj1 } = ilqgIteration(sys.dyn, cost, traj0, { ...exact, muInit: 0.3 });
    const json = JSON.stringify(traj1, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v));
    const o = JSON.parse(json) as Record<string, unknown>;
    const f = (key: string): Float64Array => Float64Array.from(o[key] as number[]);
    const restored: IlqgTrajectory = {
      T: o.T as number,
      nx: o.nx as number,
      nu: o.nu as number,
      xbar: f("xbar"),
      ubar: f("ubar"),
      K: f("K"),
      k: f("k"),
      cov: f("cov"),
      cost: o.cost as number,
      mu: o.mu as number,
      muFactor: o.muFactor as number,
    };
    const a = ilqgIteration(sys.dyn, cost, traj1, exact);
    const b = ilqgIteration(sys.dyn, cost, restored, exact);
    expect(b.info).toEqual(a.info);
    for (const key of ["xbar", "ubar", "K", "k", "cov"] as const) expect(Array.from(b.trajectory[key])).toEqual(Array.from(a.trajectory[key]));
    expect(b.trajectory.cost).toBe(a.trajectory.cost);
    expect(b.trajectory.mu).toBe(a.trajectory.mu);
    expect(b.trajectory.muFactor).toBe(a.trajectory.muFactor);
  });

  it("does not modify its input", () => {
    const copy = { ...traj0, xbar: traj0.xbar.slice(), ubar: traj0.ubar.slice(), K: traj0.K.slice(), k: traj0.k.slice(), cov: traj0.cov.slice() };
    ilqgIteration(sys.dyn, cost, traj0, exact);
    for (const key of ["xbar", "ubar", "K", "k", "cov"] as const) expect(Array.from(traj0[key])).toEqual(Array.from(copy[key]));
    expect(traj0.cost).toBe(copy.cost);
  });
});

describe("regularization on a non-convex cost", () => {
  const { sys, cost, x0 } = lqProblem(2, { negativeR: true });
  const traj0 = initialTrajectory(sys.dyn, cost, x0, new Float64Array(T * nu), exact);

  it("raises μ until Q_uu is positive definite, without NaNs", () => {
    const bp = backwardPass(lqApproximation(sys.dyn, cost, traj0), { mu: 0, muFactor: 1 }, exact);
    expect(bp.ok).toBe(true);
    expect(bp.restarts).toBeGreaterThan(0);
    expect(bp.reg.mu).toBeGreaterThan(0);
    expect(allFinite(bp.K, bp.k, bp.cov)).toBe(true);

    let traj = traj0;
    for (let i = 0; i < 3; i++) {
      const { trajectory, info } = ilqgIteration(sys.dyn, cost, traj, exact);
      expect(info.mu).toBeGreaterThan(0);
      expect(info.backwardPassFailed).toBe(false);
      expect(Number.isFinite(trajectory.cost)).toBe(true);
      expect(trajectory.cost).toBeLessThanOrEqual(traj.cost);
      expect(allFinite(trajectory.xbar, trajectory.ubar, trajectory.K, trajectory.k, trajectory.cov)).toBe(true);
      // Every returned cov is a valid (positive definite) covariance: sampling works.
      expect(() => linearGaussianController(trajectory, { noise: true, sampler: new Sampler(seedGenerator(1)) })).not.toThrow();
      traj = trajectory;
    }
  });

  it("gives up cleanly when μ would exceed μ_max", () => {
    const settings = { ...exact, muMax: 1e-4 };
    const { trajectory, info } = ilqgIteration(sys.dyn, cost, traj0, settings);
    expect(info.accepted).toBe(false);
    expect(info.backwardPassFailed).toBe(true);
    expect(trajectory.cost).toBe(traj0.cost);
    expect(trajectory.mu).toBe(settings.muMax);
    expect(Array.from(trajectory.ubar)).toEqual(Array.from(traj0.ubar));
  });
});

describe("iLQG on a pendulum", () => {
  const dyn = pendulumDynamics();
  const cost = pendulumCost();
  const x0 = Float64Array.from([0.3, 0]);
  const Tp = 60;

  it("never increases the cost over 10 iterations, and predicts decreases correctly", () => {
    const traj0 = initialTrajectory(dyn, cost, x0, new Float64Array(Tp), defaultIlqgSettings);
    const { trajectory, history } = optimize(dyn, cost, traj0, defaultIlqgSettings, 10);
    expect(history).toHaveLength(10);
    let prev = traj0.cost;
    for (const info of history) {
      expect(info.previousCost).toBe(prev);
      expect(info.cost).toBeLessThanOrEqual(prev);
      if (info.accepted) {
        expect(info.expectedReduction).toBeGreaterThan(0);
        expect(info.actualReduction).toBeGreaterThan(0);
        expect(info.alpha).toBeGreaterThan(0);
      } else {
        expect(info.cost).toBe(prev);
      }
      prev = info.cost;
    }
    expect(history.filter((h) => h.accepted).length).toBeGreaterThan(3);
    expect(trajectory.cost).toBeLessThan(0.5 * traj0.cost);
    expect(allFinite(trajectory.xbar, trajectory.ubar, trajectory.K, trajectory.cov)).toBe(true);
    console.log(`pendulum: cost ${traj0.cost.toFixed(3)} → ${history.map((h) => h.cost.toFixed(3)).join(", ")}`);

    // Convex cost, Gauss–Newton model: dV1 ≤ 0 and dV2 ≥ 0 at every nominal.
    const bp = backwardPass(lqApproximation(dyn, cost, trajectory), { mu: trajectory.mu, muFactor: trajectory.muFactor }, defaultIlqgSettings);
    expect(bp.dV1).toBeLessThanOrEqual(0);
    expect(bp.dV2).toBeGreaterThanOrEqual(0);
  });

  it("the returned controller reproduces its own nominal when run without noise", () => {
    const traj0 = initialTrajectory(dyn, cost, x0, new Float64Array(Tp), defaultIlqgSettings);
    const { trajectory } = optimize(dyn, cost, traj0, defaultIlqgSettings, 3);
    const xs = new Float64Array((Tp + 1) * 2);
    const us = new Float64Array(Tp);
    dyn.rollout(x0, linearGaussianController(trajectory, { noise: false }), Tp, xs, us);
    expect(Array.from(xs)).toEqual(Array.from(trajectory.xbar));
    expect(Array.from(us)).toEqual(Array.from(trajectory.ubar));
  });
});

describe("sampling from the linear-Gaussian controller", () => {
  const { sys, cost, x0 } = lqProblem(3);
  const traj0 = initialTrajectory(sys.dyn, cost, x0, new Float64Array(T * nu), exact);
  const ctrl = ilqgIteration(sys.dyn, cost, traj0, exact).trajectory;

  it("is reproducible from a seeded sampler", () => {
    const a = sampleTrajectories(sys.dyn, ctrl, x0, 20, new Sampler(seedGenerator(5)));
    const b = sampleTrajectories(sys.dyn, ctrl, x0, 20, new Sampler(seedGenerator(5)));
    const c = sampleTrajectories(sys.dyn, ctrl, x0, 20, new Sampler(seedGenerator(6)));
    expect(Array.from(a.xs)).toEqual(Array.from(b.xs));
    expect(Array.from(a.us)).toEqual(Array.from(b.us));
    expect(Array.from(a.us)).not.toEqual(Array.from(c.us));
    // Continuing from a stored sampler state continues the stream.
    const s = new Sampler(seedGenerator(5));
    sampleTrajectories(sys.dyn, ctrl, x0, 10, s);
    const d = sampleTrajectories(sys.dyn, ctrl, x0, 10, new Sampler(s.state()));
    expect(Array.from(d.us)).toEqual(Array.from(a.us.subarray(10 * T * nu)));
  });

  it("has empirical action covariance ≈ cov_t around the mean action", () => {
    const n = 20000;
    const { xs, us } = sampleTrajectories(sys.dyn, ctrl, x0, n, new Sampler(seedGenerator(7)));
    const mean = new Float64Array(nu);
    let worst = 0;
    for (const t of [0, Math.floor(T / 2), T - 1]) {
      const sum = new Float64Array(nu);
      const sum2 = new Float64Array(nu * nu);
      for (let i = 0; i < n; i++) {
        meanAction(ctrl, t, xs, (i * (T + 1) + t) * nx, mean, 0);
        const uOff = (i * T + t) * nu;
        for (let a = 0; a < nu; a++) {
          const ea = us[uOff + a] - mean[a];
          sum[a] += ea;
          for (let b = 0; b < nu; b++) sum2[a * nu + b] += ea * (us[uOff + b] - mean[b]);
        }
      }
      const cov = ctrl.cov.subarray(t * nu * nu, (t + 1) * nu * nu);
      const scale = Math.max(...Array.from(cov, Math.abs));
      for (let a = 0; a < nu; a++) expect(Math.abs(sum[a] / n)).toBeLessThan(0.05 * Math.sqrt(scale));
      const emp = Array.from(sum2, (v) => v / n);
      const e = errors(emp, cov).abs / scale;
      worst = Math.max(worst, e);
      expect(e).toBeLessThan(0.05);
    }
    console.log(`sampling: worst relative covariance error ${worst.toFixed(4)} with n=${n}`);
  });

  it("scales the noise and refuses to sample a zero covariance", () => {
    const a = sampleTrajectories(sys.dyn, ctrl, x0, 1, new Sampler(seedGenerator(8)), 1);
    const h = sampleTrajectories(sys.dyn, ctrl, x0, 1, new Sampler(seedGenerator(8)), 0.5);
    const u = new Float64Array(nu);
    meanAction(ctrl, 0, x0, 0, u, 0);
    for (let i = 0; i < nu; i++) expect(h.us[i] - u[i]).toBeCloseTo(0.5 * (a.us[i] - u[i]), 12);
    const empty = emptyController(T, nx, nu);
    expect(() => linearGaussianController(empty, { noise: true, sampler: new Sampler(seedGenerator(1)) })).toThrow();
    expect(() => linearGaussianController(ctrl, { noise: true })).toThrow();
    const out = new Float64Array(nu).fill(7);
    linearGaussianController(empty, { noise: false })(0, x0, 0, out, 0);
    expect(Array.from(out)).toEqual([0, 0]);
  });
});
