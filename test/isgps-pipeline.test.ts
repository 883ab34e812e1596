/**
 * Importance-sampled GPS (2013) as a pipeline: guiding samples → pretrain θ*
 * → repeat [isgpsIteration, adaptWr], resumed from any stage bit-identically
 * (the sample pool, its sources, w_r, θ* and the generator live in the
 * checkpoint; per-sample densities are recomputed, not stored), with the
 * pool's large arrays stored once as blobs, and the variants of §6.1 as
 * experiment values.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, policy, repeat, stage, task } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { exportRun } from "../src/runtime/export.js";
import { latestGoodCheckpoint } from "../src/runtime/store.js";
import { mlpOf } from "../src/algorithms/state.js";
import { poolSampleSet, stepLogProbs } from "../src/algorithms/isgps-samples.js";
import { taskFor } from "../src/tasks/index.js";
import { policyStepLogProbs } from "../src/algorithms/isgps-objective.js";
import { digestsResumedAfter, finishedOf, smallIsgps, stateAt } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = () => {
  const d = mkdtempSync(join(tmpdir(), "gps-isgps-"));
  roots.push(d);
  return d;
};

const isgps = smallIsgps("isgps-small", 4);

describe("importance-sampled GPS pipeline", () => {
  it("runs guidingSamples/pretrainPolicy/isgpsIteration/adaptWr and resumes from any stage with identical digests", async () => {
    const s0 = store();
    const started = startRun(isgps, { store: s0 });
    const full = await finishedOf(started.events);
    expect(full.map((e) => e.kind).slice(6, 14)).toEqual([
      "guidingSamples",
      "pretrainPolicy",
      "isgpsIteration",
      "adaptWr",
      "isgpsIteration",
      "adaptWr",
      "isgpsIteration",
      "adaptWr",
    ]);
    // w_r moves by ×10 or ÷10 within [1e-6, 1e-2] after every iteration, as the iteration's verdict says.
    const iters = full.filter((e) => e.kind === "isgpsIteration");
    const adapts = full.filter((e) => e.kind === "adaptWr");
    for (let k = 0; k < 3; k++) {
      const before = iters[k].metrics.wr as number;
      const after = adapts[k].metrics.wr as number;
      const expected = Math.min(1e-2, Math.max(1e-6, iters[k].metrics.improved === 1 ? before / 10 : before * 10));
      expect(after).toBeCloseTo(expected, 15);
      expect(Number.isFinite(iters[k].metrics.sampleCost as number)).toBe(true);
      expect(iters[k].metrics.activeSamples).toBeLessThanOrEqual(48);
      // What S_k is made of: the 40 guiding samples, capped so that min(#on-policy, 24) places are left
      // to the on-policy samples; θ*'s normalized weights at T/2.
      const m = iters[k].metrics as Record<string, number>;
      expect(m.activeGuiding + m.activeOnPolicy).toBe(m.activeSamples);
      expect(m.activeGuiding).toBe(Math.min(40, 48 - Math.min(m.poolSamples - 40, 24)));
      expect(m.activeOnPolicy).toBeGreaterThanOrEqual(1);
      expect(m.guidingWeightShare).toBeGreaterThanOrEqual(0);
      expect(m.guidingWeightShare).toBeLessThanOrEqual(1);
      expect(m.effectiveSampleSize).toBeGreaterThanOrEqual(1 - 1e-9);
      expect(m.effectiveSampleSize).toBeLessThanOrEqual(m.activeSamples + 1e-9);
    }
    // Each iteration adds 4 on-policy samples, and a failed one 10 more from π_θ* (adaptWr's default).
    const last = stateAt(started.run, full.length - 1);
    const pooled = last.isgps!.batches.reduce((n, b) => n + b.count, 0);
    const failures = adapts.filter((e) => e.metrics.improved === 0).length;
    expect({ pooled, failures }).toEqual({ pooled: 2 * 20 + 4 + 3 * 4 + 10 * failures, failures });
    // The pool's immutable arrays are stored once: blobs exist, and no checkpoint holds them inline.
    const blobs = readdirSync(join(started.run.dir, "blobs"));
    expect(blobs.length).toBeGreaterThan(0);
    // The last checkpoint refers to the two guiding batches' states (20 × 31 × 10 doubles each) instead of holding them.
    const lastFile = join(started.run.checkpointsDir, readdirSync(started.run.checkpointsDir).filter((f) => f.endsWith(".json")).sort().at(-1)!);
    const refs = readFileSync(lastFile, "utf8").split('"$blob"').length - 1;
    expect(refs).toBeGreaterThanOrEqual(2);

    for (const stopAfter of [6, 7, 8, 11]) expect(await digestsResumedAfter(isgps, store(), stopAfter)).toEqual(full.map((e) => e.digest));
  }, 120_000);

  it("fuses the pool's sources into log q with every sample's own source included, finite over the whole horizon", async () => {
    const s = store();
    const started = startRun(isgps, { store: s, stopAfterStage: 8 });
    await finishedOf(started.events);
    const st = stateAt(started.run, 8);
    const pol = mlpOf(st.policy!);
    const is = st.isgps!;
    const all = is.batches.map((_, b) => b);
    const pool = poolSampleSet(pol, is.sources, is.batches, all, 2, 30);
    for (const v of pool.set.logQ) expect(Number.isFinite(v)).toBe(true);
    // A sample's fused density is at least (its component's weight) × its own source's density.
    const lpOwn = (b: number) => {
      const src = is.sources[is.batches[b].source];
      if (src.kind !== "policy") return null;
      const one = { T: 30, nx: 10, nu: 2, count: is.batches[b].count, xs: is.batches[b].xs, us: is.batches[b].us, rewards: is.batches[b].rewards, logQ: new Float64Array(is.batches[b].count * 30) };
      return policyStepLogProbs(pol, src.theta, one);
    };
    let checked = 0;
    for (let i = 0; i < pool.set.count; i++) {
      const b = pool.batchOf[i];
      const lp = lpOwn(b);
      if (!lp) continue;
      const k = pool.indexInBatch[i];
      let cum = 0;
      for (let t = 0; t < 30; t++) cum += lp[k * 30 + t];
      const N = pool.set.count;
      const sameComponent = is.batches.filter((x) => x.source === is.batches[b].source && x.condition === is.batches[b].condition).reduce((n, x) => n + x.count, 0);
      expect(pool.set.logQ[i * 30 + 29]).toBeGreaterThanOrEqual(Math.log(sameComponent / N) + cum + Math.log(2) - 1e-9);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  }, 60_000);

  it("the non-guided, unregularized and restart variants are experiment values: guiding samples leave the active set; w_r stays 0; restarts start at guiding states", async () => {
    const nonGuided = experiment({
      ...isgps,
      name: "isgps-small-nonguided",
      pipeline: isgps.pipeline.map((p) =>
        p.kind === "repeat" && p.body[0].kind === "isgpsIteration" ? repeat(2, [stage.isgpsIteration({ maxIterations: 5, samples: 4, activeSamples: 48, useGuidingSamples: false }), stage.adaptWr()]) : p,
      ),
    });
    const ng = await finishedOf(startRun(nonGuided, { store: store() }).events);
    const ngIters = ng.filter((e) => e.kind === "isgpsIteration");
    // Without guiding samples the pool starts with π_θ*'s 4 samples only.
    expect(ngIters[0].metrics.poolSamples).toBe(4);

    const unregularized = experiment({
      ...isgps,
      name: "isgps-small-unregularized",
      pipeline: isgps.pipeline.map((p) =>
        p.kind === "pretrainPolicy"
          ? stage.pretrainPolicy({ maxIterations: 30, samples: 4, wr: 0 })
          : p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
            ? repeat(2, [stage.isgpsIteration({ maxIterations: 5, samples: 4, activeSamples: 48 }), stage.adaptWr({ min: 0, max: 0 })])
            : p,
      ),
    });
    const ur = await finishedOf(startRun(unregularized, { store: store() }).events);
    for (const e of ur.filter((e) => e.kind === "isgpsIteration" || e.kind === "adaptWr")) expect(e.metrics.wr).toBe(0);

    // Restart distribution: on-policy samples start from guiding states, and only they enter the pool.
    const restart = experiment({
      ...isgps,
      name: "isgps-small-restart",
      pipeline: isgps.pipeline.map((p) =>
        p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
          ? repeat(2, [stage.isgpsIteration({ maxIterations: 5, samples: 4, activeSamples: 48, restart: true }), stage.adaptWr({ resample: 4 })])
          : p,
      ),
    });
    const started = startRun(restart, { store: store() });
    const rs = await finishedOf(started.events);
    const rsIters = rs.filter((e) => e.kind === "isgpsIteration");
    expect(rsIters[0].metrics.poolSamples).toBe(4); // π_θ*'s first restarted samples only
    const st = stateAt(started.run, rs.length - 1);
    const restarted = st.isgps!.batches.filter((b) => b.restart);
    expect(restarted.length).toBeGreaterThan(0);
    // Restarted samples start at states of the guiding samples, not at the conditions' x_0.
    const guidingStates = new Set<string>();
    for (const b of st.isgps!.batches.filter((b) => st.isgps!.sources[b.source].kind === "guiding")) {
      for (let i = 0; i < b.count; i++) for (let t = 0; t < 30; t++) guidingStates.add(Array.from(b.xs.subarray((i * 31 + t) * 10, (i * 31 + t + 1) * 10)).join(","));
    }
    for (const b of restarted) for (let i = 0; i < b.count; i++) expect(guidingStates.has(Array.from(b.xs.subarray(i * 31 * 10, i * 31 * 10 + 10)).join(","))).toBe(true);
  }, 120_000);

  it("exports θ* (the best policy) with the ignored inputs listed and their weights zero", async () => {
    const s = store();
    const started = startRun(isgps, { store: s });
    await finishedOf(started.events);
    const exported = exportRun(started.run, { condition: 0, what: "policy" });
    const c = exported.controller;
    if (c.kind !== "mlp") throw new Error("expected an MLP export");
    expect(c.ignoredInputs).toEqual([0, 1]);
    for (const row of c.layers[0].W) {
      expect(row[0]).toBe(0);
      expect(row[1]).toBe(0);
    }
    expect(c.inputStd.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const st = stateAt(started.run, latestGoodCheckpoint(started.run).index!);
    expect(Array.from(c.outputStd)).toEqual(Array.from(st.policy!.theta.subarray(st.policy!.theta.length - 2), Math.exp));
  }, 60_000);

  it("demonstration guiding samples: replaying the controller along a sample's states recovers the mean it was drawn around", async () => {
    const exp = experiment({
      name: "isgps-demo-small",
      seed: 6,
      task: task.walker({ horizon: 40 }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 4 }),
      pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.guidingSamples({ samples: 3, from: "demonstration", noise: 0.2 })],
    });
    const started = startRun(exp, { store: store() });
    await finishedOf(started.events);
    const st = stateAt(started.run, 1);
    const src = st.isgps!.sources[0];
    if (src.kind !== "demonstration") throw new Error("expected a demonstration source");
    const batch = st.isgps!.batches[0];
    const walker = taskFor(exp.task);
    const shape = { nIn: 18, nHidden: 4, nOut: 6, inputMean: new Float64Array(18), inputStd: new Float64Array(18).fill(1) };
    const lp = stepLogProbs(shape, src, batch, 40, [walker]);
    // Σ_j z_j² from the density: −2(lp − c) with c = −Σ_j (log σ_j + ½ log 2π); the z are the drawn standard normals.
    let c = 0;
    for (let j = 0; j < 6; j++) c -= Math.log(src.std[j]) + 0.5 * Math.log(2 * Math.PI);
    let sumSq = 0;
    for (const v of lp) sumSq += -2 * (v - c);
    const perAction = sumSq / (lp.length * 6);
    expect(perAction).toBeGreaterThan(0.8);
    expect(perAction).toBeLessThan(1.2);
  }, 60_000);
});
