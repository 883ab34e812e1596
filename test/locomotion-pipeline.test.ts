/**
 * The locomotion pipeline end to end, in-process: demonstrations recorded in
 * the run, gait-phase conditions, per-condition terrain, tracking with motor
 * noise, evaluation with falls, export of a demonstration that replays.
 */
import { decodeRunState } from "../src/algorithms/run-state.js";
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { condition, experiment, ilqg, stage, task } from "../src/index.js";
import type { RunEvent } from "../src/runtime/interpreter.js";
import { startRun } from "../src/runtime/session.js";
import { exportRun } from "../src/runtime/export.js";
import { latestGoodCheckpoint, readCheckpoint } from "../src/runtime/store.js";
import { motorNoiseFrom } from "../src/algorithms/ilqg-stages.js";
import { Simulator } from "../src/sim/mujoco.js";
import { taskFor } from "../src/tasks/index.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
function store(): string {
  const d = mkdtempSync(join(tmpdir(), "gps-loco-"));
  roots.push(d);
  return d;
}

const T = 120;
const walk = experiment({
  name: "walk-small",
  seed: 4,
  task: task.walker({ horizon: T }),
  conditions: [...condition.gaitPhases("simbicon", 2), condition.rest({ terrain: { kind: "uneven", seed: 2 } })],
  pipeline: [
    stage.demonstrate({ controller: "simbicon" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 2 }),
    stage.evaluate({ noise: false }),
  ],
});

describe("walker: demonstrate → track → evaluate", () => {
  it("records demonstrations that walk on flat ground and on the condition's own terrain, and tracks them", async () => {
    const s = store();
    const started = startRun(walk, { store: s });
    const events = await lastValueFrom(started.events.pipe(toArray()));
    const finished = events.filter((e): e is Extract<RunEvent, { type: "stage-finished" }> => e.type === "stage-finished");
    expect(finished.map((e) => e.kind)).toEqual(["demonstrate", "evaluate", "initializeTrajectories", "ilqgIteration", "ilqgIteration", "evaluate"]);
    const demo = finished[0].metrics;
    expect(demo.falls).toBe(0);
    for (const d of demo.distances as number[]) expect(d).toBeGreaterThan(0.8); // 1.2 s of walking
    // The demonstration controller, evaluated again, does exactly what was recorded.
    expect(finished[1].metrics.distances).toEqual(demo.distances);
    // The tracked trajectories walk too.
    const tracked = finished[5].metrics;
    expect(tracked.falls).toBe(0);
    expect(tracked.cost as number).toBeLessThanOrEqual(finished[2].metrics.cost as number);

    const state = decodeRunState(readCheckpoint(started.run, latestGoodCheckpoint(started.run).index!).state);
    // Gait-phase starts are distinct states at x = 0; the terrain condition starts at rest.
    expect(state.conditions[0].x0[0]).toBe(0);
    expect(Array.from(state.conditions[0].x0)).not.toEqual(Array.from(state.conditions[1].x0));
    // Motor noise: 10% of each joint's torque std in the demonstration.
    const c0 = state.conditions[0];
    expect(Array.from(c0.motorNoise!)).toEqual(Array.from(motorNoiseFrom(c0.demonstration!.us, 6, 0.1)));
    expect(c0.motorNoise!.every((v) => v > 0)).toBe(true);

    // The exported demonstration of the terrain condition replays open loop in its own MJCF.
    const exported = exportRun(started.run, { condition: 2, what: "demonstration" });
    const demoCtrl = exported.controller;
    if (demoCtrl.kind !== "linear-gaussian") throw new Error("expected a linear-Gaussian export");
    expect(exported.mjcf).toBe(taskFor({ kind: "walker", horizon: T, terrain: { kind: "uneven", seed: 2 } }).mjcf);
    expect(exported.mjcf).not.toBe(taskFor({ kind: "walker", horizon: T }).mjcf);
    const sim = await Simulator.fromMjcf(exported.mjcf, { substeps: exported.substeps });
    try {
      const nx = 18;
      const xs = new Float64Array((T + 1) * nx);
      const us = new Float64Array(T * 6);
      const x0 = Float64Array.from([...exported.initialState.qpos, ...exported.initialState.qvel]);
      sim.rollout(x0, (t, _x, _o, u, uo) => u.set(demoCtrl.ubar[t], uo), T, xs, us);
      expect(Array.from(xs.subarray(T * nx))).toEqual(demoCtrl.xbar[T]);
    } finally {
      sim.dispose();
    }
  });

  it("refuses a demonstration controller that does not drive the task, before writing anything", () => {
    const bad = { ...walk, pipeline: [stage.demonstrate({ controller: "hopper-hop" })] };
    expect(() => startRun(bad, { store: join(store(), "never") })).toThrow(/hopper-hop drives the hopper, not the walker/);
  });
});
