import { describe, expect, it } from "vitest";
import { countStages, ilqg, mapStages, repeat, stage, unrollPipeline, type Experiment } from "../src/dsl/experiment.js";
import { decodeExperiment, ExperimentValidationError } from "../src/dsl/validate.js";
import { experimentIdentity } from "../src/runtime/session.js";
import { dagger, nonGuided, restartDistribution, unregularized } from "../experiments/isgps-variants.js";

const base: Experiment = {
  name: "t",
  seed: 1,
  task: { kind: "swimmer", horizon: 10 },
  conditions: [{ kind: "rest" }],
  pipeline: [...ilqg({ from: { kind: "zero" }, iterations: 3 }), stage.evaluate({ noise: false })],
};

function problems(value: unknown): string[] {
  try {
    decodeExperiment(value);
  } catch (e) {
    if (e instanceof ExperimentValidationError) return [...e.problems];
    throw e;
  }
  return [];
}

describe("experiment values", () => {
  it("unrolls repeats into stages numbered from 0 in run order", () => {
    const pipeline = [stage.initializeTrajectories({ from: { kind: "zero" } }), repeat(2, [stage.ilqgIteration(), repeat(2, [stage.evaluate({ noise: false })])]), stage.evaluate({ noise: true, samples: 2 })];
    const stages = unrollPipeline(pipeline);
    expect(stages.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(stages.map((s) => s.label)).toEqual([
      "initializeTrajectories",
      "ilqgIteration 1/2",
      "evaluate 1/2 1/2",
      "evaluate 1/2 2/2",
      "ilqgIteration 2/2",
      "evaluate 2/2 1/2",
      "evaluate 2/2 2/2",
      "evaluate",
    ]);
    expect(countStages(pipeline)).toBe(8);
  });

  it("accepts a well-formed experiment unchanged", () => {
    expect(decodeExperiment(base)).toEqual(base);
  });

  it("has a canonical hash independent of key order, and different for a different value", () => {
    const reordered = JSON.parse(JSON.stringify({ pipeline: base.pipeline, conditions: base.conditions, task: { horizon: 10, kind: "swimmer" }, seed: 1, name: "t" }));
    expect(experimentIdentity(reordered).hash).toBe(experimentIdentity(base).hash);
    expect(experimentIdentity({ ...base, seed: 2 }).hash).not.toBe(experimentIdentity(base).hash);
  });

  it("says NaN and Infinity, not null, for a non-finite number (issue 13)", () => {
    const nanSeed = problems({ ...base, seed: Number.NaN })[0];
    expect(nanSeed).toMatch(/^seed: /);
    expect(nanSeed).toMatch(/got NaN$/);
    const inf = problems({ ...base, conditions: [{ kind: "state", qpos: [0, Number.POSITIVE_INFINITY, 0, 0, 0], qvel: [0, 0, 0, 0, 0] }] });
    expect(inf.join("\n")).toMatch(/conditions\[0\]\.qpos\[1\]: .*got Infinity/);
    expect(inf.join("\n")).not.toMatch(/got null/);
  });

  it("refuses sizes that would exhaust the machine, by name, before anything unrolls (issue 13)", () => {
    expect(problems({ ...base, task: { kind: "swimmer", horizon: 1e9 } })[0]).toMatch(/^task\.horizon: expected Horizon/);
    expect(problems({ ...base, task: { kind: "swimmer", horizon: 100_000 } })).toEqual([]);
    const huge = { ...base, pipeline: [repeat(1e12, [stage.ilqgIteration()])] };
    expect(problems(huge)).toEqual([`pipeline: ${1e12} stages, at most 1000000 (check the repeat counts)`]);
    expect(problems({ ...base, pipeline: [repeat(1000, [repeat(1000, [stage.ilqgIteration()])])] })).toEqual([]);
  });

  it("mapStages maps every stage at any depth of repeats, keeping the counts (issue 13: variants skipped nested loops)", () => {
    const pipeline = [stage.ilqgIteration(), repeat(3, [stage.evaluate({ noise: false }), repeat(2, [stage.ilqgIteration(), stage.evaluate({ noise: true, samples: 2 })])])];
    const mapped = mapStages(pipeline, (s) => (s.kind === "evaluate" ? stage.evaluate({ ...s, samples: 7 }) : s));
    expect(countStages(mapped)).toBe(countStages(pipeline));
    const evaluations = unrollPipeline(mapped).filter((u) => u.spec.kind === "evaluate");
    expect(evaluations).toHaveLength(9);
    for (const u of evaluations) expect((u.spec as { samples?: number }).samples).toBe(7);
    // Several items for one stage: the repeat's body grows, its count stays.
    const doubled = mapStages(pipeline, (s) => (s.kind === "ilqgIteration" ? [s, s] : s));
    expect(countStages(doubled)).toBe(countStages(pipeline) + 1 + 3 * 2);
  });

  it("the ISGPS variants reach a policy-search loop nested in another repeat", () => {
    const nested: Experiment = { ...base, pipeline: [repeat(2, [repeat(3, [stage.isgpsIteration({ maxIterations: 1 }), stage.adaptWr()])])] };
    const its = (e: Experiment) => unrollPipeline(e.pipeline).map((u) => u.spec).filter((s) => s.kind === "isgpsIteration") as { useGuidingSamples?: boolean; restart?: boolean }[];
    expect(its(nonGuided(nested)).map((s) => s.useGuidingSamples)).toEqual([false, false, false, false, false, false]);
    expect(its(restartDistribution(nested)).every((s) => s.restart === true)).toBe(true);
    const wr = unrollPipeline(unregularized(nested).pipeline).filter((u) => u.spec.kind === "adaptWr");
    expect(wr.map((u) => [(u.spec as { min?: number }).min, (u.spec as { max?: number }).max])).toEqual(Array(6).fill([0, 0]));
    expect(unrollPipeline(dagger(nested).pipeline).filter((u) => u.spec.kind === "daggerIteration")).toHaveLength(6);
  });

  it("names the field of each problem", () => {
    expect(problems({ ...base, seed: -1 })[0]).toMatch(/^seed: /);
    expect(problems({ ...base, seed: 1.5 })[0]).toMatch(/^seed: /);
    expect(problems({ ...base, task: { kind: "swimer", horizon: 10 } })[0]).toMatch(/^task\.kind: /);
    expect(problems({ ...base, task: { kind: "swimmer", horizon: 0 } })[0]).toMatch(/^task\.horizon: /);
    expect(problems({ ...base, conditions: [] })[0]).toMatch(/^conditions: /);
    expect(problems({ ...base, conditions: [{ kind: "state", qpos: [0, "a"], qvel: [] }] })[0]).toMatch(/^conditions\[0\]\.qpos\[1\]: /);
    expect(problems({ ...base, pipeline: [{ kind: "repeat", times: 2, body: [{ kind: "ilqgIter" }] }] })[0]).toMatch(
      /^pipeline\[0\]\.body\[0\]\.kind: unknown kind "ilqgIter"/,
    );
    expect(problems({ ...base, pipeline: [{ kind: "initializeTrajectories", method: "ilqg", from: { kind: "random", std: -1 } }] })[0]).toMatch(
      /^pipeline\[0\]\.from\.std: /,
    );
    expect(problems({ ...base, name: "has space" })[0]).toMatch(/^name: /);
  });

  it("rejects misspelled fields instead of ignoring them", () => {
    expect(problems({ ...base, pipeline: [{ kind: "evaluate", noise: false, sample: 3 }] })).toEqual(["pipeline[0].sample: unknown field"]);
    expect(problems({ ...base, task: { kind: "swimmer", horizon: 10, horizn: 3 } })).toEqual(["task.horizn: unknown field"]);
  });
});
