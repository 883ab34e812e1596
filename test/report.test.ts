import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask } from "../src/tasks/swimmer.js";
import { hopper } from "../src/tasks/hopper.js";
import { walker, WALKER_DIMENSIONS } from "../src/tasks/walker.js";
import type { Task } from "../src/tasks/types.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { bodyTrajectory, rootTrajectoryPlot, stickFigureAnimation, stickFigurePanels, stickFigureStrip, type BodyTrajectory } from "../src/report/gait.js";
import { esc, linePlot, niceTicks, num, textWidth } from "../src/report/svg.js";
import { compareLearningCurves, learningCurveData } from "../src/report/learning-curves.js";
import type { StageRecord } from "../src/runtime/store.js";

/**
 * A small XML well-formedness check (no DOM parser in Node): one XML
 * declaration at most, every tag matched and properly nested, attributes
 * quoted and unique, no stray '<' or unescaped '&' in text or attributes.
 * Returns the element names in document order.
 */
function checkXml(doc: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let s = doc;
  const decl = /^<\?xml [^?]*\?>\s*/.exec(s);
  if (decl) s = s.slice(decl[0].length);
  const tagRe = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*="[^"<]*")*)\s*(\/?)>/y;
  const attrRe = /([A-Za-z_][\w:.-]*)="([^"<]*)"/g;
  const entityOk = (t: string) => !/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t);
  let i = 0;
  let roots = 0;
  while (i < s.length) {
    const lt = s.indexOf("<", i);
    const textPart = lt < 0 ? s.slice(i) : s.slice(i, lt);
    if (!entityOk(textPart)) throw new Error(`bad entity in text near ${i}`);
    if (stack.length === 0 && textPart.trim() !== "") throw new Error(`text outside the root element near ${i}`);
    if (lt < 0) break;
    tagRe.lastIndex = lt;
    const m = tagRe.exec(s);
    if (!m) throw new Error(`malformed tag at ${lt}: ${s.slice(lt, lt + 60)}`);
    const [whole, close, name, attrs, selfClose] = m;
    if (close) {
      if (attrs || selfClose) throw new Error(`bad closing tag ${whole}`);
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) roots++;
      names.push(name);
      const seen = new Set<string>();
      for (const a of attrs.matchAll(attrRe)) {
        if (seen.has(a[1])) throw new Error(`duplicate attribute ${a[1]} in <${name}>`);
        seen.add(a[1]);
        if (!entityOk(a[2])) throw new Error(`bad entity in attribute ${a[1]}`);
      }
      if (!selfClose) stack.push(name);
    }
    i = lt + whole.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("><")}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
  return names;
}

/** Every numeric-looking attribute value parses to a finite number; no NaN/Infinity anywhere. */
function expectFiniteNumbers(doc: string): void {
  expect(doc).not.toMatch(/NaN|Infinity/);
  for (const m of doc.matchAll(/\s(x|y|x1|y1|x2|y2|cx|cy|r|width|height|stroke-width|opacity)="([^"]*)"/g)) {
    expect(Number.isFinite(Number(m[2])), `${m[1]}="${m[2]}"`).toBe(true);
  }
  for (const m of doc.matchAll(/\spoints="([^"]*)"/g)) {
    for (const v of m[1].split(/[ ,]/)) expect(Number.isFinite(Number(v))).toBe(true);
  }
  for (const m of doc.matchAll(/\svalues="([^"]*)"/g)) {
    for (const v of m[1].split(/[;,]/)) expect(Number.isFinite(Number(v))).toBe(true);
  }
}

function count(doc: string, re: RegExp): number {
  return [...doc.matchAll(re)].length;
}

async function rollout(task: Task, T: number, x0: Float64Array, torque: (t: number, u: Float64Array, off: number) => void = () => {}) {
  const sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
  const xs = new Float64Array((T + 1) * task.nx);
  const us = new Float64Array(T * task.nu);
  sim.rollout(x0, (t, _x, _xo, u, uo) => torque(t, u, uo), T, xs, us);
  return { sim, xs };
}

describe("svg helpers", () => {
  it("escapes markup and formats numbers without -0 or exponents", () => {
    expect(esc(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
    expect(num(-0.0001)).toBe("0");
    expect(num(1.5)).toBe("1.5");
    expect(num(2)).toBe("2");
    expect(() => num(NaN)).toThrow();
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-0.83, 1.43, 8)).toEqual([-0.8, -0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4]);
  });

  it("the test's XML checker rejects malformed documents", () => {
    expect(checkXml(`<?xml version="1.0"?>\n<svg a="1"><g/><text>a &amp; b</text></svg>`)).toEqual(["svg", "g", "text"]);
    for (const bad of [`<a><b></a></b>`, `<a>x & y</a>`, `<a b="1" b="2"/>`, `<a>`, `<a/><b/>`, `<a b=1/>`, `<a title="<"/>`]) expect(() => checkXml(bad), bad).toThrow();
  });

  it("builds a well-formed line plot, escaping labels and breaking lines at NaN", () => {
    const pts: Array<[number, number]> = [[0, 0], [1, 1], [2, NaN], [3, 1], [4, 0]];
    const doc = linePlot([{ label: `a < b & "c"`, points: pts }], { title: "T<1>", xLabel: "x", yLabel: "y" });
    checkXml(doc);
    expectFiniteNumbers(doc);
    expect(doc).toContain("a &lt; b &amp; &quot;c&quot;");
    expect(count(doc, /<polyline[^>]*class="series"/g)).toBe(2);
  });

  it("widens the figure for a legend label longer than the plot instead of cutting it", () => {
    const pts: Array<[number, number]> = [[0, 0], [1, 1]];
    const width = (doc: string) => Number(/<svg[^>]*\bwidth="([\d.]+)"/.exec(doc)![1]);
    const short = linePlot([{ label: "a", points: pts }], { xLabel: "x", yLabel: "y" });
    const long = linePlot([{ label: "x".repeat(300), points: pts }], { xLabel: "x", yLabel: "y" });
    checkXml(long);
    expect(width(long)).toBeGreaterThan(width(short));
    expect(width(long)).toBeGreaterThanOrEqual(64 + textWidth("x".repeat(300)) + 30);
  });
});

describe("learning curves (2013 Figure 2)", () => {
  // Stage records as the store gives them: an example, guiding samples, then iterations.
  const rec = (index: number, kind: string, metrics: Record<string, number>) =>
    ({ index, kind, label: kind, digest: "", metrics, durationMs: 0, checkpoint: "", status: "ok", source: "checkpoint", logged: true, problem: null }) as unknown as StageRecord;
  const run = (kind: string, costs: number[]) => [
    rec(0, "evaluate", { cost: 200 }),
    rec(1, "guidingSamples", { guidingCost: 300, guidingCostStd: 10 }),
    rec(2, "pretrainPolicy", { cost: 250 }),
    ...costs.map((c, i) => rec(3 + i, kind, { sampleCost: c, cost: c - 100 })),
  ];

  it("takes the example from the last cost before the guiding samples, and the band as mean ± 2 std", () => {
    const d = learningCurveData(run("daggerIteration", [400, 350]));
    expect(d.example).toBe(200);
    expect(d.band).toEqual({ low: 280, high: 320 });
    expect(d.iterations.map((r) => r.kind)).toEqual(["daggerIteration", "daggerIteration"]);
  });

  it("compares runs in one well-formed plot, one line per run, capping falls at 3× the references", () => {
    const doc = compareLearningCurves(
      [
        { name: "gps", records: run("isgpsIteration", [330, 310, 305]) },
        { name: "pg <1>", records: run("policyGradientIteration", [500, 5000]) },
      ],
      "sampleCost",
      "walker",
    );
    checkXml(doc);
    expectFiniteNumbers(doc);
    expect(doc).toContain("pg &lt;1&gt;");
    expect(doc).toMatch(/1 point\(s\) above 960 are drawn at 960/);
    expect(() => compareLearningCurves([{ name: "ilqg-only", records: [rec(0, "evaluate", { cost: 1 })] }], "cost")).toThrow(/ilqg-only has no policy-search iterations/);
  });
});

describe("bodyTrajectory", () => {
  let walkerSim: Simulator;
  let walkerXs: Float64Array;
  const T = 40;
  beforeAll(async () => {
    // Random joint torques so the legs move apart; a forward push.
    const s = new Sampler(seedGenerator(7));
    const x0 = walker.restState.slice();
    x0[walker.nx / 2] = 0.6;
    const r = await rollout(walker, T, x0, (_t, u, off) => {
      for (let i = 0; i < walker.nu; i++) u[off + i] = 40 * s.normal();
    });
    walkerSim = r.sim;
    walkerXs = r.xs;
  });
  afterAll(() => walkerSim.dispose());

  it("names the bodies in MuJoCo order with their parents, world excluded", () => {
    const bt = bodyTrajectory(walkerSim, walkerXs, T);
    expect(bt.names).toEqual(["torso", "right_thigh", "right_shin", "right_foot", "left_thigh", "left_shin", "left_foot"]);
    expect(bt.parents).toEqual([-1, 0, 1, 2, 0, 4, 5]);
    expect(bt.nbody).toBe(walkerSim.nbody - 1);
    expect(bt.positions.length).toBe((T + 1) * bt.nbody * 3);
    expect(bt.capsules.names).toEqual(bt.names); // one capsule per link, named like its body; the floor is skipped
    expect(bt.capsules.body).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("puts the torso frame at (rootx, 0, rootz) for hopper and walker, and the swimmer head at (rootx, rooty, 0)", async () => {
    const cases: Array<{ task: Task; sim?: Simulator; xs?: Float64Array }> = [{ task: walker, sim: walkerSim, xs: walkerXs }, { task: hopper }, { task: swimmerTask }];
    for (const c of cases) {
      let sim = c.sim;
      let xs = c.xs;
      let own = false;
      if (!sim || !xs) {
        const s = new Sampler(seedGenerator(3));
        const r = await rollout(c.task, T, c.task.restState, (_t, u, off) => {
          for (let i = 0; i < c.task.nu; i++) u[off + i] = (c.task.name === "swimmer" ? 3 : 5) * s.normal();
        });
        sim = r.sim;
        xs = r.xs;
        own = true;
      }
      try {
        const bt = bodyTrajectory(sim, xs, T);
        const nx = c.task.nx;
        let moved = 0;
        for (let t = 0; t <= T; t++) {
          const p = bt.positions.subarray(t * bt.nbody * 3, t * bt.nbody * 3 + 3);
          const rx = xs[t * nx];
          const r2 = xs[t * nx + 1];
          if (c.task.name === "swimmer") expect([p[0] - rx, p[1] - r2, p[2]].map(Math.abs).every((e) => e < 1e-9)).toBe(true);
          else expect([p[0] - rx, p[1], p[2] - r2].map(Math.abs).every((e) => e < 1e-9)).toBe(true);
          moved = Math.max(moved, Math.abs(rx - xs[0]) + Math.abs(r2 - xs[1]));
        }
        expect(moved).toBeGreaterThan(1e-3); // the check ran on a moving root
      } finally {
        if (own) sim.dispose();
      }
    }
  });

  it("gives capsule end points of the right length, the torso along its pitch", () => {
    const bt = bodyTrajectory(walkerSim, walkerXs, T);
    const nc = bt.capsules.names.length;
    const E = bt.capsules.endpoints;
    const D = WALKER_DIMENSIONS;
    const lengths = [D.torsoLength, D.thighLength, D.shinLength, D.footHeel + D.footToe, D.thighLength, D.shinLength, D.footHeel + D.footToe];
    expect(bt.capsules.radius).toEqual([D.torsoRadius, D.thighRadius, D.shinRadius, D.footRadius, D.thighRadius, D.shinRadius, D.footRadius]);
    for (let t = 0; t <= T; t++) {
      for (let c = 0; c < nc; c++) {
        const o = (t * nc + c) * 6;
        expect(Math.hypot(E[o + 3] - E[o], E[o + 4] - E[o + 1], E[o + 5] - E[o + 2])).toBeCloseTo(lengths[c], 9);
        expect(Math.abs(E[o + 1]) + Math.abs(E[o + 4])).toBeLessThan(1e-9); // planar: y = 0
      }
      // Torso capsule: centred on the root, along (sin pitch, 0, cos pitch).
      const x = walkerXs[t * walker.nx];
      const z = walkerXs[t * walker.nx + 1];
      const th = walkerXs[t * walker.nx + 2];
      const h = D.torsoLength / 2;
      const o = t * nc * 6;
      const ends = [E[o], E[o + 2], E[o + 3], E[o + 5]];
      const want = [x - h * Math.sin(th), z - h * Math.cos(th), x + h * Math.sin(th), z + h * Math.cos(th)];
      const fwd = ends.every((v, i) => Math.abs(v - want[i]) < 1e-9);
      const rev = ends.every((v, i) => Math.abs(v - want[(i + 2) % 4]) < 1e-9);
      expect(fwd || rev).toBe(true);
    }
    // The right thigh hangs from the hip: its upper end is the thigh body's origin.
    for (let t = 0; t <= T; t++) {
      const o = (t * nc + 1) * 6;
      const p = (t * bt.nbody + 1) * 3;
      const d0 = Math.hypot(E[o] - bt.positions[p], E[o + 2] - bt.positions[p + 2]);
      const d1 = Math.hypot(E[o + 3] - bt.positions[p], E[o + 5] - bt.positions[p + 2]);
      expect(Math.min(d0, d1)).toBeLessThan(1e-9);
    }
  });
});

describe("gait pictures", () => {
  let sim: Simulator;
  let xs: Float64Array;
  let bt: BodyTrajectory;
  const T = 120;
  beforeAll(async () => {
    const x0 = walker.restState.slice();
    x0[walker.nx / 2] = 0.5;
    const r = await rollout(walker, T, x0);
    sim = r.sim;
    xs = r.xs;
    bt = bodyTrajectory(sim, xs, T);
  });
  afterAll(() => sim.dispose());

  it("root trajectory plot: one polyline per series, a fall marker, well-formed, deterministic", () => {
    const series = [
      { label: "policy", xs, nx: walker.nx, T, dt: walker.dt, fellAt: 60 },
      { label: "demo <1>", xs: xs.map((v, i) => (i % walker.nx === 0 ? v + 0.1 : v)), nx: walker.nx, T, dt: walker.dt, dash: "6 4" },
    ];
    const ground = [{ x: -1, z: 0 }, { x: 0.5, z: 0.02 }, { x: 3, z: 0 }];
    const doc = rootTrajectoryPlot(series, { task: "walker", ground });
    checkXml(doc);
    expectFiniteNumbers(doc);
    expect(count(doc, /<polyline[^>]*class="series"/g)).toBe(2);
    expect(doc).toContain("demo &lt;1&gt;");
    expect(doc).toContain(">fall<");
    expect(count(doc, /<polygon/g)).toBe(1); // the ground
    expect(rootTrajectoryPlot(series, { task: "walker", ground })).toBe(doc);
    // Swimmer: top view, no ground.
    const sw = rootTrajectoryPlot([{ label: "s", xs: new Float64Array(11 * 10).map((_, i) => (i % 10 === 0 ? i / 100 : i % 10 === 1 ? Math.sin(i) : 0)), nx: 10, T: 10, dt: 0.05 }], { task: "swimmer" });
    checkXml(sw);
    expect(sw).toContain("y (m)");
    expect(count(sw, /<polygon/g)).toBe(0);
  });

  it("root trajectory plot has equal scales on x and height", () => {
    const doc = rootTrajectoryPlot([{ label: "a", xs, nx: walker.nx, T, dt: walker.dt }], { task: "walker" });
    // Pixel distance between two consecutive tick labels per unit, on both axes.
    const xTicks = [...doc.matchAll(/<line x1="([-\d.]+)" y1="[-\d.]+" x2="\1" y2="[-\d.]+" stroke="#444"\/>\s*<text x="\1" y="[-\d.]+" text-anchor="middle" fill="#333">([-\d.]+)<\/text>/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const yTicks = [...doc.matchAll(/<line x1="[-\d.]+" y1="([-\d.]+)" x2="[-\d.]+" y2="\1" stroke="#444"\/>\s*<text x="[-\d.]+" y="[-\d.]+" text-anchor="end" fill="#333">([-\d.]+)<\/text>/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(xTicks.length).toBeGreaterThan(1);
    expect(yTicks.length).toBeGreaterThan(1);
    const px = (xTicks[xTicks.length - 1][0] - xTicks[0][0]) / (xTicks[xTicks.length - 1][1] - xTicks[0][1]);
    const py = -(yTicks[yTicks.length - 1][0] - yTicks[0][0]) / (yTicks[yTicks.length - 1][1] - yTicks[0][1]);
    expect(Math.abs(px - py) / px).toBeLessThan(0.01);
  });

  it("chronophotograph: one group per picked frame (stride and last), a line per capsule", () => {
    const every = 25;
    const doc = stickFigureStrip(bt, { task: "walker", every, dt: walker.dt });
    checkXml(doc);
    expectFiniteNumbers(doc);
    const frames = [...doc.matchAll(/<g class="frame" data-frame="(\d+)"/g)].map((m) => Number(m[1]));
    expect(frames).toEqual([0, 25, 50, 75, 100, 120]);
    expect(count(doc, /<line [^>]*stroke-linecap="round"/g)).toBe(frames.length * 7);
    expect(stickFigureStrip(bt, { task: "walker", every, dt: walker.dt })).toBe(doc);
    // Body-pair links instead of capsules.
    const links = stickFigureStrip(bt, { task: "walker", every: 60, segments: [["torso", "right_thigh"], ["right_thigh", "right_shin"]] });
    checkXml(links);
    expect(count(links, /<g class="frame"/g)).toBe(3);
    expect(count(links, /<line [^>]*stroke-linecap="round"/g)).toBe(6);
    expect(() => stickFigureStrip(bt, { task: "walker", every: 60, segments: [["torso", "nose"]] })).toThrow(/nose/);
  });

  it("falls back to body-to-parent links without capsules, and skips non-finite frames", () => {
    const noCaps = { nbody: bt.nbody, names: bt.names, positions: bt.positions.slice(), parents: bt.parents };
    noCaps.positions[50 * bt.nbody * 3 + 5] = NaN; // frame 50 blew up (right thigh z)
    const doc = stickFigureStrip(noCaps, { task: "walker", every: 25 });
    checkXml(doc);
    expectFiniteNumbers(doc);
    const frames = [...doc.matchAll(/<g class="frame" data-frame="(\d+)"/g)].map((m) => Number(m[1]));
    expect(frames).toEqual([0, 25, 75, 100, 120]);
    expect(count(doc, /<line [^>]*stroke-linecap="round"/g)).toBe(frames.length * 6); // 7 bodies, 6 parent links
  });

  it("panels: one panel per picked frame", () => {
    const doc = stickFigurePanels(bt, { task: "walker", every: 40, dt: walker.dt });
    checkXml(doc);
    expectFiniteNumbers(doc);
    expect(count(doc, /<g class="panel"/g)).toBe(4); // 0, 40, 80, 120
    expect(stickFigurePanels(bt, { task: "walker", every: 40, dt: walker.dt })).toBe(doc);
  });

  it("animation: SMIL key frames for every link end, subsampled, deterministic", () => {
    const doc = stickFigureAnimation(bt, { task: "walker", dt: walker.dt, maxFrames: 31 });
    checkXml(doc);
    expectFiniteNumbers(doc);
    expect(count(doc, /<line class="link"/g)).toBe(7);
    const anims = [...doc.matchAll(/<animate attributeName="(x1|y1|x2|y2|cx|cy)" dur="([\d.]+)s" repeatCount="indefinite" calcMode="linear" keyTimes="([^"]*)" values="([^"]*)"/g)];
    expect(anims.length).toBe(7 * 4 + 2); // link ends + root dot
    for (const a of anims) {
      expect(Number(a[2])).toBeCloseTo(T * walker.dt, 9);
      const kt = a[3].split(";").map(Number);
      expect(kt.length).toBe(31); // stride 4 over 121 frames: 0, 4, …, 120
      expect(kt[0]).toBe(0);
      expect(kt[kt.length - 1]).toBe(1);
      for (let i = 1; i < kt.length; i++) expect(kt[i]).toBeGreaterThan(kt[i - 1]);
      expect(a[4].split(";").length).toBe(kt.length);
    }
    expect(stickFigureAnimation(bt, { task: "walker", dt: walker.dt, maxFrames: 31 })).toBe(doc);
  });

  it("animation of a 500-step walker rollout stays under 2 MB; the camera follows a long walk", async () => {
    const T5 = 500;
    const s = new Sampler(seedGenerator(11));
    const x0 = walker.restState.slice();
    x0[walker.nx / 2] = 1;
    const r = await rollout(walker, T5, x0, (_t, u, off) => {
      for (let i = 0; i < walker.nu; i++) u[off + i] = 20 * s.normal();
    });
    try {
      const b5 = bodyTrajectory(r.sim, r.xs, T5);
      const doc = stickFigureAnimation(b5, { task: "walker", dt: walker.dt });
      checkXml(doc);
      expectFiniteNumbers(doc);
      expect(doc.length).toBeLessThan(2_000_000);
      // A kinematic 6 m "walk" (root x sweeps, pose fixed) needs a following camera.
      const far = { ...b5, positions: b5.positions.map((v, i) => (i % 3 === 0 ? v + (Math.floor(i / (3 * b5.nbody)) / T5) * 6 : v)), capsules: undefined };
      const follow = stickFigureAnimation(far, { task: "walker", dt: walker.dt });
      checkXml(follow);
      expect(follow).toContain(`<animateTransform attributeName="transform" type="translate"`);
      expect(doc).not.toContain("<animateTransform");
    } finally {
      r.sim.dispose();
    }
  });

  it("swimmer pictures (top view) are well-formed", async () => {
    const r = await rollout(swimmerTask, 60, swimmerTask.restState, (t, u, off) => {
      u[off] = 3 * Math.sin(0.35 * t);
      u[off + 1] = 3 * Math.sin(0.35 * t - 1.5);
    });
    try {
      const b = bodyTrajectory(r.sim, r.xs, 60);
      expect(b.names).toEqual(["head", "mid", "tail"]);
      for (const doc of [
        stickFigureStrip(b, { task: "swimmer", every: 10, dt: swimmerTask.dt }),
        stickFigurePanels(b, { task: "swimmer", every: 10, dt: swimmerTask.dt }),
        stickFigureAnimation(b, { task: "swimmer", dt: swimmerTask.dt }),
        rootTrajectoryPlot([{ label: "sinusoid", xs: r.xs, nx: swimmerTask.nx, T: 60, dt: swimmerTask.dt }], { task: "swimmer" }),
      ]) {
        checkXml(doc);
        expectFiniteNumbers(doc);
      }
    } finally {
      r.sim.dispose();
    }
  });
});
