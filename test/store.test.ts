import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson, decodeValue, digestOf, encodeValue, sha256Hex, type JsonValue } from "../src/runtime/canonical.js";
import {
  BLOB_MIN_CHARS,
  CheckpointNotFoundError,
  CorruptCheckpointError,
  StoreError,
  StoreFormatError,
  appendStageLog,
  blobPath,
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

describe("blobs (large typed arrays stored once)", () => {
  /** 20 000 random doubles, with -0, a NaN with a payload, ±Infinity and a subnormal in it. */
  function bigPool(seed = 1): Float64Array {
    const a = new Float64Array(20_000);
    let x = seed * 0x9e3779b9;
    for (let i = 0; i < a.length; i++) {
      x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
      a[i] = (x / 2 ** 31) * 1e3 + Math.random();
    }
    a[3] = -0;
    new DataView(a.buffer).setBigUint64(5 * 8, 0x7ff8_0000_dead_beefn, true); // NaN with a payload
    new DataView(a.buffer).setBigUint64(6 * 8, 0xfff0_0000_0000_0001n, true); // signalling-pattern NaN
    a[7] = Infinity;
    a[8] = -Infinity;
    a[9] = 5e-324;
    return a;
  }

  function bytesOf(a: Float64Array): Buffer {
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  }

  function poolStage(index: number, pool: Float64Array, extra: Partial<CheckpointInput> = {}): CheckpointInput {
    const state = { iteration: index, pool: { xs: pool, small: new Float64Array([index, -0]) }, rng: [1, 2, 3, index] };
    return { ...stage(index), digest: digestOf(state), state, ...extra };
  }

  function blobFiles(run: RunHandle): string[] {
    const dir = join(run.dir, "blobs");
    return existsSync(dir) ? readdirSync(dir).sort() : [];
  }

  function corruptError(run: RunHandle, index: number): CorruptCheckpointError {
    try {
      readCheckpoint(run, index);
    } catch (e) {
      expect(e).toBeInstanceOf(CorruptCheckpointError);
      return e as CorruptCheckpointError;
    }
    throw new Error("expected CorruptCheckpointError");
  }

  it("stores a large array once, keeps checkpoints small, and reads it back bit for bit", () => {
    const run = newRun();
    const pool = bigPool();
    const original = Buffer.from(bytesOf(pool)); // copy
    recordStage(run, poolStage(0, pool));
    recordStage(run, poolStage(1, pool));

    const tagJson = canonicalJson(encodeValue(pool));
    expect(tagJson.length).toBeGreaterThan(BLOB_MIN_CHARS);
    const hash = sha256Hex(tagJson);
    expect(blobFiles(run)).toEqual([`${hash}.json`]);
    expect(readFileSync(blobPath(run, hash), "utf8")).toBe(tagJson + "\n");

    for (const i of [0, 1]) {
      const file = join(run.dir, "checkpoints", checkpointFileName(i));
      const text = readFileSync(file, "utf8");
      expect(text.length).toBeLessThan(10_000);
      expect(text).toContain(`"xs":{"$blob":"${hash}"}`);
      // The content hash covers the file as written (with the reference).
      const { contentHash, ...rest } = JSON.parse(text);
      expect(contentHash).toBe(sha256Hex(canonicalJson(rest)));

      const rec = readCheckpoint(run, i);
      expect(JSON.stringify(rec.state)).not.toContain("$blob");
      expect(rec.state).toEqual(encodeValue(poolStage(i, pool).state));
      const state = decodeValue(rec.state) as { pool: { xs: Float64Array; small: Float64Array } };
      expect(state.pool.xs).toBeInstanceOf(Float64Array);
      expect(bytesOf(state.pool.xs).equals(original)).toBe(true);
      expect(Object.is(state.pool.xs[3], -0)).toBe(true);
      expect(new DataView(state.pool.xs.buffer).getBigUint64(5 * 8, true)).toBe(0x7ff8_0000_dead_beefn);
      expect(Object.is(state.pool.small[1], -0)).toBe(true);
      expect(rec.digest).toBe(digestOf(decodeValue(rec.state)));
    }
    expect(latestGoodCheckpoint(run).index).toBe(1);
    expect(stageRecords(run).map((r) => r.status)).toEqual(["ok", "ok"]);
    expect(filesUnder(root).some((f) => f.endsWith(".tmp"))).toBe(false);
  });

  it("keeps blobs across truncateAfter; a different array gets its own blob", () => {
    const run = newRun();
    const pool = bigPool(1);
    for (let i = 0; i < 3; i++) recordStage(run, poolStage(i, pool));
    truncateAfter(run, 0);
    const other = bigPool(2);
    recordStage(run, poolStage(1, other));
    expect(blobFiles(run)).toHaveLength(2);
    expect(bytesOf((decodeValue(readCheckpoint(run, 0).state) as { pool: { xs: Float64Array } }).pool.xs).equals(bytesOf(pool))).toBe(true);
    expect(bytesOf((decodeValue(readCheckpoint(run, 1).state) as { pool: { xs: Float64Array } }).pool.xs).equals(bytesOf(other))).toBe(true);
    expect(latestGoodCheckpoint(run).index).toBe(1);
  });

  it("leaves small arrays inline: the threshold is BLOB_MIN_CHARS base64 characters", () => {
    const run = newRun();
    recordStage(run, stage(0));
    expect(existsSync(join(run.dir, "blobs"))).toBe(false);
    // 383 doubles → 4088 base64 characters: inline; 384 → 4096: a blob.
    const below = new Float64Array(383).fill(1.5);
    const at = new Float64Array(384).fill(2.5);
    expect(canonicalJson(encodeValue(below)).length - '{"$f64":""}'.length).toBe(BLOB_MIN_CHARS - 8);
    writeCheckpoint(run, { ...stage(1), state: { a: below } });
    expect(blobFiles(run)).toEqual([]);
    expect(readFileSync(join(run.dir, "checkpoints", "stage-000001.json"), "utf8")).toContain('"a":{"$f64":"');
    writeCheckpoint(run, { ...stage(2), state: { a: at, b: [new Int32Array(BLOB_MIN_CHARS).fill(-7)] } });
    expect(blobFiles(run)).toHaveLength(2);
    const back = decodeValue(readCheckpoint(run, 2).state) as { a: Float64Array; b: Int32Array[] };
    expect(back.a).toEqual(at);
    expect(back.b[0]).toBeInstanceOf(Int32Array);
    expect(back.b[0]).toEqual(new Int32Array(BLOB_MIN_CHARS).fill(-7));
  });

  it("a missing blob makes the checkpoints that use it unreadable; latestGood falls back past them", () => {
    const run = newRun();
    recordStage(run, stage(0)); // no blob
    const pool = bigPool();
    recordStage(run, poolStage(1, pool));
    recordStage(run, poolStage(2, pool));
    const [name] = blobFiles(run);
    const bfile = join(run.dir, "blobs", name);
    rmSync(bfile);
    const ckpt2 = join(run.dir, "checkpoints", "stage-000002.json");
    const before = readFileSync(ckpt2);

    const err = corruptError(run, 2);
    expect(err.reason).toBe("unreadable");
    expect(err.file).toBe(ckpt2);
    expect(err.blobFile).toBe(bfile);
    expect(err.message).toContain(bfile);
    expect(err.message).toContain(ckpt2);
    expect(err.message).toMatch(/referenced at state\.pool\.xs\) is missing/);

    const latest = latestGoodCheckpoint(run);
    expect(latest.index).toBe(0);
    expect(latest.corruptErrors.map((e) => [e.index, e.reason])).toEqual([
      [2, "unreadable"],
      [1, "unreadable"],
    ]);
    expect(stageRecords(run).map((r) => [r.index, r.status, r.source])).toEqual([
      [0, "ok", "checkpoint"],
      [1, "corrupt", "log"],
      [2, "corrupt", "log"],
    ]);
    expect(readFileSync(ckpt2).equals(before)).toBe(true);

    // When every checkpoint uses it, there is no good checkpoint at all.
    const run2 = newRun("other");
    recordStage(run2, poolStage(0, pool));
    rmSync(join(run2.dir, "blobs", name));
    expect(latestGoodCheckpoint(run2)).toMatchObject({ index: null, record: null });
  });

  it("one flipped character in a blob is a hash mismatch naming the blob", () => {
    const run = newRun();
    recordStage(run, stage(0));
    recordStage(run, poolStage(1, bigPool()));
    const [name] = blobFiles(run);
    const bfile = join(run.dir, "blobs", name);
    const text = readFileSync(bfile, "utf8");
    const at = text.indexOf('"$f64":"') + 8 + 1000;
    const flipped = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    writeFileSync(bfile, flipped);
    const err = corruptError(run, 1);
    expect(err.reason).toBe("hash-mismatch");
    expect(err.blobFile).toBe(bfile);
    expect(err.message).toContain(bfile);
    expect(latestGoodCheckpoint(run).index).toBe(0);
    // A cut-short blob is invalid JSON.
    writeFileSync(bfile, text.slice(0, 5000));
    expect(corruptError(run, 1).reason).toBe("invalid-json");
    // A blob that hashes to its name but is not a typed-array tag object.
    const fake = canonicalJson({ $f64: "AAA" });
    const fakeHash = sha256Hex(fake);
    writeFileSync(blobPath(run, fakeHash), fake + "\n");
    const body = { format: 1, index: 2, kind: "k", label: "l", digest: "d", metrics: {}, durationMs: 1, state: { xs: { $blob: fakeHash } } };
    writeFileSync(join(run.dir, "checkpoints", "stage-000002.json"), canonicalJson({ ...body, contentHash: sha256Hex(canonicalJson(body)) }));
    expect(corruptError(run, 2).reason).toBe("schema");
  });

  it("writes blobs before the checkpoint: a failed blob write leaves no checkpoint", () => {
    const run = newRun();
    writeFileSync(join(run.dir, "blobs"), "not a directory");
    expect(() => recordStage(run, poolStage(0, bigPool()))).toThrow();
    expect(listCheckpointIndices(run)).toEqual([]);
    expect(readStageLog(run).entries).toEqual([]);
    rmSync(join(run.dir, "blobs"));
    recordStage(run, poolStage(0, bigPool()));
    expect(latestGoodCheckpoint(run).index).toBe(0);
  });

  it("the next write repairs a damaged blob instead of referencing it again", () => {
    const run = newRun();
    const pool = bigPool();
    recordStage(run, poolStage(0, pool));
    const [name] = blobFiles(run);
    const bfile = join(run.dir, "blobs", name);
    const good = readFileSync(bfile, "utf8");
    writeFileSync(bfile, good.slice(0, 100));
    expect(corruptError(run, 0).reason).toBe("invalid-json");
    recordStage(run, poolStage(1, pool));
    expect(readFileSync(bfile, "utf8")).toBe(good);
    expect(latestGoodCheckpoint(run).index).toBe(1);
    expect(readCheckpoint(run, 0).index).toBe(0);
  });

  it('reserves single-key {"$blob": …} objects: rejected in states, checked in files', () => {
    const run = newRun();
    expect(() => writeCheckpoint(run, { ...stage(0), state: { a: [{ $blob: "0".repeat(64) }] } })).toThrow(
      /state\.a\[0\] has the single key "\$blob"/,
    );
    expect(listCheckpointIndices(run)).toEqual([]);
    // Other objects with a "$blob" key are ordinary data.
    writeCheckpoint(run, { ...stage(0), state: { a: { $blob: "x", y: 1 } } });
    expect(readCheckpoint(run, 0).state).toEqual({ a: { $blob: "x", y: 1 } });
    // A malformed reference in a well-hashed file is a schema error.
    const body = { format: 1, index: 1, kind: "k", label: "l", digest: "d", metrics: {}, durationMs: 1, state: { xs: { $blob: "../x" } } };
    writeFileSync(join(run.dir, "checkpoints", "stage-000001.json"), canonicalJson({ ...body, contentHash: sha256Hex(canonicalJson(body)) }));
    const err = corruptError(run, 1);
    expect(err.reason).toBe("schema");
    expect(err.message).toMatch(/state\.xs: expected a blob reference/);
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
