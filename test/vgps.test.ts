/**
 * Variational GPS (Levine & Koltun, NIPS 2013): the E-step stage against the
 * closed form of its covariance (q's action precision is Q_uu plus the
 * policy's), the E-step without a policy against plain iLQG, the M-step's
 * agreement, its options' decoding and plan-time refusals, and a
 * bit-identical resume.
 */
import { describe, expect, it } from "vitest";
import { condition, experiment, ilqg, policy, repeat, stage, task } from "../src/index.js";
import { decodeExperiment } from "../src/dsl/validate.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { planExperiment } from "../src/dsl/plan.js";
import { startRun } from "../src/runtime/session.js";
import { parameterLayout } from "../src/policy/mlp.js";
import { mlpOf } from "../src/algorithms/state.js";
import { cholesky, choleskyInverse } from "../src/linalg/dense.js";
import { likelihoodBatch, likelihoodLogStd } from "../src/algorithms/cgps-policy.js";
import { policyPriorTerm } from "../src/algorithms/isgps-adaptive.js";
import { observationChainFor, observerFor } from "../src/algorithms/observation.js";
import { costSum } from "../src/tasks/cost-terms.js";
import { taskFor } from "../src/tasks/index.js";
import { createPolicy, initParameters, mlpShape } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { allocCostExpansion, type Cost } from "../src/trajopt/types.js";

/** The zero cost (to see a term alone). */
const zeroCost = (nx: number, nu: number): Cost => ({ nx, nu, value: () => 0, expand: () => 0 });
import swimmerVgps from "../experiments/swimmer-vgps-10.js";
import swimmerCgps from "../experiments/swimmer-cgps-10.js";
import { tempDirs } from "./helpers/tmp.js";
import { digestsResumedAfter, finishedOf, stateAt } from "./helpers/runs.js";

const store = tempDirs("vgps");

/** iLQG (stages 0–3), then 3 × [E-step, M-step] (4–9), the policy alone (10). */
const small = experiment({
  name: "vgps-small",
  seed: 3,
  task: task.swimmer({ horizon: 20 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
  policy: policy.mlp({ hidden: 5, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }),
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 3 }),
    repeat(3, [stage.variationalEStep({ iterations: 2 }), stage.fitTheta({ maxIterations: 30, samples: 5, objective: "likelihood" })]),
    stage.evaluate({ noise: false, controller: "policy" }),
  ],
});

/** Is the symmetric n×n matrix A (row-major) positive semi-definite (up to tol)? */
function isPsd(A: Float64Array, n: number, tol: number): boolean {
  const B = Float64Array.from(A);
  for (let i = 0; i < n; i++) B[i * n + i] += tol;
  return cholesky(B, n);
}

/** The inverse of the symmetric positive definite n×n matrix A, from its Cholesky factor. */
function inverse(A: Float64Array, n: number): Float64Array {
  const L = Float64Array.from(A);
  if (!cholesky(L, n)) throw new Error("not positive definite");
  const out = new Float64Array(n * n);
  choleskyInverse(L, n, out);
  return out;
}

describe("variational GPS: the stage's options and plan", () => {
  it("defaults, unknown options and bad values refused at decode with the field path", () => {
    const r = resolveExperiment(decodeExperiment(small));
    const e = r.pipeline[2];
    expect(e.kind === "repeat" && e.body[0]).toEqual({ kind: "variationalEStep", iterations: 2, policyWeight: 1 });
    const one = resolveExperiment(decodeExperiment({ ...small, pipeline: [...small.pipeline.slice(0, 2), stage.variationalEStep()] }));
    expect(one.pipeline[2]).toEqual({ kind: "variationalEStep", iterations: 1, policyWeight: 1 });
    const at = (s: unknown) => ({ ...small, pipeline: [...small.pipeline.slice(0, 2), s] });
    expect(() => decodeExperiment(at({ kind: "variationalEStep", policyWeight: 0 }))).toThrow(/pipeline\[2\]\.policyWeight: expected PositiveNumber, got 0/);
    expect(() => decodeExperiment(at({ kind: "variationalEStep", iterations: 0 }))).toThrow(/pipeline\[2\]\.iterations/);
    expect(() => decodeExperiment(at({ kind: "variationalEStep", temperature: 1 }))).toThrow(/pipeline\[2\]\.temperature: unknown field/);
  });

  it("needs a trajectory distribution, at plan time", () => {
    const before = experiment({ ...small, name: "vgps-first", pipeline: [stage.variationalEStep()] });
    expect(() => startRun(before, { store: store() })).toThrow(/pipeline\[0\] variationalEStep \(stage 0\): needs every condition's trajectory distribution, and no earlier stage provides it/);
  });

  it("with a ground-relative observation, −log π_θ(u|o(x)) has l_x equal to central differences in x (the chain rule through the ground)", () => {
    const walker = taskFor({ kind: "walker", horizon: 10, terrain: { kind: "uneven", seed: 1 } });
    const spec = policy.mlp({ hidden: 6, observation: "groundRelativeHeight" });
    const observer = observerFor(spec, walker)!;
    expect(observer).not.toBeNull();
    const shape = mlpShape(walker.nx, 6, walker.nu);
    const theta = initParameters(shape, new Sampler(seedGenerator(5)), { initLogStd: -0.5 });
    const net = createPolicy(shape, { inputMean: new Float64Array(walker.nx), inputStd: new Float64Array(walker.nx).fill(1) });
    const term = costSum(zeroCost(walker.nx, walker.nu), policyPriorTerm(net, theta, 1, { observer, chain: observationChainFor(spec, walker) }));
    const x = Float64Array.from(walker.restState);
    x[0] = 1.37; // on a slope of the uneven ground
    for (let i = 0; i < walker.nx; i++) x[i] += 0.05 * Math.sin(3 * i + 1);
    const u = Float64Array.from({ length: walker.nu }, (_, j) => 0.3 * Math.cos(j));
    const e = allocCostExpansion(walker.nx, walker.nu);
    term.expand(x, u, 0, e);
    const h = 1e-6;
    for (let i = 0; i < walker.nx; i++) {
      const a = Float64Array.from(x);
      const b = Float64Array.from(x);
      a[i] += h;
      b[i] -= h;
      expect(e.lx[i]).toBeCloseTo((term.value(a, u, 0) - term.value(b, u, 0)) / (2 * h), 5);
    }
    // The point is on a slope: o_h = x_h − g(x_rootx) depends on root x, which the chain rule carries into l_x.
    const slope = walker.groundHeight!(x[0] + 1e-4) - walker.groundHeight!(x[0] - 1e-4);
    expect(Math.abs(slope)).toBeGreaterThan(1e-6);
  });

  it("experiments/swimmer-vgps-10.ts is swimmer-cgps-10.ts with the E-step for optimizeQ and no dual step", () => {
    expect(() => planExperiment(resolveExperiment(swimmerVgps))).not.toThrow();
    const loop = (e: typeof swimmerCgps) => e.pipeline.find((p) => p.kind === "repeat" && p.times === 100);
    const v = loop(swimmerVgps);
    const c = loop(swimmerCgps);
    expect(v?.kind === "repeat" && v.body.map((s) => s.kind)).toEqual(["variationalEStep", "fitTheta"]);
    expect(v?.kind === "repeat" && c?.kind === "repeat" && v.body[1]).toEqual(c?.kind === "repeat" && { ...c.body[1], objective: "likelihood" });
    expect({ ...swimmerVgps, name: "", pipeline: [] }).toEqual({ ...swimmerCgps, name: "", pipeline: [] });
  });
});

describe("variational GPS: the M-step's closed forms", () => {
  // Rows of a toy batch: targets μ_q, the fitted means μ_θ, q's variances.
  const m = 2;
  const N = 5;
  const targets = Float64Array.from([0.3, -1, 1.2, 0.4, -0.5, 2, 0.9, 0.1, 0, -0.7]);
  const means = Float64Array.from([0.1, -0.8, 1, 0.9, -0.4, 1.5, 1.1, 0, 0.2, -0.6]);
  const covDiag = Float64Array.from([0.04, 0.2, 0.05, 0.1, 0.03, 0.3, 0.06, 0.2, 0.05, 0.25]);
  const batch = { n: 1, m, N, X: new Float64Array(N), targets, precisions: new Float64Array(N * m * m), weights: new Float64Array(N) };
  /** −E_q[Σ_rows log π] up to constants, as a function of logσ_j: Σ_r ½((μ_q − μ_θ)² + A)/σ² + log σ. */
  const negLogLik = (logStd: number[]) => {
    let f = 0;
    for (let r = 0; r < N; r++) {
      for (let j = 0; j < m; j++) {
        const e = targets[r * m + j] - means[r * m + j];
        f += (0.5 * (e * e + covDiag[r * m + j])) / Math.exp(2 * logStd[j]) + logStd[j];
      }
    }
    return f;
  };

  it("σ² = mean residual² + mean q variance maximizes E_q[log π] (zero gradient, a minimum of the negative)", () => {
    const theta = new Float64Array(3);
    const sigma2 = likelihoodLogStd(batch, means, covDiag, theta, 1);
    const ls = [theta[1], theta[2]];
    for (let j = 0; j < m; j++) {
      expect(Math.exp(2 * ls[j])).toBeCloseTo(sigma2[j], 14);
      const h = 1e-5;
      const up = [...ls];
      const down = [...ls];
      up[j] += h;
      down[j] -= h;
      expect(Math.abs((negLogLik(up) - negLogLik(down)) / (2 * h))).toBeLessThan(1e-7);
      for (const d of [-0.1, 0.1]) {
        const moved = [...ls];
        moved[j] += d;
        expect(negLogLik(moved)).toBeGreaterThan(negLogLik(ls));
      }
    }
    // Wider than q's own mean variance by exactly the mean squared residual.
    expect(sigma2[0]).toBeCloseTo((0.04 + 0.05 + 0.03 + 0.06 + 0.05) / 5 + (0.04 + 0.04 + 0.01 + 0.04 + 0.04) / 5, 14);
  });

  it("the mean's least squares use π's own precision on every row, not q's, and no λ", () => {
    const lb = likelihoodBatch({ ...batch, precisions: new Float64Array(N * m * m).fill(7), weights: new Float64Array(N).fill(0.5) }, [0.25, 4]);
    for (let r = 0; r < N; r++) {
      expect(Array.from(lb.precisions.subarray(r * 4, r * 4 + 4))).toEqual([4, 0, 0, 0.25]);
      expect(lb.weights[r]).toBe(1);
    }
  });
});

describe("variational GPS: the E-step and M-step", () => {
  it("runs, resumes bit-identically, and its q is never wider than the policy (precision Q_uu + Σ_π⁻¹)", async () => {
    const s = store();
    const run = startRun(small, { store: s });
    const finished = await finishedOf(run.events);
    expect(finished.map((f) => f.kind)).toEqual([
      "initializeTrajectories", "ilqgIteration", "ilqgIteration", "ilqgIteration",
      "variationalEStep", "fitTheta", "variationalEStep", "fitTheta", "variationalEStep", "fitTheta", "evaluate",
    ]);
    // The first E-step has no policy: its metrics carry no policy term.
    expect(finished[4].metrics.policyNll).toBeUndefined();
    expect(typeof finished[6].metrics.policyNll).toBe("number");
    // The M-step brings π toward q: KL(π‖q) falls from the first fit to the last.
    expect(finished[9].metrics.kl as number).toBeLessThan(finished[5].metrics.kl as number);

    // Closed form: after an E-step with a policy, q's action covariance Σ_q satisfies
    // Σ_q⁻¹ = Q̃_uu + Σ_π⁻¹ with Q̃_uu ⪰ 0, so Σ_q⁻¹ − Σ_π⁻¹ ⪰ 0 at every step.
    const st = stateAt(run.run, 6);
    const p = stateAt(run.run, 5).policy!;
    const { logStd } = parameterLayout(mlpOf(p));
    const nu = 2;
    for (const c of st.conditions) {
      const q = c.trajectory!;
      for (let t = 0; t < q.T; t++) {
        const prec = inverse(q.cov.subarray(t * nu * nu, (t + 1) * nu * nu), nu);
        for (let j = 0; j < nu; j++) prec[j * nu + j] -= Math.exp(-2 * p.theta[logStd + j]);
        expect(isPsd(prec, nu, 1e-8 * (1 + Math.abs(prec[0]) + Math.abs(prec[3])))).toBe(true);
      }
    }

    // Stopped after the first E-step with a policy and resumed: the same digests.
    const straight = finished.map((f) => f.digest);
    expect(await digestsResumedAfter(small, store(), 6)).toEqual(straight);
    expect(await digestsResumedAfter(small, store(), 5)).toEqual(straight);
  });

  it("before the first fit, the E-step is plain iLQG on ℓ: the same nominal as ilqgIteration", async () => {
    const head = [...ilqg({ from: { kind: "random", std: 1 }, iterations: 3 })];
    const viaE = experiment({ ...small, name: "vgps-e", pipeline: [...head, stage.variationalEStep({ iterations: 2 })] });
    const viaIlqg = experiment({ ...small, name: "vgps-ilqg", pipeline: [...head, stage.ilqgIteration(), stage.ilqgIteration()] });
    const a = startRun(viaE, { store: store() });
    const b = startRun(viaIlqg, { store: store() });
    const fa = await finishedOf(a.events);
    const fb = await finishedOf(b.events);
    const qa = stateAt(a.run, fa.length - 1).conditions;
    const qb = stateAt(b.run, fb.length - 1).conditions;
    qa.forEach((c, i) => {
      expect(Array.from(c.trajectory!.xbar)).toEqual(Array.from(qb[i].trajectory!.xbar));
      expect(Array.from(c.trajectory!.ubar)).toEqual(Array.from(qb[i].trajectory!.ubar));
      expect(c.trajectory!.cost).toBe(qb[i].trajectory!.cost);
    });
    expect(fa[fa.length - 1].metrics.cost).toBe(fb[fb.length - 1].metrics.cost);
  });
});
