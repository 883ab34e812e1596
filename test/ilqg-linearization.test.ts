/**
 * The linearization options of iLQG:
 *  - `gainMu` (q's gains from a backward pass at a fixed μ) and `gainsAt`,
 *    against Riccati recursions written out here on ml-matrix;
 *  - ilqgIteration's `linearizer` argument;
 *  - the Simulator's `contactOverride`, `contactCount` and `controlLimits` on the walker;
 *  - the experiment checks of a fitted linearization (the plan, src/dsl/plan.ts, and the codec).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Matrix, inverse } from "ml-matrix";
import { backwardPass, defaultIlqgSettings, gainsAt, ilqgIteration, initialTrajectory, lqApproximation, type IlqgSettings } from "../src/trajopt/ilqg.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { linearDynamics, lqProblem as lqProblemOf, type LinearSystem, type QuadraticCostTerms } from "./helpers/linear-system.js";
import { createSimulator, Simulator } from "../src/sim/mujoco.js";
import { taskFor } from "../src/tasks/index.js";
import { WALKER_CTRL_RANGE } from "../src/tasks/walker.js";
import { condition, experiment, ilqg, stage, task as taskSpec, type Experiment } from "../src/index.js";
import { planExperiment } from "../src/dsl/plan.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { decodeExperiment, ExperimentValidationError } from "../src/dsl/validate.js";
import { relErrAtLeastUnit as relErr } from "./helpers/compare.js";

const nx = 4;
const nu = 2;
const T = 30;

const mat = (a: Float64Array, r: number, c: number): Matrix => Matrix.from1DArray(r, c, Array.from(a));


interface Gains {
  readonly K: Float64Array; // T·nu·nx
  readonly cov: Float64Array; // T·nu·nu
  /** Smallest eigenvalue of the (regularized) Q̃_uu over the steps. */
  readonly minQuuEig: number;
}

/**
 * Finite-horizon Riccati recursion with Tassa's regularization (V'_xx + μI inside
 * Q̃_uu and Q̃_ux only; the value update with the unregularized terms), V_T = 0,
 * for the time-invariant system and cost. μ = 0: plain LQR, cov = Q_uu⁻¹.
 * The feedback gains and covariances do not depend on the nominal.
 */
function riccati(sys: { A: Float64Array; B: Float64Array }, c: QuadraticCostTerms, mu = 0): Gains {
  const A = mat(sys.A, nx, nx);
  const B = mat(sys.B, nx, nu);
  const Q = mat(c.Q, nx, nx);
  const R = mat(c.R, nu, nu);
  const N = mat(c.N, nu, nx);
  const At = A.transpose();
  const Bt = B.transpose();
  let P = Matrix.zeros(nx, nx);
  const K = new Float64Array(T * nu * nx);
  const cov = new Float64Array(T * nu * nu);
  let minQuuEig = Number.POSITIVE_INFINITY;
  for (let t = T - 1; t >= 0; t--) {
    const Quu = Matrix.add(R, Bt.mmul(P).mmul(B));
    const Qux = Matrix.add(N, Bt.mmul(P).mmul(A));
    const Qxx = Matrix.add(Q, At.mmul(P).mmul(A));
    const Preg = Matrix.add(P, Matrix.eye(nx).mul(mu));
    const QuuR = Matrix.add(R, Bt.mmul(Preg).mmul(B));
    const QuxR = Matrix.add(N, Bt.mmul(Preg).mmul(A));
    // 2×2 symmetric: smallest eigenvalue in closed form.
    const [a, b, d] = [QuuR.get(0, 0), 0.5 * (QuuR.get(0, 1) + QuuR.get(1, 0)), QuuR.get(1, 1)];
    minQuuEig = Math.min(minQuuEig, 0.5 * (a + d) - Math.sqrt(0.25 * (a - d) ** 2 + b * b));
    const inv = inverse(QuuR);
    const Kt = Matrix.mul(inv.mmul(QuxR), -1);
    K.set(Kt.to1DArray(), t * nu * nx);
    cov.set(inv.to1DArray(), t * nu * nu);
    // V_xx = Q_xx + KᵀQ_uuK + KᵀQ_ux + Q_uxᵀK (unregularized Q terms).
    const Kt_ = Kt.transpose();
    P = Qxx.add(Kt_.mmul(Quu).mmul(Kt)).add(Kt_.mmul(Qux)).add(Qux.transpose().mmul(Kt));
    P = Matrix.mul(Matrix.add(P, P.transpose()), 0.5);
  }
  return { K, cov, minQuuEig };
}

/** The shared seeded LQ problem at this file's sizes. */
const lqProblem = (seed = 1, opts: { negativeR?: boolean } = {}) => lqProblemOf(nx, nu, seed, opts);

/** A linearizer whose Jacobians are those of another linear system (for the same nx, nu). */
function linearizerOf(A: Float64Array, B: Float64Array) {
  const d = linearDynamics(A, B, nx, nu);
  return { nx, nu, linearize: d.linearize };
}

/** x̄_{t+1} = A x̄_t + B ū_t: the nominal is a rollout of the true system. */
function isRolloutOf(sys: LinearSystem, xbar: Float64Array, ubar: Float64Array): number {
  let e = 0;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < nx; i++) {
      let v = 0;
      for (let j = 0; j < nx; j++) v += sys.A[i * nx + j] * xbar[t * nx + j];
      for (let a = 0; a < nu; a++) v += sys.B[i * nu + a] * ubar[t * nu + a];
      e = Math.max(e, Math.abs(v - xbar[(t + 1) * nx + i]));
    }
  }
  return e;
}

describe("gainMu: q's gains from a backward pass at a fixed μ", () => {
  const { sys, terms, cost, x0 } = lqProblem(1);
  const lqr = riccati(sys, terms, 0);
  const heavy: IlqgSettings = { ...defaultIlqgSettings, muInit: 1e3 };
  const traj0 = initialTrajectory(sys.dyn, cost, x0, new Float64Array(T * nu), heavy);

  it("gainMu 0 after a heavily regularized step gives the unregularized Riccati gains and cov = Q_uu⁻¹", () => {
    const plain = ilqgIteration(sys.dyn, cost, traj0, heavy);
    const fixed = ilqgIteration(sys.dyn, cost, traj0, { ...heavy, gainMu: 0 });
    expect(plain.info.accepted).toBe(true);
    expect(fixed.info.accepted).toBe(true);
    expect(fixed.info.mu).toBe(1e3); // the step used the schedule's μ
    expect(fixed.info.gainMu).toBe(0);
    expect(plain.info.gainMu).toBeUndefined();

    expect(relErr(fixed.trajectory.K, lqr.K)).toBeLessThan(1e-9);
    expect(relErr(fixed.trajectory.cov, lqr.cov)).toBeLessThan(1e-9);
    expect(fixed.trajectory.k.every((v) => v === 0)).toBe(true);

    // Without gainMu, K and cov are the step's: regularized at μ = 1e3, i.e. the closed form at 1e3.
    const reg = riccati(sys, terms, 1e3);
    expect(relErr(plain.trajectory.K, reg.K)).toBeLessThan(1e-9);
    expect(relErr(plain.trajectory.cov, reg.cov)).toBeLessThan(1e-9);
    expect(relErr(plain.trajectory.K, lqr.K)).toBeGreaterThan(1e-2);

    // The step itself is the same either way: same nominal, cost and μ schedule.
    expect(Array.from(fixed.trajectory.xbar)).toEqual(Array.from(plain.trajectory.xbar));
    expect(Array.from(fixed.trajectory.ubar)).toEqual(Array.from(plain.trajectory.ubar));
    expect(fixed.trajectory.cost).toBe(plain.trajectory.cost);
    expect([fixed.trajectory.mu, fixed.trajectory.muFactor]).toEqual([plain.trajectory.mu, plain.trajectory.muFactor]);
  });

  it("a positive gainMu gives the Riccati gains regularized at that μ", () => {
    const mu = 5;
    const fixed = ilqgIteration(sys.dyn, cost, traj0, { ...heavy, gainMu: mu });
    expect(fixed.info.accepted).toBe(true);
    expect(fixed.info.gainMu).toBe(mu);
    const reg = riccati(sys, terms, mu);
    expect(relErr(fixed.trajectory.K, reg.K)).toBeLessThan(1e-9);
    expect(relErr(fixed.trajectory.cov, reg.cov)).toBeLessThan(1e-9);
    expect(relErr(reg.K, lqr.K)).toBeGreaterThan(1e-3); // and that is not the plain LQR
  });

  it("raises μ above gainMu where Q̃_uu is indefinite, and reports the μ used", () => {
    const p = lqProblem(2, { negativeR: true });
    expect(riccati(p.sys, p.terms, 0).minQuuEig).toBeLessThan(0); // at μ = 0 some Q_uu is indefinite
    const t0 = initialTrajectory(p.sys.dyn, p.cost, p.x0, new Float64Array(T * nu), heavy);
    const r = ilqgIteration(p.sys.dyn, p.cost, t0, { ...heavy, gainMu: 0 });
    expect(r.info.accepted).toBe(true);
    const used = r.info.gainMu as number;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(defaultIlqgSettings.muMax);
    const reg = riccati(p.sys, p.terms, used);
    expect(reg.minQuuEig).toBeGreaterThan(0);
    expect(relErr(r.trajectory.K, reg.K)).toBeLessThan(1e-8);
    expect(relErr(r.trajectory.cov, reg.cov)).toBeLessThan(1e-8);
  });

  it("gainsAt keeps the nominal's own gains (μ NaN) when no μ up to μ_max works", () => {
    const p = lqProblem(2, { negativeR: true });
    const nominal = { ...initialTrajectory(p.sys.dyn, p.cost, p.x0, new Float64Array(T * nu), heavy) };
    const g = gainsAt(p.sys.dyn, p.cost, nominal, 0, { ...defaultIlqgSettings, muMax: 1e-5 });
    expect(g.mu).toBeNaN();
    expect(g.K).toBe(nominal.K);
    expect(g.cov).toBe(nominal.cov);
    // …and the closed form where it does.
    const ok = gainsAt(sys.dyn, cost, traj0, 0, defaultIlqgSettings);
    expect(ok.mu).toBe(0);
    expect(relErr(ok.K, lqr.K)).toBeLessThan(1e-9);
  });
});

describe("ilqgIteration's linearizer", () => {
  const { sys, terms, cost, x0 } = lqProblem(3);
  const exact: IlqgSettings = { ...defaultIlqgSettings, muInit: 0 };
  const traj0 = initialTrajectory(sys.dyn, cost, x0, new Float64Array(T * nu), exact);

  it("with the true Jacobians gives exactly the default's result", () => {
    const a = ilqgIteration(sys.dyn, cost, traj0, exact);
    const b = ilqgIteration(sys.dyn, cost, traj0, exact, linearizerOf(sys.A, sys.B));
    expect(b.info).toEqual(a.info);
    for (const key of ["xbar", "ubar", "K", "k", "cov"] as const) expect(Array.from(b.trajectory[key])).toEqual(Array.from(a.trajectory[key]));
    expect(relErr(a.trajectory.K, riccati(sys, terms).K)).toBeLessThan(1e-9);
  });

  it("with wrong Jacobians gives the Riccati gains of the wrong model, while the nominal follows the true one", () => {
    const s = new Sampler(seedGenerator(31));
    const Aw = Float64Array.from(sys.A, (v) => v + 0.05 * s.normal());
    const Bw = Float64Array.from(sys.B, (v) => v * 1.1);
    const wrong = { A: Aw, B: Bw };
    const r = ilqgIteration(sys.dyn, cost, traj0, exact, linearizerOf(Aw, Bw));
    expect(r.info.accepted).toBe(true);
    const lqrWrong = riccati(wrong, terms);
    const lqrTrue = riccati(sys, terms);
    expect(relErr(r.trajectory.K, lqrWrong.K)).toBeLessThan(1e-9);
    expect(relErr(r.trajectory.cov, lqrWrong.cov)).toBeLessThan(1e-9);
    expect(relErr(r.trajectory.K, lqrTrue.K)).toBeGreaterThan(1e-3);
    expect(isRolloutOf(sys, r.trajectory.xbar, r.trajectory.ubar)).toBeLessThan(1e-12);
    // gainsAt (gainMu) uses the linearizer too.
    const g = ilqgIteration(sys.dyn, cost, traj0, { ...exact, gainMu: 0 }, linearizerOf(Aw, Bw));
    expect(relErr(g.trajectory.K, lqrWrong.K)).toBeLessThan(1e-9);
  });

  it("uses only the linearizer's Jacobians: a backward pass on them equals lqApproximation of the linearizer", () => {
    const lin = linearizerOf(Float64Array.from(sys.A, (v) => 0.9 * v), sys.B);
    const lq = lqApproximation(lin, cost, traj0);
    const bp = backwardPass(lq, { mu: 0, muFactor: 1 }, exact);
    const r = ilqgIteration(sys.dyn, cost, traj0, exact, lin);
    expect(Array.from(r.trajectory.K)).toEqual(Array.from(bp.K));
  });
});

describe("Simulator contact override, contact count and control limits (walker)", () => {
  const walker = taskFor({ kind: "walker", horizon: 10 });
  const nxw = walker.nx;
  const nuw = walker.nu;
  let plain: Simulator;
  let soft: Simulator;
  beforeAll(async () => {
    plain = await createSimulator(walker);
    soft = await Simulator.fromMjcf(walker.mjcf, { substeps: walker.substeps, contactOverride: { solref: [0.1, 1] } });
  });
  afterAll(() => {
    plain.dispose();
    soft.dispose();
  });

  /** The standing pose sunk `dz` metres into the floor (dz < 0) or lifted (dz > 0). */
  const standing = (dz: number): Float64Array => {
    const x = Float64Array.from(walker.restState);
    x[walker.heightIndex] += dz;
    return x;
  };
  const linearizeAt = (sim: Simulator, x: Float64Array) => {
    const fx = new Float64Array(nxw * nxw);
    const fu = new Float64Array(nxw * nuw);
    const u = Float64Array.from({ length: nuw }, (_, i) => 10 * Math.sin(i + 1));
    sim.linearizeAt(x, u, fx, fu);
    return { fx, fu };
  };
  const maxAbsDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  it("counts the feet's contacts: some standing 2 mm into the floor, none 1 m above it", () => {
    const down = standing(-0.002);
    expect(plain.contactCount(down)).toBeGreaterThanOrEqual(2); // both feet
    expect(plain.contactCount(standing(1))).toBe(0);
    // At an offset in a stacked array.
    const stack = new Float64Array(3 * nxw);
    stack.set(standing(1), 0);
    stack.set(down, nxw);
    expect(plain.contactCount(stack, nxw)).toBe(plain.contactCount(down));
    expect(plain.contactCount(stack, 0)).toBe(0);
  });

  it("sets opt.o_solref (and o_solimp, o_margin when given) and turns on MuJoCo's override flag", () => {
    const override = (soft.mj.mjtEnableBit as unknown as { mjENBL_OVERRIDE: { value: number } }).mjENBL_OVERRIDE.value;
    expect(Array.from(soft.model.opt.o_solref as Float64Array)).toEqual([0.1, 1]);
    expect((soft.model.opt.enableflags as number) & override).toBe(override);
    expect((plain.model.opt.enableflags as number) & override).toBe(0);
    const full = Simulator.fromMjcfWith(soft.mj, walker.mjcf, {
      substeps: walker.substeps,
      contactOverride: { solref: [0.05, 0.8], solimp: [0.7, 0.9, 0.02, 0.4, 3], margin: 0.003 },
    });
    try {
      expect(Array.from(full.model.opt.o_solref as Float64Array)).toEqual([0.05, 0.8]);
      expect(Array.from(full.model.opt.o_solimp as Float64Array)).toEqual([0.7, 0.9, 0.02, 0.4, 3]);
      expect(full.model.opt.o_margin).toBe(0.003);
      // A 3 mm margin: contacts are reported before touching.
      expect(full.contactCount(standing(0.002))).toBeGreaterThan(0);
      expect(plain.contactCount(standing(0.002))).toBe(0);
    } finally {
      full.dispose();
    }
  });

  it("softened contacts change the linearization where there are contacts, and nothing in the air", () => {
    const down = standing(-0.002);
    expect(plain.contactCount(down)).toBeGreaterThan(0);
    const a = linearizeAt(plain, down);
    const b = linearizeAt(soft, down);
    expect(maxAbsDiff(a.fx, b.fx)).toBeGreaterThan(1e-2);
    const air = standing(1);
    expect(plain.contactCount(air)).toBe(0);
    const c = linearizeAt(plain, air);
    const d = linearizeAt(soft, air);
    expect(Array.from(d.fx)).toEqual(Array.from(c.fx));
    expect(Array.from(d.fu)).toEqual(Array.from(c.fu));
  });

  it("an override with the model's own contact parameters (solref, solimp and friction) changes nothing", () => {
    // The walker's geoms: solref "0.04 1", solimp "0.8 0.95 0.01 0.5 2", friction "0.9 0.005 0.0001".
    const same = Simulator.fromMjcfWith(soft.mj, walker.mjcf, {
      substeps: walker.substeps,
      contactOverride: { solref: [0.04, 1], solimp: [0.8, 0.95, 0.01, 0.5, 2] },
    });
    try {
      // The override also replaces friction with opt.o_friction; set it to the model's own.
      (same.model.opt.o_friction as Float64Array).set([0.9, 0.9, 0.005, 0.0001, 0.0001]);
      const down = standing(-0.002);
      const a = linearizeAt(plain, down);
      const b = linearizeAt(same, down);
      expect(Array.from(b.fx)).toEqual(Array.from(a.fx));
      expect(Array.from(b.fu)).toEqual(Array.from(a.fu));
    } finally {
      same.dispose();
    }
  });

  // MuJoCo's override flag replaces friction and solimp too: the simulator keeps the model's own.
  it("an override with the model's own solref and solimp leaves the dynamics unchanged", () => {
    const same = Simulator.fromMjcfWith(soft.mj, walker.mjcf, {
      substeps: walker.substeps,
      contactOverride: { solref: [0.04, 1], solimp: [0.8, 0.95, 0.01, 0.5, 2] },
    });
    try {
      const down = standing(-0.002);
      expect(Array.from(linearizeAt(same, down).fx)).toEqual(Array.from(linearizeAt(plain, down).fx));
    } finally {
      same.dispose();
    }
  });

  it("controlLimits gives the walker's ±200 N·m, as copies", () => {
    expect(WALKER_CTRL_RANGE).toBe(200);
    const { low, high } = plain.controlLimits();
    expect(Array.from(low)).toEqual(new Array(nuw).fill(-200));
    expect(Array.from(high)).toEqual(new Array(nuw).fill(200));
    low[0] = 0;
    high[0] = 0;
    expect(plain.controlLimits().low[0]).toBe(-200);
    expect(plain.controlLimits().high[0]).toBe(200);
    // And they are what clampControl enforces.
    const u = Float64Array.from({ length: nuw }, (_, i) => (i % 2 ? -1 : 1) * 500);
    plain.clampControl(u);
    expect(Array.from(u)).toEqual(Array.from({ length: nuw }, (_, i) => (i % 2 ? -200 : 200)));
  });
});

describe("experiment checks of a fitted linearization", () => {
  type Init = Parameters<typeof ilqg>[0];
  const walkerExperiment = (init: Partial<Init>): Experiment =>
    experiment({
      name: "fitted-check",
      seed: 1,
      task: taskSpec.walker({ horizon: 10 }),
      conditions: condition.gaitPhases("simbicon", 2),
      pipeline: [stage.demonstrate({ controller: "simbicon" }), ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 1, ...init })],
    });
  const problemsOf = (e: Experiment): string[] => {
    try {
      planExperiment(resolveExperiment(e));
    } catch (err) {
      expect(err).toBeInstanceOf(ExperimentValidationError);
      return [...(err as ExperimentValidationError).problems];
    }
    return [];
  };
  const decodeProblems = (value: unknown): string[] => {
    try {
      decodeExperiment(value);
    } catch (err) {
      expect(err).toBeInstanceOf(ExperimentValidationError);
      return [...(err as ExperimentValidationError).problems];
    }
    return [];
  };

  it("rejects too few rollouts per step, naming linearization.rollouts and nx + nu = 24", () => {
    const walker = taskFor({ kind: "walker", horizon: 10 });
    expect(walker.nx + walker.nu).toBe(24);
    for (const linearization of [
      { kind: "fitted" as const, rollouts: 2, prior: 0 },
      { kind: "fitted" as const, rollouts: 24, prior: 0 }, // no prior: N − 1 = 23 < 24 dimensions
    ]) {
      const e = walkerExperiment({ linearization });
      expect(decodeExperiment(e)).toEqual(e); // the codec accepts it: only the task knows nx, nu
      expect(() => planExperiment(resolveExperiment(e))).toThrow(ExperimentValidationError);
      const problems = problemsOf(e);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^pipeline\[1\] initializeTrajectories \(stage 1\)\.linearization\.rollouts: /);
      expect(problems[0]).toMatch(/\b24\b/);
    }
  });

  it("accepts enough rollouts: 25 without a prior, 20 with the default prior", () => {
    expect(problemsOf(walkerExperiment({ linearization: { kind: "fitted", rollouts: 25, prior: 0 } }))).toEqual([]);
    expect(problemsOf(walkerExperiment({ linearization: { kind: "fitted", rollouts: 20 } }))).toEqual([]);
    expect(problemsOf(walkerExperiment({ linearization: { kind: "finiteDifference", contact: { solref: [0.1, 1] } } }))).toEqual([]);
    expect(problemsOf(walkerExperiment({}))).toEqual([]);
  });

  it("requires motorNoise for a fitted linearization, naming it", () => {
    const e = walkerExperiment({ linearization: { kind: "fitted", rollouts: 20 }, motorNoise: undefined });
    const problems = problemsOf(e);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^pipeline\[1\] initializeTrajectories \(stage 1\)\.motorNoise: /);
    // Both problems at once are both named.
    const both = problemsOf(walkerExperiment({ linearization: { kind: "fitted", rollouts: 2, prior: 0 }, motorNoise: undefined }));
    expect(both.some((p) => p.includes("linearization.rollouts"))).toBe(true);
    expect(both.some((p) => p.includes(".motorNoise"))).toBe(true);
  });

  // Each step's scatter is about its own mean (rank ≤ rollouts − 1) and the window is cut to
  // window + 1 steps at the ends of the horizon: 5 rollouts with window 2 pool ≤ 3 · 4 = 12 < 24.
  it("rejects 5 rollouts with the default prior window (pooled rank ≤ 20 < nx + nu = 24)", () => {
    const problems = problemsOf(walkerExperiment({ linearization: { kind: "fitted", rollouts: 5 } }));
    expect(problems.some((p) => p.includes("linearization.rollouts"))).toBe(true);
  });

  it("the codec rejects rollouts < 2, a negative prior and an unknown kind, naming the field", () => {
    const base = walkerExperiment({ linearization: { kind: "fitted", rollouts: 20 } });
    const withLinearization = (linearization: unknown): unknown => {
      const v = JSON.parse(JSON.stringify(base)) as { pipeline: Record<string, unknown>[] };
      v.pipeline[1].linearization = linearization;
      return v;
    };
    expect(decodeProblems(withLinearization({ kind: "fitted", rollouts: 20 }))).toEqual([]);

    const one = decodeProblems(withLinearization({ kind: "fitted", rollouts: 1 }));
    expect(one.length).toBeGreaterThan(0);
    expect(one.some((p) => p.startsWith("pipeline[1].linearization.rollouts: "))).toBe(true);

    const fractional = decodeProblems(withLinearization({ kind: "fitted", rollouts: 2.5 }));
    expect(fractional.some((p) => p.startsWith("pipeline[1].linearization.rollouts: "))).toBe(true);

    const prior = decodeProblems(withLinearization({ kind: "fitted", rollouts: 20, prior: -1 }));
    expect(prior.length).toBeGreaterThan(0);
    expect(prior.some((p) => p.startsWith("pipeline[1].linearization.prior: "))).toBe(true);

    const kind = decodeProblems(withLinearization({ kind: "regression", rollouts: 20 }));
    expect(kind.length).toBeGreaterThan(0);
    expect(kind[0]).toMatch(/^pipeline\[1\]\.linearization\.kind: unknown kind "regression"/);

    const unknownField = decodeProblems(withLinearization({ kind: "fitted", rollouts: 20, priorr: 1 }));
    expect(unknownField).toEqual(["pipeline[1].linearization.priorr: unknown field"]);
  });
});
