/**
 * The 2013 paper's prior methods (§6.1): the GPOMDP policy gradient against
 * finite differences and its baseline's invariance, DAgger's expert labels and
 * refit, the "single example" pretraining, and all three as stages that resume
 * bit-identically.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { experiment, ilqg, stage } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { mlpOf } from "../src/algorithms/state.js";
import { gpomdpCoefficients, scoreFunctionGradient } from "../src/algorithms/baselines.js";
import { guidingMeans } from "../src/algorithms/isgps-samples.js";
import type { IsSampleSet } from "../src/algorithms/isgps-objective.js";
import { createPolicy, initParameters, logProbability, createWorkspace, mlpShape, parameterLayout } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { meanAction } from "../src/trajopt/linear-gaussian.js";
import { taskFor } from "../src/tasks/index.js";
import { policyController } from "../src/policy/controller.js";
import { createSimulator } from "../src/sim/mujoco.js";
import { digestsResumedAfter, finishedOf, smallIsgps, stateAt } from "./helpers/runs.js";
import { fdGradient } from "./helpers/gradient-check.js";
import { policyGradient, dagger, singleExample } from "../experiments/isgps-variants.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = () => {
  const d = mkdtempSync(join(tmpdir(), "gps-baselines-"));
  roots.push(d);
  return d;
};

// A small GPS run whose loop the variants replace.
const base = smallIsgps("baselines-small", 5);

/** A random sample set for a 3-input, 2-output network. */
function randomSet(count: number, T: number, seed: number): IsSampleSet {
  const s = new Sampler(seedGenerator(seed));
  const nx = 3;
  const nu = 2;
  const xs = Float64Array.from({ length: count * (T + 1) * nx }, () => s.normal());
  const us = Float64Array.from({ length: count * T * nu }, () => s.normal());
  const rewards = Float64Array.from({ length: count * T }, () => s.normal());
  return { T, nx, nu, count, xs, us, rewards, logQ: new Float64Array(count * T) };
}

describe("GPOMDP", () => {
  it("coefficients are (reward to go − its mean over samples)/m, unchanged by a constant added to every reward", () => {
    const rewards = Float64Array.from([1, 2, 3, 4, 0, 0]); // 2 samples × 3 steps
    const c = gpomdpCoefficients(rewards, 2, 3);
    // Rewards to go: sample 0 → 6, 5, 3; sample 1 → 4, 0, 0; baselines 5, 2.5, 1.5.
    expect(Array.from(c)).toEqual([0.5, 1.25, 0.75, -0.5, -1.25, -0.75]);
    const shifted = gpomdpCoefficients(rewards.map((r) => r + 7.25), 2, 3);
    for (let k = 0; k < c.length; k++) expect(shifted[k]).toBeCloseTo(c[k], 12);
  });

  it("scoreFunctionGradient is ∇θ Σ c_it log π(u_it|x_it), by central differences", () => {
    const shape = mlpShape(3, 4, 2);
    const policy = createPolicy(shape);
    const theta = initParameters(shape, new Sampler(seedGenerator(3)), { initLogStd: -0.3 });
    const set = randomSet(3, 5, 9);
    const coeff = Float64Array.from({ length: 15 }, (_, k) => Math.sin(k + 1));
    const grad = new Float64Array(theta.length);
    scoreFunctionGradient(policy, theta, set, coeff, grad);
    const ws = createWorkspace(shape, 1);
    const value = (th: Float64Array) => {
      let s = 0;
      for (let i = 0; i < 3; i++) for (let t = 0; t < 5; t++) s += coeff[i * 5 + t] * logProbability(policy, th, set.xs, set.us, ws, (i * 6 + t) * 3, (i * 5 + t) * 2);
      return s;
    };
    const fd = fdGradient(value, theta, 1e-6);
    let worst = 0;
    for (let k = 0; k < theta.length; k++) worst = Math.max(worst, Math.abs(fd[k] - grad[k]) / Math.max(1, Math.abs(fd[k])));
    expect(worst).toBeLessThan(1e-7);
    expect(parameterLayout(shape).logStd).toBeLessThan(theta.length);
  });
});

describe("the prior methods as stages", () => {
  it("policy gradient: one Adam step per iteration on μ's parameters, σ untouched, resumed bit-identically", async () => {
    const pg = policyGradient(base, 1e-2);
    const s = store();
    const started = startRun(pg, { store: s });
    const full = await finishedOf(started.events);
    const iters = full.filter((e) => e.kind === "policyGradientIteration");
    expect(iters).toHaveLength(3);
    for (const it of iters) {
      expect(Number.isFinite(it.metrics.sampleCost as number)).toBe(true);
      expect(it.metrics.gradientNorm as number).toBeGreaterThan(0);
    }
    const pre = stateAt(started.run, iters[0].index - 1);
    const first = stateAt(started.run, iters[0].index);
    const after = stateAt(started.run, iters[2].index);
    expect(after.policyGradient!.steps).toBe(3);
    const L = parameterLayout(mlpOf(pre.policy!));
    // Adam's first step moves each μ parameter by the step size times |g|/(|g| + ε) (m̂/√v̂ = g/|g|):
    // never more, and all but vanishing gradients by the full step; σ does not move.
    let moved = 0;
    for (let k = 0; k < L.logStd; k++) {
      const d = Math.abs(first.policy!.theta[k] - pre.policy!.theta[k]);
      expect(d).toBeLessThanOrEqual(1e-2 * (1 + 1e-12));
      if (d > 0.99e-2) moved++;
    }
    expect(moved).toBeGreaterThan(L.logStd / 2);
    for (let j = 0; j < L.total - L.logStd; j++) expect(after.policy!.theta[L.logStd + j]).toBe(pre.policy!.theta[L.logStd + j]);
    const resumed = await digestsResumedAfter(pg, store(), iters[1].index);
    expect(resumed).toEqual(full.map((e) => e.digest));
  });

  it("DAgger: the expert labels are the guiding controller's mean action; the pool grows and the refit fits the labels better", async () => {
    const dg = dagger(base, 10);
    const s = store();
    const started = startRun(dg, { store: s });
    const full = await finishedOf(started.events);
    const iters = full.filter((e) => e.kind === "daggerIteration");
    expect(iters).toHaveLength(3);
    // 2 conditions × 20 guiding + 4 pretraining samples + 4 per iteration.
    expect(iters.map((e) => e.metrics.datasetSamples)).toEqual([48, 52, 56]);
    for (const it of iters) expect(it.metrics.negLogLikelihood as number).toBeLessThan(it.metrics.negLogLikelihood0 as number);

    // Labels of a batch of policy samples: DDP's ū_t + k_t + K_t (x_t − x̄_t) at each visited state.
    const st = stateAt(started.run, iters[2].index);
    const isgps = st.isgps!;
    const batch = isgps.batches[isgps.batches.length - 1];
    const expert = isgps.sources.find((x) => x.kind === "guiding" && x.condition === batch.condition);
    if (!expert || expert.kind !== "guiding") throw new Error("no guiding source");
    const swimmer = taskFor(dg.task);
    const labels = guidingMeans(expert, batch, 30, swimmer);
    const u = new Float64Array(swimmer.nu);
    for (const [i, t] of [[0, 0], [1, 17]]) {
      meanAction(expert.controller, t, batch.xs, (i * 31 + t) * swimmer.nx, u, 0);
      for (let j = 0; j < swimmer.nu; j++) expect(labels[(i * 30 + t) * swimmer.nu + j]).toBe(u[j]);
    }
    const resumed = await digestsResumedAfter(dg, store(), iters[0].index);
    expect(resumed).toEqual(full.map((e) => e.digest));
  });

  it("single example: μ fitted to the one noise-free example, σ fixed at the guiding noise, then non-guided unregularized IS", async () => {
    const se = singleExample(base);
    const pre = se.pipeline.find((p) => p.kind === "pretrainPolicy");
    expect(pre).toMatchObject({ kind: "pretrainPolicy", from: "example", wr: 0 });
    const s = store();
    const started = startRun(se, { store: s });
    const full = await finishedOf(started.events);
    const pretrainAt = full.find((e) => e.kind === "pretrainPolicy")!.index;
    const st = stateAt(started.run, pretrainAt);
    const pol = mlpOf(st.policy!);
    const L = parameterLayout(pol);
    // σ: the RMS over both conditions' DDP distributions of their per-step action std.
    const guiding = st.isgps!.sources.filter((x) => x.kind === "guiding");
    expect(guiding).toHaveLength(2);
    const nu = pol.nOut;
    for (let j = 0; j < nu; j++) {
      let v = 0;
      for (const g of guiding) {
        if (g.kind !== "guiding") continue;
        let m = 0;
        for (let t = 0; t < 30; t++) m += g.controller.cov[t * nu * nu + j * nu + j];
        v += m / 30;
      }
      expect(Math.exp(st.policy!.theta[L.logStd + j])).toBeCloseTo(Math.sqrt(v / 2), 12);
    }
    // The network alone, noise-free, replays condition 0's example closely: its actions along the example.
    const cond = st.conditions[0];
    const swimmer = taskFor(se.task);
    const sim = await createSimulator(swimmer);
    const exXs = new Float64Array(31 * swimmer.nx);
    const exUs = new Float64Array(30 * swimmer.nu);
    const { linearGaussianController } = await import("../src/trajopt/linear-gaussian.js");
    sim.rollout(cond.x0, linearGaussianController(cond.trajectory!, { noise: false }), 30, exXs, exUs);
    const act = policyController(pol, st.policy!.theta, { noise: false, observe: null });
    const u = new Float64Array(swimmer.nu);
    let err = 0;
    let scale = 0;
    for (let t = 0; t < 30; t++) {
      act(t, exXs, t * swimmer.nx, u, 0);
      for (let j = 0; j < swimmer.nu; j++) {
        err += (u[j] - exUs[t * swimmer.nu + j]) ** 2;
        scale += exUs[t * swimmer.nu + j] ** 2;
      }
    }
    expect(Math.sqrt(err / scale)).toBeLessThan(0.5);
    // The loop: no guiding samples in the objective, w_r 0 throughout.
    const iters = full.filter((e) => e.kind === "isgpsIteration");
    expect(iters).toHaveLength(3);
    for (const it of iters) expect(it.metrics.wr).toBe(0);
    sim.dispose();
  });

  it("pretrainPolicy std: \"guiding\" fixes σ at the guiding noise, as the single example does, and fits μ alone", async () => {
    const fixed = experiment({
      ...base,
      name: "pretrain-guiding-std",
      pipeline: base.pipeline.map((p) => (p.kind === "pretrainPolicy" ? stage.pretrainPolicy({ ...p, std: "guiding" }) : p)),
    });
    const runs = await Promise.all(
      [fixed, singleExample(base)].map(async (e) => {
        const started = startRun(e, { store: store(), stopAfterStage: 7 });
        const done = await finishedOf(started.events);
        expect(done[done.length - 1].kind).toBe("pretrainPolicy");
        return stateAt(started.run, 7).policy!;
      }),
    );
    const L = parameterLayout(mlpOf(runs[0]));
    const sigma = (p: (typeof runs)[0]) => Array.from(p.theta.subarray(L.logStd, L.total));
    expect(sigma(runs[0])).toEqual(sigma(runs[1]));
    // The means differ: one is fitted to 40 guiding samples, the other to one example.
    expect(Array.from(runs[0].theta.subarray(0, L.logStd))).not.toEqual(Array.from(runs[1].theta.subarray(0, L.logStd)));
  });

  it("refuses to run without a policy to start from, naming the missing stage (at plan time: no run directory)", () => {
    const bad = experiment({
      ...base,
      name: "pg-without-pretraining",
      pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 1 }), stage.policyGradientIteration({ stepSize: 1e-3 })],
    });
    expect(() => startRun(bad, { store: store() })).toThrow(/^invalid experiment:\n {2}pipeline\[2\] policyGradientIteration \(stage 2\): needs a policy, and no earlier stage provides it \(fitTheta or pretrainPolicy provide it\)/);
  });
});
