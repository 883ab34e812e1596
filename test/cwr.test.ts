/**
 * Cost-weighted regression (Peters & Schaal 2007; Kober & Peters 2009) as a
 * stage: its weights, its weighted fit, its options' decoding, its plan-time
 * refusal without a policy, and a bit-identical resume.
 */
import { describe, expect, it } from "vitest";
import { experiment, ilqg, repeat, stage } from "../src/index.js";
import { decodeExperiment } from "../src/dsl/validate.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { startRun } from "../src/runtime/session.js";
import { planExperiment } from "../src/dsl/plan.js";
import swimmerCwr from "../experiments/swimmer-cwr.js";
import { costWeights } from "../src/algorithms/baselines.js";
import { parameterLayout } from "../src/policy/mlp.js";
import { mlpOf } from "../src/algorithms/state.js";
import { tempDirs } from "./helpers/tmp.js";
import { digestsResumedAfter, finishedOf, smallPretrained, stateAt } from "./helpers/runs.js";

const store = tempDirs("cwr");

const SAMPLES = 20;

/** iLQG (stages 0–3), 10 guiding samples per condition (4), pretraining (5), 3 × CWR (6–8). */
const cwr = smallPretrained("cwr-small", 4, repeat(3, [stage.costWeightedRegression({ samples: SAMPLES, maxIterations: 10 })]));

describe("cost-weighted regression: weights", () => {
  it("normalizes per condition in log space: each condition weighs 1/C, the best sample most, huge costs without overflow", () => {
    const costs = [1e6, 1e6 + 1, 1e6 + 2, 5, 5, 7];
    const conds = [0, 0, 0, 1, 1, 1];
    const { weights, temperatures } = costWeights(costs, conds, 1);
    expect(temperatures).toEqual([1, 1]);
    const z0 = 1 + Math.exp(-1) + Math.exp(-2);
    expect(weights[0]).toBeCloseTo(0.5 / z0, 14);
    expect(weights[2]).toBeCloseTo((0.5 * Math.exp(-2)) / z0, 14);
    expect(weights[3]).toBeCloseTo(weights[4], 15);
    expect(weights[3] + weights[4] + weights[5]).toBeCloseTo(0.5, 14);
    // "auto": τ is each condition's cost std, so scaling the costs leaves the weights as they are.
    const a = costWeights(costs, conds, "auto").weights;
    const b = costWeights(costs.map((c) => 1000 * c), conds, "auto").weights;
    for (let i = 0; i < 6; i++) expect(b[i]).toBeCloseTo(a[i], 12);
    // Equal costs: uniform.
    expect(Array.from(costWeights([3, 3], [0, 0], "auto").weights)).toEqual([0.5, 0.5]);
  });
});

describe("cost-weighted regression: the stage", () => {
  it("defaults, and a temperature ≤ 0 refused at decode with its field path", () => {
    const r = resolveExperiment(decodeExperiment({ ...cwr, pipeline: [stage.costWeightedRegression()] }));
    expect(r.pipeline[0]).toEqual({ kind: "costWeightedRegression", samples: 1000, temperature: "auto", maxIterations: 50 });
    for (const temperature of [0, -1]) {
      const bad = { ...cwr, pipeline: [...cwr.pipeline.slice(0, 5), stage.costWeightedRegression({ temperature })] };
      expect(() => decodeExperiment(bad)).toThrow(new RegExp(`pipeline\\[5\\]\\.temperature: expected PositiveNumber, got ${temperature}`));
    }
    expect(() => decodeExperiment({ ...cwr, pipeline: [stage.costWeightedRegression({ temperature: 2.5 })] })).not.toThrow();
  });

  it("experiments/swimmer-cwr.ts plans: swimmer-isgps's iLQG and pretraining, then 80 CWR iterations", () => {
    expect(() => planExperiment(resolveExperiment(swimmerCwr))).not.toThrow();
    const loop = swimmerCwr.pipeline.filter((p) => p.kind === "repeat");
    expect(loop.map((p) => (p.kind === "repeat" ? [p.times, p.body[0].kind] : []))).toEqual([
      [60, "ilqgIteration"],
      [80, "costWeightedRegression"],
    ]);
  });

  it("refuses to run before any policy, at plan time", () => {
    const bad = experiment({ ...cwr, name: "cwr-without-policy", pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 1 }), stage.costWeightedRegression({ samples: 4 })] });
    expect(() => startRun(bad, { store: store() })).toThrow(
      /^invalid experiment:\n {2}pipeline\[2\] costWeightedRegression \(stage 2\): needs a policy, and no earlier stage provides it \(fitTheta or pretrainPolicy provide it\)/,
    );
  });

  it("runs: weights normalized (ESS in [1, samples·C]), the weighted fit lowers the weighted loss, σ untouched, resumed bit-identically", async () => {
    const started = startRun(cwr, { store: store() });
    const full = await finishedOf(started.events);
    const iters = full.filter((e) => e.kind === "costWeightedRegression");
    expect(iters).toHaveLength(3);
    for (const it of iters) {
      const m = it.metrics as Record<string, number>;
      expect(Number.isFinite(m.sampleCost)).toBe(true);
      expect(Number.isFinite(m.cost)).toBe(true);
      expect(m.effectiveSampleSize).toBeGreaterThanOrEqual(1);
      expect(m.effectiveSampleSize).toBeLessThanOrEqual(SAMPLES * 2 + 1e-9);
      expect(m.temperature).toBeGreaterThan(0);
      expect(m.weightedLoss).toBeLessThan(m.weightedLoss0);
    }
    const pre = stateAt(started.run, iters[0].index - 1);
    const last = stateAt(started.run, iters[2].index);
    const L = parameterLayout(mlpOf(pre.policy!));
    expect(Array.from(last.policy!.theta.subarray(L.logStd))).toEqual(Array.from(pre.policy!.theta.subarray(L.logStd)));
    expect(Array.from(last.policy!.theta.subarray(0, L.logStd))).not.toEqual(Array.from(pre.policy!.theta.subarray(0, L.logStd)));
    const resumed = await digestsResumedAfter(cwr, store(), iters[0].index);
    expect(resumed).toEqual(full.map((e) => e.digest));
  }, 60_000);
});
