/**
 * The session/interpreter API in-process: the event stream's grammar, stage
 * numbering with repeats unrolled, stopping and resuming, cold observables,
 * and experiment files that only build values.
 */
import { afterAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { condition, experiment, ilqg, repeat, stage, task, unrollPipeline, type Experiment } from "../src/index.js";
import { decodeExperiment } from "../src/dsl/validate.js";
import type { RunEvent } from "../src/runtime/interpreter.js";
import { experimentIdentity, resumeRun, startRun } from "../src/runtime/session.js";
import { REPO } from "./helpers/cli.js";

const roots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "gps-runtime-"));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

// Nested repeats: 0 init, then twice [iteration, iteration ×2], then a noisy evaluate (7).
const nested: Experiment = experiment({
  name: "nested",
  seed: 9,
  task: task.swimmer({ horizon: 20 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.2, -0.1, 0.1], [0, 0, 0, 0, 0])],
  pipeline: [
    stage.initializeTrajectories({ from: { kind: "random", std: 1 } }),
    repeat(2, [stage.ilqgIteration(), repeat(2, [stage.ilqgIteration()])]),
    stage.evaluate({ noise: true, samples: 2 }),
  ],
});
const LABELS = [
  "initializeTrajectories",
  "ilqgIteration 1/2",
  "ilqgIteration 1/2 1/2",
  "ilqgIteration 1/2 2/2",
  "ilqgIteration 2/2",
  "ilqgIteration 2/2 1/2",
  "ilqgIteration 2/2 2/2",
  "evaluate",
];
const TOTAL = LABELS.length;

const collect = (events: import("rxjs").Observable<RunEvent>): Promise<RunEvent[]> => lastValueFrom(events.pipe(toArray()));

/**
 * Check the grammar run-started (stage-started progress* stage-finished
 * checkpoint-written)* run-finished, stage indices consecutive from `from`
 * to `to`; return the stage-finished events.
 */
function checkGrammar(events: RunEvent[], from: number, to: number, complete: boolean): Extract<RunEvent, { type: "stage-finished" }>[] {
  const types = events.map((e) => e.type);
  expect(types[0]).toBe("run-started");
  expect(types.at(-1)).toBe("run-finished");
  expect(events[0]).toMatchObject({ type: "run-started", startStage: from, totalStages: TOTAL });
  expect(events.at(-1)).toMatchObject({ type: "run-finished", lastStage: to, totalStages: TOTAL, complete });
  const finished: Extract<RunEvent, { type: "stage-finished" }>[] = [];
  let i = 1;
  for (let index = from; index <= to; index++) {
    expect(events[i]).toMatchObject({ type: "stage-started", index, total: TOTAL, label: LABELS[index] });
    i++;
    let lastFraction = 0;
    let progress = 0;
    while (events[i].type === "progress") {
      const p = events[i] as Extract<RunEvent, { type: "progress" }>;
      expect(p.index).toBe(index);
      expect(p.fraction).toBeGreaterThanOrEqual(lastFraction);
      expect(p.fraction).toBeLessThanOrEqual(1);
      lastFraction = p.fraction;
      progress++;
      i++;
    }
    expect(progress).toBeGreaterThan(0);
    const f = events[i] as Extract<RunEvent, { type: "stage-finished" }>;
    expect(f).toMatchObject({ type: "stage-finished", index, label: LABELS[index] });
    expect(f.digest).toMatch(/^[0-9a-f]{64}$/);
    finished.push(f);
    i++;
    const c = events[i] as Extract<RunEvent, { type: "checkpoint-written" }>;
    expect(c).toMatchObject({ type: "checkpoint-written", index });
    expect(existsSync(c.path)).toBe(true);
    i++;
  }
  expect(i).toBe(events.length - 1);
  return finished;
}

describe("session and interpreter", () => {
  let full: Extract<RunEvent, { type: "stage-finished" }>[];

  it("streams run-started, per stage stage-started/progress/stage-finished/checkpoint-written, run-finished; repeats unrolled from 0", async () => {
    expect(unrollPipeline(nested.pipeline).map((s) => [s.index, s.label])).toEqual(LABELS.map((l, i) => [i, l]));
    const started = startRun(nested, { store: tmp() });
    expect(started.startStage).toBe(0);
    full = checkGrammar(await collect(started.events), 0, TOTAL - 1, true);
    expect(full.map((f) => f.kind)).toEqual(["initializeTrajectories", ...Array(6).fill("ilqgIteration"), "evaluate"]);
    expect(new Set(full.map((f) => f.digest)).size).toBe(TOTAL);
    expect(readdirSync(join(started.run.dir, "checkpoints")).sort()).toEqual(LABELS.map((_, i) => `stage-00000${i}.json`));
  });

  it("the event stream is cold: nothing runs until it is subscribed", async () => {
    const started = startRun(nested, { store: tmp(), stopAfterStage: 0 });
    await new Promise((r) => setTimeout(r, 50));
    expect(readdirSync(join(started.run.dir, "checkpoints"))).toEqual([]);
    const events = await collect(started.events);
    expect(events.filter((e) => e.type === "checkpoint-written")).toHaveLength(1);
  });

  it("stops early with complete: false, and resumeRun continues to the uninterrupted digests", async () => {
    expect(full).toBeDefined();
    const started = startRun(nested, { store: tmp(), stopAfterStage: 3 });
    const first = checkGrammar(await collect(started.events), 0, 3, false);
    expect(first.map((f) => f.digest)).toEqual(full.slice(0, 4).map((f) => f.digest));

    const resumed = resumeRun(started.run.dir, { currentExperiment: nested });
    expect(resumed.startStage).toBe(4);
    expect(resumed.corrupt).toEqual([]);
    const rest = checkGrammar(await collect(resumed.events), 4, TOTAL - 1, true);
    expect(rest.map((f) => f.digest)).toEqual(full.slice(4).map((f) => f.digest));
    expect(rest.map((f) => f.metrics)).toEqual(full.slice(4).map((f) => f.metrics));
  });

  it("resume with a changed experiment throws, listing the changes; --force takes pipeline changes but never a seed change (issue 13)", async () => {
    const started = startRun(nested, { store: tmp(), stopAfterStage: 0 });
    await collect(started.events);
    const reseeded = { ...nested, seed: 10 };
    expect(() => resumeRun(started.run.dir, { currentExperiment: reseeded })).toThrow(/seed: 9 → 10/);
    // The checkpoints hold the old seed's generator: --force refuses, naming why, and writes nothing.
    expect(() => resumeRun(started.run.dir, { currentExperiment: reseeded, force: true })).toThrow(/seed: 9 → 10 \(the checkpoints hold the random generator of the old seed\)[\s\S]*start a new run instead/);
    expect(readdirSync(join(started.run.dir, "checkpoints"))).toEqual(["stage-000000.json"]);
    const longer = { ...nested, pipeline: [...nested.pipeline, stage.evaluate({ noise: false, samples: 1 })] };
    const forced = resumeRun(started.run.dir, { currentExperiment: longer, force: true, stopAfterStage: 1 });
    expect(forced.startStage).toBe(1);
    const events = await collect(forced.events);
    expect(events.at(-1)).toMatchObject({ type: "run-finished", lastStage: 1, totalStages: TOTAL + 1, complete: false });
  });

  it("importing an experiment file only builds a plain value", async () => {
    const runsBefore = existsSync(join(REPO, "runs")) ? readdirSync(join(REPO, "runs")) : null;
    const mod = (await import("./fixtures/experiments/small.js")) as { default: unknown };
    const value = mod.default as Experiment;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    // Plain JSON data: it survives a JSON round trip unchanged, and decodes.
    expect(JSON.parse(JSON.stringify(value))).toEqual(value);
    expect(decodeExperiment(value)).toEqual(value);
    expect(experimentIdentity(value).hash).toMatch(/^[0-9a-f]{64}$/);
    expect(unrollPipeline(value.pipeline)).toHaveLength(6);
    // … and did nothing: no run directory, no store.
    expect(existsSync(join(REPO, "runs")) ? readdirSync(join(REPO, "runs")) : null).toEqual(runsBefore);
    // The builders are pure too.
    expect(ilqg({ from: { kind: "zero" }, iterations: 2 })).toEqual([
      { kind: "initializeTrajectories", method: "ilqg", from: { kind: "zero" } },
      { kind: "repeat", times: 2, body: [{ kind: "ilqgIteration" }] },
    ]);
  });
});
