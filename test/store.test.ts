import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson, decodeValue, digestOf, encodeValue, sha256Hex, type JsonValue } from "../src/runtime/canonical.js";
import {
  CheckpointNotFoundError,
  CorruptCheckpointError,
  StoreError,
  StoreFormatError,
  appendStageLog,
  checkpointFileName,
  createRun,
  latestGoodCheckpoint,
  listCheckpointIndices,
  listRunEntries,
  listRuns,
  openRun,
  readCheckpoint,
  readExperiment,
  readRunMeta,
  readStageLog,
  recordStage,
  stageRecords,
  truncateAfter,
  writeCheckpoint,
  writeFileAtomic,
  type CheckpointInput,
  type RunHandle,
} from "../src/runtime/store.js";

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "gps-store-test-"));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const experiment = { name: "swimmer ilqg", task: { name: "swimmer", horizon: 50 }, seed: 1, x0: new Float64Array([0, -0, 1e-310]) };
const experimentJson = encodeValue(experiment);
const experimentHash = digestOf(experiment);

function newRun(name = "swimmer-ilqg"): RunHandle {
  return createRun(join(root, "runs"), experimentJson, experimentHash, name, "experiments/swimmer-ilqg.ts", {
    now: () => new Date("2024-01-02T03:04:05.000Z"),
  });
}

function stage(index: number, extra: Partial<CheckpointInput> = {}): CheckpointInput {
  const state = { iteration: index, xs: new Float64Array([index, index + 0.5, -0, NaN]), rng: [1, 2, 3, 4 + index] };
  return {
    index,
    kind: index === 0 ? "initializeTrajectories" : "ilqgIteration",
    label: `stage ${index}`,
    digest: digestOf(state),
    metrics: { cost: 100 - index, costs: [1, 2 + index], diverged: index === 2 ? Infinity : 0 },
    durationMs: 10 + index,
    state,
    ...extra,
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String).sort();
}

describe("writeFileAtomic", () => {
  it("writes and replaces a file without leaving temp files", () => {
    const f = join(root, "a.json");
    writeFileAtomic(f, "one");
    writeFileAtomic(f, new Uint8Array([0x74, 0x77, 0x6f]));
    expect(readFileSync(f, "utf8")).toBe("two");
    expect(readdirSync(root)).toEqual(["a.json"]);
  });

  it("leaves the target untouched and no temp file when the write fails", () => {
    const f = join(root, "a.json");
    writeFileAtomic(f, "keep");
    // Renaming a file over a non-empty directory fails.
    const d = join(root, "dir");
    mkdirSync(d);
    writeFileSync(join(d, "x"), "x");
    expect(() => writeFileAtomic(d, "data")).toThrow();
    expect(readdirSync(root).sort()).toEqual(["a.json", "dir"]);
    expect(readFileSync(f, "utf8")).toBe("keep");
  });
});

describe("createRun / openRun / listRuns", () => {
  it("lays out a run directory as documented", () => {
    const run = newRun();
    expect(run.name).toBe(`swimmer-ilqg-${experimentHash.slice(0, 8)}-001`);
    expect(filesUnder(run.dir)).toEqual(["checkpoints", "experiment.json", "run.json", "stages.jsonl"]);
    expect(readFileSync(join(run.dir, "experiment.json"), "utf8")).toBe(canonicalJson(experimentJson) + "\n");
    expect(readFileSync(join(run.dir, "stages.jsonl"), "utf8")).toBe("");
    const meta = JSON.parse(readFileSync(join(run.dir, "run.json"), "utf8"));
    expect(meta).toEqual({
      format: 1,
      experimentHash,
      experimentName: "swimmer-ilqg",
      source: "experiments/swimmer-ilqg.ts",
      createdAt: "2024-01-02T03:04:05.000Z",
    });
  });

  it("picks the first free counter and makes names filesystem-safe", () => {
    const a = newRun();
    const b = newRun();
    expect(b.name.endsWith("-002")).toBe(true);
    rmSync(a.dir, { recursive: true });
    expect(newRun().name.endsWith("-001")).toBe(true);
    const odd = newRun("../my exp/α");
    expect(odd.name).toBe(`my_exp-${experimentHash.slice(0, 8)}-001`);
    expect(odd.meta.experimentName).toBe("../my exp/α");
  });

  it("opens a run and reads back meta and experiment", () => {
    const run = newRun();
    const again = openRun(run.dir);
    expect(again.dir).toBe(run.dir);
    expect(readRunMeta(again)).toEqual(run.meta);
    expect(readExperiment(again)).toEqual(experimentJson);
    const exp = decodeValue(readExperiment(again)) as typeof experiment;
    expect(Object.is(exp.x0[1], -0)).toBe(true);
    expect(exp.x0[2]).toBe(1e-310);
  });

  it("gives clear errors for directories that are not runs", () => {
    expect(() => openRun(join(root, "nope"))).toThrow(/does not exist/);
    mkdirSync(join(root, "plain"));
    expect(() => openRun(join(root, "plain"))).toThrow(/Not a run directory.*no run\.json/);
    const run = newRun();
    rmSync(join(run.dir, "experiment.json"));
    expect(() => openRun(run.dir)).toThrow(/no experiment\.json/);
  });

  it("names the file and field of a malformed run.json", () => {
    const run = newRun();
    const metaFile = join(run.dir, "run.json");
    writeFileSync(metaFile, JSON.stringify({ format: 1, experimentHash, experimentName: 7, createdAt: "x" }));
    const err = (() => {
      try {
        openRun(run.dir);
      } catch (e) {
        return e as StoreFormatError;
      }
      throw new Error("expected a throw");
    })();
    expect(err).toBeInstanceOf(StoreFormatError);
    expect(err.file).toBe(metaFile);
    expect(err.message).toContain(metaFile);
    expect(err.message).toMatch(/experimentName: expected string, got 7/);
    writeFileSync(metaFile, '{"format": 1,');
    expect(() => openRun(run.dir)).toThrow(/run\.json.*not valid JSON/);
  });

  it("lists runs sorted, and reports broken run directories separately", () => {
    expect(listRuns(join(root, "missing"))).toEqual([]);
    const a = newRun("b-exp");
    const b = newRun("a-exp");
    mkdirSync(join(root, "runs", "notes"));
    const broken = join(root, "runs", `c-exp-${experimentHash.slice(0, 8)}-001`);
    mkdirSync(broken);
    expect(listRuns(join(root, "runs"))).toEqual([b.dir, a.dir]);
    const entries = listRunEntries(join(root, "runs"));
    expect(entries.map((e) => [e.name, e.run !== null])).toEqual([
      [b.name, true],
      [a.name, true],
      [`c-exp-${experimentHash.slice(0, 8)}-001`, false],
    ]);
    expect(entries[2].error).toMatch(/no run\.json/);
  });
});

describe("checkpoints", () => {
  it("writes a self-verifying record and reads it back", () => {
    const run = newRun();
    const path = writeCheckpoint(run, stage(0));
    expect(path).toBe(join(run.dir, "checkpoints", "stage-000000.json"));
    const raw = JSON.parse(readFileSync(path, "utf8"));
    const { contentHash, ...rest } = raw;
    expect(contentHash).toBe(sha256Hex(canonicalJson(rest)));
    expect(Object.keys(raw).sort()).toEqual(["contentHash", "digest", "durationMs", "format", "index", "kind", "label", "metrics", "state"]);
    const rec = readCheckpoint(run, 0);
    expect(rec.index).toBe(0);
    expect(rec.kind).toBe("initializeTrajectories");
    expect(rec.metrics).toEqual({ cost: 100, costs: [1, 2], diverged: 0 });
    const state = decodeValue(rec.state) as { xs: Float64Array };
    expect(state.xs).toBeInstanceOf(Float64Array);
    expect(Object.is(state.xs[2], -0)).toBe(true);
    expect(Number.isNaN(state.xs[3])).toBe(true);
    expect(rec.digest).toBe(digestOf(decodeValue(rec.state)));
    expect(readdirSync(join(run.dir, "checkpoints"))).toEqual(["stage-000000.json"]);
  });

  it("stores non-finite metrics", () => {
    const run = newRun();
    recordStage(run, stage(2));
    expect(readCheckpoint(run, 2).metrics.diverged).toBe(Infinity);
    expect(readStageLog(run).entries[0].metrics.diverged).toBe(Infinity);
  });

  it("refuses to overwrite an existing checkpoint", () => {
    const run = newRun();
    writeCheckpoint(run, stage(0));
    expect(() => writeCheckpoint(run, stage(0))).toThrow(/already exists/);
  });

  it("throws CheckpointNotFoundError for a missing index", () => {
    const run = newRun();
    expect(() => readCheckpoint(run, 3)).toThrow(CheckpointNotFoundError);
  });

  function writeThree(run: RunHandle): void {
    for (let i = 0; i < 3; i++) recordStage(run, stage(i));
  }

  function expectCorrupt(run: RunHandle, index: number, reason: string): CorruptCheckpointError {
    try {
      readCheckpoint(run, index);
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptCheckpointError);
      const err = e as CorruptCheckpointError;
      expect(err.reason).toBe(reason);
      expect(err.file).toBe(join(run.dir, "checkpoints", checkpointFileName(index)));
      expect(err.message).toContain(err.file);
      return err;
    }
    throw new Error("expected CorruptCheckpointError");
  }

  it("detects a checkpoint truncated to half its bytes; latestGood falls back and leaves the file untouched", () => {
    const run = newRun();
    writeThree(run);
    const file = join(run.dir, "checkpoints", "stage-000002.json");
    const full = readFileSync(file);
    writeFileSync(file, full.subarray(0, Math.floor(full.length / 2)));
    const before = readFileSync(file);
    const err = expectCorrupt(run, 2, "invalid-json");
    expect(err.message).toMatch(/not valid JSON/);
    const latest = latestGoodCheckpoint(run);
    expect(latest.index).toBe(1);
    expect(latest.record?.label).toBe("stage 1");
    expect(latest.corrupt).toHaveLength(1);
    expect(latest.corrupt[0]).toContain(file);
    expect(latest.corruptErrors[0].index).toBe(2);
    expect(latest.missing).toEqual([]);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(file)).toBe(true);
  });

  it("detects one flipped digit in the state by its content hash", () => {
    const run = newRun();
    writeThree(run);
    const file = join(run.dir, "checkpoints", "stage-000002.json");
    const text = readFileSync(file, "utf8");
    // The state's rng array is [1,2,3,6]: flip the 6 to a 7.
    const at = text.indexOf('"rng":[1,2,3,6]');
    expect(at).toBeGreaterThan(0);
    const pos = at + '"rng":[1,2,3,'.length;
    const flipped = text.slice(0, pos) + "7" + text.slice(pos + 1);
    writeFileSync(file, flipped);
    const err = expectCorrupt(run, 2, "hash-mismatch");
    expect(err.message).toMatch(/content hash mismatch/);
    const latest = latestGoodCheckpoint(run);
    expect(latest.index).toBe(1);
    expect(readFileSync(file, "utf8")).toBe(flipped);
  });

  it("detects a flipped bit inside base64 typed-array data", () => {
    const run = newRun();
    writeThree(run);
    const file = join(run.dir, "checkpoints", "stage-000001.json");
    const text = readFileSync(file, "utf8");
    const at = text.indexOf('"$f64":"') + 8;
    const c = text[at];
    writeFileSync(file, text.slice(0, at) + (c === "A" ? "B" : "A") + text.slice(at + 1));
    expectCorrupt(run, 1, "hash-mismatch");
    // Stage 2 is still the latest good one; the corrupt stage 1 below it is not reported (not scanned).
    expect(latestGoodCheckpoint(run).index).toBe(2);
  });

  it("reports a record whose index does not match its file name", () => {
    const run = newRun();
    writeCheckpoint(run, stage(0));
    const src = join(run.dir, "checkpoints", "stage-000000.json");
    writeFileSync(join(run.dir, "checkpoints", "stage-000005.json"), readFileSync(src));
    expectCorrupt(run, 5, "wrong-index");
    expect(latestGoodCheckpoint(run)).toMatchObject({ index: 0, missing: [1, 2, 3, 4] });
  });

  it("names the field of a well-hashed but malformed record", () => {
    const run = newRun();
    const body = {
      format: 1,
      index: 0,
      kind: "x",
      label: "y",
      digest: "d",
      metrics: { cost: "high" },
      durationMs: 1,
      state: null,
    };
    const text = canonicalJson({ ...body, contentHash: sha256Hex(canonicalJson(body)) });
    writeFileSync(join(run.dir, "checkpoints", "stage-000000.json"), text);
    const err = expectCorrupt(run, 0, "schema");
    expect(err.message).toMatch(/metrics\.cost: expected/);
  });

  it("returns index null when no checkpoint verifies", () => {
    const run = newRun();
    expect(latestGoodCheckpoint(run)).toMatchObject({ index: null, record: null, corrupt: [] });
    writeFileSync(join(run.dir, "checkpoints", "stage-000000.json"), "");
    const latest = latestGoodCheckpoint(run);
    expect(latest.index).toBeNull();
    expect(latest.corrupt[0]).toMatch(/stage-000000\.json.*empty/);
  });
});

describe("stage log and stageRecords", () => {
  it("appends one canonical line per stage", () => {
    const run = newRun();
    recordStage(run, stage(0));
    recordStage(run, stage(1));
    const lines = readFileSync(run.stageLogPath, "utf8").split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    expect(JSON.parse(lines[0])).toEqual({
      index: 0,
      kind: "initializeTrajectories",
      label: "stage 0",
      digest: stage(0).digest,
      metrics: { cost: 100, costs: [1, 2], diverged: 0 },
      durationMs: 10,
      checkpoint: "stage-000000.json",
    });
    const log = readStageLog(run);
    expect(log.entries.map((e) => e.index)).toEqual([0, 1]);
    expect(log.truncatedTail).toBe(false);
    expect(log.warnings).toEqual([]);
  });

  it("tolerates a truncated last line, and a later append starts on a fresh line", () => {
    const run = newRun();
    recordStage(run, stage(0));
    appendFileSync(run.stageLogPath, '{"index":1,"kind":"ilq');
    let log = readStageLog(run);
    expect(log.truncatedTail).toBe(true);
    expect(log.entries.map((e) => e.index)).toEqual([0]);
    expect(log.warnings[0]).toMatch(/line 2 is cut short/);
    recordStage(run, stage(1));
    log = readStageLog(run);
    expect(log.truncatedTail).toBe(false);
    expect(log.skipped).toEqual([{ line: 2, text: '{"index":1,"kind":"ilq' }]);
    expect(log.entries.map((e) => e.index)).toEqual([0, 1]);
  });

  it("names the line and field of a malformed log line", () => {
    const run = newRun();
    appendFileSync(run.stageLogPath, '{"index":-1,"kind":"k","label":"l","digest":"d","metrics":{},"durationMs":1,"checkpoint":"c"}\n');
    expect(() => readStageLog(run)).toThrow(/stages\.jsonl line 1: index: expected non-negative integer, got -1/);
  });

  it("stageRecords shows a stage whose log line is missing (killed between checkpoint and log append)", () => {
    const run = newRun();
    recordStage(run, stage(0));
    writeCheckpoint(run, stage(1)); // no appendStageLog
    const recs = stageRecords(run);
    expect(recs.map((r) => [r.index, r.status, r.source, r.logged])).toEqual([
      [0, "ok", "checkpoint", true],
      [1, "ok", "checkpoint", false],
    ]);
    expect(recs[1]).toMatchObject({ kind: "ilqgIteration", label: "stage 1", digest: stage(1).digest, durationMs: 11, checkpoint: "stage-000001.json" });
  });

  it("stageRecords prefers the checkpoint, falls back to the log for corrupt ones, and flags missing files", () => {
    const run = newRun();
    recordStage(run, stage(0));
    recordStage(run, stage(1));
    recordStage(run, stage(2));
    appendStageLog(run, { ...stage(3), label: "logged only" });
    writeFileSync(join(run.dir, "checkpoints", "stage-000001.json"), "{");
    const recs = stageRecords(run);
    expect(recs.map((r) => [r.index, r.status, r.source])).toEqual([
      [0, "ok", "checkpoint"],
      [1, "corrupt", "log"],
      [2, "ok", "checkpoint"],
      [3, "missing-checkpoint", "log"],
    ]);
    expect(recs[1].label).toBe("stage 1");
    expect(recs[1].problem).toMatch(/stage-000001\.json/);
    expect(recs[3].label).toBe("logged only");
  });
});

describe("truncateAfter", () => {
  it("moves later checkpoints aside, keeps them, and marks the log", () => {
    const run = newRun();
    for (let i = 0; i < 4; i++) recordStage(run, stage(i));
    const before2 = readFileSync(join(run.dir, "checkpoints", "stage-000002.json"));
    const r = truncateAfter(run, 1);
    expect(r.moved).toEqual(["stage-000002.json", "stage-000003.json"]);
    expect(r.supersededDir).toBe(join(run.dir, "checkpoints", "superseded-1"));
    expect(listCheckpointIndices(run)).toEqual([0, 1]);
    expect(readdirSync(r.supersededDir!).sort()).toEqual(["stage-000002.json", "stage-000003.json"]);
    expect(readFileSync(join(r.supersededDir!, "stage-000002.json")).equals(before2)).toBe(true);
    const lastLine = readFileSync(run.stageLogPath, "utf8").trimEnd().split("\n").pop();
    expect(lastLine).toBe('{"resumedFrom":1}');
    expect(readStageLog(run).entries.map((e) => e.index)).toEqual([0, 1]);
    expect(stageRecords(run).map((r) => r.index)).toEqual([0, 1]);
    expect(latestGoodCheckpoint(run).index).toBe(1);

    // Resume: stage 2 again, with a different result.
    recordStage(run, stage(2, { label: "stage 2 (again)" }));
    expect(readCheckpoint(run, 2).label).toBe("stage 2 (again)");
    expect(readStageLog(run).entries.map((e) => e.label)).toEqual(["stage 0", "stage 1", "stage 2 (again)"]);

    // A second resume gets its own directory; nothing is lost.
    const r2 = truncateAfter(run, -1);
    expect(r2.supersededDir).toBe(join(run.dir, "checkpoints", "superseded-2"));
    expect(r2.moved).toEqual(["stage-000000.json", "stage-000001.json", "stage-000002.json"]);
    expect(readdirSync(join(run.dir, "checkpoints", "superseded-1")).sort()).toEqual(["stage-000002.json", "stage-000003.json"]);
    expect(readStageLog(run).entries).toEqual([]);
    expect(latestGoodCheckpoint(run).index).toBeNull();
  });

  it("moves corrupt checkpoints too, without changing them", () => {
    const run = newRun();
    for (let i = 0; i < 3; i++) recordStage(run, stage(i));
    const file = join(run.dir, "checkpoints", "stage-000002.json");
    writeFileSync(file, "garbage");
    expect(latestGoodCheckpoint(run).index).toBe(1);
    const r = truncateAfter(run, 1);
    expect(readFileSync(join(r.supersededDir!, "stage-000002.json"), "utf8")).toBe("garbage");
  });

  it("only appends the marker when nothing is later", () => {
    const run = newRun();
    recordStage(run, stage(0));
    expect(truncateAfter(run, 0)).toEqual({ supersededDir: null, moved: [] });
    expect(readdirSync(join(run.dir, "checkpoints"))).toEqual(["stage-000000.json"]);
    expect(readStageLog(run).lines.at(-1)).toMatchObject({ type: "resume", resumedFrom: 0 });
    expect(() => truncateAfter(run, -2)).toThrow(TypeError);
  });
});

describe("no temp files", () => {
  it("a full run leaves only the documented files", () => {
    const run = newRun();
    for (let i = 0; i < 3; i++) recordStage(run, stage(i));
    truncateAfter(run, 0);
    recordStage(run, stage(1));
    expect(filesUnder(run.dir)).toEqual([
      "checkpoints",
      join("checkpoints", "stage-000000.json"),
      join("checkpoints", "stage-000001.json"),
      join("checkpoints", "superseded-1"),
      join("checkpoints", "superseded-1", "stage-000001.json"),
      join("checkpoints", "superseded-1", "stage-000002.json"),
      "experiment.json",
      "run.json",
      "stages.jsonl",
    ]);
    expect(filesUnder(root).some((f) => f.endsWith(".tmp"))).toBe(false);
  });

  it("StoreError is the base of the store's errors", () => {
    const run = newRun();
    writeFileSync(join(run.dir, "checkpoints", "stage-000000.json"), "x");
    expect(() => readCheckpoint(run, 0)).toThrow(StoreError);
    void (experimentJson as JsonValue);
  });
});
