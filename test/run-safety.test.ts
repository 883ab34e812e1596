/**
 * Issue 13, the store's safety nets in-process: the per-run lock (busy,
 * stale take-over, release), experiment.json verified against run.json's
 * hash on every open, the source file's content hash and provenance in
 * run.json, the run status, what --force may change, non-finite stage
 * results, the plan-time footprint, diff of corrupt runs, list of broken
 * directories, and write errors that name their path.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { lastValueFrom, toArray, type Observable } from "rxjs";
import { condition, experiment, ilqg, policy, repeat, stage, task, type Experiment } from "../src/index.js";
import type { RunEvent } from "../src/runtime/interpreter.js";
import { resumeRun, startRun } from "../src/runtime/session.js";
import { acquireRunLock, readLockOwner, RunBusyError, lockPath } from "../src/runtime/lock.js";
import {
  ExperimentTamperedError,
  listRunEntries,
  openRun,
  readCheckpoint,
  StoreWriteError,
  truncateAfter,
  writeCheckpoint,
  writeFileAtomic,
} from "../src/runtime/store.js";
import { checkStageFinite, firstNonFiniteInState, firstNonFiniteMetric, NonFiniteStageError } from "../src/runtime/finite.js";
import { estimateFootprint, footprintProblems, FootprintError } from "../src/runtime/bounds.js";
import { unfollowableChanges } from "../src/runtime/force.js";
import { describeStatus } from "../src/runtime/run-status.js";
import { gitCommit, currentProvenance } from "../src/runtime/provenance.js";
import { diffRuns } from "../src/runtime/diff.js";
import { exportRun, ExportRequestError } from "../src/runtime/export.js";
import { decodeValue, encodeValue, type JsonValue } from "../src/runtime/canonical.js";
import type { RunState } from "../src/algorithms/state.js";
import { REPO } from "./helpers/cli.js";

const roots: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "gps-safety-"));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

const collect = (events: Observable<RunEvent>): Promise<RunEvent[]> => lastValueFrom(events.pipe(toArray()));

const tiny: Experiment = experiment({
  name: "tiny",
  seed: 3,
  task: task.swimmer({ horizon: 10 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.1, 0.1, -0.1], [0, 0, 0, 0, 0])],
  pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 2 })],
});

/** A PID that is certainly not alive: a child that has exited. */
function deadPid(): number {
  return Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }));
}

describe("per-run lock", () => {
  it("a second writer is refused with the holder; release frees it; a stale lock on this host is taken over", () => {
    const dir = tmp();
    const first = acquireRunLock(dir, () => new Date("2026-01-02T03:04:05.000Z"));
    expect(readLockOwner(dir)).toEqual({ pid: process.pid, host: hostname(), since: "2026-01-02T03:04:05.000Z" });
    expect(() => acquireRunLock(dir)).toThrow(RunBusyError);
    expect(() => acquireRunLock(dir)).toThrow(`run is busy (pid ${process.pid} on ${hostname()} since 2026-01-02T03:04:05.000Z)`);
    first.release();
    expect(existsSync(lockPath(dir))).toBe(false);
    const again = acquireRunLock(dir);
    expect(again.tookOverFrom).toBeNull();
    again.release();

    const gone = deadPid();
    writeFileSync(lockPath(dir), JSON.stringify({ pid: gone, host: hostname(), since: "2026-01-01T00:00:00.000Z" }));
    const taken = acquireRunLock(dir);
    expect(taken.tookOverFrom).toEqual({ pid: gone, host: hostname(), since: "2026-01-01T00:00:00.000Z" });
    expect(readLockOwner(dir)?.pid).toBe(process.pid);
    taken.release();
    expect(readdirSync(dir)).toEqual([]); // no debris

    // A lock file left unreadable (its writer died between creating and writing it):
    // busy while fresh (someone may be writing it now), stale once old.
    writeFileSync(lockPath(dir), "");
    expect(() => acquireRunLock(dir)).toThrow(/run is busy/);
    utimesSync(lockPath(dir), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const fromUnreadable = acquireRunLock(dir);
    expect(fromUnreadable.tookOverFrom?.since).toMatch(/unreadable/);
    fromUnreadable.release();

    // Another host's lock is never judged stale: its processes cannot be seen from here.
    writeFileSync(lockPath(dir), JSON.stringify({ pid: gone, host: `${hostname()}-elsewhere`, since: "2026-01-01T00:00:00.000Z" }));
    expect(() => acquireRunLock(dir)).toThrow(/run is busy/);
  });

  it("a run holds its lock while it runs, resume is refused meanwhile, and the lock is released at the end", async () => {
    const started = startRun(tiny, { store: tmp(), stopAfterStage: 0 });
    expect(readLockOwner(started.run.dir)?.pid).toBe(process.pid);
    expect(() => resumeRun(started.run.dir)).toThrow(RunBusyError);
    await collect(started.events);
    expect(existsSync(lockPath(started.run.dir))).toBe(false);
    expect(openRun(started.run.dir).meta.status).toMatchObject({ state: "stopped", lastStage: 0, pid: process.pid });
    const resumed = resumeRun(started.run.dir);
    expect(openRun(started.run.dir).meta.status?.state).toBe("running");
    await collect(resumed.events);
    expect(openRun(started.run.dir).meta.status).toMatchObject({ state: "complete", lastStage: 2 });
    expect(existsSync(lockPath(started.run.dir))).toBe(false);
  });
});

describe("run.json", () => {
  it("records the source's content hash and the provenance", async () => {
    const store = tmp();
    const source = join(REPO, "test/fixtures/experiments/small.ts");
    const started = startRun(tiny, { store, source, stopAfterStage: 0 });
    await collect(started.events);
    const meta = openRun(started.run.dir).meta;
    expect(meta.source).toBe(source);
    expect(meta.sourceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.provenance).toEqual(currentProvenance());
    expect(meta.provenance?.packageVersion).toBe(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version);
    expect(meta.provenance?.node).toBe(process.version);
    expect(meta.provenance?.mujocoJs).toMatch(/^\d+\.\d+\.\d+/);
    // This checkout is a git worktree: HEAD's commit is found without spawning git.
    const head = execFileSync("git", ["-C", REPO, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    expect(gitCommit()).toBe(head);
    expect(gitCommit(tmp())).toBeNull();
  });

  it("a hand-edited experiment.json is refused on open, by readers too", async () => {
    const started = startRun(tiny, { store: tmp(), stopAfterStage: 1 });
    await collect(started.events);
    const file = join(started.run.dir, "experiment.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"horizon":10', '"horizon":12'));
    expect(() => openRun(started.run.dir)).toThrow(ExperimentTamperedError);
    expect(() => openRun(started.run.dir)).toThrow("experiment.json does not match the hash recorded in run.json — the run was edited by hand");
    expect(() => resumeRun(started.run.dir)).toThrow(ExperimentTamperedError);
    expect(listRunEntries(join(started.run.dir, ".."))[0].error).toMatch(/edited by hand/);
  });

  it("status descriptions: a running run whose process is gone reads as stopped", () => {
    const at = "2026-01-01T00:00:00.000Z";
    const running = { state: "running" as const, pid: 4242, host: "h", at, lastStage: 3 };
    expect(describeStatus(running, null)).toBe("stopped (process 4242 gone)");
    expect(describeStatus(running, { pid: 4242, host: "h", since: at }, () => true)).toBe("stopped (process 4242 gone)");
    expect(describeStatus(running, { pid: 4242, host: "h", since: at }, () => false)).toBe(`running (pid 4242 on h since ${at})`);
    expect(describeStatus({ ...running, state: "failed", message: "boom" }, null)).toBe("failed: boom");
    expect(describeStatus(undefined, null)).toBe("unknown");
  });
});

describe("--force", () => {
  it("refuses task, horizon, conditions, seed and policy changes; takes pipeline changes", () => {
    const paths = ["task.horizon", "task.kind", "conditions[1].qvel[0]", "conditions", "seed", "policy.hidden", "pipeline[1].times", "pipeline[2].noise", "name"];
    const refused = unfollowableChanges(paths.map((path) => ({ path, from: 1, to: 2 }))).map((r) => r.change.path);
    expect(refused).toEqual(["task.horizon", "task.kind", "conditions[1].qvel[0]", "conditions", "seed", "policy.hidden"]);
  });

  it("a horizon change is refused under --force, naming the reason, and nothing is written", async () => {
    const started = startRun(tiny, { store: tmp(), stopAfterStage: 1 });
    await collect(started.events);
    const before = readdirSync(join(started.run.dir, "checkpoints"));
    const longer = { ...tiny, task: task.swimmer({ horizon: 12 }) };
    expect(() => resumeRun(started.run.dir, { currentExperiment: longer, force: true })).toThrow(/task\.horizon: 10 → 12 .*start a new run instead/s);
    expect(readdirSync(join(started.run.dir, "checkpoints"))).toEqual(before);
    expect(existsSync(join(started.run.dir, "experiment.1.json"))).toBe(false);
    expect(existsSync(lockPath(started.run.dir))).toBe(false); // released on the refusal
  });
});

describe("non-finite stage results", () => {
  it("names the quantity: state paths with the element, metrics by name; +∞ only in policy.inputStd", () => {
    const state = { conditions: [{ x: new Float64Array([1, 2]) }, { trajectory: { xbar: new Float64Array([0, 1, NaN]) } }] };
    expect(firstNonFiniteInState(state)).toEqual({ path: "conditions[1].trajectory.xbar", element: 2, value: NaN });
    expect(firstNonFiniteInState({ policy: { inputStd: new Float64Array([1, Infinity]) } })).toBeNull();
    expect(firstNonFiniteInState({ policy: { inputStd: new Float64Array([1, NaN]) } })?.path).toBe("policy.inputStd");
    expect(firstNonFiniteInState({ policy: { theta: new Float64Array([Infinity]) } })?.path).toBe("policy.theta");
    expect(firstNonFiniteMetric({ cost: NaN })).toEqual({ path: "metrics.cost", element: null, value: NaN });
    expect(firstNonFiniteMetric({ costs: [1, -Infinity] })).toEqual({ path: "metrics.costs", element: 1, value: -Infinity });
    expect(firstNonFiniteMetric({ cost: 1, fallSteps: [-1, -1], demonstrationGainNorm: NaN, gainMus: [NaN] })).toBeNull();
    expect(() => checkStageFinite(4, "ilqgIteration 3/10", state, { cost: 1 })).toThrow(
      "stage 4 (ilqgIteration 3/10): conditions[1].trajectory.xbar has NaN at element 2",
    );
    expect(() => checkStageFinite(4, "x", {}, { cost: NaN })).toThrow("stage 4 (x): metrics.cost is NaN");
    // A diagnostics stage reports NaN where a quantity does not exist; its state is still checked.
    expect(() => checkStageFinite(5, "diagnoseTrajectories", {}, { jumpAtContact: [NaN] }, "diagnoseTrajectories")).not.toThrow();
    expect(() => checkStageFinite(5, "diagnoseTrajectories", { x: [NaN] }, {}, "diagnoseTrajectories")).toThrow(/x has NaN at element 0/);
  });

  it("a diverging initial state fails stage 0 before it is checkpointed", async () => {
    const wild: Experiment = { ...tiny, conditions: [condition.state([0, 0, 0, 0, 0], [1e200, 0, 0, 0, 0])] };
    const started = startRun(wild, { store: tmp() });
    await expect(collect(started.events)).rejects.toThrow(NonFiniteStageError);
    expect(readdirSync(join(started.run.dir, "checkpoints"))).toEqual([]);
    expect(openRun(started.run.dir).meta.status).toMatchObject({ state: "failed", message: expect.stringMatching(/^stage 0 \(initializeTrajectories\): .* (is|has) (NaN|-?Infinity)/) });
    expect(existsSync(lockPath(started.run.dir))).toBe(false);
  });

  it("export refuses a checkpoint whose controller holds NaN, naming it", async () => {
    const started = startRun(tiny, { store: tmp() });
    await collect(started.events);
    const run = openRun(started.run.dir);
    const last = readCheckpoint(run, 2);
    const state = decodeValue(last.state as JsonValue) as RunState;
    const bad = { ...state, conditions: state.conditions.map((c, i) => (i === 1 && c.trajectory ? { ...c, trajectory: { ...c.trajectory, K: c.trajectory.K.map((v, j) => (j === 7 ? NaN : v)) } } : c)) };
    truncateAfter(run, 1);
    writeCheckpoint(run, { index: 2, kind: last.kind, label: last.label, digest: last.digest, metrics: last.metrics, durationMs: 0, state: encodeValue(bad) });
    expect(() => exportRun(run, { condition: 1 })).toThrow(ExportRequestError);
    expect(() => exportRun(run, { condition: 1 })).toThrow(/stage 2, condition 1: controller\.K\[0\]\[0\] has NaN at element 7/);
    expect(() => exportRun(run, { condition: 0 })).not.toThrow();
  });
});

describe("plan-time footprint", () => {
  it("estimates trajectories and sample pools, and refuses what the machine cannot hold, before any write", () => {
    const f = estimateFootprint(tiny, { nx: 10, nu: 4 });
    expect(f.stages).toBe(3);
    // Per condition and step: state covariance and linearization (2·nx² + 2·nx·nu), K, k, the action covariance and the nominal.
    const trajectoryBytes = 2 * 10 * (2 * 100 + 2 * 40 + 16 + 2 * 4 + 10) * 8;
    expect(f.stateBytes).toBe(trajectoryBytes);
    // On disk only what a stage writes anew: initializeTrajectories and the two iLQG iterations their trajectories.
    expect(f.diskBytes).toBeCloseTo(3 * trajectoryBytes * (4 / 3), 3);
    const pooled = estimateFootprint({ ...tiny, pipeline: [...tiny.pipeline, stage.guidingSamples({ samples: 5 })] }, { nx: 10, nu: 4 });
    expect(pooled.stateBytes - f.stateBytes).toBe(2 * 5 * (11 * 10 + 10 * 4 + 10) * 8);
    // Samples a stage draws and drops (constrained GPS's fitTheta/updateLambda, evaluate) are not
    // kept: 100 such stages cost the peak of the largest draw once, no state, and on disk only
    // each fit's θ (the trajectories are blobs the checkpoints share).
    const perSample = (11 * 10 + 10 * 4 + 10) * 8;
    const dropped = estimateFootprint(
      { ...tiny, pipeline: [...tiny.pipeline, repeat(50, [stage.fitTheta({ maxIterations: 1, samples: 10 }), stage.updateLambda({ stepSize: 0.01, samples: 20 })])] },
      { nx: 10, nu: 4 },
    );
    expect(dropped.stages).toBe(103);
    expect(dropped.stateBytes).toBe(f.stateBytes);
    expect(dropped.memoryBytes).toBe(f.memoryBytes + 2 * 20 * perSample);
    const theta = (10 + 1) * 8 + (8 + 1) * 4 + 4 + 2 * 10; // policy.mlp({ hidden: 8 }) with nx 10, nu 4, input normalization
    const withPolicy = { ...tiny, policy: policy.mlp({ hidden: 8 }) };
    const fits = estimateFootprint({ ...withPolicy, pipeline: [...tiny.pipeline, repeat(50, [stage.fitTheta({ maxIterations: 1, samples: 10 }), stage.updateLambda({ stepSize: 0.01, samples: 20 })])] }, { nx: 10, nu: 4 });
    expect(fits.diskBytes - f.diskBytes).toBeCloseTo(50 * theta * 8 * (4 / 3), 3);
    // A trajectory step rewrites every condition's q; an evaluate writes the root tracks of its
    // conditions and the states of each test push, over its own horizon.
    const steps = estimateFootprint({ ...withPolicy, pipeline: [...tiny.pipeline, repeat(3, [stage.optimizeQ({ iterations: 1 })])] }, { nx: 10, nu: 4 });
    expect(steps.diskBytes - f.diskBytes).toBeCloseTo(3 * trajectoryBytes * (4 / 3), 3);
    const pushed = estimateFootprint(
      { ...tiny, pipeline: [...tiny.pipeline, stage.evaluate({ noise: false, horizon: 30, conditions: [1], pushes: [{ force: 100, direction: "forward", onset: 0.05 }, { force: 100, direction: "backward", onset: 0.09 }] })] },
      { nx: 10, nu: 4 },
    );
    expect(pushed.diskBytes - f.diskBytes).toBeCloseTo(31 * (2 + 2 * 10) * 8 * (4 / 3), 3);
    // adaptWr's 3 resampled rollouts of π_θ join the pool (3 in all, spread over the conditions).
    const resampled = estimateFootprint({ ...tiny, pipeline: [...tiny.pipeline, stage.adaptWr({ resample: 3 })] }, { nx: 10, nu: 4 });
    expect(resampled.stateBytes - f.stateBytes).toBe(3 * perSample);
    expect(footprintProblems(f, { memoryBytes: 1e12, diskFreeBytes: 1e12 })).toEqual([]);
    expect(footprintProblems(f, { memoryBytes: 1000, diskFreeBytes: 10 })).toHaveLength(2);

    const store = join(tmp(), "store");
    const huge: Experiment = { ...tiny, task: task.swimmer({ horizon: 100_000 }), conditions: Array.from({ length: 2000 }, () => condition.rest()) };
    expect(() => startRun(huge, { store })).toThrow(FootprintError);
    expect(() => startRun(huge, { store })).toThrow(/needs about [\d.]+ (GiB|TiB) of memory per checkpoint, more than this machine's/);
    expect(existsSync(store)).toBe(false);
  });
});

describe("readers of damaged stores", () => {
  it("diff flags a corrupt checkpoint in either run instead of calling the runs identical", async () => {
    const store = tmp();
    const started = startRun(tiny, { store });
    await collect(started.events);
    const copy = join(store, "copy");
    cpSync(started.run.dir, copy, { recursive: true });
    expect(diffRuns(openRun(started.run.dir), openRun(copy)).identical).toBe(true);
    const file = join(copy, "checkpoints", "stage-000001.json");
    writeFileSync(file, readFileSync(file, "utf8").replace(/"state":\{/, '"state":{"x":1,'));
    for (const [a, b, side] of [[started.run.dir, copy, "b"], [copy, started.run.dir, "a"]] as const) {
      const d = diffRuns(openRun(a), openRun(b));
      expect(d.identical).toBe(false);
      expect(d.problems).toEqual([{ run: side, index: 1, problem: expect.stringMatching(/stage-000001\.json.*content hash mismatch/) }]);
    }
  });

  it("list keeps directories with checkpoints but no run.json, as broken", () => {
    const store = tmp();
    mkdirSync(join(store, "orphan", "checkpoints"), { recursive: true });
    mkdirSync(join(store, "unrelated"));
    const entries = listRunEntries(store);
    expect(entries.map((e) => [e.name, e.run === null])).toEqual([["orphan", true]]);
    expect(entries[0].error).toMatch(/no run\.json/);
  });
});

describe("write errors", () => {
  it("name the path (Node's own message for a failed write does not)", () => {
    const e = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const w = new StoreWriteError("/runs/x/checkpoints/stage-000003.json", e);
    expect(w.message).toBe("cannot write /runs/x/checkpoints/stage-000003.json: no space left on device");
    expect(w.code).toBe("ENOSPC");
    // A real refusal: the target's directory is a file.
    const dir = tmp();
    writeFileSync(join(dir, "file"), "");
    expect(() => writeFileAtomic(join(dir, "file", "x.json"), "{}")).toThrow(/ENOTDIR/);
  });
});
