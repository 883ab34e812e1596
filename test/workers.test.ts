/**
 * Runs on worker threads: the same digests for any number of workers (and for
 * a resume with another number), the per-row kernels reproducing the digests
 * they always gave, a worker that dies failing its stage cleanly (earlier
 * checkpoints intact, resume bit-identical), and no threads left behind.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { afterAll, describe, expect, it } from "vitest";
import { condition, experiment, ilqg, policy, repeat, stage, task } from "../src/index.js";
import type { Experiment } from "../src/dsl/experiment.js";
import { laneOps, laneOpsUrl, lanePreload } from "../src/algorithms/lane-ops.js";
import { createPool, WorkerFailure } from "../src/parallel/pool.js";
import { createKernelMemory } from "../src/policy/kernels/wasm.js";
import { batchedForward, NetSession } from "../src/policy/kernels/batched.js";
import { createPolicy, initParameters, mlpShape } from "../src/policy/mlp.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { localCompute } from "../src/algorithms/numerics.js";
import { resumeRun, startRun } from "../src/runtime/session.js";
import { latestGoodCheckpoint } from "../src/runtime/store.js";
import { finishedOf, smallIsgps, stateAt } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const store = () => {
  const d = mkdtempSync(join(tmpdir(), "gps-workers-"));
  roots.push(d);
  return d;
};

/** Constrained GPS on the swimmer: iLQG, then optimizeQ / fitTheta / updateLambda twice, a noisy test. */
const cgps = experiment({
  name: "cgps-workers",
  seed: 4,
  task: task.swimmer({ horizon: 40 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
  policy: policy.mlp({ hidden: 6 }),
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 3 }),
    repeat(2, [stage.optimizeQ({ iterations: 1 }), stage.fitTheta({ maxIterations: 30, samples: 4 }), stage.updateLambda({ stepSize: 1, samples: 4 })]),
    stage.evaluate({ noise: true, samples: 3, controller: "policy" }),
  ],
});

/** The walker with demonstrations, motor noise, guiding samples from the demonstration controller and the restart variant. */
const walker = experiment({
  name: "walker-workers",
  seed: 2,
  task: task.walker({ horizon: 40 }),
  conditions: [condition.rest(), condition.alongDemonstration("simbicon-smooth", [30])[0]],
  policy: policy.mlp({ hidden: 8, ignoreInputs: ["qpos.rootx"] }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 } }),
    stage.guidingSamples({ samples: 6, from: "demonstration", noise: 0.1 }),
    stage.pretrainPolicy({ maxIterations: 20, samples: 4 }),
    stage.isgpsIteration({ maxIterations: 4, samples: 4, activeSamples: 12, restart: true }),
    stage.adaptWr(),
    stage.evaluate({ noise: true, samples: 2, controller: "demonstration" }),
    stage.evaluate({ noise: true, samples: 2, controller: "trajectory" }),
    stage.evaluate({ noise: "motor", samples: 2 }),
    stage.evaluate({ noise: false }),
  ],
});

async function digestsOf(e: Experiment, workers: number, numerics?: "per-row" | "batched"): Promise<string[]> {
  return (await finishedOf(startRun(e, { store: store(), workers, numerics }).events)).map((f) => f.digest);
}

/** Threads of this process (Linux). */
function threadCount(): number {
  return readdirSync("/proc/self/task").length;
}

describe("worker threads", () => {
  for (const [name, e] of [
    ["importance-sampled GPS (swimmer)", smallIsgps("isgps-workers", 6)],
    ["constrained GPS (swimmer)", cgps],
    ["the walker: demonstrations, motor noise, restarts", walker],
  ] as const) {
    it(`${name}: the same digests on 1 and 2 workers, and after a resume on the other count`, async () => {
      const one = await digestsOf(e, 1);
      expect(await digestsOf(e, 2)).toEqual(one);
      // Stop half way on 2 workers, resume on 1.
      const s = store();
      const first = startRun(e, { store: s, workers: 2, stopAfterStage: Math.floor(one.length / 2) });
      const head = await finishedOf(first.events);
      const tail = await finishedOf(resumeRun(first.run.dir, { workers: 1 }).events);
      expect([...head, ...tail].map((f) => f.digest)).toEqual(one);
    });
  }

  it("evaluate's noise: a noise-free test draws nothing; motor noise alone and full noise draw, on any number of workers", async () => {
    for (const workers of [1, 2]) {
      const started = startRun(walker, { store: store(), workers });
      const f = await finishedOf(started.events);
      const rng = (k: number) => stateAt(started.run, k).rng;
      const n = f.length;
      // …, evaluate(noise: true, demonstration), evaluate(noise: true, trajectory), evaluate(noise: "motor"), evaluate(noise: false)
      expect(rng(n - 4)).not.toEqual(rng(n - 5));
      expect(rng(n - 3)).not.toEqual(rng(n - 4));
      expect(rng(n - 2)).not.toEqual(rng(n - 3));
      expect(rng(n - 1)).toEqual(rng(n - 2));
      // Motor noise moves the mean controller's rollouts off the noise-free ones.
      expect(f[n - 2].metrics.cost).not.toBe(f[n - 1].metrics.cost);
    }
  });

  it("per-row numerics give their own digests, the same on 1 and 2 workers, and resume with the numerics the run recorded", async () => {
    const e = smallIsgps("isgps-per-row", 6);
    const perRowRun = await finishedOf(startRun(e, { store: store(), workers: 1, numerics: "per-row" }).events);
    const perRow = perRowRun.map((f) => f.digest);
    expect(await digestsOf(e, 2, "per-row")).toEqual(perRow);
    const batched = await digestsOf(e, 1, "batched");
    // Up to the first policy, nothing differs; from the first fit on, the last bits do.
    const firstFit = perRowRun.findIndex((f) => f.kind === "pretrainPolicy");
    expect(firstFit).toBeGreaterThan(0);
    expect(batched.slice(0, firstFit)).toEqual(perRow.slice(0, firstFit));
    expect(batched[firstFit]).not.toBe(perRow[firstFit]);
    const s = store();
    const first = startRun(e, { store: s, numerics: "per-row", stopAfterStage: firstFit + 1 });
    const head = await finishedOf(first.events);
    expect(first.run.meta.numerics).toBe("per-row");
    const tail = await finishedOf(resumeRun(first.run.dir, { workers: 2 }).events);
    expect([...head, ...tail].map((f) => f.digest)).toEqual(perRow);
  });

  it("a worker that dies fails its stage, keeps every earlier checkpoint, and a resume finishes bit-identically", async () => {
    const e = smallIsgps("isgps-kill", 9);
    const reference = await digestsOf(e, 2);
    const s = store();
    const threads = threadCount();
    process.env.GPS_WORKER_FAULT = "1:4"; // worker 1 ends its thread (exit code 137) as it starts its 4th chunk
    let started;
    try {
      started = startRun(e, { store: s, workers: 2 });
      const events = await lastValueFrom(started.events.pipe(toArray())).then(
        () => null,
        (err: unknown) => err,
      );
      expect(events).toBeInstanceOf(WorkerFailure);
      expect((events as Error).message).toMatch(/^stage \d+ \([^)]+\) failed: worker 1 exited with code 137 during op sim\.(linearize|rollout)/);
    } finally {
      delete process.env.GPS_WORKER_FAULT;
    }
    const last = latestGoodCheckpoint(started.run).index ?? -1;
    expect(last).toBeGreaterThanOrEqual(0);
    expect(last).toBeLessThan(reference.length - 1);
    const tail = await finishedOf(resumeRun(started.run.dir, { workers: 2 }).events);
    expect(tail[0].index).toBe(last + 1);
    expect(tail.map((f) => f.digest)).toEqual(reference.slice(last + 1));
    // The pool's threads are gone (they end asynchronously: give them a moment).
    for (let k = 0; k < 50 && threadCount() > threads; k++) await new Promise((r) => setTimeout(r, 100));
    expect(threadCount()).toBeLessThanOrEqual(threads);
  });

  it("tens of thousands of short jobs in a row (the main thread often finishes one before a worker wakes): none lost, every result the in-process one", async () => {
    // More lanes than cores: workers are often descheduled between waking and reading their job.
    const pool = await createPool({ lanes: 5, ops: laneOps, opsUrl: laneOpsUrl, preload: lanePreload, memory: createKernelMemory() });
    try {
      const shape = mlpShape(4, 6, 2);
      const policy = createPolicy(shape);
      const theta = initParameters(shape, new Sampler(seedGenerator(1)));
      const rows = 600; // two chunks
      const X = Float64Array.from({ length: 4 * rows }, (_, i) => Math.sin(i));
      const expected = new Float64Array(rows * 2);
      batchedForward(localCompute(), policy, theta, X, rows, expected);
      const s = new NetSession(pool, policy, rows);
      try {
        s.load(theta);
        const Xb = s.copied(X);
        const out = s.blocks.alloc(rows * 2);
        const args = { net: s.net, scratch: s.scratch, N: rows, X: Xb, ldx: 4, meanOut: out, jacOut: 0 };
        for (let k = 0; k < 20_000; k++) pool.run("mlp.forward", args, s.chunks);
        expect(pool.arena.read(out, rows * 2)).toEqual(expected);
      } finally {
        s.release();
      }
    } finally {
      await pool.closed();
    }
  });

  it("an op that throws on a worker names the worker, the op and the chunk; the pool then refuses work and closes", async () => {
    const threads = threadCount();
    const pool = await createPool({ lanes: 3, ops: laneOps, opsUrl: laneOpsUrl, preload: lanePreload, memory: createKernelMemory() });
    expect(threadCount()).toBeGreaterThan(threads);
    // sim.linearize on a world nobody can build: every chunk throws, on whichever lane takes it.
    const job = { world: { key: "nowhere", spec: null }, xs: new Float64Array(4), us: new Float64Array(2), T: 40, steps: 1 };
    let err: unknown;
    try {
      pool.run("sim.linearize", job, 40);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).toMatch(/no world nowhere/);
    await pool.closed();
    for (let k = 0; k < 50 && threadCount() > threads; k++) await new Promise((r) => setTimeout(r, 100));
    expect(threadCount()).toBeLessThanOrEqual(threads);
  });
});
