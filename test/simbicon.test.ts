import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../src/sim/mujoco.js";
import { walker } from "../src/tasks/walker.js";
import { taskFor } from "../src/tasks/index.js";
import {
  WALKER_LINK_MASSES,
  defaultSimbiconParams,
  gaitPhaseStates,
  inferSimbiconState,
  legKinematics,
  recordDemonstration,
  simbiconController,
  touchdownSteps,
  walkerCenterOfMass,
  type Demonstration,
} from "../src/demos/simbicon.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

const T = 500;
let sim: Simulator;
let demo: Demonstration;

beforeAll(async () => {
  sim = await Simulator.fromMjcf(walker.mjcf, { substeps: walker.substeps });
  demo = recordDemonstration(sim, walker, () => simbiconController(walker), walker.restState, T);
});

afterAll(() => sim?.dispose());

describe("planar forward kinematics from x", () => {
  it("matches MuJoCo's body positions, masses and centre of mass at random states", () => {
    const { mj, model, data } = sim;
    const masses = model.body_mass as Float64Array;
    const name = (i: number) => mj.mj_id2name(model, mj.mjtObj.mjOBJ_BODY.value, i);
    const id = (n: string) => mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY.value, n);
    expect(masses[id("torso")]).toBeCloseTo(WALKER_LINK_MASSES.torso, 9);
    expect(masses[id("right_thigh")]).toBeCloseTo(WALKER_LINK_MASSES.thigh, 9);
    expect(masses[id("left_shin")]).toBeCloseTo(WALKER_LINK_MASSES.shin, 9);
    expect(masses[id("right_foot")]).toBeCloseTo(WALKER_LINK_MASSES.foot, 9);
    const rng = new Sampler(seedGenerator(7));
    const x = new Float64Array(walker.nx);
    for (let trial = 0; trial < 20; trial++) {
      for (let i = 0; i < walker.nx; i++) x[i] = walker.restState[i] + 0.5 * rng.normal();
      sim.setState(x);
      const xpos = data.xpos as Float64Array;
      const xipos = data.xipos as Float64Array;
      for (const side of ["right", "left"] as const) {
        const k = legKinematics(x, 0, side);
        const knee = id(`${side}_shin`);
        const ankle = id(`${side}_foot`);
        expect(k.kneeX).toBeCloseTo(xpos[3 * knee], 10);
        expect(k.kneeZ).toBeCloseTo(xpos[3 * knee + 2], 10);
        expect(k.ankleX).toBeCloseTo(xpos[3 * ankle], 10);
        expect(k.ankleZ).toBeCloseTo(xpos[3 * ankle + 2], 10);
      }
      let m = 0, cx = 0, cz = 0;
      for (let b = 1; b < model.nbody; b++) {
        expect(name(b)).toBeTruthy();
        m += masses[b];
        cx += masses[b] * xipos[3 * b];
        cz += masses[b] * xipos[3 * b + 2];
      }
      const com = walkerCenterOfMass(x);
      expect(com.x).toBeCloseTo(cx / m, 10);
      expect(com.z).toBeCloseTo(cz / m, 10);
      // COM velocity against a finite difference of the COM position along qvel.
      const h = 1e-6;
      const xp = Float64Array.from(x);
      for (let i = 0; i < 9; i++) xp[i] += h * x[9 + i];
      expect(com.vx).toBeCloseTo((walkerCenterOfMass(xp).x - com.x) / h, 4);
    }
  });
});

describe("SIMBICON walker demonstration", () => {
  it("walks the whole horizon from rest near the target speed", () => {
    expect(demo.states.length).toBe(T + 1);
    expect(demo.actions.length).toBe(T);
    expect(demo.fell).toBe(false);
    expect(demo.fallStep).toBeNull();
    expect(demo.distance).toBeGreaterThan(4);
    expect(demo.meanSpeed).toBeGreaterThanOrEqual(0.8);
    expect(demo.meanSpeed).toBeLessThanOrEqual(1.6);
    // It really steps: alternating touchdowns throughout.
    const td = touchdownSteps(demo);
    expect(td.length).toBeGreaterThanOrEqual(8);
    for (const x of demo.states) for (const v of x) expect(Number.isFinite(v)).toBe(true);
  });

  it("keeps every torque within ±200 N·m", () => {
    let max = 0;
    for (const u of demo.actions) for (const v of u) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(defaultSimbiconParams.torqueLimit);
    expect(defaultSimbiconParams.torqueLimit).toBe(200);
  });

  it("is deterministic: two recordings are bit-identical", () => {
    const again = recordDemonstration(sim, walker, () => simbiconController(walker), walker.restState, T);
    expect(again.states).toEqual(demo.states);
    expect(again.actions).toEqual(demo.actions);
    expect(again.distance).toBe(demo.distance);
  });

  it("resets its FSM at t = 0, so a reused instance reproduces the recording", () => {
    const c = simbiconController(walker);
    const a = recordDemonstration(sim, walker, () => c, walker.restState, 100);
    const b = recordDemonstration(sim, walker, () => c, walker.restState, 100);
    expect(b.states).toEqual(a.states);
    expect(a.states).toEqual(demo.states.slice(0, 101));
  });

  it("rejects a task that is not the walker", () => {
    const bad = { ...walker, nx: 12, nu: 3 };
    expect(() => simbiconController(bad)).toThrow(/walker/);
  });
});

describe("gaitPhaseStates", () => {
  const k = 4;
  let starts: number[][];

  beforeAll(() => {
    starts = gaitPhaseStates(demo, k);
  });

  it("returns k distinct states from the demonstration, after the settle time", () => {
    expect(starts.length).toBe(k);
    const index = starts.map((s) => demo.states.findIndex((x) => x.every((v, i) => v === s[i])));
    for (const t of index) expect(t).toBeGreaterThanOrEqual(100);
    expect(new Set(index).size).toBe(k);
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) expect(starts[i]).not.toEqual(starts[j]);
    // The first one is a touchdown, the stride covers both stance legs, and the
    // stance leg inferred from x alone is the one the recording's FSM used.
    const phases = demo.phases!;
    expect(phases[index[0]] % 2).toBe(0);
    expect(phases[index[0] - 1] % 2).toBe(1);
    const stance = (state: number) => (state < 2 ? "right" : "left");
    const recorded = index.map((t) => stance(phases[t]));
    expect(new Set(recorded).size).toBe(2);
    expect(starts.map((s) => stance(inferSimbiconState(s)))).toEqual(recorded);
  });

  it("the controller keeps walking from each of them (≥ 300 steps without falling)", () => {
    for (const x0 of starts) {
      const d = recordDemonstration(sim, walker, () => simbiconController(walker), x0, 300);
      expect(d.fell).toBe(false);
      expect(d.meanSpeed).toBeGreaterThan(0.8);
    }
  });

  it("rejects k < 1 and demonstrations too short for a stride", () => {
    expect(() => gaitPhaseStates(demo, 0)).toThrow();
    const short = recordDemonstration(sim, walker, () => simbiconController(walker), walker.restState, 120);
    expect(() => gaitPhaseStates(short, 2)).toThrow(/stride/);
  });
});

describe("uneven terrain (±10° slopes)", () => {
  it.each([1, 2, 3, 4])("walks 500 steps on seed %i without falling", async (seed) => {
    const task = taskFor({ kind: "walker", horizon: T, terrain: { kind: "uneven", seed } });
    const tsim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
    try {
      const d = recordDemonstration(tsim, task, () => simbiconController(task), task.restState, T);
      expect(d.fell).toBe(false);
      expect(d.meanSpeed).toBeGreaterThan(0.8);
      // The profile starts rising or falling at x = 1 m, so the walk crosses several slopes.
      expect(d.distance).toBeGreaterThan(4);
    } finally {
      tsim.dispose();
    }
  });
});
