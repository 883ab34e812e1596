/**
 * Overrides, sweep expansion and the runs table: the pure parts of issue 14
 * (src/runtime/overrides.ts, sweep.ts, runs-table.ts).
 */
import { describe, expect, test } from "vitest";
import { condition, experiment, ilqg, stage, task } from "../src/index.js";
import { ExperimentValidationError } from "../src/dsl/validate.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { applyOverrides, formatOverride, parseOverride, parsePath } from "../src/runtime/overrides.js";
import { checkSweep, expandSweep, newManifest, parseGridAxis, parseSeeds, runArgs, runOverrides, SweepManifestC, SweepRequestError, withRunDir } from "../src/runtime/sweep.js";
import { filterRows, formatAge, formatRunsTable, globMatch, parseFilter, sortRows, type ListRow, type RunRow } from "../src/runtime/runs-table.js";
import { isRight } from "fp-ts/lib/Either.js";

const small = experiment({
  name: "small",
  seed: 5,
  task: task.swimmer({ horizon: 20 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.1, 0.2, -0.2], [0, 0, 0, 0, 0])],
  pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 4 }), stage.evaluate({ noise: true, samples: 3 })],
});

function problems(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ExperimentValidationError || e instanceof SweepRequestError) return e.message;
    throw e;
  }
  throw new Error("did not throw");
}

describe("overrides", () => {
  test("paths: dotted fields and [i] indices; malformed paths are refused", () => {
    expect(parsePath("pipeline[2].body[0].maxIterations")).toEqual(["pipeline", 2, "body", 0, "maxIterations"]);
    expect(parsePath("seed")).toEqual(["seed"]);
    for (const bad of ["", "a..b", ".a", "a.", "[1]", "a b", "a[x]"]) expect(() => parsePath(bad), bad).toThrow(ExperimentValidationError);
  });

  test("values: JSON when they parse, else text; formatOverride reads back the same", () => {
    expect(parseOverride("task.horizon=30")).toEqual({ path: "task.horizon", value: 30 });
    expect(parseOverride("name=walker-b")).toEqual({ path: "name", value: "walker-b" });
    expect(parseOverride('name="5"')).toEqual({ path: "name", value: "5" });
    expect(parseOverride("policy.hidden=[5,5]")).toEqual({ path: "policy.hidden", value: [5, 5] });
    expect(parseOverride("a=b=c")).toEqual({ path: "a", value: "b=c" });
    for (const o of [{ path: "a", value: "5" }, { path: "a", value: "x" }, { path: "a", value: 0.1 }, { path: "a", value: [1, "x"] }, { path: "a", value: "true" }]) {
      expect(parseOverride(formatOverride(o))).toEqual(o);
    }
  });

  test("apply: a field, an index, a repeat's count, the stage-kind shorthand; the input is not changed", () => {
    const before = JSON.stringify(resolveExperiment(small));
    const e = applyOverrides(small, [parseOverride("task.horizon=30"), parseOverride("pipeline[1].times=2"), parseOverride("conditions[1].qpos[2]=0.5"), parseOverride("evaluate.samples=7")]);
    const r = resolveExperiment(e);
    expect(r.task).toMatchObject({ horizon: 30 });
    expect(r.pipeline[1]).toMatchObject({ kind: "repeat", times: 2 });
    expect((r.conditions[1] as { qpos: number[] }).qpos[2]).toBe(0.5);
    expect(r.pipeline[2]).toMatchObject({ kind: "evaluate", samples: 7 });
    expect(JSON.stringify(resolveExperiment(small))).toBe(before);
    // Later overrides win; the result is what an experiment file with those values resolves to.
    expect(applyOverrides(small, [parseOverride("seed=1"), parseOverride("seed=9")]).seed).toBe(9);
    expect(applyOverrides(small, [])).toBe(small);
  });

  test("the shorthand reaches every stage of the kind, repeat bodies included", () => {
    const two = experiment({ ...small, pipeline: [...small.pipeline, stage.evaluate({ noise: false })] });
    const r = resolveExperiment(applyOverrides(two, [parseOverride("evaluate.samples=4")]));
    expect(r.pipeline.filter((s) => s.kind === "evaluate").map((s) => (s as { samples: number }).samples)).toEqual([4, 4]);
    expect(problems(() => applyOverrides(small, [parseOverride("ilqgIteration.bogus=1")]))).toMatch(/pipeline\[1\]\.body\[0\]\.bogus: unknown field \(from --set ilqgIteration\.bogus=1\)/);
  });

  test("unknown paths and bad values fail naming the path", () => {
    expect(problems(() => applyOverrides(small, [parseOverride("policy.hiden=5")]))).toMatch(/--set policy\.hiden: unknown path: "policy" is not a field of this experiment/);
    expect(problems(() => applyOverrides(small, [parseOverride("pipeline[9].x=1")]))).toMatch(/--set pipeline\[9\]\.x: unknown path: pipeline\[9\]: index out of range \(the list has 3 items\)/);
    expect(problems(() => applyOverrides(small, [parseOverride("task.horizn=5")]))).toMatch(/task\.horizn: unknown field \(from --set task\.horizn=5\)/);
    expect(problems(() => applyOverrides(small, [parseOverride("task.horizon=abc")]))).toMatch(/task\.horizon: expected .*got "abc" \(from --set task\.horizon=abc\)/);
    expect(problems(() => applyOverrides(small, [parseOverride("seed.x=1")]))).toMatch(/unknown path: seed\.x: seed has no fields/);
    expect(problems(() => applyOverrides(small, [parseOverride("fitTheta.samples=3")]))).toMatch(/unknown path: "fitTheta"/);
  });
});

describe("sweep expansion", () => {
  test("seeds: ranges and lists; bad ones refused", () => {
    expect(parseSeeds("1..4")).toEqual([1, 2, 3, 4]);
    expect(parseSeeds("7")).toEqual([7]);
    expect(parseSeeds("1,4,9")).toEqual([1, 4, 9]);
    expect(problems(() => parseSeeds("5..1"))).toMatch(/the range is empty/);
    expect(problems(() => parseSeeds("a..b"))).toMatch(/"a" is not a non-negative integer/);
    expect(problems(() => parseSeeds("1,1"))).toMatch(/listed twice/);
  });

  test("grid values split at top-level commas", () => {
    expect(parseGridAxis("policy.hidden=[5,5],[10]")).toEqual({ path: "policy.hidden", values: [[5, 5], [10]] });
    expect(parseGridAxis('name=a,"b,c"')).toEqual({ path: "name", values: ["a", "b,c"] });
    expect(problems(() => parseGridAxis("task.horizon"))).toMatch(/expected <path>=<v1>,<v2>/);
    expect(problems(() => parseGridAxis("task.horizon=1,,2"))).toMatch(/an empty value/);
  });

  test("seeds × grid product, seeds slowest, common sets first, labels name what differs", () => {
    const runs = expandSweep({
      seeds: [1, 2],
      grid: [parseGridAxis("task.horizon=15,20"), parseGridAxis("evaluate.samples=2,3")],
      sets: [parseOverride("pipeline[1].times=2")],
    });
    expect(runs).toHaveLength(8);
    expect(runs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(runs[0]).toEqual({
      index: 0,
      seed: 1,
      overrides: [
        { path: "pipeline[1].times", value: 2 },
        { path: "task.horizon", value: 15 },
        { path: "evaluate.samples", value: 2 },
      ],
      label: "seed=1 task.horizon=15 evaluate.samples=2",
    });
    expect(runs[7].label).toBe("seed=2 task.horizon=20 evaluate.samples=3");
    expect(runOverrides(runs[7])[0]).toEqual({ path: "seed", value: 2 });
    // Without seeds: the experiment's seed, one run per combination.
    expect(expandSweep({ seeds: null, grid: [], sets: [] })).toEqual([{ index: 0, seed: null, overrides: [], label: "-" }]);
    expect(problems(() => expandSweep({ seeds: null, grid: [parseGridAxis("seed=1,2")], sets: [] }))).toMatch(/use --seeds/);
  });

  test("checkSweep plans every combination and names the run of a bad one", () => {
    const ok = expandSweep({ seeds: [1], grid: [parseGridAxis("task.horizon=15,20")], sets: [] });
    expect(checkSweep(small, ok).map((e) => (e.task as { horizon: number }).horizon)).toEqual([15, 20]);
    const bad = expandSweep({ seeds: [1], grid: [parseGridAxis("task.horizon=15,abc")], sets: [] });
    expect(problems(() => checkSweep(small, bad))).toMatch(/run 1 \(seed=1 task\.horizon=abc\): task\.horizon: expected .*got "abc"/);
  });

  test("the manifest round-trips through its codec; runArgs is the same command as by hand", () => {
    const m = newManifest({
      id: "small-x",
      createdAt: "2026-01-01T00:00:00.000Z",
      source: "/e/small.ts",
      experimentName: "small",
      store: "/s",
      request: { seeds: [3], grid: [parseGridAxis("task.horizon=15")], sets: [parseOverride("name=b c")] },
      report: false,
    });
    const m2 = withRunDir(m, 0, "/s/small-1-001");
    expect(m.runs[0].run).toBeNull();
    expect(m2.runs[0].run).toBe("/s/small-1-001");
    expect(isRight(SweepManifestC.decode(JSON.parse(JSON.stringify(m2))))).toBe(true);
    expect(isRight(SweepManifestC.decode({ ...m2, runs: [{ ...m2.runs[0], seed: -1 }] }))).toBe(false);
    expect(runArgs(m, m.runs[0])).toEqual(["run", "/e/small.ts", "--store", "/s", "--seed", "3", "--set", "name=b c", "--set", "task.horizon=15", "--sweep", "small-x:0", "--workers", "1", "--json", "--no-report"]);
  });
});

describe("runs table", () => {
  const row = (over: Partial<RunRow>): RunRow => ({
    run: "/s/small-aaaaaaaa-001",
    experimentName: "small",
    experimentHash: "a".repeat(64),
    createdAt: "2026-01-01T00:00:00.000Z",
    sweep: null,
    seed: 1,
    status: "complete",
    statusDetail: "complete",
    stagesDone: 6,
    totalStages: 6,
    badCheckpoints: 0,
    cost: 10,
    distance: 1,
    falls: 0,
    ageMs: 60_000,
    overrides: [],
    last: null,
    ...over,
    age: formatAge(over.ageMs ?? 60_000),
  });
  const rows: ListRow[] = [
    row({ run: "/s/a", experimentName: "walker-isgps", seed: 3, cost: 5, ageMs: 7_200_000, status: "failed", statusDetail: "failed: boom", sweep: "sw1" }),
    row({ run: "/s/b", experimentName: "swimmer-ilqg", seed: 1, cost: null, ageMs: 1000 }),
    { run: "/s/c", status: "broken", broken: "Malformed run.json" },
    row({ run: "/s/d", experimentName: "walker-track", seed: 2, cost: 2, ageMs: 120_000, sweep: "sw1" }),
  ];

  test("filters: globs, every filter must match, broken rows only by status or run", () => {
    expect(globMatch("walker-*", "walker-isgps")).toBe(true);
    expect(globMatch("walker-*", "swimmer-ilqg")).toBe(false);
    expect(globMatch("a.b", "axb")).toBe(false);
    const names = (f: string[]): string[] => filterRows(rows, f.map(parseFilter)).map((r) => r.run);
    expect(names(["experiment=walker-*"])).toEqual(["/s/a", "/s/d"]);
    expect(names(["status=failed"])).toEqual(["/s/a"]);
    expect(names(["sweep=sw1", "seed=2"])).toEqual(["/s/d"]);
    expect(names(["status=broken"])).toEqual(["/s/c"]);
    expect(() => parseFilter("colour=red")).toThrow(/key one of status, experiment/);
  });

  test("sorts: cost lowest first, age newest first, missing values last, stable", () => {
    expect(sortRows(rows, "cost").map((r) => r.run)).toEqual(["/s/d", "/s/a", "/s/b", "/s/c"]);
    expect(sortRows(rows, "age").map((r) => r.run)).toEqual(["/s/b", "/s/d", "/s/a", "/s/c"]);
    expect(sortRows(rows, "seed").map((r) => r.run)).toEqual(["/s/b", "/s/d", "/s/a", "/s/c"]);
    expect(sortRows(rows, "name").map((r) => r.run)).toEqual(["/s/b", "/s/a", "/s/d", "/s/c"]);
    expect(sortRows(rows, "status").map((r) => r.run)).toEqual(["/s/a", "/s/b", "/s/d", "/s/c"]);
  });

  test("ages and the formatted table", () => {
    expect([0, 59_000, 60_000, 3_599_000, 3_600_000, 172_800_000].map(formatAge)).toEqual(["0s", "59s", "1m", "59m", "1h", "2d"]);
    const text = formatRunsTable(rows, (x) => x.toFixed(1));
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^run +experiment +sweep +seed +status +stages +cost +distance +falls +age$/);
    expect(lines[1]).toMatch(/^a +walker-isgps +sw1 +3 +failed +6\/6 +5\.0 +1\.0 +0 +2h {2}\(failed: boom\)$/);
    expect(lines[2]).toMatch(/^b +swimmer-ilqg +- +1 +complete +6\/6 +- +1\.0 +0 +1s$/);
    expect(lines[3]).toBe("c  broken: Malformed run.json");
  });
});
