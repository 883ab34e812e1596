import { describe, expect, it } from "vitest";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { aggregateGroup, aggregatePlot, bootstrapMeanCI, compareTable, groupRuns, runCurve, trainingKindOf, type RunInfo, type StageLike } from "../src/report/aggregate.js";
import { overridesOf, sweepOf } from "../src/report/run-inputs.js";

const rec = (index: number, kind: string, metrics: Record<string, number>): StageLike => ({ index, kind, label: kind, metrics });

/** An iLQG run: init, n iterations, a noisy evaluation. */
const ilqgRun = (costs: number[]) => [rec(0, "initializeTrajectories", { cost: 100 }), ...costs.map((c, i) => rec(1 + i, "ilqgIteration", { cost: c })), rec(1 + costs.length, "evaluate", { cost: 70, costStd: 5 })];
/** A constrained-GPS run: iLQG warm start, evaluate, then [optimizeQ, fitTheta, updateLambda]×n, then a long-horizon test. */
const cgpsRun = (costs: number[]) => {
  const out = [rec(0, "initializeTrajectories", { cost: 100 }), rec(1, "ilqgIteration", { cost: 80 }), rec(2, "ilqgIteration", { cost: 60 }), rec(3, "evaluate", { cost: 61 })];
  costs.forEach((c, i) => out.push(rec(4 + 3 * i, "optimizeQ", { cost: 59 }), rec(5 + 3 * i, "fitTheta", { cost: c }), rec(6 + 3 * i, "updateLambda", {})));
  out.push(rec(4 + 3 * costs.length, "evaluate", { cost: 55, horizon: 400 }));
  return out;
};
const isgpsRun = (costs: number[]) => [
  rec(0, "evaluate", { cost: 200 }),
  rec(1, "guidingSamples", { guidingCost: 300, guidingCostStd: 10 }),
  ...costs.map((c, i) => rec(2 + i, "isgpsIteration", { sampleCost: c, cost: c - 100 })),
];

describe("bootstrap CI of the mean", () => {
  const normals = (n: number, seed: number) => {
    const s = new Sampler(seedGenerator(seed));
    return Array.from({ length: n }, () => 10 + 2 * s.normal());
  };

  it("contains the sample mean, is reproducible from its seed, and is the value itself for one value", () => {
    const xs = [3, 5, 4, 8, 6];
    const ci = bootstrapMeanCI(xs, { seed: 7 });
    expect(ci.mean).toBeCloseTo(5.2, 12);
    expect(ci.low).toBeLessThan(ci.mean);
    expect(ci.high).toBeGreaterThan(ci.mean);
    expect(ci.low).toBeGreaterThanOrEqual(3);
    expect(ci.high).toBeLessThanOrEqual(8);
    expect(bootstrapMeanCI(xs, { seed: 7 })).toEqual(ci);
    const ys = normals(8, 1);
    expect(bootstrapMeanCI(ys, { seed: 8 })).not.toEqual(bootstrapMeanCI(ys, { seed: 7 }));
    expect(bootstrapMeanCI([4.5])).toEqual({ mean: 4.5, low: 4.5, high: 4.5 });
    expect(() => bootstrapMeanCI([])).toThrow(/no values/);
  });

  it("shrinks with more seeds (≈ 1/√n) and covers the true mean", () => {
    const width = (n: number) => {
      const ci = bootstrapMeanCI(normals(n, n), { seed: 1 });
      expect(ci.low).toBeLessThan(10.0 + 2);
      return ci.high - ci.low;
    };
    const w5 = width(5);
    const w50 = width(50);
    const w500 = width(500);
    expect(w50).toBeLessThan(w5);
    expect(w500).toBeLessThan(w50 / 2);
    // 95% normal interval of the mean with σ = 2: ≈ 2·1.96·2/√500 = 0.35.
    expect(w500).toBeGreaterThan(0.25);
    expect(w500).toBeLessThan(0.45);
    const big = bootstrapMeanCI(normals(500, 3), { seed: 2 });
    expect(big.low).toBeLessThan(10);
    expect(big.high).toBeGreaterThan(10);
  });
});

describe("run curves of every kind", () => {
  it("iLQG: cost per ilqgIteration, the initial trajectory as reference, evaluations off the axis", () => {
    const c = runCurve(ilqgRun([90, 80, 75]));
    expect(c?.kind).toBe("ilqgIteration");
    expect(c?.metric).toBe("cost");
    expect(c?.points).toEqual([[1, 90], [2, 80], [3, 75]]);
    expect(c?.references).toEqual([{ label: "initial trajectory", value: 100 }]);
    expect(c?.evaluations).toEqual([{ iteration: 3, index: 4, label: "evaluate", cost: 70 }]);
  });

  it("constrained GPS: the policy's cost per fitTheta, referenced to the last iLQG cost; the long-horizon test left out", () => {
    const c = runCurve(cgpsRun([300, 120, 65]));
    expect(c?.kind).toBe("fitTheta");
    expect(c?.points).toEqual([[1, 300], [2, 120], [3, 65]]);
    expect(c?.references).toEqual([{ label: "initial trajectory", value: 60 }]);
    expect(c?.evaluations.map((e) => [e.iteration, e.cost])).toEqual([[0, 61]]);
    expect(() => runCurve(cgpsRun([1]), "sampleCost", "cgps-run")).toThrow(/cgps-run: its training stages \(fitTheta\) have no metric sampleCost/);
  });

  it("importance-sampled GPS: sampleCost by default, the example and the guiding band as references", () => {
    const c = runCurve(isgpsRun([330, 310]));
    expect(c?.metric).toBe("sampleCost");
    expect(c?.points).toEqual([[1, 330], [2, 310]]);
    expect(c?.references).toEqual([{ label: "initial example (noise-free)", value: 200 }, { label: "guiding samples: mean ± 2 std", low: 280, high: 320 }]);
    expect(runCurve(isgpsRun([330]), "cost")?.points).toEqual([[1, 230]]);
  });

  it("a run of evaluations only has no curve", () => {
    expect(trainingKindOf([rec(0, "evaluate", { cost: 1 })])).toBeNull();
    expect(runCurve([rec(0, "evaluate", { cost: 1 })])).toBeNull();
  });
});

describe("grouping and aggregation", () => {
  const info = (id: string, name: string, seed: number, overrides: Record<string, string> = {}): RunInfo => ({ id, experimentName: name, seed, sweep: null, overrides });

  it("groups by experiment name and the overrides that differ (seed excluded), in order of appearance", () => {
    const runs = [
      info("a1", "walker", 1, { samples: "20", seed: "1", horizon: "500" }),
      info("a2", "walker", 2, { samples: "20", seed: "2", horizon: "500" }),
      info("b1", "walker", 1, { samples: "40", seed: "1", horizon: "500" }),
      info("c1", "swimmer", 1),
      info("c2", "swimmer", 2),
    ];
    const groups = groupRuns(runs);
    expect(groups.map((g) => [g.label, g.runs.map((r) => r.id)])).toEqual([
      ["walker (samples=20)", ["a1", "a2"]],
      ["walker (samples=40)", ["b1"]],
      ["swimmer", ["c1", "c2"]],
    ]);
  });

  it("aggregates a group's seeds: mean, a band that contains it, n per iteration; accepts iLQG and CGPS groups", () => {
    const g = aggregateGroup("small", [
      { id: "s1", seed: 1, records: ilqgRun([90, 80, 70]) },
      { id: "s2", seed: 2, records: ilqgRun([94, 84]) },
      { id: "s3", seed: 3, records: ilqgRun([86, 76, 66]) },
    ]);
    expect(g.kind).toBe("ilqgIteration");
    expect(g.mean.map((p) => [p.iteration, p.mean, p.n])).toEqual([[1, 90, 3], [2, 80, 3], [3, 68, 2]]);
    for (const p of g.mean) {
      expect(p.low).toBeLessThanOrEqual(p.mean);
      expect(p.high).toBeGreaterThanOrEqual(p.mean);
      expect(p.high - p.low).toBeGreaterThan(0);
    }
    const cg = aggregateGroup("cgps", [{ id: "c", seed: 1, records: cgpsRun([300, 100]) }]);
    expect(cg.mean.map((p) => [p.mean, p.low, p.high])).toEqual([[300, 300, 300], [100, 100, 100]]);
    expect(() => aggregateGroup("mixed", [{ id: "i", seed: 1, records: ilqgRun([1]) }, { id: "c", seed: 2, records: cgpsRun([1]) }])).toThrow(/different stage kinds/);
    expect(() => aggregateGroup("none", [{ id: "e", seed: 1, records: [rec(0, "evaluate", { cost: 1 })] }])).toThrow(/e has no training stages/);
  });

  it("tabulates each group's first and last mean with its interval, saying when a cell averages fewer runs", () => {
    const g = aggregateGroup("small", [
      { id: "s1", seed: 1, records: ilqgRun([90, 80, 70]) },
      { id: "s2", seed: 2, records: ilqgRun([94, 84]) },
      { id: "s3", seed: 3, records: ilqgRun([86, 76, 66]) },
    ]);
    const cg = aggregateGroup("cgps", [{ id: "c", seed: 1, records: cgpsRun([300, 100]) }]);
    const lines = compareTable([g, cg]).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^group +trains with +runs +iterations +first cost \(mean \[95% CI\]\) +last cost/);
    const last = g.mean[2];
    expect(lines[1]).toMatch(new RegExp(`^small +ilqgIteration +3 +3 +90\\.0 \\[[0-9.]+, [0-9.]+\\] +68\\.0 \\[${last.low.toFixed(1)}, ${last.high.toFixed(1)}\\] \\(2 of 3 runs\\)$`));
    expect(lines[2]).toMatch(/^cgps +fitTheta +1 +2 +300\.0 \[300\.0, 300\.0\] +100\.0 \[100\.0, 100\.0\]$/);
  });

  it("draws one band per group with several seeds, seed-labelled runs, and evaluation rings", () => {
    const several = aggregateGroup("small", [
      { id: "s1", seed: 1, records: ilqgRun([90, 80]) },
      { id: "s2", seed: 2, records: ilqgRun([94, 84]) },
    ]);
    const one = aggregateGroup("cgps", [{ id: "c", seed: 1, records: cgpsRun([300, 100]) }]);
    const svg = aggregatePlot([several, one], { title: "t" });
    expect([...svg.matchAll(/class="ci-band"/g)].length).toBe(1);
    expect(svg).toContain("small: mean of 2 seeds, 95% CI");
    expect(svg).toContain("seed 1");
    expect(svg).toContain("seed 2");
    expect(svg).toContain("cgps: initial trajectory");
    expect(svg).toMatch(/evaluation stage/);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});

describe("tolerant readers of run.json's sweep and overrides", () => {
  it("reads a sweep as a string or { id }, overrides as an object or a list of path=value", () => {
    expect(sweepOf({})).toBeNull();
    expect(sweepOf({ sweep: "sw-1" })).toBe("sw-1");
    expect(sweepOf({ sweep: { id: "sw-2", index: 3 } })).toBe("sw-2");
    expect(overridesOf({ overrides: { "pipeline.0.samples": 20, name: "x" } })).toEqual({ "pipeline.0.samples": "20", name: "x" });
    expect(overridesOf({ overrides: ["a.b=3", "seed=2"] })).toEqual({ "a.b": "3", seed: "2" });
    expect(overridesOf({ overrides: [{ path: "p", value: [1, 2] }] })).toEqual({ p: "[1,2]" });
    expect(overridesOf(null)).toEqual({});
  });
});

describe("gps compare of a sweep made by gps sweep", () => {
  it("groups the sweep's runs by the override that differs, aggregates seeds, and names the groups", async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { gps } = await import("./helpers/cli.js");
    const dir = mkdtempSync(join(tmpdir(), "gps-agg-"));
    try {
      const store = join(dir, "store");
      // A real sweep: seeds 1..2 × two repeat counts, two runs at once.
      const swept = await gps(["sweep", "test/fixtures/experiments/small.ts", "--seeds", "1..2", "--grid", "pipeline[1].times=2,3", "--jobs", "2", "--store", store]);
      expect(swept.status, swept.stderr).toBe(0);
      const id = /^sweep (\S+):/m.exec(swept.stdout)?.[1];
      expect(id).toBeDefined();
      const svg = join(dir, "sweep.svg");
      const r = await gps(["compare", id!, "--store", store, "--out", svg]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/4 runs/);
      const doc = readFileSync(svg, "utf8");
      expect(doc).toContain("small (pipeline[1].times=2): mean of 2 seeds, 95% CI");
      expect(doc).toContain("small (pipeline[1].times=3): mean of 2 seeds, 95% CI");
      expect([...doc.matchAll(/class="ci-band"/g)].length).toBe(2);
      const unknown = await gps(["compare", "sw-8", "--store", store, "--out", svg]);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toMatch(/sw-8 is not a run directory, a store directory or a sweep id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60000);
});
