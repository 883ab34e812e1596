/**
 * Training states from q's Gaussian state marginals (fitTheta/updateLambda
 * `states: "marginals"`): the sampler against the closed form (sample moments
 * → x̄_t and S_t, singular S_t stays in its range), and the stages on a small
 * constrained-GPS run: every condition drawn from its marginals once q has S,
 * different training states from the rollouts, and a bit-identical resume.
 */
import { describe, expect, it } from "vitest";
import { condition, experiment, ilqg, policy, repeat, stage, task } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { sampleStateMarginals } from "../src/trajopt/state-marginals.js";
import { digestsResumedAfter, finishedOf } from "./helpers/runs.js";
import { tempDirs } from "./helpers/tmp.js";

const store = tempDirs("marginals");

const seeded = (seed: number) => new Sampler(seedGenerator(seed));

describe("sampleStateMarginals", () => {
  // T = 2, n = 3: S_0 = 0 (a fixed start), S_1 full rank, S_2 rank one.
  const n = 3;
  const T = 2;
  const xbar = Float64Array.from([1, 2, 3, -1, 0.5, 2, 4, -2, 0]);
  const S1 = [2, 0.6, -0.3, 0.6, 1, 0.2, -0.3, 0.2, 0.5];
  const v = [1, -2, 0.5];
  const S2 = v.flatMap((a) => v.map((b) => 0.3 * a * b));
  const S = Float64Array.from([...new Array(9).fill(0), ...S1, ...S2]);

  it("has the marginals' means and covariances (20 000 samples), x_0 fixed, a rank-one S_t in its range", () => {
    const count = 20000;
    const xs = sampleStateMarginals(xbar, S, T, n, count, seeded(7));
    expect(xs.length).toBe(count * (T + 1) * n);
    for (let t = 0; t <= T; t++) {
      const mean = new Array(n).fill(0);
      const cov = new Array(n * n).fill(0);
      for (let k = 0; k < count; k++) for (let i = 0; i < n; i++) mean[i] += xs[(k * (T + 1) + t) * n + i] / count;
      for (let k = 0; k < count; k++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) cov[i * n + j] += ((xs[(k * (T + 1) + t) * n + i] - mean[i]) * (xs[(k * (T + 1) + t) * n + j] - mean[j])) / (count - 1);
      for (let i = 0; i < n; i++) expect(mean[i]).toBeCloseTo(xbar[t * n + i], 1);
      // Standard error of a covariance entry ≈ sqrt((S_ii S_jj + S_ij²)/count) ≤ 0.02 here.
      for (let k = 0; k < n * n; k++) expect(Math.abs(cov[k] - S[t * n * n + k])).toBeLessThan(0.06);
    }
    // x_0 = x̄_0 exactly; every x_2 − x̄_2 is a multiple of v.
    for (let k = 0; k < count; k += 997) {
      for (let i = 0; i < n; i++) expect(xs[(k * (T + 1)) * n + i]).toBe(xbar[i]);
      const d = [0, 1, 2].map((i) => xs[(k * (T + 1) + 2) * n + i] - xbar[2 * n + i]);
      expect(Math.abs(d[0] * v[1] - d[1] * v[0])).toBeLessThan(1e-12);
      expect(Math.abs(d[2] * v[0] - d[0] * v[2])).toBeLessThan(1e-12);
    }
  });

  it("scales the spread by noiseScale, and the same generator state gives the same states", () => {
    const a = sampleStateMarginals(xbar, S, T, n, 5, seeded(3));
    expect(sampleStateMarginals(xbar, S, T, n, 5, seeded(3))).toEqual(a);
    const half = sampleStateMarginals(xbar, S, T, n, 5, seeded(3), 0.5);
    for (let k = 0; k < a.length; k++) expect(half[k] - xbar[k % ((T + 1) * n)]).toBeCloseTo(0.5 * (a[k] - xbar[k % ((T + 1) * n)]), 12);
  });

  it("refuses shapes that disagree", () => {
    expect(() => sampleStateMarginals(xbar.subarray(1), S, T, n, 1, seeded(1))).toThrow(/xbar has 8 entries/);
    expect(() => sampleStateMarginals(xbar, S.subarray(1), T, n, 1, seeded(1))).toThrow(/S has 26 entries/);
  });
});

describe('fitTheta/updateLambda states: "marginals"', () => {
  const loop = (states?: "marginals") => [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 4 }),
    repeat(2, [stage.optimizeQ({ iterations: 1 }), stage.fitTheta({ maxIterations: 20, samples: 4, ...(states ? { states } : {}) }), stage.updateLambda({ stepSize: 1, samples: 4, ...(states ? { states } : {}) })]),
  ];
  const base = {
    seed: 5,
    task: task.swimmer({ horizon: 30 }),
    conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
    policy: policy.mlp({ hidden: 5 }),
  };
  const marginals = experiment({ ...base, name: "cgps-marginals", pipeline: loop("marginals") });
  const rollouts = experiment({ ...base, name: "cgps-rollouts", pipeline: loop() });

  it("draws every condition from its marginals after optimizeQ, trains on other states than the rollouts, and resumes bit-identically", async () => {
    const m = await finishedOf(startRun(marginals, { store: store() }).events);
    const r = await finishedOf(startRun(rollouts, { store: store() }).events);
    const fits = m.filter((e) => e.kind === "fitTheta" || e.kind === "updateLambda");
    expect(fits.length).toBe(4);
    for (const e of fits) expect(e.metrics.conditionsFromMarginals).toBe(2);
    for (const e of r.filter((e) => e.kind === "fitTheta")) expect(e.metrics.conditionsFromMarginals).toBeUndefined();
    // Identical up to the first fit, then different policies.
    const firstFit = m.findIndex((e) => e.kind === "fitTheta");
    expect(m.slice(0, firstFit).map((e) => e.digest)).toEqual(r.slice(0, firstFit).map((e) => e.digest));
    expect(m[firstFit].digest).not.toBe(r[firstFit].digest);
    for (const e of m.filter((e) => e.kind === "fitTheta")) expect(Number.isFinite(e.metrics.kl as number)).toBe(true);
    for (const stopAfter of [firstFit - 1, firstFit, firstFit + 1]) expect(await digestsResumedAfter(marginals, store(), stopAfter)).toEqual(m.map((e) => e.digest));
  });
});
