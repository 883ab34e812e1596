/**
 * `gps compare --metric pushCost|pushesRecovered` (the 2014 paper's Figure 4):
 * push tests split into training pushes (from starts that carry pushes) and test
 * pushes, the demonstration's tests left out, seeds aggregated per group.
 */
import { describe, expect, it } from "vitest";
import { condition, experiment, repeat, stage, task, type PushSpec } from "../src/dsl/experiment.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import type { StageLike } from "../src/report/aggregate.js";
import { aggregatePushCurves, pushComparePlot, pushCompareTable, runPushCurves } from "../src/report/push-curves.js";

const trainingPush: PushSpec = { force: 250, direction: "backward", onset: 0.2 };
const testPushes: PushSpec[] = [
  { force: 450, direction: "backward", onset: 0.3 },
  { force: 275, direction: "forward", onset: 0.4 },
];

/** Condition 0 walks, conditions 1 and 2 carry a training push; 2 iterations, each with both training-push tests and the test pushes; the demonstration's test at the end. */
const pushExperiment = resolveExperiment(
  experiment({
    name: "push-curves",
    seed: 1,
    task: task.walker({ horizon: 60 }),
    conditions: [condition.rest(), condition.rest({ pushes: [trainingPush] }), condition.rest({ pushes: [trainingPush] })],
    pipeline: [
      stage.demonstrate({ controller: "simbicon-smooth" }),
      stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" } }),
      stage.fitTheta({ maxIterations: 10 }),
      stage.evaluate({ noise: false, controller: "policy", horizon: 60, conditions: [0], pushes: testPushes }),
      repeat(2, [
        stage.optimizeQ({ iterations: 1 }),
        stage.fitTheta({ maxIterations: 10 }),
        stage.evaluate({ noise: false, controller: "policy", horizon: 60, conditions: [1], pushes: [trainingPush] }),
        stage.evaluate({ noise: false, controller: "policy", horizon: 60, conditions: [2], pushes: [trainingPush] }),
        stage.evaluate({ noise: false, controller: "policy", horizon: 60, conditions: [0], pushes: testPushes }),
      ]),
      stage.evaluate({ noise: false, controller: "demonstration", horizon: 60, conditions: [0], pushes: testPushes }),
    ],
  }),
);

const rec = (index: number, kind: string, metrics: Record<string, unknown> = {}): StageLike => ({ index, kind, label: kind, metrics: metrics as StageLike["metrics"] });
const pushTest = (index: number, costs: number[], recovered: number[], conditions: number[]) => rec(index, "evaluate", { cost: 0, costs, recovered, conditions, horizon: 60, pushOnsetSteps: costs.map(() => 20) });

/** The stage log of pushExperiment, with the given per-iteration numbers (`scale` shifts every cost). */
function records(scale = 1): StageLike[] {
  return [
    rec(0, "demonstrate"),
    rec(1, "initializeTrajectories"),
    rec(2, "fitTheta", { cost: 1 }),
    pushTest(3, [100 * scale, 300 * scale], [1, 0], [0]),
    // iteration 1: training pushes 1 of 2 recovered (costs 10, 30); test pushes 0 of 2
    rec(4, "optimizeQ"),
    rec(5, "fitTheta", { cost: 1 }),
    pushTest(6, [10 * scale], [1], [1]),
    pushTest(7, [30 * scale], [0], [2]),
    pushTest(8, [400 * scale, 600 * scale], [0, 0], [0]),
    // iteration 2: every push recovered
    rec(9, "optimizeQ"),
    rec(10, "fitTheta", { cost: 1 }),
    pushTest(11, [5 * scale], [1], [1]),
    pushTest(12, [7 * scale], [1], [2]),
    pushTest(13, [50 * scale, 70 * scale], [1, 1], [0]),
    // the demonstration: not the policy's curve
    pushTest(14, [9999, 9999], [0, 0], [0]),
  ];
}

describe("one run's push curves", () => {
  it("pools the training-push tests of an iteration, keeps the test pushes apart, and leaves the demonstration out", () => {
    const cost = runPushCurves(records(), pushExperiment, "pushCost");
    expect(cost.training).toEqual([
      [1, 20],
      [2, 6],
    ]);
    expect(cost.test).toEqual([
      [0, 200],
      [1, 500],
      [2, 60],
    ]);
    const recovered = runPushCurves(records(), pushExperiment, "pushesRecovered");
    expect(recovered.training).toEqual([
      [1, 50],
      [2, 100],
    ]);
    expect(recovered.test).toEqual([
      [0, 50],
      [1, 0],
      [2, 100],
    ]);
  });
});

describe("push curves across runs", () => {
  const run = (id: string, seed: number, scale: number, name = "push-curves") => ({ id, experimentName: name, seed, sweep: null, overrides: {}, records: records(scale), experiment: pushExperiment });

  it("aggregates a group's seeds per part, one colour per group, and tabulates first, last and best", () => {
    const groups = aggregatePushCurves([run("a", 1, 1), run("b", 2, 3), run("c", 1, 2, "other")], "pushCost");
    expect(groups.map((g) => [g.label, g.part, g.colorIndex, g.runs.length])).toEqual([
      ["push-curves", "training", 0, 2],
      ["push-curves", "test", 0, 2],
      ["other", "training", 1, 1],
      ["other", "test", 1, 1],
    ]);
    const training = groups[0].mean;
    expect(training.map((p) => p.iteration)).toEqual([1, 2]);
    expect(training[0].mean).toBeCloseTo((20 + 60) / 2, 12);
    expect(training[0].low).toBeGreaterThanOrEqual(20);
    expect(training[0].high).toBeLessThanOrEqual(60);
    expect(training[0].n).toBe(2);
    const table = pushCompareTable(groups, "pushCost").split("\n");
    expect(table[1]).toMatch(/^push-curves\s+training pushes\s+2\s+40\.0 \[20\.0, 60\.0\] @1\s+12\.0 \[6\.0, 18\.0\] @2\s+12\.0 \[6\.0, 18\.0\] @2/);
    const svg = pushComparePlot(groups, "pushCost");
    expect(svg).toContain("push-curves: training pushes (mean of 2 seeds, 95% CI)");
    expect(svg).toContain("other: test pushes");
    expect([...svg.matchAll(/class="ci-band"/g)].length).toBe(2);
    expect(svg).toMatch(/stroke-dasharray="6 4"/);
  });

  it("refuses runs without a push test of the policy", () => {
    const plain = { id: "x", experimentName: "x", seed: 1, sweep: null, overrides: {}, records: records().filter((r) => r.kind !== "evaluate"), experiment: pushExperiment };
    expect(() => aggregatePushCurves([plain], "pushesRecovered")).toThrow(/no run has a push test of the policy/);
  });
});
