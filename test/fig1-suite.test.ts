/**
 * The 2014 paper's Figure 1 suite (experiments/fig1/, docs/fig1-suite.md): every method
 * value decodes, resolves and plans as `gps run` would (variational GPS: structure only
 * until stage.variationalEStep is on main), and the methods of a task share the task, the
 * conditions, the trajectory-optimization start, the policy class, 100 policy-search
 * iterations and the final evaluations, so `gps compare` can overlay them.
 */
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { decodeExperiment } from "../src/dsl/validate.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { planExperiment } from "../src/dsl/plan.js";
import { isRepeat, type Experiment, type PipelineItem } from "../src/dsl/experiment.js";
import { applyOverrides, parseOverride } from "../src/runtime/overrides.js";
import { fig3Experiment } from "../experiments/fig3/suite.js";
import { cgpsParts, fig1Evaluations, fig1Experiment, FIG1_HIDDEN, FIG1_ITERATIONS, FIG1_METHODS, FIG1_TASKS, type Method } from "../experiments/fig1/suite.js";

/** The training stage each method's loop is made of (what `gps compare` draws). */
const TRAINING: Record<Method, string> = {
  cgps: "fitTheta",
  vgps: "fitTheta",
  isgps: "isgpsIteration",
  "isgps-adapted": "isgpsIteration",
  cwr: "costWeightedRegression",
  "dagger-weighted": "daggerIteration",
};

const contains = (p: PipelineItem, kind: string): boolean => (isRepeat(p) ? p.body.some((b) => contains(b, kind)) : p.kind === kind);
const loopOf = (e: Experiment, method: Method) => {
  const loops = e.pipeline.filter((p) => isRepeat(p) && contains(p, TRAINING[method]));
  expect(loops).toHaveLength(1);
  return loops[0] as Extract<PipelineItem, { kind: "repeat" }>;
};
/** The shared start: the items before the first stage that makes or uses a policy. */
const startOf = (e: Experiment) => {
  const policyKinds = ["fitTheta", "updateLambda", "optimizeQ", "guidingSamples", "pretrainPolicy", "variationalEStep"];
  return e.pipeline.slice(0, e.pipeline.findIndex((p) => policyKinds.some((k) => contains(p, k))));
};
const tailOf = (e: Experiment, n: number) => e.pipeline.slice(e.pipeline.length - n);

describe("Figure 1 suite", () => {
  const rows = FIG1_TASKS.flatMap((task) => FIG1_HIDDEN.flatMap((hidden) => FIG1_METHODS.map((method) => [task, method, hidden] as const)));
  it.each(rows)("%s %s with %i hidden units decodes, resolves and plans", (task, method, hidden) => {
    const e = fig1Experiment(task, method, hidden);
    const plan = planExperiment(resolveExperiment(decodeExperiment(e)));
    expect(plan.experiment.policy?.hidden).toBe(hidden);
    expect(e.name).toBe(`fig1-${task}-${method}`);
  });

  it.each(FIG1_TASKS)("%s vgps is CGPS with optimizeQ → the variational E-step and no updateLambda", (task) => {
    const c = fig1Experiment(task, "cgps");
    const v = fig1Experiment(task, "vgps");
    const loop = loopOf(v, "vgps");
    expect(loop.body.map((s) => s.kind)).toEqual(loopOf(c, "cgps").body.filter((s) => s.kind !== "updateLambda").map((s) => (s.kind === "optimizeQ" ? "variationalEStep" : s.kind)));
    expect(loop.body[0]).toMatchObject({ kind: "variationalEStep", iterations: 2 });
    expect(JSON.stringify(v.pipeline)).not.toContain("updateLambda");
    expect(JSON.stringify(v.pipeline)).not.toContain("optimizeQ");
  });

  it.each(FIG1_TASKS)("the %s methods share task, conditions, start, policy class, 100 iterations and evaluations", (task) => {
    const base = fig1Experiment(task, "cgps");
    const { loop } = cgpsParts(base);
    const perIteration = loop.body.filter((s) => s.kind === "evaluate");
    const ending = fig1Evaluations(task);
    for (const method of FIG1_METHODS) {
      const e = fig1Experiment(task, method);
      expect(e.task, method).toEqual(base.task);
      expect(e.conditions, method).toEqual(base.conditions);
      expect(e.policy, method).toEqual(base.policy);
      expect(e.seed, method).toBe(base.seed);
      expect(startOf(e), method).toEqual(startOf(base));
      const l = loopOf(e, method);
      expect(l.times, method).toBe(FIG1_ITERATIONS);
      expect(l.body.filter((s) => s.kind === "evaluate"), method).toEqual(perIteration);
      expect(tailOf(e, ending.length), method).toEqual(ending);
    }
  });

  it("the hidden size is the only difference between the 5- and 10-unit values, and --set policy.hidden=5 gives the 5-unit one", () => {
    for (const task of FIG1_TASKS) {
      for (const method of FIG1_METHODS) {
        const ten = resolveExperiment(decodeExperiment(fig1Experiment(task, method, 10)));
        const five = resolveExperiment(decodeExperiment(fig1Experiment(task, method, 5)));
        expect(applyOverrides(ten, [parseOverride("policy.hidden=5")])).toEqual(five);
      }
    }
  });

  it("every method has a thin file in experiments/fig1/ with the 10-unit value", async () => {
    const dir = join(__dirname, "..", "experiments", "fig1");
    const files = readdirSync(dir).filter((f) => f !== "suite.ts");
    expect(files.sort()).toEqual(FIG1_TASKS.flatMap((t) => FIG1_METHODS.map((m) => `${t}-${m}.ts`)).sort());
    for (const task of FIG1_TASKS) {
      for (const method of FIG1_METHODS) {
        const mod = (await import(join(dir, `${task}-${method}.ts`))) as { default: Experiment };
        expect(mod.default).toEqual(fig1Experiment(task, method));
      }
    }
  });

  it("the ISGPS-based methods add guiding samples and a pretrained θ* before their loop; CGPS does not", () => {
    for (const task of FIG1_TASKS) {
      for (const method of ["isgps", "isgps-adapted", "cwr", "dagger-weighted"] as const) {
        const kinds = fig1Experiment(task, method).pipeline.map((p) => p.kind);
        expect(kinds.indexOf("guidingSamples"), `${task} ${method}`).toBeGreaterThan(-1);
        expect(kinds.indexOf("pretrainPolicy")).toBe(kinds.indexOf("guidingSamples") + 1);
      }
      expect(JSON.stringify(fig1Experiment(task, "cgps").pipeline)).not.toContain("guidingSamples");
    }
  });

  it("CWR draws the paper's 1000 rollouts per iteration over all conditions", () => {
    for (const task of FIG1_TASKS) {
      const r = resolveExperiment(decodeExperiment(fig1Experiment(task, "cwr")));
      const cwr = r.pipeline.flatMap((p) => (isRepeat(p) ? p.body : [p])).find((s) => s.kind === "costWeightedRegression") as { samples: number };
      expect(cwr.samples * r.conditions.length, task).toBe(1000);
    }
  });
});

describe("Figure 3 suite (uneven terrain, every method)", () => {
  const rows = ([1, 3] as const).flatMap((terrains) => FIG1_METHODS.map((method) => [terrains, method] as const));
  it.each(rows)("%i training terrain(s), %s: plans, and keeps the CGPS experiment's task, conditions, policy, iterations and terrain tests", (terrains, method) => {
    const base = fig3Experiment(terrains, "cgps");
    const e = fig3Experiment(terrains, method);
    expect(() => planExperiment(resolveExperiment(decodeExperiment(e)))).not.toThrow();
    expect(e.name).toBe(`fig3-terrain-${terrains}-${method}`);
    expect([e.task, e.conditions, e.policy, e.seed]).toEqual([base.task, base.conditions, base.policy, base.seed]);
    const loops = (x: Experiment) => x.pipeline.filter(isRepeat).map((p) => p.times);
    expect(loops(e)[loops(e).length - 1]).toBe(loops(base)[loops(base).length - 1]);
    // The unseen-terrain tests at the end are the CGPS experiment's.
    const terrainTests = (x: Experiment) => x.pipeline.filter((p) => !isRepeat(p) && p.kind === "evaluate" && p.terrains !== undefined);
    expect(terrainTests(e)).toEqual(terrainTests(base));
    expect(terrainTests(e).length).toBeGreaterThan(0);
  });
});
