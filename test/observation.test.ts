/**
 * What the policy sees: the root height above the ground under the root
 * (`observation: "groundRelativeHeight"`), and generalization tests on grounds
 * the policy was not trained on (`evaluate({ terrains })`).
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, policy, stage, task } from "../src/index.js";
import { observerFor } from "../src/algorithms/observation.js";
import { taskFor } from "../src/tasks/index.js";
import { startRun } from "../src/runtime/session.js";
import { digestsResumedAfter, finishedOf } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("policy observation", () => {
  it("is the state itself by default and on flat ground", () => {
    const flat = taskFor(task.walker({ horizon: 10 }));
    expect(observerFor({ kind: "mlp", hidden: 3 }, flat)).toBeNull();
    expect(observerFor({ kind: "mlp", hidden: 3, observation: "groundRelativeHeight" }, flat)).toBeNull();
  });

  it("replaces the root height by the height above the ground under the root, nothing else", () => {
    const incline = taskFor(task.walker({ horizon: 10, terrain: { kind: "incline", start: 1, angleDeg: 10 } }));
    const observe = observerFor({ kind: "mlp", hidden: 3, observation: "groundRelativeHeight" }, incline)!;
    expect(observe).not.toBeNull();
    const x = Float64Array.from(incline.restState);
    x[0] = 3; // 2 m up a 10° slope: ground at 2·tan(10°)
    x[incline.heightIndex] = 1.6;
    const out = new Float64Array(x.length);
    observe(x, 0, out, 0);
    for (let i = 0; i < x.length; i++) {
      if (i === incline.heightIndex) expect(out[i]).toBeCloseTo(1.6 - 2 * Math.tan((10 * Math.PI) / 180), 9);
      else expect(out[i]).toBe(x[i]);
    }
  });
});

describe("evaluate on test grounds", () => {
  it("rolls the policy out from every condition on every listed terrain, in worlds built for them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-obs-"));
    roots.push(dir);
    const exp = experiment({
      name: "obs-small",
      seed: 3,
      task: task.walker({ horizon: 30, terrain: { kind: "incline", start: 0.3 } }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 4, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
      pipeline: [
        stage.demonstrate({ controller: "simbicon-smooth" }),
        stage.guidingSamples({ samples: 3, from: "demonstration" }),
        stage.pretrainPolicy({ maxIterations: 5, samples: 2 }),
        stage.evaluate({ noise: false, controller: "policy", terrains: [{ kind: "flat" }, { kind: "incline", start: 0.1 }, { kind: "incline", start: 0.5 }] }),
      ],
    });
    const done = await finishedOf(startRun(exp, { store: dir }).events);
    const m = done[3].metrics;
    expect(m.terrainsPerCondition).toBe(3);
    expect((m.costs as number[]).length).toBe(3);
    // Different grounds, different rollouts.
    expect(new Set(m.costs as number[]).size).toBe(3);

    // Demonstration-guided samples, the ground-relative observation and the test grounds resume bit-identically.
    for (const stopAfter of [1, 2]) {
      const d = mkdtempSync(join(tmpdir(), "gps-obs-"));
      roots.push(d);
      expect(await digestsResumedAfter(exp, d, stopAfter)).toEqual(done.map((e) => e.digest));
    }
  }, 60_000);
});

describe("evaluate past the task's horizon", () => {
  it("rolls a state-driven controller out for `horizon` steps and refuses a time-indexed one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-hor-"));
    roots.push(dir);
    const base = {
      name: "horizon-small",
      seed: 2,
      task: task.walker({ horizon: 30 }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 3 }),
    };
    const exp = experiment({
      ...base,
      pipeline: [
        stage.demonstrate({ controller: "simbicon-smooth" }),
        stage.evaluate({ noise: false, controller: "demonstration" }),
        stage.evaluate({ noise: false, controller: "demonstration", horizon: 90 }),
      ],
    });
    const done = await finishedOf(startRun(exp, { store: dir }).events);
    expect(done).toHaveLength(3);
    const short = done[1].metrics, long = done[2].metrics;
    expect(short.horizon).toBeUndefined();
    expect(long.horizon).toBe(90);
    // Three times as long a walk from rest covers more ground.
    expect(long.distance as number).toBeGreaterThan((short.distance as number) + 0.1);

    const bad = experiment({
      ...base,
      name: "horizon-bad",
      pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.initializeTrajectories({ from: { kind: "recorded" } }), stage.evaluate({ noise: false, horizon: 90 })],
    });
    const d2 = mkdtempSync(join(tmpdir(), "gps-hor-"));
    roots.push(d2);
    // Refused by the plan, before a run directory exists.
    expect(() => startRun(bad, { store: d2 })).toThrow(/pipeline\[2\] evaluate \(stage 2\)\.horizon: 90 steps is past/);
  }, 60_000);
});

describe("constrained GPS with the ground-relative height", () => {
  it("linearizes the policy through the observation: ∂μ/∂x matches differences of μ(o(x)) on a slope", async () => {
    const { createPolicy, createWorkspace, forward, initParameters, mlpShape, normalizationFrom } = await import("../src/policy/mlp.js");
    const { allocPolicyLinearization, linearizePolicy } = await import("../src/trajopt/policy-linearization.js");
    const { observationChainFor, observeRows } = await import("../src/algorithms/observation.js");
    const { Sampler, seedGenerator } = await import("../src/random/generator.js");
    const incline = taskFor(task.walker({ horizon: 10, terrain: { kind: "incline", start: 0.5, angleDeg: 10 } }));
    const spec = { kind: "mlp" as const, hidden: 4, observation: "groundRelativeHeight" as const };
    const observe = observerFor(spec, incline)!;
    const chain = observationChainFor(spec, incline)!;
    expect(chain).not.toBeNull();
    const n = incline.nx, m = incline.nu, T = 2;
    const s = new Sampler(seedGenerator(9));
    const xs = new Float64Array((T + 1) * n);
    for (let t = 0; t <= T; t++) for (let i = 0; i < n; i++) xs[t * n + i] = incline.restState[i] + 0.05 * s.normal();
    xs[0] = 1.3; // on the slope
    xs[n] = 1.7;
    const shape = mlpShape(n, 4, m);
    const policy = createPolicy(shape, normalizationFrom(observeRows(observe, xs, T + 1, n), n));
    const theta = initParameters(shape, s);
    const lin = allocPolicyLinearization(T, n, m);
    linearizePolicy(policy, theta, observeRows(observe, xs, T + 1, n), T, lin);
    for (let t = 0; t < T; t++) chain(xs, t * n, lin.muX.subarray(t * m * n, (t + 1) * m * n), m);
    const ws = createWorkspace(policy, 1);
    const o = new Float64Array(n), x = new Float64Array(n), up = new Float64Array(m), um = new Float64Array(m);
    const h = 1e-6;
    for (let t = 0; t < T; t++) {
      for (const i of [0, incline.heightIndex, 3]) {
        for (const [sign, out] of [[1, up], [-1, um]] as const) {
          x.set(xs.subarray(t * n, (t + 1) * n));
          x[i] += sign * h;
          observe(x, 0, o, 0);
          forward(policy, theta, o, 1, out, ws);
        }
        for (let j = 0; j < m; j++) expect(lin.muX[t * m * n + j * n + i]).toBeCloseTo((up[j] - um[j]) / (2 * h), 6);
      }
    }
    // The root's x matters only through the ground under it: not zero on the slope.
    expect(Math.abs(lin.muX[0])).toBeGreaterThan(1e-6);
  });

  it("runs the trajectory, policy and dual steps on a slope and resumes bit-identically", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-cgps-obs-"));
    roots.push(dir);
    const exp = experiment({
      name: "cgps-obs-small",
      seed: 4,
      task: task.walker({ horizon: 20, terrain: { kind: "incline", start: 0.05 } }),
      conditions: condition.alongDemonstration("simbicon-smooth", [0, 40], { terrain: { kind: "incline", start: 0.05 } }),
      policy: policy.mlp({ hidden: 4, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
      pipeline: [
        stage.demonstrate({ controller: "simbicon-smooth" }),
        stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" }, motorNoise: { fraction: 0.1 } }),
        stage.fitTheta({ maxIterations: 20, samples: 2 }),
        stage.updateLambda({ stepSize: 0.01, samples: 2, initial: 1 }),
        stage.optimizeQ({ iterations: 1 }),
        stage.fitTheta({ maxIterations: 10, samples: 2 }),
        stage.evaluate({ noise: false, controller: "policy", horizon: 40 }),
      ],
    });
    const done = await finishedOf(startRun(exp, { store: dir }).events);
    expect(done).toHaveLength(7);
    expect(Number.isFinite(done[4].metrics.kl as number)).toBe(true);
    for (const stopAfter of [3, 4]) {
      const d = mkdtempSync(join(tmpdir(), "gps-cgps-obs-"));
      roots.push(d);
      expect(await digestsResumedAfter(exp, d, stopAfter)).toEqual(done.map((e) => e.digest));
    }
  }, 120_000);
});
