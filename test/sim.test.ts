import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jacobianVsFiniteDifferences } from "./helpers/fd-jacobian.js";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask as task } from "../src/tasks/swimmer.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

describe("MuJoCo adapter on the swimmer", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
  });
  afterAll(() => sim.dispose());

  it("has the documented dimensions and control period", () => {
    expect([sim.nx, sim.nu, sim.substeps]).toEqual([task.nx, task.nu, task.substeps]);
    expect(sim.dt).toBeCloseTo(task.dt, 12);
  });

  it("round-trips the state through mj_setState / mj_getState exactly", () => {
    const x = Float64Array.from({ length: task.nx }, (_, i) => 0.1 * (i + 1) * (i % 2 ? -1 : 1));
    sim.setState(x);
    const back = new Float64Array(task.nx);
    sim.getState(back);
    expect(Array.from(back)).toEqual(Array.from(x));
  });

  it("linearizes the whole control period (5 chained mjd_transitionFD substeps) like finite differences of stepping", () => {
    const s = new Sampler(seedGenerator(5));
    const x = Float64Array.from({ length: task.nx }, () => 0.3 * s.normal());
    const u = Float64Array.from({ length: task.nu }, () => 5 * s.normal());
    const fx = new Float64Array(task.nx * task.nx);
    const fu = new Float64Array(task.nx * task.nu);
    sim.linearizeAt(x, u, fx, fu);
    const step = (xx: Float64Array, uu: Float64Array) => {
      const out = new Float64Array(task.nx);
      sim.setState(xx);
      sim.stepControl(uu);
      sim.getState(out);
      return out;
    };
    const { a, b } = jacobianVsFiniteDifferences(step, x, u, fx, fu, 1e-6);
    const worst = Math.max(a, b);
    expect(worst).toBeLessThan(1e-6);
  });

  it("gives identical rollouts for identical inputs, whatever ran before", () => {
    const T = 40;
    const us = Float64Array.from({ length: T * task.nu }, (_, i) => 10 * Math.sin(i));
    const ctrl = (t: number, _x: Float64Array, _xo: number, u: Float64Array, uo: number) => {
      u[uo] = us[t * 2];
      u[uo + 1] = us[t * 2 + 1];
    };
    const xs1 = new Float64Array((T + 1) * task.nx), xs2 = new Float64Array((T + 1) * task.nx), buf = new Float64Array(T * task.nu);
    sim.rollout(task.restState, ctrl, T, xs1, buf);
    sim.rollout(Float64Array.from({ length: task.nx }, () => 0.5), ctrl, T, xs2, buf); // something else in between
    sim.rollout(task.restState, ctrl, T, xs2, buf);
    expect(Array.from(xs2)).toEqual(Array.from(xs1));
  });

  it("does not grow memory over thousands of rollouts and linearizations", () => {
    const T = 20;
    const xs = new Float64Array((T + 1) * task.nx), us = new Float64Array(T * task.nu);
    const fx = new Float64Array(T * task.nx * task.nx), fu = new Float64Array(T * task.nx * task.nu);
    const zero = (_t: number, _x: Float64Array, _xo: number, u: Float64Array, uo: number) => { u[uo] = 1; u[uo + 1] = -1; };
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        sim.rollout(task.restState, zero, T, xs, us);
        if (i % 10 === 0) sim.linearize(xs, us, T, fx, fu);
      }
    };
    run(200);
    const before = process.memoryUsage().rss;
    run(2000);
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });
});
