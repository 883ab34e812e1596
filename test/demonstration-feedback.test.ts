/**
 * q from a demonstration controller's own feedback (initializeTrajectories
 * method "linearizeDemonstration"): K_t = ∂u/∂x along the demonstration.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, policy, stage, task } from "../src/index.js";
import { demonstrationFeedback } from "../src/demos/feedback.js";
import { demoController } from "../src/demos/index.js";
import { taskFor } from "../src/tasks/index.js";
import { Simulator } from "../src/sim/mujoco.js";
import { startRun } from "../src/runtime/session.js";
import { digestsResumedAfter, finishedOf } from "./helpers/runs.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("demonstrationFeedback", () => {
  it("is the first-order expansion of a stateful controller along its demonstration", async () => {
    const walker = taskFor(task.walker({ horizon: 60 }));
    const sim = await Simulator.fromMjcf(walker.mjcf, { substeps: walker.substeps });
    const T = 60, { nx, nu } = walker;
    const xs = new Float64Array((T + 1) * nx), us = new Float64Array(T * nu);
    const make = () => demoController("simbicon-smooth", walker);
    sim.rollout(walker.restState, make(), T, xs, us);
    const K = demonstrationFeedback(make, xs, nx, nu, T);
    // At random small offsets δ (away from any gait-state switch), the replayed controller's
    // action at x̄_t + δ matches ū_t + K_t δ to second order: halving δ quarters the error.
    const s = new Sampler(seedGenerator(4));
    const u = new Float64Array(nu), scratch = new Float64Array(nu), x = new Float64Array(nx), d = new Float64Array(nx);
    const errorAt = (t: number, scale: number): number => {
      const c = make();
      for (let q = 0; q < t; q++) c(q, xs, q * nx, scratch, 0);
      for (let i = 0; i < nx; i++) x[i] = xs[t * nx + i] + scale * d[i];
      c(t, x, 0, u, 0);
      let e = 0;
      for (let j = 0; j < nu; j++) {
        let lin = us[t * nu + j];
        for (let i = 0; i < nx; i++) lin += K[(t * nu + j) * nx + i] * scale * d[i];
        e = Math.max(e, Math.abs(u[j] - lin));
      }
      return e;
    };
    let gainNorm = 0;
    for (const t of [5, 20, 41]) {
      for (let i = 0; i < nx; i++) d[i] = s.normal();
      const e1 = errorAt(t, 1e-3), e2 = errorAt(t, 5e-4);
      expect(e1).toBeLessThan(1e-2);
      expect(e2).toBeLessThan(e1 / 2.5 + 1e-9);
      for (let k = t * nu * nx; k < (t + 1) * nu * nx; k++) gainNorm += K[k] ** 2;
    }
    // SIMBICON is a PD controller: its feedback is far from zero.
    expect(Math.sqrt(gainNorm)).toBeGreaterThan(100);
    sim.dispose();
  });
});

describe('initializeTrajectories method "linearizeDemonstration"', () => {
  const base = { seed: 5, task: task.walker({ horizon: 40 }), conditions: [condition.rest()], policy: policy.mlp({ hidden: 3 }) };

  it("gives a q whose noise-free rollout is the demonstration, with the motor noise as covariance", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-lin-"));
    roots.push(dir);
    const exp = experiment({
      ...base,
      name: "lin-small",
      pipeline: [
        stage.demonstrate({ controller: "simbicon-smooth" }),
        stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" }, motorNoise: { fraction: 0.1 } }),
        stage.evaluate({ noise: false }),
      ],
    });
    const done = await finishedOf(startRun(exp, { store: dir }).events);
    expect(done).toHaveLength(3);
    // Same cost and distance as the demonstration itself.
    expect(done[1].metrics.cost).toBe(done[0].metrics.cost);
    expect(done[2].metrics.cost).toBeCloseTo(done[0].metrics.cost as number, 6);
    expect(done[2].metrics.distance).toBeCloseTo(done[0].metrics.distance as number, 9);
  });

  it("refuses to run without motor noise (q's covariance)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-lin-"));
    roots.push(dir);
    const exp = experiment({
      ...base,
      name: "lin-bad",
      pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" } })],
    });
    // Refused by the plan, before a run directory exists.
    expect(() => startRun(exp, { store: dir })).toThrow(/pipeline\[1\] initializeTrajectories \(stage 1\)\.motorNoise: method "linearizeDemonstration" needs motorNoise/);
  });
});

describe("alongDemonstration conditions", () => {
  it("start where the demonstration from rest is after `step` steps; evaluate can pick conditions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-along-"));
    roots.push(dir);
    const terrain = { kind: "uneven" as const, seed: 2, flatStart: 0.2 };
    const exp = experiment({
      name: "along-small",
      seed: 1,
      task: task.walker({ horizon: 40 }),
      conditions: condition.alongDemonstration("simbicon-smooth", [0, 30], { terrain }),
      policy: policy.mlp({ hidden: 3 }),
      pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", conditions: [1] })],
    });
    const first = startRun(exp, { store: dir });
    const done = await finishedOf(first.events);
    expect(done).toHaveLength(2);
    expect(done[1].metrics.conditions).toEqual([1]);
    expect((done[1].metrics.costs as number[]).length).toBe(1);
    // Condition 1's x_0 is condition 0's demonstration (from rest, same terrain) at step 30.
    const { readCheckpoint, openRun } = await import("../src/runtime/store.js");
    const { decodeValue } = await import("../src/runtime/canonical.js");
    const state = decodeValue(readCheckpoint(openRun(first.run.dir), 0).state as never) as { conditions: { x0: Float64Array; demonstration: { xs: Float64Array } }[] };
    const nx = state.conditions[0].x0.length;
    expect(Array.from(state.conditions[1].x0)).toEqual(Array.from(state.conditions[0].demonstration.xs.subarray(30 * nx, 31 * nx)));
    expect(state.conditions[1].x0[0]).toBeGreaterThan(0);
  });
});
