import { describe, expect, it } from "vitest";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask as task } from "../src/tasks/swimmer.js";
import { defaultIlqgSettings, ilqgIteration, initialTrajectory } from "../src/trajopt/ilqg.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { trajectoryCost } from "../src/tasks/cost.js";

describe("iLQG on the MuJoCo swimmer", () => {
  it("decreases the cost monotonically over accepted iterations and starts swimming forward", async () => {
    const T = 60;
    const sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
    try {
      const s = new Sampler(seedGenerator(1));
      const us = new Float64Array(T * task.nu);
      for (let i = 0; i < us.length; i++) us[i] = s.normal();
      let tr = initialTrajectory(sim, task.cost, task.restState, us, defaultIlqgSettings);
      const costs = [tr.cost];
      let accepted = 0;
      for (let it = 0; it < 12; it++) {
        const r = ilqgIteration(sim, task.cost, tr, defaultIlqgSettings);
        if (r.info.accepted) {
          accepted++;
          expect(r.trajectory.cost).toBeLessThan(tr.cost);
        } else {
          expect(r.trajectory.cost).toBe(tr.cost);
        }
        tr = r.trajectory;
        costs.push(tr.cost);
      }
      for (let i = 1; i < costs.length; i++) expect(costs[i]).toBeLessThanOrEqual(costs[i - 1]);
      expect(accepted).toBeGreaterThan(5);
      // The nominal is a real MuJoCo rollout: its cost recomputes exactly.
      expect(trajectoryCost(task.cost, tr.xbar, tr.ubar, T)).toBe(tr.cost);
      // Substantial improvement, and the body moved forward (+x).
      expect(costs[costs.length - 1]).toBeLessThan(0.8 * costs[0]);
      expect(tr.xbar[T * task.nx] - tr.xbar[0]).toBeGreaterThan(0.5);
    } finally {
      sim.dispose();
    }
  });
});
