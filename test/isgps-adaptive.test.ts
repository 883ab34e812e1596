/**
 * Adaptive guiding distributions (2013 §4.2): the cost ℓ − log π_θ(u|x) and its
 * expansion, and the adaptGuiding stage pulling the DDP solution toward what
 * the policy would do.
 */
import { decodeRunState } from "../src/algorithms/run-state.js";
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { condition, experiment, ilqg, policy, stage, task, type Linearization } from "../src/index.js";
import { withPolicyPrior } from "../src/algorithms/isgps-adaptive.js";
import { finiteDifferenceSimulator } from "../src/algorithms/linearization.js";
import { createSimulator } from "../src/sim/mujoco.js";
import { taskFor } from "../src/tasks/index.js";
import { trajectoryCost } from "../src/tasks/cost.js";
import { ilqgIteration } from "../src/trajopt/ilqg.js";
import { mlpOf, type RunState } from "../src/algorithms/state.js";
import { createPolicy, createWorkspace, forward, initParameters, logProbability, mlpShape, type MlpPolicy } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { allocCostExpansion, type Cost } from "../src/trajopt/types.js";
import { startRun } from "../src/runtime/session.js";
import type { RunEvent } from "../src/runtime/interpreter.js";
import { readCheckpoint } from "../src/runtime/store.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A smooth base cost with known derivatives: ½|x|² + |u|² + x₀u₁. */
const base = (nx: number, nu: number): Cost => ({
  nx,
  nu,
  value: (x, u, _t, xo = 0, uo = 0) => {
    let s = x[xo] * u[uo + 1];
    for (let i = 0; i < nx; i++) s += 0.5 * x[xo + i] ** 2;
    for (let j = 0; j < nu; j++) s += u[uo + j] ** 2;
    return s;
  },
  expand: (x, u, t, out, xo = 0, uo = 0) => {
    out.lx.fill(0);
    out.lu.fill(0);
    out.lxx.fill(0);
    out.luu.fill(0);
    out.lux.fill(0);
    for (let i = 0; i < nx; i++) {
      out.lx[i] = x[xo + i];
      out.lxx[i * nx + i] = 1;
    }
    out.lx[0] += u[uo + 1];
    for (let j = 0; j < nu; j++) {
      out.lu[j] = 2 * u[uo + j];
      out.luu[j * nu + j] = 2;
    }
    out.lu[1] += x[xo];
    out.lux[1 * nx + 0] = 1;
    let s = x[xo] * u[uo + 1];
    for (let i = 0; i < nx; i++) s += 0.5 * x[xo + i] ** 2;
    for (let j = 0; j < nu; j++) s += u[uo + j] ** 2;
    return s;
  },
});

function setup(): { policy: MlpPolicy; theta: Float64Array; x: Float64Array; u: Float64Array } {
  const shape = mlpShape(4, 6, 2);
  const sampler = new Sampler(seedGenerator(8));
  const theta = initParameters(shape, sampler, { initLogStd: -0.3 });
  const policy = createPolicy(shape, { inputMean: Float64Array.of(0.1, 0, -0.2, 0), inputStd: Float64Array.of(1, 2, 0.5, 1) });
  return { policy, theta, x: Float64Array.of(0.3, -0.7, 0.2, 1.1), u: Float64Array.of(0.4, -0.9) };
}

describe("withPolicyPrior: ℓ − log π_θ(u|x)", () => {
  it("its value is the base cost minus the policy's log density, scaled by the weight", () => {
    const { policy, theta, x, u } = setup();
    const c = withPolicyPrior(base(4, 2), policy, theta, 0.7);
    const ws = createWorkspace(policy, 1);
    expect(c.value(x, u, 0)).toBeCloseTo(base(4, 2).value(x, u, 0) - 0.7 * logProbability(policy, theta, x, u, ws), 12);
  });

  it("l_x, l_u match central differences of the value; l_uu and l_ux (exact for a Gaussian in u) match differences of the gradient", () => {
    const { policy, theta, x, u } = setup();
    const c = withPolicyPrior(base(4, 2), policy, theta, 1.3);
    const e = allocCostExpansion(4, 2);
    const v = c.expand(x, u, 0, e);
    expect(v).toBeCloseTo(c.value(x, u, 0), 12);
    const h = 1e-6;
    const fd = (f: (dx: Float64Array, du: Float64Array) => number, which: "x" | "u", i: number) => {
      const dx = Float64Array.from(x);
      const du = Float64Array.from(u);
      (which === "x" ? dx : du)[i] += h;
      const p = f(dx, du);
      (which === "x" ? dx : du)[i] -= 2 * h;
      return (p - f(dx, du)) / (2 * h);
    };
    const val = (dx: Float64Array, du: Float64Array) => c.value(dx, du, 0);
    for (let i = 0; i < 4; i++) expect(e.lx[i]).toBeCloseTo(fd(val, "x", i), 6);
    for (let j = 0; j < 2; j++) expect(e.lu[j]).toBeCloseTo(fd(val, "u", j), 6);
    const lu = (j: number) => (dx: Float64Array, du: Float64Array) => {
      const o = allocCostExpansion(4, 2);
      c.expand(dx, du, 0, o);
      return o.lu[j];
    };
    for (let j = 0; j < 2; j++) {
      for (let k = 0; k < 2; k++) expect(e.luu[j * 2 + k]).toBeCloseTo(fd(lu(j), "u", k), 6);
      for (let i = 0; i < 4; i++) expect(e.lux[j * 4 + i]).toBeCloseTo(fd(lu(j), "x", i), 6);
    }
    // l_xx: base + μ_xᵀ D μ_x (Gauss–Newton): symmetric, and at least the base's curvature.
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) expect(e.lxx[a * 4 + b]).toBeCloseTo(e.lxx[b * 4 + a], 12);
    for (let a = 0; a < 4; a++) expect(e.lxx[a * 4 + a]).toBeGreaterThanOrEqual(1);
  });
});

describe("adaptGuiding stage", () => {
  it("moves the guiding solution's actions toward the policy's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-adapt-"));
    roots.push(dir);
    const exp = experiment({
      name: "adapt-small",
      seed: 2,
      task: task.swimmer({ horizon: 30 }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 5 }),
      pipeline: [
        ...ilqg({ from: { kind: "random", std: 1 }, iterations: 8 }),
        stage.guidingSamples({ samples: 8 }),
        stage.pretrainPolicy({ maxIterations: 5, samples: 2 }),
        stage.adaptGuiding({ iterations: 10 }),
      ],
    });
    const started = startRun(exp, { store: dir });
    const events = await lastValueFrom(started.events.pipe(toArray()));
    const finished = events.filter((e): e is Extract<RunEvent, { type: "stage-finished" }> => e.type === "stage-finished");
    const at = (k: number) => decodeRunState(readCheckpoint(started.run, k).state);
    const before = at(finished.length - 2);
    const after = at(finished.length - 1);
    const distance = (s: RunState) => {
      const pol = mlpOf(s.policy!);
      const ws = createWorkspace(pol, 1);
      const q = s.conditions[0].trajectory!;
      const mean = new Float64Array(2);
      let d = 0;
      for (let t = 0; t < 30; t++) {
        forward(pol, s.policy!.theta, q.xbar.subarray(t * 10, t * 10 + 10), 1, mean, ws);
        for (let j = 0; j < 2; j++) d += (q.ubar[t * 2 + j] - mean[j]) ** 2;
      }
      return Math.sqrt(d / 60);
    };
    expect(distance(after)).toBeLessThan(0.8 * distance(before));
  }, 60_000);

  it("linearizes as the condition says (another finite-difference step changes the adapted solution; rng untouched)", async () => {
    const run = async (linearization: Linearization | undefined) => {
      const dir = mkdtempSync(join(tmpdir(), "gps-adapt-"));
      roots.push(dir);
      const exp = experiment({
        name: "adapt-linearization",
        seed: 2,
        task: task.swimmer({ horizon: 30 }),
        conditions: [condition.rest()],
        policy: policy.mlp({ hidden: 5 }),
        pipeline: [
          ...ilqg({ from: { kind: "random", std: 1 }, iterations: 4, ...(linearization ? { linearization } : {}) }),
          stage.guidingSamples({ samples: 4 }),
          stage.pretrainPolicy({ maxIterations: 5, samples: 2 }),
          stage.adaptGuiding({ iterations: 3 }),
        ],
      });
      const started = startRun(exp, { store: dir });
      const events = await lastValueFrom(started.events.pipe(toArray()));
      const n = events.filter((e) => e.type === "stage-finished").length;
      return [n - 2, n - 1].map((k) => decodeRunState(readCheckpoint(started.run, k).state));
    };
    const [beforeDefault, afterDefault] = await run(undefined);
    const [beforeCoarse, afterCoarse] = await run({ kind: "finiteDifference", epsilon: 1e-2 });
    // adaptGuiding draws nothing from the generator with finite differences.
    expect(afterDefault.rng).toEqual(beforeDefault.rng);
    expect(afterCoarse.rng).toEqual(beforeCoarse.rng);
    expect(afterCoarse.conditions[0].linearization).toEqual({ kind: "finiteDifference", epsilon: 1e-2 });
    // The adapted solution is exactly 3 iLQG iterations on ℓ − log π_θ* linearized with the coarse step…
    const swimmer = taskFor({ kind: "swimmer", horizon: 30 });
    const sim = await createSimulator(swimmer);
    const coarse = finiteDifferenceSimulator(swimmer, { kind: "finiteDifference", epsilon: 1e-2 });
    try {
      const c = beforeCoarse.conditions[0];
      const cost = withPolicyPrior(swimmer.cost, mlpOf(beforeCoarse.policy!), beforeCoarse.policy!.theta, 1);
      const adapt = (linearizer: typeof coarse | typeof sim) => {
        let q = { ...c.trajectory!, cost: trajectoryCost(cost, c.trajectory!.xbar, c.trajectory!.ubar, 30) };
        for (let k = 0; k < 3; k++) q = ilqgIteration(sim, cost, q, c.settings!, linearizer).trajectory;
        return Array.from(q.ubar);
      };
      expect(Array.from(afterCoarse.conditions[0].trajectory!.ubar)).toEqual(adapt(coarse));
      // …and not the one the default linearization gives from the same start.
      expect(adapt(sim)).not.toEqual(adapt(coarse));
    } finally {
      coarse.dispose();
      sim.dispose();
    }
  }, 60_000);
});
