/**
 * Constrained GPS as a pipeline: optimize q → fit θ → update λ, resumed from
 * any stage bit-identically (policy, λ, S, the ramp position and the
 * generator all live in the checkpoint), and the trained policy exported in a
 * form anyone can evaluate.
 */
import { decodeRunState } from "../src/algorithms/run-state.js";
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, ilqg, policy, repeat, stage, task } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { exportRun } from "../src/runtime/export.js";
import { latestGoodCheckpoint, readCheckpoint } from "../src/runtime/store.js";
import { mlpOf } from "../src/algorithms/state.js";
import { policyController } from "../src/policy/controller.js";
import { digestsResumedAfter, finishedOf } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = () => {
  const d = mkdtempSync(join(tmpdir(), "gps-cgps-"));
  roots.push(d);
  return d;
};

const cgps = experiment({
  name: "cgps-small",
  seed: 3,
  task: task.swimmer({ horizon: 40 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
  policy: policy.mlp({ hidden: 6 }),
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 6 }),
    repeat(3, [stage.optimizeQ({ iterations: 1, linearizePolicy: "monte-carlo", samples: 3 }), stage.fitTheta({ maxIterations: 30, samples: 4 }), stage.updateLambda({ stepSize: 1, samples: 4 })]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 2, controller: "policy" }),
  ],
});


describe("constrained GPS pipeline", () => {
  it("runs optimizeQ/fitTheta/updateLambda, trains a policy, and resumes from any stage with identical digests", async () => {
    const full = await finishedOf(startRun(cgps, { store: store() }).events);
    expect(full.map((e) => e.kind).slice(7, 16)).toEqual(["optimizeQ", "fitTheta", "updateLambda", "optimizeQ", "fitTheta", "updateLambda", "optimizeQ", "fitTheta", "updateLambda"]);
    // λ grows from 0 with the KL; the policy's KL to q is reported every fit.
    const lam = full.filter((e) => e.kind === "updateLambda").map((e) => e.metrics.meanLambda as number);
    expect(lam[0]).toBeGreaterThan(0);
    expect(lam[2]).toBeGreaterThanOrEqual(lam[0]);
    for (const e of full.filter((e) => e.kind === "fitTheta")) expect(Number.isFinite(e.metrics.kl as number)).toBe(true);

    for (const stopAfter of [7, 8, 12, 15]) expect(await digestsResumedAfter(cgps, store(), stopAfter)).toEqual(full.map((e) => e.digest));
  });

  it("exports the trained policy as an MLP whose plain evaluation matches the policy's actions", async () => {
    const s = store();
    const started = startRun(cgps, { store: s });
    await finishedOf(started.events);
    const exported = exportRun(started.run, { condition: 0, what: "policy" });
    const c = exported.controller;
    if (c.kind !== "mlp") throw new Error("expected an MLP export");
    expect(c.layers[0].W.length).toBe(6); // hidden × inputs
    expect(c.layers[0].W[0].length).toBe(10);
    expect(c.layers[1].W.length).toBe(2); // actions × hidden
    const state = decodeRunState(readCheckpoint(started.run, latestGoodCheckpoint(started.run).index!).state);
    const ctrl = policyController(mlpOf(state.policy!), state.policy!.theta);
    const x = Float64Array.from({ length: 10 }, (_, i) => 0.1 * i - 0.3);
    const u = new Float64Array(2);
    ctrl(0, x, 0, u, 0);
    const xn = Array.from(x, (v, i) => (v - c.inputMean[i]) / c.inputStd[i]);
    const h = c.layers[0].W.map((row, j) => {
      const z = row.reduce((acc, w, i) => acc + w * xn[i], c.layers[0].b[j]);
      return Math.log1p(Math.exp(z));
    });
    const plain = c.layers[1].W.map((row, j) => row.reduce((acc, w, i) => acc + w * h[i], c.layers[1].b[j]));
    for (let j = 0; j < 2; j++) expect(plain[j]).toBeCloseTo(u[j], 10);
    expect(c.outputStd.every((v) => v > 0)).toBe(true);
  });
});
