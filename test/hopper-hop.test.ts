import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../src/sim/mujoco.js";
import { HOPPER_CTRL_RANGE, HOPPER_STANDING_HEIGHT, hopper } from "../src/tasks/hopper.js";
import {
  HOP_CLEARANCE,
  defaultHopperParams,
  hopperController,
  hopperFallen,
  hopperKinematics,
  recordHopperDemonstration,
} from "../src/demos/hopper-hop.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

let sim: Simulator;

beforeAll(async () => {
  sim = await Simulator.fromMjcf(hopper.mjcf, { substeps: hopper.substeps });
});

afterAll(() => sim.dispose());

describe("hopper kinematics", () => {
  it("matches MuJoCo's body positions and centre of mass at random states", () => {
    const s = new Sampler(seedGenerator(11));
    const pos = new Float64Array(sim.nbody * 3);
    for (let k = 0; k < 20; k++) {
      const x = Float64Array.from(hopper.restState);
      x[0] = s.normal();
      x[1] = 1 + 0.2 * s.normal();
      for (let i = 2; i < 6; i++) x[i] = 0.5 * s.normal();
      sim.setState(x);
      sim.bodyPositions(pos);
      const kin = hopperKinematics(x);
      // bodies: world, torso, thigh (hip), shin (knee), foot (ankle)
      expect(kin.hipX).toBeCloseTo(pos[6], 10);
      expect(kin.hipZ).toBeCloseTo(pos[8], 10);
      expect(kin.kneeX).toBeCloseTo(pos[9], 10);
      expect(kin.kneeZ).toBeCloseTo(pos[11], 10);
      expect(kin.ankleX).toBeCloseTo(pos[12], 10);
      expect(kin.ankleZ).toBeCloseTo(pos[14], 10);
      const com = sim.data.subtree_com as Float64Array; // body 1 (torso) subtree = whole hopper
      expect(kin.comX).toBeCloseTo(com[3], 6);
      expect(kin.comZ).toBeCloseTo(com[5], 6);
    }
  });

  it("gives the centre-of-mass velocity as the derivative of its position along qvel", () => {
    const s = new Sampler(seedGenerator(12));
    const eps = 1e-6;
    for (let k = 0; k < 20; k++) {
      const x = Float64Array.from(hopper.restState);
      for (let i = 2; i < 6; i++) x[i] = 0.5 * s.normal();
      for (let i = 6; i < 12; i++) x[i] = s.normal();
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      for (let i = 0; i < 6; i++) {
        plus[i] += eps * x[6 + i];
        minus[i] -= eps * x[6 + i];
      }
      const fd = (hopperKinematics(plus).comX - hopperKinematics(minus).comX) / (2 * eps);
      expect(hopperKinematics(x).comVX).toBeCloseTo(fd, 6);
    }
  });

  it("puts the foot on the floor at rest", () => {
    const kin = hopperKinematics(hopper.restState);
    expect(kin.footLowest).toBeCloseTo(0, 10);
    expect(kin.lowest).toBeCloseTo(0, 10);
    expect(kin.legLength).toBeCloseTo(0.9, 10);
    expect(hopperFallen(hopper.restState)).toBe(false);
  });
});

describe("hand-crafted hopping controller", () => {
  it("hops forward from rest for 250 steps (5 s) without falling", () => {
    const T = 250;
    const d = recordHopperDemonstration(sim, hopper, hopper.restState, T);
    expect(d.states).toHaveLength(T + 1);
    expect(d.actions).toHaveLength(T);
    expect(d.fell).toBe(false);
    expect(d.fallStep).toBeNull();
    for (const x of d.states) {
      expect(x.every(Number.isFinite)).toBe(true);
      expect(x[1]).toBeGreaterThan(0.6 * HOPPER_STANDING_HEIGHT);
      expect(Math.abs(x[2])).toBeLessThan(1);
    }
    // Measured: 7.65 m, 1.53 m/s, 13 hops (flights 0.2–0.28 s, 5–11 cm clear).
    expect(d.distance).toBeGreaterThan(5);
    expect(d.meanSpeed).toBeGreaterThan(1);
    expect(d.hops).toBeGreaterThanOrEqual(10);
    // Really airborne: count steps with the whole body well above the floor.
    const airborne = d.states.filter((x) => hopperKinematics(Float64Array.from(x)).lowest > HOP_CLEARANCE).length;
    expect(airborne).toBeGreaterThan(100); // measured 122 of 251
  });

  it("keeps hopping for 500 steps (10 s) near the target speed", () => {
    const d = recordHopperDemonstration(sim, hopper, hopper.restState, 500);
    expect(d.fell).toBe(false);
    // Measured: 15.58 m, 1.56 m/s, 27 hops.
    expect(d.distance).toBeGreaterThan(12);
    expect(d.meanSpeed).toBeGreaterThan(1.2);
    expect(d.meanSpeed).toBeLessThan(1.9);
    expect(d.hops).toBeGreaterThanOrEqual(20);
  });

  it("keeps its actions within the control range", () => {
    const d = recordHopperDemonstration(sim, hopper, hopper.restState, 250);
    for (const u of d.actions) {
      expect(u).toHaveLength(3);
      for (const v of u) {
        expect(Number.isFinite(v)).toBe(true);
        expect(Math.abs(v)).toBeLessThanOrEqual(HOPPER_CTRL_RANGE);
      }
    }
  });

  it("is deterministic: two recordings are bit-identical, and equal a plain rollout with a fresh controller", () => {
    const a = recordHopperDemonstration(sim, hopper, hopper.restState, 250);
    const b = recordHopperDemonstration(sim, hopper, hopper.restState, 250, { ...defaultHopperParams });
    expect(b.states).toEqual(a.states);
    expect(b.actions).toEqual(a.actions);
    expect(b.distance).toBe(a.distance);
    expect(b.hops).toBe(a.hops);
    const T = 250;
    const xs = new Float64Array((T + 1) * hopper.nx);
    const us = new Float64Array(T * hopper.nu);
    sim.rollout(hopper.restState, hopperController(hopper), T, xs, us);
    expect(Array.from(xs)).toEqual(a.states.flat());
    expect(Array.from(us)).toEqual(a.actions.flat());
  });

  it("joins the gait from mid-gait states (a fresh controller picks its phase from x)", () => {
    const gait = recordHopperDemonstration(sim, hopper, hopper.restState, 100);
    // States over the second second of the gait, in flight and in stance.
    for (let t = 50; t < 100; t += 4) {
      const d = recordHopperDemonstration(sim, hopper, Float64Array.from(gait.states[t]), 250);
      expect(d.fell).toBe(false);
      expect(d.distance).toBeGreaterThan(5);
      expect(d.hops).toBeGreaterThanOrEqual(10);
    }
  });

  it("needs a fresh controller per rollout: a reused one starts mid-gait", () => {
    const T = 100;
    const xs = new Float64Array((T + 1) * hopper.nx);
    const us = new Float64Array(T * hopper.nu);
    const ctl = hopperController(hopper);
    sim.rollout(hopper.restState, ctl, T, xs, us);
    const first = Array.from(us);
    sim.rollout(hopper.restState, ctl, T, xs, us);
    expect(Array.from(us)).not.toEqual(first);
  });

  it("refuses a task that is not the hopper", () => {
    expect(() => hopperController({ ...hopper, nx: 18, nu: 6 })).toThrow(/hopper/);
  });
});
