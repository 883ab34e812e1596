/**
 * The nearest-neighbour (TBDP) controller of the 2013 paper's generalization
 * figures: the library, the scaled nearest point, the local feedback with the
 * ignored inputs left out, and as an evaluate controller on the swimmer.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, ilqg, policy, stage, task } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { nearestPoint, tbdpController, tbdpLibrary } from "../src/algorithms/tbdp.js";
import type { LinearGaussianController } from "../src/trajopt/types.js";
import { finishedOf } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A 2-state, 1-action trajectory of T = 2 steps. */
function traj(xbar: number[], ubar: number[], K: number[]): LinearGaussianController {
  return { T: 2, nx: 2, nu: 1, xbar: Float64Array.from(xbar), ubar: Float64Array.from(ubar), k: new Float64Array(2), K: Float64Array.from(K), cov: Float64Array.from([1, 1]) };
}

describe("TBDP", () => {
  const a = traj([0, 0, 1, 0, 2, 0], [10, 11], [1, 2, 3, 4]);
  const b = traj([0, 10, 1, 30, 2, 50], [20, 21], [5, 6, 7, 8]);

  it("scales each input by its std over the library and leaves ignored inputs out", () => {
    const lib = tbdpLibrary([{ trajectory: a, observe: null }, { trajectory: b, observe: null }], []);
    expect(lib.count).toBe(4);
    // Input 0 over {0, 1, 0, 1}: std 0.5; input 1 over {0, 0, 10, 30}: std √150.
    expect(lib.invScale[0]).toBeCloseTo(2, 12);
    expect(lib.invScale[1]).toBeCloseTo(1 / Math.sqrt(150), 12);
    expect(nearestPoint(lib, Float64Array.from([0.9, 9]))).toBe(1); // a at t = 1: (1, 0)
    const ignoring0 = tbdpLibrary([{ trajectory: a, observe: null }, { trajectory: b, observe: null }], [0]);
    expect(ignoring0.invScale[0]).toBe(0);
    expect(nearestPoint(ignoring0, Float64Array.from([0.9, 9]))).toBe(2); // b at t = 0: (0, 10)
  });

  it("acts with the nearest point's feedforward and gain on the used inputs only", () => {
    const lib = tbdpLibrary([{ trajectory: a, observe: null }, { trajectory: b, observe: null }], [0]);
    const act = tbdpController(lib, null);
    const u = new Float64Array(1);
    act(0, Float64Array.from([0.9, 9]), 0, u, 0);
    // b at t = 0: ū = 20, K = [5, 6]; input 0 ignored: u = 20 + 6·(9 − 10).
    expect(u[0]).toBe(14);
    // On a library point the action is its feedforward.
    act(0, Float64Array.from([1, 30]), 0, u, 0);
    expect(u[0]).toBe(21);
  });

  it("as an evaluate controller: from the condition's x_0 it reproduces the DDP rollout it was built from", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gps-tbdp-"));
    roots.push(dir);
    const e = experiment({
      name: "tbdp-swimmer",
      seed: 2,
      task: task.swimmer({ horizon: 30 }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 5, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }),
      pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 5 }), stage.evaluate({ noise: false }), stage.evaluate({ noise: false, controller: "tbdp" })],
    });
    const full = await finishedOf(startRun(e, { store: dir }).events);
    const [ddp, nn] = full.slice(-2).map((f) => f.metrics);
    expect(nn.cost as number).toBeCloseTo(ddp.cost as number, 6);
    expect(nn.distance as number).toBeCloseTo(ddp.distance as number, 9);
  });
});
