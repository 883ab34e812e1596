import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jacobianVsFiniteDifferences } from "./helpers/fd-jacobian.js";
import { Simulator, mujoco } from "../src/sim/mujoco.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { allocCostExpansion } from "../src/trajopt/types.js";
import type { Task } from "../src/tasks/types.js";
import { HOPPER_GEAR, HOPPER_JOINTS, HOPPER_STANDING_HEIGHT, HOPPER_TIMESTEP, hopperTask } from "../src/tasks/hopper.js";
import { WALKER_GEAR, WALKER_JOINTS, WALKER_STANDING_HEIGHT, WALKER_TIMESTEP, walkerTask } from "../src/tasks/walker.js";

interface Case {
  readonly task: Task;
  readonly nq: number;
  readonly nu: number;
  readonly dt: number;
  readonly timestep: number;
  readonly gear: number;
  readonly joints: readonly string[];
  readonly standingHeight: number;
  readonly wu: number;
  readonly targetVelocity: number;
  /** Scale of a typical control in actuator units (for random test points). */
  readonly uScale: number;
}

const cases: Case[] = [
  {
    task: hopperTask(),
    nq: 6,
    nu: 3,
    dt: 0.02,
    timestep: HOPPER_TIMESTEP,
    gear: HOPPER_GEAR,
    joints: HOPPER_JOINTS,
    standingHeight: HOPPER_STANDING_HEIGHT,
    wu: 1e-3,
    targetVelocity: 1.5,
    uScale: 3,
  },
  {
    task: walkerTask(),
    nq: 9,
    nu: 6,
    dt: 0.01,
    timestep: WALKER_TIMESTEP,
    gear: WALKER_GEAR,
    joints: WALKER_JOINTS,
    standingHeight: WALKER_STANDING_HEIGHT,
    wu: 1e-4,
    targetVelocity: 1.2,
    uScale: 30,
  },
];

const OBJ_JOINT = 3; // mjOBJ_JOINT
const OBJ_ACTUATOR = 19; // mjOBJ_ACTUATOR

function step(sim: Simulator, x: Float64Array, u: Float64Array): Float64Array {
  sim.setState(x);
  sim.stepControl(u);
  const out = new Float64Array(sim.nx);
  sim.getState(out);
  return out;
}

/** Max abs difference between linearizeAt and central differences of one control step. */
function jacobianError(sim: Simulator, x: Float64Array, u: Float64Array, eps = 1e-6): { a: number; b: number; maxA: number } {
  const { nx, nu } = sim;
  const fx = new Float64Array(nx * nx);
  const fu = new Float64Array(nx * nu);
  sim.linearizeAt(x, u, fx, fu);
  return jacobianVsFiniteDifferences((xx, uu) => step(sim, xx, uu), x, u, fx, fu, eps);
}

describe.each(cases)("$task.name task", (c) => {
  const { task } = c;
  let sim: Simulator;

  beforeAll(async () => {
    sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
  });
  afterAll(() => sim?.dispose());

  it("loads with the documented dimensions and control period", () => {
    expect(sim.nq).toBe(c.nq);
    expect(sim.nv).toBe(c.nq);
    expect(sim.nu).toBe(c.nu);
    expect(sim.nx).toBe(2 * c.nq);
    expect(task.nx).toBe(2 * c.nq);
    expect(task.nu).toBe(c.nu);
    expect(sim.timestep).toBe(c.timestep);
    expect(sim.dt).toBeCloseTo(c.dt, 12);
    expect(task.dt).toBeCloseTo(c.dt, 12);
    expect(task.substeps * c.timestep).toBeCloseTo(c.dt, 12);
    // Implicitfast, not RK4 (the Simulator constructor would have thrown on RK4).
    expect(sim.model.opt.integrator).toBe(3);
  });

  it("has an identity state layout whose names match the model's joints and actuators", () => {
    const { mj, model } = sim;
    const jointNames = Array.from({ length: model.njnt }, (_, j) => mj.mj_id2name(model, OBJ_JOINT, j));
    expect(jointNames).toEqual([...c.joints]);
    expect(task.stateNames).toEqual([...jointNames.map((n) => `qpos.${n}`), ...jointNames.map((n) => `qvel.${n}`)]);
    expect(task.stateLayout.qpos).toEqual(jointNames.map((_, i) => i));
    expect(task.stateLayout.qvel).toEqual(jointNames.map((_, i) => i));
    const actuatorNames = Array.from({ length: model.nu }, (_, j) => mj.mj_id2name(model, OBJ_ACTUATOR, j));
    expect(task.actionNames).toEqual(actuatorNames);
    const gear = model.actuator_gear as Float64Array;
    for (let i = 0; i < model.nu; i++) expect(gear[6 * i]).toBe(c.gear);
    // Every qpos/qvel entry is a scalar joint (hinge/slide): nq = nv = njnt.
    expect(model.njnt).toBe(c.nq);
    expect(task.stateNames[task.forwardVelocityIndex]).toBe("qvel.rootx");
    expect(task.stateNames[task.heightIndex]).toBe("qpos.rootz");
  });

  it("qpos.rootz is the absolute height of the torso frame", () => {
    const smp = new Sampler(seedGenerator(7));
    for (let k = 0; k < 5; k++) {
      const x = task.restState.slice();
      for (let i = 0; i < task.nx; i++) x[i] += 0.2 * smp.normal();
      sim.setState(x);
      const xpos = sim.data.xpos as Float64Array;
      expect(xpos[3 + 2]).toBeCloseTo(x[task.heightIndex], 12); // body 1 = torso
      expect(xpos[3 + 0]).toBeCloseTo(x[0], 12);
    }
    expect(task.restState[task.heightIndex]).toBe(c.standingHeight);
    // The nominal pose is MuJoCo's reference configuration qpos0.
    expect(Array.from(sim.model.qpos0 as Float64Array)).toEqual(Array.from(task.restState.subarray(0, c.nq)));
  });

  it("rests with the feet on the floor: lowest geom point at z = 0, settling only millimetres", () => {
    const { model, data } = sim;
    sim.setState(task.restState);
    // Lowest point of the link geoms (floor excluded): centre z − radius is
    // exact for the horizontal foot capsules and an upper bound for the others.
    const geomXpos = data.geom_xpos as Float64Array;
    const size = model.geom_size as Float64Array;
    let lowest = Infinity;
    for (let g = 1; g < model.ngeom; g++) lowest = Math.min(lowest, geomXpos[3 * g + 2] - size[3 * g]);
    expect(Math.abs(lowest)).toBeLessThan(1e-9);
    let x: Float64Array = task.restState.slice();
    const zero = new Float64Array(task.nu);
    for (let k = 0; k < 5; k++) x = step(sim, x, zero);
    expect(sim.data.ncon).toBeGreaterThan(0);
    expect(Math.abs(x[task.heightIndex] - c.standingHeight)).toBeLessThan(5e-3);
    // Settling into the soft contacts leaves only small velocities (the walker's feet rock
    // by ~0.05 rad/s at the ankles while the two contact points share the load).
    for (let i = c.nq; i < task.nx; i++) expect(Math.abs(x[i])).toBeLessThan(0.1);
  });

  it("cost gradient and Hessian match central differences of cost.value", () => {
    const { nx, nu, cost } = task;
    const smp = new Sampler(seedGenerator(11));
    const out = allocCostExpansion(nx, nu);
    for (let trial = 0; trial < 5; trial++) {
      const x = task.restState.slice();
      for (let i = 0; i < nx; i++) x[i] += smp.normal();
      const u = new Float64Array(nu);
      for (let i = 0; i < nu; i++) u[i] = c.uScale * smp.normal();
      const val = cost.expand(x, u, trial, out);
      expect(val).toBeCloseTo(cost.value(x, u, trial), 12);
      // z = [x, u]
      const n = nx + nu;
      const f = (z: Float64Array): number => cost.value(z.subarray(0, nx), z.subarray(nx), trial);
      const z0 = new Float64Array(n);
      z0.set(x);
      z0.set(u, nx);
      const grad = (i: number): number => (i < nx ? out.lx[i] : out.lu[i - nx]);
      const hess = (i: number, j: number): number => {
        if (i < nx && j < nx) return out.lxx[i * nx + j];
        if (i >= nx && j >= nx) return out.luu[(i - nx) * nu + (j - nx)];
        if (i >= nx) return out.lux[(i - nx) * nx + j];
        return out.lux[(j - nx) * nx + i];
      };
      const h1 = 1e-5;
      const h2 = 1e-3;
      for (let i = 0; i < n; i++) {
        const zp = z0.slice();
        const zm = z0.slice();
        zp[i] += h1;
        zm[i] -= h1;
        const fd = (f(zp) - f(zm)) / (2 * h1);
        expect(Math.abs(fd - grad(i))).toBeLessThan(1e-6 * Math.max(1, Math.abs(grad(i))));
        for (let j = 0; j < n; j++) {
          const d = (si: number, sj: number): number => {
            const z = z0.slice();
            z[i] += si * h2;
            z[j] += sj * h2;
            return f(z);
          };
          const fd2 = (d(1, 1) - d(1, -1) - d(-1, 1) + d(-1, -1)) / (4 * h2 * h2);
          expect(Math.abs(fd2 - hess(i, j))).toBeLessThan(1e-6 * Math.max(1, Math.abs(hess(i, j))));
        }
      }
    }
    // The cost is the papers' one: at rest it is w_v v*² (height on target, no torque).
    expect(cost.value(task.restState, new Float64Array(nu), 0)).toBeCloseTo(c.targetVelocity ** 2, 12);
    const u1 = new Float64Array(nu).fill(1);
    expect(cost.value(task.restState, u1, 0) - cost.value(task.restState, new Float64Array(nu), 0)).toBeCloseTo(c.wu * nu, 12);
  });

  it("linearizeAt matches finite differences of a control step with the feet in contact", () => {
    // Settle from rest for a few control steps so the contacts are established.
    let x: Float64Array = task.restState.slice();
    const zero = new Float64Array(task.nu);
    for (let k = 0; k < 5; k++) x = step(sim, x, zero);
    sim.setState(x);
    expect(sim.data.ncon).toBeGreaterThan(0);
    const u = new Float64Array(task.nu).fill(0.3 * c.uScale);
    const err = jacobianError(sim, x, u);
    // Observed ~1e-8 (both models): the softened contacts are smooth at this state.
    expect(err.a).toBeLessThan(1e-5);
    expect(err.b).toBeLessThan(1e-5);
    expect(err.maxA).toBeGreaterThan(1);
  });

  it("linearizeAt matches finite differences of a control step in flight", () => {
    const x = task.restState.slice();
    x[task.heightIndex] += 0.3;
    x[2] = 0.1;
    for (let i = 3; i < c.nq; i++) x[i] = 0.2 * ((i % 3) - 1);
    x[c.nq] = 1.0;
    x[c.nq + 1] = 0.5;
    x[c.nq + 3] = 0.7;
    sim.setState(x);
    expect(sim.data.ncon).toBe(0);
    const u = new Float64Array(task.nu).fill(0.3 * c.uScale);
    const err = jacobianError(sim, x, u);
    // Observed ~1e-9.
    expect(err.a).toBeLessThan(1e-4);
    expect(err.b).toBeLessThan(1e-4);
  });

  it("a 200-step zero-torque rollout from rest stays finite and physically bounded", () => {
    const T = 200;
    const { nx, nu } = task;
    const xs = new Float64Array((T + 1) * nx);
    const us = new Float64Array(T * nu);
    sim.rollout(task.restState, (_t, _x, _xo, u, uo) => u.fill(0, uo, uo + nu), T, xs, us);
    let minZ = Infinity;
    let maxZ = -Infinity;
    let maxV = 0;
    for (let t = 0; t <= T; t++) {
      for (let i = 0; i < nx; i++) expect(Number.isFinite(xs[t * nx + i])).toBe(true);
      minZ = Math.min(minZ, xs[t * nx + task.heightIndex]);
      maxZ = Math.max(maxZ, xs[t * nx + task.heightIndex]);
      for (let i = c.nq; i < nx; i++) maxV = Math.max(maxV, Math.abs(xs[t * nx + i]));
    }
    // The model may topple (it has no control), but the torso stays above the
    // floor, never rises above standing and nothing spins up.
    expect(minZ).toBeGreaterThan(0);
    expect(maxZ).toBeLessThanOrEqual(c.standingHeight + 1e-3);
    expect(maxV).toBeLessThan(20);
    expect(Math.abs(xs[T * nx])).toBeLessThan(2); // rootx
  });

  it("stays finite under random torques at the control limits", () => {
    const T = 200;
    const { nx, nu } = task;
    const xs = new Float64Array((T + 1) * nx);
    const us = new Float64Array(T * nu);
    const smp = new Sampler(seedGenerator(3));
    const range = (sim.model.actuator_ctrlrange as Float64Array)[1];
    for (let r = 0; r < 5; r++) {
      sim.rollout(task.restState, (_t, _x, _xo, u, uo) => {
        for (let i = 0; i < nu; i++) u[uo + i] = smp.normal() < 0 ? -range : range;
      }, T, xs, us);
      for (let i = 0; i < xs.length; i++) expect(Math.abs(xs[i])).toBeLessThan(500);
    }
  });
});

describe("locomotion task memory", () => {
  it("creating and disposing 50 simulators does not grow the WASM heap", async () => {
    const mj = await mujoco();
    // The WASM memory size, read through a DoubleBuffer view (HEAPU8 is not exported).
    const heapBytes = (): number => {
      const b = new mj.DoubleBuffer(1);
      const n = (b.GetView() as Float64Array).buffer.byteLength;
      b.delete();
      return n;
    };
    for (const task of [hopperTask(), walkerTask()]) {
      const warm = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
      warm.dispose();
      const before = heapBytes();
      for (let i = 0; i < 50; i++) {
        const s = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
        s.dispose();
      }
      // One leaked simulator costs ~15 MB (MjData's arena); 50 would cost ~750 MB.
      expect(heapBytes() - before).toBeLessThan(32 * 1024 * 1024);
    }
  });
});
