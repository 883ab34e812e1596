/**
 * Push recovery (2014 paper §4.3, Figs. 4–5; issue 15): a push's `body`, the
 * plan's refusals (a body the model lacks, a window past the horizon), the
 * evaluate stage's test pushes (`pushes`: one row per condition and push,
 * `recovered`) and the report's push strips.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { condition, experiment, repeat, stage, task, type Experiment, type PushSpec } from "../src/dsl/experiment.js";
import { planExperiment } from "../src/dsl/plan.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { decodeExperiment, ExperimentValidationError } from "../src/dsl/validate.js";
import { mjcfBodyNames, pushPerturbations, taskFor } from "../src/tasks/index.js";
import { recoveryWindow } from "../src/algorithms/evaluate.js";
import { startRun } from "../src/runtime/session.js";
import { writeRunReport } from "../src/report/run-report.js";
import { tempDirs } from "./helpers/tmp.js";
import { digestsResumedAfter, finishedOf, stateAt } from "./helpers/runs.js";

const tmp = tempDirs("pushes");

/** The plan's problems for an experiment (decoded and resolved first), or [] when it plans. */
function planProblems(value: unknown): string[] {
  try {
    planExperiment(resolveExperiment(decodeExperiment(value)));
    return [];
  } catch (e) {
    if (e instanceof ExperimentValidationError) return [...e.problems];
    throw e;
  }
}

const walker = (o: { pushes?: PushSpec[]; conditionPushes?: PushSpec[]; pipeline?: Experiment["pipeline"]; horizon?: number } = {}): Experiment =>
  experiment({
    name: "pushes",
    seed: 1,
    task: task.walker({ horizon: o.horizon ?? 50, ...(o.pushes ? { pushes: o.pushes } : {}) }),
    conditions: [condition.rest(o.conditionPushes ? { pushes: o.conditionPushes } : {})],
    pipeline: o.pipeline ?? [stage.demonstrate({ controller: "simbicon-smooth" })],
  });

describe("a push's body", () => {
  it("defaults to the torso and is threaded to the perturbation", () => {
    expect(pushPerturbations([{ force: 300, direction: "backward", onset: 0.1 }], 0.01)[0]).toEqual({ body: "torso", force: [-300, 0, 0], fromStep: 10, toStep: 20 });
    expect(pushPerturbations([{ force: 300, direction: "forward", onset: 0.1, body: "right_thigh" }], 0.01)[0].body).toBe("right_thigh");
    const t = taskFor(task.walker({ horizon: 10, pushes: [{ force: 1, direction: "forward", onset: 0, body: "left_shin" }] }));
    expect(t.perturbations?.[0].body).toBe("left_shin");
    expect(mjcfBodyNames(t.mjcf)).toEqual(["torso", "right_thigh", "right_shin", "right_foot", "left_thigh", "left_shin", "left_foot"]);
    expect(mjcfBodyNames(taskFor(task.hopper({ horizon: 10 })).mjcf)).toEqual(["torso", "thigh", "shin", "foot"]);
  });
});

describe("the plan refuses pushes", () => {
  it("plans pushes on existing bodies inside the horizon", () => {
    expect(planProblems(walker({ pushes: [{ force: 300, direction: "forward", onset: 0.3, body: "right_thigh" }] }))).toEqual([]);
    // The window's end may be the horizon's: 0.4 s + 0.1 s at dt 0.01 is steps 40–50 of 50.
    expect(planProblems(walker({ pushes: [{ force: 300, direction: "forward", onset: 0.4 }] }))).toEqual([]);
  });

  it("on a body the model lacks, listing the model's bodies", () => {
    const body = { force: 300, direction: "forward" as const, onset: 0.1, body: "torsoo" };
    expect(planProblems(walker({ pushes: [body] }))).toEqual([expect.stringMatching(/^task\.pushes\[0\]\.body: the walker has no body named "torsoo" \(its bodies: torso, right_thigh, .*left_foot\)$/)]);
    expect(planProblems(walker({ conditionPushes: [{ ...body, onset: 0 }, body] }))).toEqual([
      expect.stringMatching(/^conditions\[0\]\.pushes\[0\]\.body: the walker has no body named "torsoo"/),
      expect.stringMatching(/^conditions\[0\]\.pushes\[1\]\.body: /),
    ]);
    expect(planProblems(walker({ pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", pushes: [body] })] }))).toEqual([
      expect.stringMatching(/^pipeline\[1\] evaluate \(stage 1\)\.pushes\[0\]\.body: the walker has no body named "torsoo" \(its bodies: torso, /),
    ]);
  });

  it("whose window ends past the horizon (the evaluate stage's own horizon for its test pushes)", () => {
    expect(planProblems(walker({ pushes: [{ force: 300, direction: "forward", onset: 0.45 }] }))).toEqual([
      "task.pushes[0]: the push acts from 0.45 s to 0.55 s (control steps 45 to 55), past the task's horizon of 50 steps (0.5 s at dt 0.01)",
    ]);
    expect(planProblems(walker({ conditionPushes: [{ force: 300, direction: "forward", onset: 0.2, duration: 0.5 }] }))).toEqual([expect.stringMatching(/^conditions\[0\]\.pushes\[0\]: the push acts from 0\.2 s to 0\.7 s/)]);
    const late = { force: 300, direction: "backward" as const, onset: 0.8 };
    const evaluate = (horizon?: number) => walker({ pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", pushes: [late], ...(horizon ? { horizon } : {}) })] });
    expect(planProblems(evaluate())).toEqual([expect.stringMatching(/^pipeline\[1\] evaluate \(stage 1\)\.pushes\[0\]: the push acts from 0\.8 s to 0\.9 s .*past the task's horizon of 50 steps/)]);
    expect(planProblems(evaluate(100))).toEqual([]);
    expect(planProblems(evaluate(85))).toEqual([expect.stringMatching(/past the stage's horizon of 85 steps/)]);
  });

  it("on the swimmer, with test grounds, or an empty list", () => {
    const swim = experiment({ name: "s", seed: 1, task: task.swimmer({ horizon: 10 }), conditions: [condition.rest()], pipeline: [stage.initializeTrajectories({ from: { kind: "zero" } }), stage.evaluate({ noise: false, pushes: [{ force: 1, direction: "forward", onset: 0 }] })] });
    expect(planProblems(swim)).toEqual([expect.stringMatching(/pushes: test pushes apply to the hopper and walker, not the swimmer/)]);
    const both = walker({ pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", terrains: [{ kind: "flat" }], pushes: [{ force: 1, direction: "forward", onset: 0 }] })] });
    expect(planProblems(both)).toEqual([expect.stringMatching(/\.pushes: test pushes and test grounds \(terrains\) in one evaluate stage are not supported/)]);
    const empty = walker({ pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", pushes: [] })] });
    expect(planProblems(empty)).toEqual([expect.stringMatching(/\.pushes: the list is empty/)]);
  });
});

describe("recovery window", () => {
  it("is 5 s after the onset, or to the rollout's end", () => {
    expect(recoveryWindow(20, 1000, 0.01)).toBe(500);
    expect(recoveryWindow(20, 80, 0.01)).toBe(60);
    expect(recoveryWindow(80, 80, 0.01)).toBe(0);
  });
});

describe("evaluate with test pushes", () => {
  const pushed = (pushes: PushSpec[], name = "push-eval"): Experiment =>
    experiment({
      name,
      seed: 4,
      task: task.walker({ horizon: 40 }),
      conditions: [condition.gaitPhases("simbicon-smooth", 2)[0]],
      pipeline: [
        stage.demonstrate({ controller: "simbicon-smooth" }),
        stage.evaluate({ noise: false, controller: "demonstration", horizon: 60 }),
        stage.evaluate({ noise: false, controller: "demonstration", horizon: 60, pushes }),
      ],
    });

  it("rolls out each condition once per push, records recovery, and resumes bit-identically; the report draws the strips", async () => {
    const store = tmp();
    const exp = pushed([
      { force: 400, direction: "backward", onset: 0.2 },
      { force: 0, direction: "forward", onset: 0.2 },
    ]);
    const run = startRun(exp, { store });
    const done = await finishedOf(run.events);
    expect(done.length).toBe(3);
    const plain = done[1].metrics;
    const m = done[2].metrics;
    expect(m.pushesPerCondition).toBe(2);
    expect((m.costs as number[]).length).toBe(2);
    expect(m.pushOnsetSteps).toEqual([20, 20]);
    expect(m.recoveryWindowSteps).toEqual([40, 40]); // 60 steps: the window is cut at the rollout's end
    // The 400 N push changes the rollout; a 0 N push is no push, bit for bit.
    const costs = m.costs as number[];
    expect(costs[0]).not.toBe((plain.costs as number[])[0]);
    expect(costs[1]).toBe((plain.costs as number[])[0]);
    expect((m.distances as number[])[1]).toBe((plain.distances as number[])[0]);
    const fallSteps = m.fallSteps as number[];
    (m.recovered as number[]).forEach((r, k) => expect(r).toBe(fallSteps[k] === -1 || fallSteps[k] > 20 + 40 ? 1 : 0));
    expect(m.recoveredCount).toBe((m.recovered as number[]).filter((r) => r === 1).length);

    const state = stateAt(run.run, 2);
    const tests = state.conditions[0].pushTests!;
    expect(tests.map((t) => t.push)).toEqual([
      { force: 400, direction: "backward", onset: 0.2, duration: 0.1, body: "torso" },
      { force: 0, direction: "forward", onset: 0.2, duration: 0.1, body: "torso" },
    ]);
    expect(tests.map((t) => [t.fromStep, t.toStep, t.T])).toEqual([[20, 30, 60], [20, 30, 60]]);
    expect(typeof tests[0].recovered).toBe("boolean");
    expect(tests[0].recovered).toBe((m.recovered as number[])[0] === 1);
    expect(tests[0].fallStep).toBe(fallSteps[0]);
    // Before the push the two rollouts agree; after it they differ.
    const nx = 18;
    expect(Array.from(tests[0].xs.subarray(0, 20 * nx))).toEqual(Array.from(tests[1].xs.subarray(0, 20 * nx)));
    expect(Array.from(tests[0].xs.subarray(30 * nx, 31 * nx))).not.toEqual(Array.from(tests[1].xs.subarray(30 * nx, 31 * nx)));
    // The 0 N rollout is the unpushed one: the condition's evaluation (stage 1) root path.
    const root = state.conditions[0].evaluation!.root;
    for (let t = 0; t <= 60; t++) expect([tests[1].xs[t * nx], tests[1].xs[t * nx + 1]]).toEqual([root[2 * t], root[2 * t + 1]]);

    // Resumes bit-identically from after either earlier stage, and worker lanes (which rebuild the push worlds from their specs) agree.
    for (const stopAfter of [0, 1]) expect(await digestsResumedAfter(exp, tmp(), stopAfter)).toEqual(done.map((e) => e.digest));
    expect((await finishedOf(startRun(exp, { store: tmp(), workers: 2 }).events)).map((e) => e.digest)).toEqual(done.map((e) => e.digest));

    const report = await writeRunReport(run.run, join(tmp(), "report"));
    expect(report.files).toContain("condition-0-push-0-demonstration-strip.svg");
    expect(report.files).toContain("condition-0-push-1-demonstration-strip.svg");
    const svg = readFileSync(join(report.dir, "condition-0-push-0-demonstration-strip.svg"), "utf8");
    expect(svg).toMatch(/class="push-arrow"/);
    expect(svg).toMatch(/class="frame highlight"/);
    expect(svg).toMatch(/400 N backward at 0\.2 s/);
    const html = readFileSync(join(report.dir, "index.html"), "utf8");
    expect(html).toMatch(/test pushes/);
    expect(html).toMatch(/<td>0\.2 s<\/td><td>400 N<\/td><td>backward<\/td><td>torso<\/td>/);
    expect(existsSync(join(report.dir, "condition-0-push-0-demonstration-strip.svg"))).toBe(true);
  }, 60_000);

  it("keeps each controller's latest push tests side by side, and the report draws the tests repeated over iterations as curves", async () => {
    const pushes: PushSpec[] = [{ force: 300, direction: "forward", onset: 0.1 }];
    const test = stage.evaluate({ noise: false, controller: "demonstration", horizon: 50, pushes });
    const exp = experiment({ ...pushed(pushes, "push-curves"), pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), repeat(3, [test])] });
    const run = startRun(exp, { store: tmp() });
    const done = await finishedOf(run.events);
    expect(done.length).toBe(4);
    // Repeated tests of one controller replace each other; the record stays one per push.
    expect(stateAt(run.run, 3).conditions[0].pushTests!.length).toBe(1);
    const report = await writeRunReport(run.run, join(tmp(), "report"));
    expect(report.files).toContain("push-recovery.svg");
    expect(report.files).toContain("push-cost.svg");
    expect(readFileSync(join(report.dir, "push-recovery.svg"), "utf8")).toMatch(/demonstration: 1 push from every condition \(onset step 10\): recovered \(of 1\)/);
    expect(readFileSync(join(report.dir, "index.html"), "utf8")).toMatch(/push-recovery\.svg/);
  }, 60_000);
});
