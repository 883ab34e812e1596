/**
 * Weighted DAgger (the 2014 paper's comparison): each labelled state weighted by
 * its density under its condition's trajectory distribution's state marginal.
 * The weights, the plan's refusal without a trajectory expert, "none" leaving the
 * old digests, and a bit-identical resume.
 */
import { describe, expect, it } from "vitest";
import { experiment, mapStages, repeat, stage } from "../src/index.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { decodeExperiment } from "../src/dsl/validate.js";
import { planExperiment } from "../src/dsl/plan.js";
import { startRun } from "../src/runtime/session.js";
import { trajectoryWeights } from "../src/algorithms/baselines.js";
import swimmerDaggerWeighted from "../experiments/swimmer-dagger-weighted.js";
import walkerDemoDagger from "../experiments/walker-isgps-demo-dagger.js";
import { tempDirs } from "./helpers/tmp.js";
import { digestsResumedAfter, finishedOf, smallPretrained } from "./helpers/runs.js";

const store = tempDirs("wdagger");

/** iLQG (stages 0–3), 10 guiding samples per condition (4), pretraining (5), 2 × DAgger (6–7). */
const small = (weighting?: "none" | "trajectory") =>
  smallPretrained("wdagger-small", 6, repeat(2, [stage.daggerIteration({ maxIterations: 10, samples: 4, ...(weighting ? { weighting } : {}) })]));


describe("weighted DAgger: weights", () => {
  const T = 3;
  const nx = 2;
  // Identity covariances, zero means, for two conditions.
  const marginal = { mean: new Float64Array((T + 1) * nx), cov: Float64Array.from({ length: (T + 1) * nx * nx }, (_, k) => (k % (nx * nx) === 0 || k % (nx * nx) === 3 ? 1 : 0)) };
  const marginals = new Map([
    [0, marginal],
    [1, marginal],
  ]);
  const row = (condition: number, x: number) => ({ condition, xs: new Float64Array((T + 1) * nx).fill(x), offset: 0 });

  it("finite, normalized per (condition, step) to 1/(C·T), the nominal weighing most, the Gaussian ratio exact", () => {
    const rows = [row(0, 0), row(0, 1), row(0, 3), row(1, 0.5), row(1, 0.5)];
    const { weights, ess } = trajectoryWeights(rows, marginals, T, nx);
    expect(weights.every((w) => Number.isFinite(w) && w >= 0)).toBe(true);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    for (let t = 0; t < T; t++) {
      expect(weights[0 * T + t] + weights[1 * T + t] + weights[2 * T + t]).toBeCloseTo(1 / (2 * T), 14);
      expect(weights[0 * T + t]).toBeGreaterThan(weights[1 * T + t]);
      expect(weights[1 * T + t]).toBeGreaterThan(weights[2 * T + t]);
      // log N ratio between x = (1,1) and x = (0,0): −½·2.
      expect(weights[1 * T + t] / weights[0 * T + t]).toBeCloseTo(Math.exp(-1), 12);
      expect(weights[3 * T + t]).toBeCloseTo(1 / (4 * T), 14);
    }
    expect(ess).toHaveLength(2 * T);
    for (const e of ess.slice(T)) expect(e).toBeCloseTo(2, 12);
    for (const e of ess.slice(0, T)) expect(e).toBeGreaterThanOrEqual(1);
  });

  it("states so far that every density underflows still weigh finitely and sum to 1", () => {
    const rows = [row(0, 1e4), row(0, 1e4 + 1), row(0, 2e4)];
    const { weights } = trajectoryWeights(rows, new Map([[0, marginal]]), T, nx);
    expect(weights.every((w) => Number.isFinite(w))).toBe(true);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expect(weights[0]).toBeCloseTo(1 / T, 12); // the nearest takes all
  });
});

describe("weighted DAgger: the stage", () => {
  it('decodes with default "none", refuses another weighting, and plans', () => {
    const r = resolveExperiment(decodeExperiment({ ...small(), pipeline: [stage.daggerIteration({ maxIterations: 3 })] }));
    expect(r.pipeline[0]).toEqual({ kind: "daggerIteration", maxIterations: 3, samples: 10, weighting: "none" });
    expect(() => decodeExperiment({ ...small(), pipeline: [{ kind: "daggerIteration", maxIterations: 3, weighting: "state" }] })).toThrow(/pipeline\[0\]\.weighting/);
    expect(() => planExperiment(resolveExperiment(small("trajectory")))).not.toThrow();
  });

  it("experiments/swimmer-dagger-weighted.ts plans, every DAgger stage weighted", () => {
    expect(() => planExperiment(resolveExperiment(swimmerDaggerWeighted))).not.toThrow();
    const kinds: string[] = [];
    mapStages(swimmerDaggerWeighted.pipeline, (s) => {
      if (s.kind === "daggerIteration") kinds.push(s.weighting ?? "none");
      return s;
    });
    expect(kinds.length).toBeGreaterThan(0);
    expect(new Set(kinds)).toEqual(new Set(["trajectory"]));
  });

  it('refuses weighting "trajectory" at plan time when the expert is a demonstration', () => {
    const bad = experiment({ ...walkerDemoDagger, pipeline: mapStages(walkerDemoDagger.pipeline, (s) => (s.kind === "daggerIteration" ? { ...s, weighting: "trajectory" as const } : s)) });
    expect(() => planExperiment(resolveExperiment(bad))).toThrow(
      /daggerIteration \(stage \d+, iteration [^)]*\): weighting "trajectory" needs guiding samples drawn from the trajectory distributions.*, and no earlier stage provides it \(guidingSamples from "trajectory" provides it\)/,
    );
    expect(() => planExperiment(resolveExperiment(walkerDemoDagger))).not.toThrow();
  });

  it('"none" gives the old digests', async () => {
    const old = (await finishedOf(startRun(small(), { store: store() }).events)).map((e) => e.digest);
    const none = (await finishedOf(startRun(small("none"), { store: store() }).events)).map((e) => e.digest);
    expect(none).toEqual(old);
  }, 60_000);

  it("runs: ESS within [1, rollouts], the weighted fit lowers the weighted loss, resumed bit-identically", async () => {
    const wd = small("trajectory");
    const full = await finishedOf(startRun(wd, { store: store() }).events);
    const iters = full.filter((e) => e.kind === "daggerIteration");
    expect(iters).toHaveLength(2);
    for (const it of iters) {
      const m = it.metrics as Record<string, number>;
      expect(m.effectiveSampleSize).toBeGreaterThanOrEqual(1);
      expect(m.effectiveSampleSizeMin).toBeGreaterThanOrEqual(1 - 1e-12);
      expect(m.effectiveSampleSize).toBeLessThanOrEqual(m.datasetSamples);
      expect(m.weightedLoss).toBeLessThan(m.weightedLoss0);
    }
    const resumed = await digestsResumedAfter(wd, store(), iters[0].index);
    expect(resumed).toEqual(full.map((e) => e.digest));
  }, 60_000);
});
