/**
 * The embedded run store: every file effect of a run lives here.
 *
 * The on-disk layout is specified in docs/store-format.md; keep the two in
 * step. In short:
 *
 *   <store>/<experimentName>-<hash8>-<NNN>/
 *     experiment.json          canonical JSON of the experiment value
 *     run.json                 meta (format, experimentHash, experimentName, source?, createdAt)
 *     stages.jsonl             append-only stage log (+ {"resumedFrom": K} markers)
 *     checkpoints/
 *       stage-000000.json      one self-verifying record per finished stage
 *       superseded-1/          checkpoints moved aside by truncateAfter
 *     blobs/                   only once a state holds a large typed array
 *       <sha256>.json          one large typed-array tag object, shared by checkpoints
 *
 * All whole-file writes go through `writeFileAtomic` (temp file in the same
 * directory, fsync, rename, fsync directory). The stage log is the only file
 * written in place, by appending whole lines and fsyncing. Nothing here
 * deletes or overwrites a checkpoint: corrupt ones stay where they are until
 * a resume moves them into a `superseded-<n>/` directory.
 *
 * Blobs (content-addressed deduplication of large immutable arrays): in the
 * encoded state of a checkpoint, every typed-array tag object
 * (`{"$f64"|"$i32"|"$u32": base64}`) whose base64 has at least
 * `BLOB_MIN_CHARS` characters is stored once, as `blobs/<h>.json` holding the
 * tag object's canonical JSON, where h = sha256Hex(canonicalJson(tag object));
 * the checkpoint file holds `{"$blob": h}` in its place, and its contentHash
 * covers the file as written (references, not blob contents). Blobs are
 * written before the checkpoint that references them, so a crash leaves at
 * worst an unreferenced blob. `readCheckpoint` verifies each referenced blob
 * (its content must hash to h and be a well-formed tag object) and puts it
 * back: `{"$blob": …}` never appears in a state handed to or returned by the
 * store, and a single-key `{"$blob": …}` object in a state to be written is
 * rejected. Blobs are shared by all checkpoints of the run (superseded ones
 * included) and never deleted.
 *
 * A run is written by one process at a time: run/resume hold the run's lock
 * (src/runtime/lock.ts); readers take none.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import {
  canonicalJson,
  sha256Hex,
  encodeValue,
  TYPED_ARRAY_TAGS,
  type JsonObject,
  type JsonValue,
  type TypedArrayTag,
  tagObjectDigest,
  DeferredTag,
} from "./canonical.js";

export const STORE_FORMAT = 1 as const;
export const DEFAULT_STORE_DIR = "runs";
export const EXPERIMENT_FILE = "experiment.json";
export const RUN_META_FILE = "run.json";
export const STAGE_LOG_FILE = "stages.jsonl";
export const CHECKPOINTS_DIR = "checkpoints";
/** Directory (in the run directory) of the content-addressed blobs. */
export const BLOBS_DIR = "blobs";
/**
 * A typed-array tag object in a checkpoint's encoded state whose base64
 * string has at least this many characters (3 KiB of data, 384 doubles) is
 * stored as a blob instead of inline: small enough that a policy's θ snapshot
 * or a batch's rewards, repeated in every later checkpoint, are stored once;
 * one file per such array is cheap next to one copy per checkpoint.
 */
export const BLOB_MIN_CHARS = 4096;
/** Typed arrays of this many bytes or more always become blobs (their base64 has BLOB_MIN_CHARS or more). */
export const BLOB_MIN_BYTES = (3 * BLOB_MIN_CHARS) / 4;
/** Key of a blob reference `{"$blob": "<sha256 hex>"}`; appears only in checkpoint files. */
export const BLOB_TAG = "$blob";

// ---------------------------------------------------------------------------
// Types

/** A metric: a number or a list of numbers (e.g. one per condition). */
export type MetricValue = number | readonly number[];
/** Metrics of a stage. Non-finite numbers are stored as {"$num": …} and come back as numbers. */
export type StageMetrics = Readonly<Record<string, MetricValue>>;

export interface RunMeta {
  readonly format: 1;
  readonly experimentHash: string;
  readonly experimentName: string;
  /** Path of the .ts file the experiment came from, if any. */
  readonly source?: string;
  /** ISO-8601 creation time. Meta only: never part of a digest. */
  readonly createdAt: string;
  /**
   * Seed given on the command line in place of the experiment file's, if any
   * (the stored experiment.json already has it; this lets a resume re-apply
   * it to the source file as it reads now).
   */
  readonly seedOverride?: number;
  /**
   * The policy kernels the run computes with (src/algorithms/numerics.ts).
   * Absent in runs made before the batched kernels: those used "per-row",
   * and a resume keeps using it.
   */
  readonly numerics?: "per-row" | "batched";
  /** sha256 of the source file's bytes when the run started (absent in older runs). */
  readonly sourceHash?: string;
  /**
   * The command line's overrides (`--seed`, `--set`, a sweep's combination), in the
   * order applied to the resolved experiment (src/runtime/overrides.ts). The stored
   * experiment.json already has them; a resume re-applies them to the source file
   * as it reads now. Absent in older runs and runs without overrides.
   */
  readonly overrides?: readonly { readonly path: string; readonly value: unknown }[];
  /** The sweep this run belongs to (`<store>/sweeps/<id>.json`) and its place in it. */
  readonly sweep?: { readonly id: string; readonly index: number };
  /** Where the run stands; rewritten atomically at each transition (src/runtime/run-status.ts). */
  readonly status?: RunStatusRecord;
  /** What computed the run (src/runtime/provenance.ts). Meta only. */
  readonly provenance?: Provenance;
}

export type RunState = "running" | "stopped" | "failed" | "complete";

export interface RunStatusRecord {
  readonly state: RunState;
  /** The process that wrote this status (a "running" run whose process is gone was killed). */
  readonly pid: number;
  readonly host: string;
  /** ISO-8601 time of the transition. Meta only. */
  readonly at: string;
  /** Last stage with a checkpoint when the status was written (-1: none). */
  readonly lastStage: number;
  /** Why it failed or stopped. */
  readonly message?: string;
}

export interface Provenance {
  readonly packageVersion: string;
  /** Commit of the package's git checkout, null when it is not one. */
  readonly gitCommit: string | null;
  readonly node: string;
  readonly mujocoJs: string | null;
}

export interface RunHandle {
  /** Absolute path of the run directory. */
  readonly dir: string;
  /** Directory name: `<experimentName>-<hash8>-<NNN>`. */
  readonly name: string;
  readonly meta: RunMeta;
  /** Parsed experiment.json. */
  readonly experiment: JsonValue;
  readonly checkpointsDir: string;
  readonly stageLogPath: string;
}

/** What a stage hands to `writeCheckpoint`. */
export interface CheckpointInput {
  readonly index: number;
  readonly kind: string;
  readonly label: string;
  /** Caller's digest of the stage result (opaque to the store). */
  readonly digest: string;
  readonly metrics: StageMetrics;
  readonly durationMs: number;
  /** State after the stage; stored as `encodeValue(state)` (already-encoded JSON is fine too). */
  readonly state: unknown;
  /**
   * `encodeValue(state)`, when the caller has it already (the interpreter
   * encodes a state once, for its digest and its checkpoint). It must be that
   * function's fresh output: the store takes it over and changes it.
   */
  readonly encoded?: JsonValue;
}

/** A checkpoint file's content, verified. `state` is the encoded JSON: use `decodeValue` to get typed arrays back. */
export interface CheckpointRecord {
  readonly format: 1;
  readonly index: number;
  readonly kind: string;
  readonly label: string;
  readonly digest: string;
  readonly metrics: StageMetrics;
  readonly durationMs: number;
  /** sha256Hex(canonicalJson(every other field of the file)). */
  readonly contentHash: string;
  readonly state: JsonValue;
}

/** One finished stage in stages.jsonl. `checkpoint` is the file name inside checkpoints/. */
export interface StageLogEntry {
  readonly index: number;
  readonly kind: string;
  readonly label: string;
  readonly digest: string;
  readonly metrics: StageMetrics;
  readonly durationMs: number;
  readonly checkpoint: string;
  /** A digest per run-state slot (src/runtime/slots.ts); absent in runs recorded before them. */
  readonly slots?: Readonly<Record<string, string>>;
}

/** What `appendStageLog` takes: `checkpoint` defaults to `checkpointFileName(index)`. */
export type StageLogInput = Omit<StageLogEntry, "checkpoint"> & { readonly checkpoint?: string };

/** A line of stages.jsonl, as read. `line` is 1-based. */
export type StageLogLine =
  | { readonly type: "stage"; readonly line: number; readonly entry: StageLogEntry }
  | { readonly type: "resume"; readonly line: number; readonly resumedFrom: number };

export interface StageLog {
  /** Every well-formed line, in file order. */
  readonly lines: readonly StageLogLine[];
  /**
   * The effective entries, sorted by index: a `resumedFrom: K` marker drops
   * earlier entries with index > K, and a later entry for an index replaces
   * an earlier one.
   */
  readonly entries: readonly StageLogEntry[];
  /** The last line was cut short (no newline, not parseable) and was ignored. */
  readonly truncatedTail: boolean;
  /** Lines that were not valid JSON (torn writes) and were ignored. */
  readonly skipped: readonly { readonly line: number; readonly text: string }[];
  /** Human-readable notes about everything tolerated above. */
  readonly warnings: readonly string[];
}

/**
 * A stage as `stageRecords` reports it. The StageLogEntry fields come from the
 * verified checkpoint when `status` is "ok" (`source: "checkpoint"`), else
 * from stages.jsonl (`source: "log"`); a corrupt checkpoint that the log does
 * not mention has `source: "none"` and placeholder fields (kind "unknown",
 * label "<corrupt checkpoint>", digest "", metrics {}, durationMs 0).
 */
export interface StageRecord extends StageLogEntry {
  readonly status: "ok" | "corrupt" | "missing-checkpoint";
  readonly source: "checkpoint" | "log" | "none";
  /** An effective stages.jsonl entry exists for this index. */
  readonly logged: boolean;
  /** Why the stage is not "ok" (names the file); null when it is. */
  readonly problem: string | null;
}

export interface LatestGood {
  /** Highest index whose checkpoint verifies, or null if none does. */
  readonly index: number | null;
  readonly record: CheckpointRecord | null;
  /** Messages (file and reason) for the checkpoints above `index` that failed verification, highest first. They are left untouched on disk. */
  readonly corrupt: readonly string[];
  /** The same, as errors (`file`, `index`, `reason`). */
  readonly corruptErrors: readonly CorruptCheckpointError[];
  /** Indices below the highest checkpoint file that have no checkpoint file at all. */
  readonly missing: readonly number[];
}

export interface RunListEntry {
  readonly dir: string;
  readonly name: string;
  /** null when the directory could not be opened as a run (see `error`). */
  readonly run: RunHandle | null;
  readonly error: string | null;
}

export interface TruncateResult {
  /** Absolute path of the superseded-<n> directory, or null if nothing was moved. */
  readonly supersededDir: string | null;
  /** File names that were moved. */
  readonly moved: readonly string[];
}

export interface CreateRunOptions {
  /** Clock for `createdAt` (tests). */
  readonly now?: () => Date;
  /** Recorded as run.json's `seedOverride`. */
  readonly seedOverride?: number;
  /** Recorded as run.json's `numerics`. */
  readonly numerics?: "per-row" | "batched";
  /** Recorded as run.json's `sourceHash`. */
  readonly sourceHash?: string;
  /** Recorded as run.json's `status`. */
  readonly status?: RunStatusRecord;
  /** Recorded as run.json's `overrides`. */
  readonly overrides?: RunMeta["overrides"];
  /** Recorded as run.json's `sweep`. */
  readonly sweep?: RunMeta["sweep"];
  /** Recorded as run.json's `provenance`. */
  readonly provenance?: Provenance;
  /**
   * The run directory's name in place of `<name>-<hash8>-<NNN>` (a job queue
   * derives it from the job, so that a later worker finds the run). Claimed
   * with mkdir: a name that exists is refused (RunNameTakenError).
   */
  readonly name?: string;
}

/** A name given for a run directory: letters, digits, `.`, `_`, `-`, not starting with `.` or `-`, at most 200 characters. */
export const RUN_DIR_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

// ---------------------------------------------------------------------------
// Errors

export class StoreError extends Error {
  /** The file or directory concerned. */
  readonly file: string;
  constructor(message: string, file: string) {
    super(message);
    this.name = "StoreError";
    this.file = file;
  }
}

/** A store file (run.json, stages.jsonl, experiment.json) that does not parse or has the wrong shape. */
export class StoreFormatError extends StoreError {
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[], where = "") {
    super(`Malformed ${file}${where}: ${problems.join("; ")}`, file);
    this.name = "StoreFormatError";
    this.problems = problems;
  }
}

/** A directory given as a run that is not one (missing, not a directory, no run.json or experiment.json): bad input. */
export class NotARunError extends StoreError {
  constructor(message: string, file: string) {
    super(message, file);
    this.name = "NotARunError";
  }
}

/** A run directory name given for a new run (`gps run --name`) that is already taken: bad input, nothing written. */
export class RunNameTakenError extends StoreError {
  constructor(dir: string) {
    super(`a run directory named ${basename(dir)} already exists: ${dir} (gps resume ${dir} continues it)`, dir);
    this.name = "RunNameTakenError";
  }
}

/** experiment.json no longer hashes to run.json's experimentHash: someone edited the run. Bad input; never resumed. */
export class ExperimentTamperedError extends StoreError {
  constructor(file: string) {
    super(`${file} does not match the hash recorded in run.json — the run was edited by hand`, file);
    this.name = "ExperimentTamperedError";
  }
}

/**
 * A write that the file system refused (disk full, read-only, permission):
 * names the path, which Node's own message for a failed write does not.
 */
export class StoreWriteError extends StoreError {
  readonly code: string;
  constructor(file: string, cause: NodeJS.ErrnoException) {
    super(`cannot write ${file}: ${WRITE_ERROR_TEXT[cause.code ?? ""] ?? cause.message}`, file);
    this.name = "StoreWriteError";
    this.code = cause.code ?? "";
  }
}

const WRITE_ERROR_TEXT: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
};

/** The errno codes that become a `StoreWriteError`: conditions of the machine, not bugs. */
export const WRITE_ERROR_CODES: ReadonlySet<string> = new Set(Object.keys(WRITE_ERROR_TEXT));

function asWriteError(file: string, e: unknown): unknown {
  const code = errCode(e);
  return code !== undefined && WRITE_ERROR_CODES.has(code) ? new StoreWriteError(file, e as NodeJS.ErrnoException) : e;
}

export type CorruptReason = "unreadable" | "invalid-json" | "bad-format" | "hash-mismatch" | "schema" | "wrong-index";

/**
 * A checkpoint that does not verify. `file` is always the checkpoint file;
 * when the fault is in a blob it references (missing: "unreadable"; damaged:
 * "invalid-json", "hash-mismatch" or "schema"), `blobFile` names the blob and
 * the message names both.
 */
export class CorruptCheckpointError extends StoreError {
  readonly index: number;
  readonly reason: CorruptReason;
  /** The referenced blob file at fault, or null when the checkpoint file itself is. */
  readonly blobFile: string | null;
  constructor(file: string, index: number, reason: CorruptReason, detail: string, blobFile: string | null = null) {
    super(`Corrupt checkpoint ${file} (stage ${index}): ${detail}`, file);
    this.name = "CorruptCheckpointError";
    this.index = index;
    this.reason = reason;
    this.blobFile = blobFile;
  }
}

export class CheckpointNotFoundError extends StoreError {
  readonly index: number;
  constructor(file: string, index: number) {
    super(`No checkpoint for stage ${index}: ${file} does not exist`, file);
    this.name = "CheckpointNotFoundError";
    this.index = index;
  }
}

// ---------------------------------------------------------------------------
// io-ts codecs and a reporter that names field paths

const NonNegInt = new t.Type<number, number, unknown>(
  "non-negative integer",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0,
  (u, c) => (typeof u === "number" && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const FiniteNumber = new t.Type<number, number, unknown>(
  "finite number",
  (u): u is number => typeof u === "number" && Number.isFinite(u),
  (u, c) => (typeof u === "number" && Number.isFinite(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const HexHash = new t.Type<string, string, unknown>(
  "lowercase hex string of at least 8 digits",
  (u): u is string => typeof u === "string" && /^[0-9a-f]{8,}$/.test(u),
  (u, c) => (typeof u === "string" && /^[0-9a-f]{8,}$/.test(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const NonFiniteTag = t.type({ $num: t.keyof({ NaN: null, Infinity: null, "-Infinity": null }) }, '{"$num": "NaN" | "Infinity" | "-Infinity"}');
const StoredNumber = t.union([t.number, NonFiniteTag], 'number or {"$num": …}');
const StoredMetric = t.union([t.number, NonFiniteTag, t.array(StoredNumber)], 'number, {"$num": …} or array of numbers');
const MetricsC = t.record(t.string, StoredMetric, "metrics");
type StoredNumberT = t.TypeOf<typeof StoredNumber>;
type StoredMetricsT = t.TypeOf<typeof MetricsC>;

const RunStatusC = t.intersection(
  [
    t.type({
      state: t.keyof({ running: null, stopped: null, failed: null, complete: null }),
      pid: NonNegInt,
      host: t.string,
      at: t.string,
      lastStage: t.union([NonNegInt, t.literal(-1)], "integer >= -1"),
    }),
    t.partial({ message: t.string }),
  ],
  "run status",
);

const ProvenanceC = t.type(
  { packageVersion: t.string, gitCommit: t.union([t.string, t.null]), node: t.string, mujocoJs: t.union([t.string, t.null]) },
  "provenance",
);

const RunMetaC = t.intersection(
  [
    t.type({ format: t.literal(1), experimentHash: HexHash, experimentName: t.string, createdAt: t.string }),
    t.partial({
      source: t.string,
      seedOverride: NonNegInt,
      numerics: t.keyof({ "per-row": null, batched: null }),
      sourceHash: HexHash,
      status: RunStatusC,
      provenance: ProvenanceC,
      overrides: t.array(t.type({ path: t.string, value: t.unknown }), "overrides"),
      sweep: t.type({ id: t.string, index: NonNegInt }, "sweep"),
    }),
  ],
  "run meta",
);

const StageFields = {
  index: NonNegInt,
  kind: t.string,
  label: t.string,
  digest: t.string,
  metrics: MetricsC,
  durationMs: FiniteNumber,
};

const StageLogEntryC = t.intersection([t.type({ ...StageFields, checkpoint: t.string }), t.partial({ slots: t.record(t.string, t.string) })], "stage log entry");
const ResumeMarkerC = t.type({ resumedFrom: t.union([NonNegInt, t.literal(-1)], "integer >= -1") }, "resume marker");

const CheckpointC = t.type(
  { format: t.literal(1), ...StageFields, contentHash: t.string, state: t.unknown },
  "checkpoint record",
);

const TRANSPARENT = new Set(["IntersectionType", "RefinementType", "ExactType", "ReadonlyType", "StrictType"]);
const INDEXED = new Set(["ArrayType", "ReadonlyArrayType", "TupleType"]);

function showActual(v: unknown): string {
  if (v === undefined) return "missing";
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return `got ${s.length > 60 ? s.slice(0, 60) + "…" : s}`;
}

/** `field.path: expected <type>, got <value>` for each decode error (unions reported once, at the union). */
function reportErrors(errors: t.Errors): string[] {
  const out = new Set<string>();
  for (const e of errors) {
    let path = "";
    let expected = e.context[e.context.length - 1]?.type.name ?? "?";
    let actual: unknown = e.value;
    for (let i = 1; i < e.context.length; i++) {
      const parent = e.context[i - 1].type as unknown as { _tag?: string; name: string };
      if (parent._tag === "UnionType") {
        expected = parent.name;
        actual = e.context[i - 1].actual;
        break;
      }
      if (parent._tag !== undefined && TRANSPARENT.has(parent._tag)) continue;
      const key = e.context[i].key;
      if (parent._tag !== undefined && INDEXED.has(parent._tag)) path += `[${key}]`;
      else path += path === "" ? key : `.${key}`;
      if (i === e.context.length - 1) break;
    }
    out.add(`${path === "" ? "<root>" : path}: expected ${expected}, ${showActual(actual)}`);
  }
  return [...out];
}

function decodeWith<A>(codec: t.Decoder<unknown, A>, value: unknown, onError: (problems: string[]) => never): A {
  const r = codec.decode(value);
  if (isLeft(r)) onError(reportErrors(r.left));
  return (r as { right: A }).right;
}

function encodeMetrics(m: StageMetrics, what: string): JsonObject {
  if (m === null || typeof m !== "object" || Array.isArray(m)) {
    throw new TypeError(`${what}: metrics must be an object of numbers or number arrays`);
  }
  const out: JsonObject = {};
  for (const k of Object.keys(m)) {
    const v: unknown = m[k];
    const ok = typeof v === "number" || (Array.isArray(v) && v.every((x) => typeof x === "number"));
    if (!ok) throw new TypeError(`${what}: metric "${k}" must be a number or an array of numbers`);
    out[k] = encodeValue(v);
  }
  return out;
}

function decodeStoredNumber(v: StoredNumberT): number {
  if (typeof v === "number") return v;
  return v.$num === "NaN" ? NaN : v.$num === "Infinity" ? Infinity : -Infinity;
}

function decodeMetrics(m: StoredMetricsT): StageMetrics {
  const out: Record<string, MetricValue> = {};
  for (const k of Object.keys(m)) {
    const v = m[k];
    out[k] = Array.isArray(v) ? v.map(decodeStoredNumber) : decodeStoredNumber(v as StoredNumberT);
  }
  return out;
}

function checkStageFields(x: Omit<StageLogEntry, "checkpoint">, what: string): void {
  if (!Number.isSafeInteger(x.index) || x.index < 0) throw new TypeError(`${what}: index must be a non-negative integer, got ${x.index}`);
  if (typeof x.kind !== "string") throw new TypeError(`${what}: kind must be a string`);
  if (typeof x.label !== "string") throw new TypeError(`${what}: label must be a string`);
  if (typeof x.digest !== "string") throw new TypeError(`${what}: digest must be a string`);
  if (typeof x.durationMs !== "number" || !Number.isFinite(x.durationMs)) {
    throw new TypeError(`${what}: durationMs must be a finite number, got ${x.durationMs}`);
  }
}

// ---------------------------------------------------------------------------
// Low-level file helpers

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** fsync a directory so that renames/creations inside it are durable. No-op where the platform refuses. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch (e) {
    if (["EISDIR", "EPERM", "EACCES"].includes(errCode(e) ?? "")) return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    if (!["EISDIR", "EINVAL", "EPERM", "EBADF", "ENOTSUP"].includes(errCode(e) ?? "")) throw e;
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
}

/**
 * Replace `path` with `data` atomically: write a temp file in the same
 * directory (`.<name>.<pid>.<random>.tmp`), fsync it, rename it over `path`,
 * fsync the directory. Readers see the old file or the new one, never a mix;
 * on failure the temp file is removed and `path` is untouched.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  let created = false;
  try {
    const fd = openSync(tmp, "wx", 0o644);
    created = true;
    try {
      writeAll(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
  } catch (e) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        /* best effort */
      }
    }
    throw asWriteError(path, e);
  }
  fsyncDir(dir);
}

/** `mkdir -p`, a refusal by the file system named by its path (StoreWriteError). */
function mkdirWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw asWriteError(dir, e);
  }
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new StoreError(`Cannot read ${file}: ${(e as Error).message}`, file);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new StoreFormatError(file, [`not valid JSON (${(e as Error).message})`]);
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Runs

const RUN_NAME = /^.+-[0-9a-f]{8}-\d{3,}$/;

function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._-]+|[._-]+$/g, "");
  return s === "" ? "experiment" : s;
}

/**
 * Create a new run directory `<store>/<name>-<hash8>-<NNN>` (NNN: the first
 * free counter from 001) holding experiment.json, an empty stages.jsonl,
 * checkpoints/ and, written last, run.json. `experimentName` is made
 * filesystem-safe for the directory name (run.json keeps it as given).
 */
export function createRun(
  storeDir: string,
  experimentJson: JsonValue,
  experimentHash: string,
  experimentName: string,
  source?: string,
  options: CreateRunOptions = {},
): RunHandle {
  if (!/^[0-9a-f]{8,}$/.test(experimentHash)) {
    throw new TypeError(`createRun: experimentHash must be a lowercase hex digest (>= 8 digits), got ${JSON.stringify(experimentHash)}`);
  }
  if (typeof experimentName !== "string") throw new TypeError("createRun: experimentName must be a string");
  if (options.seedOverride !== undefined && !(Number.isSafeInteger(options.seedOverride) && options.seedOverride >= 0)) {
    throw new TypeError(`createRun: seedOverride must be a non-negative integer, got ${options.seedOverride}`);
  }
  const experimentText = canonicalJson(experimentJson) + "\n"; // validates before touching the disk
  const store = resolve(storeDir);
  mkdirSync(store, { recursive: true });

  if (options.name !== undefined && !RUN_DIR_NAME.test(options.name)) {
    throw new TypeError(`createRun: name must match ${RUN_DIR_NAME}, got ${JSON.stringify(options.name)}`);
  }
  const prefix = `${safeName(experimentName)}-${experimentHash.slice(0, 8)}-`;
  const taken = new Set(readdirSync(store));
  let dir = "";
  if (options.name !== undefined) {
    dir = join(store, options.name);
    try {
      mkdirSync(dir); // claims the name atomically
    } catch (e) {
      if (errCode(e) === "EEXIST") throw new RunNameTakenError(dir);
      throw e;
    }
  }
  for (let n = 1; dir === ""; n++) {
    const name = prefix + String(n).padStart(3, "0");
    if (taken.has(name)) continue;
    try {
      mkdirSync(join(store, name)); // claims the name atomically
      dir = join(store, name);
      break;
    } catch (e) {
      if (errCode(e) !== "EEXIST") throw e;
    }
  }
  fsyncDir(store);

  const meta: RunMeta = {
    format: STORE_FORMAT,
    experimentHash,
    experimentName,
    ...(source !== undefined ? { source } : {}),
    createdAt: (options.now ?? (() => new Date()))().toISOString(),
    ...(options.seedOverride !== undefined ? { seedOverride: options.seedOverride } : {}),
    ...(options.numerics !== undefined ? { numerics: options.numerics } : {}),
    ...(options.sourceHash !== undefined ? { sourceHash: options.sourceHash } : {}),
    ...(options.status !== undefined ? { status: options.status } : {}),
    ...(options.provenance !== undefined ? { provenance: options.provenance } : {}),
    ...(options.overrides !== undefined && options.overrides.length > 0 ? { overrides: options.overrides } : {}),
    ...(options.sweep !== undefined ? { sweep: options.sweep } : {}),
  };
  mkdirSync(join(dir, CHECKPOINTS_DIR));
  writeFileAtomic(join(dir, EXPERIMENT_FILE), experimentText);
  writeFileAtomic(join(dir, STAGE_LOG_FILE), "");
  writeFileAtomic(join(dir, RUN_META_FILE), canonicalJson(meta as unknown as JsonObject) + "\n");
  return handle(dir, meta, JSON.parse(experimentText) as JsonValue);
}

/** The run's meta (run.json), as read by `openRun`. */
export function readRunMeta(run: RunHandle): RunMeta {
  return run.meta;
}

/** The run's experiment (experiment.json, encoded JSON: `decodeValue` it for typed arrays), as read by `openRun`. */
export function readExperiment(run: RunHandle): JsonValue {
  return run.experiment;
}

function handle(dir: string, meta: RunMeta, experiment: JsonValue): RunHandle {
  return {
    dir,
    name: basename(dir),
    meta,
    experiment,
    checkpointsDir: join(dir, CHECKPOINTS_DIR),
    stageLogPath: join(dir, STAGE_LOG_FILE),
  };
}

/** Open an existing run directory; throws a `StoreError` naming the directory/file if it is not a (complete, well-formed) run. */
export function openRun(dir: string): RunHandle {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new NotARunError(`Not a run directory: ${abs} does not exist`, abs);
  if (!isDirectory(abs)) throw new NotARunError(`Not a run directory: ${abs} is not a directory`, abs);
  const metaFile = join(abs, RUN_META_FILE);
  const expFile = join(abs, EXPERIMENT_FILE);
  if (!existsSync(metaFile)) {
    throw new NotARunError(`Not a run directory: ${abs} has no ${RUN_META_FILE} (a run still being created, or not a run)`, abs);
  }
  if (!existsSync(expFile)) throw new NotARunError(`Incomplete run directory: ${abs} has no ${EXPERIMENT_FILE}`, abs);
  const raw = readJsonFile(metaFile);
  const meta = decodeWith(RunMetaC, raw, (p) => {
    throw new StoreFormatError(metaFile, p);
  });
  const experiment = readJsonFile(expFile) as JsonValue;
  // Every open, readers included: a hand-edited experiment.json would make a
  // resume continue under another experiment and a diff compare the wrong ones.
  let actualHash: string;
  try {
    actualHash = sha256Hex(canonicalJson(experiment));
  } catch {
    throw new ExperimentTamperedError(expFile);
  }
  if (actualHash !== meta.experimentHash) throw new ExperimentTamperedError(expFile);
  return handle(abs, meta as RunMeta, experiment);
}

/**
 * Replace run.json with `meta` (atomically). The caller holds the run's lock;
 * the returned handle carries the new meta.
 */
export function writeRunMeta(run: RunHandle, meta: RunMeta): RunHandle {
  writeFileAtomic(join(run.dir, RUN_META_FILE), canonicalJson(meta as unknown as JsonObject) + "\n");
  return handle(run.dir, meta, run.experiment);
}

/**
 * Absolute paths of the run directories in a store (those holding run.json),
 * sorted by name. A missing store gives [].
 */
export function listRuns(storeDir: string): string[] {
  const store = resolve(storeDir);
  if (!isDirectory(store)) return [];
  return readdirSync(store, { withFileTypes: true })
    .filter((ent) => ent.isDirectory() && !ent.name.startsWith(".") && existsSync(join(store, ent.name, RUN_META_FILE)))
    .map((ent) => ent.name)
    .sort()
    .map((name) => join(store, name));
}

/**
 * Like `listRuns`, but opens each run and also lists directories whose name
 * looks like a run (`…-<hash8>-<NNN>`) but that do not open (no run.json,
 * malformed files), with `run: null` and the error. Files, hidden and foreign
 * directories are skipped.
 */
export function listRunEntries(storeDir: string): RunListEntry[] {
  const store = resolve(storeDir);
  if (!isDirectory(store)) return [];
  const out: RunListEntry[] = [];
  for (const ent of readdirSync(store, { withFileTypes: true })) {
    if (!ent.isDirectory() || ent.name.startsWith(".")) continue;
    const dir = join(store, ent.name);
    const looksLikeRun = RUN_NAME.test(ent.name) || existsSync(join(dir, RUN_META_FILE)) || isDirectory(join(dir, CHECKPOINTS_DIR));
    if (!looksLikeRun) continue;
    try {
      out.push({ dir, name: ent.name, run: openRun(dir), error: null });
    } catch (e) {
      out.push({ dir, name: ent.name, run: null, error: (e as Error).message });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---------------------------------------------------------------------------
// Checkpoints

const CHECKPOINT_FILE = /^stage-(\d{6,})\.json$/;

/** `stage-000042.json` (at least 6 digits). */
export function checkpointFileName(index: number): string {
  return `stage-${String(index).padStart(6, "0")}.json`;
}

export function checkpointPath(run: RunHandle, index: number): string {
  return join(run.checkpointsDir, checkpointFileName(index));
}

/** Indices of the checkpoint files currently in checkpoints/ (not superseded ones), ascending. */
export function listCheckpointIndices(run: RunHandle): number[] {
  if (!isDirectory(run.checkpointsDir)) return [];
  const out: number[] = [];
  for (const name of readdirSync(run.checkpointsDir)) {
    const m = CHECKPOINT_FILE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------
// Blobs

const BLOB_HASH = /^[0-9a-f]{64}$/;
const BASE64_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
const TAG_BYTES: Record<TypedArrayTag, number> = { $f64: 8, $i32: 4, $u32: 4 };

/** Absolute path of blob `hash` (64 lowercase hex digits) of a run: `<run>/blobs/<hash>.json`. */
export function blobPath(run: RunHandle, hash: string): string {
  return join(run.dir, BLOBS_DIR, `${hash}.json`);
}

function isTypedArrayTagKey(k: string): k is TypedArrayTag {
  return (TYPED_ARRAY_TAGS as readonly string[]).includes(k);
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** The tag of `v` if it is a well-formed typed-array tag object (valid base64 of a whole number of elements). */
function wellFormedTypedArrayTag(v: unknown): TypedArrayTag | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || !isTypedArrayTagKey(keys[0])) return undefined;
  const tag = keys[0];
  const s = (v as Record<string, unknown>)[tag];
  if (typeof s !== "string" || s.length % 4 !== 0 || !BASE64_TEXT.test(s)) return undefined;
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const bytes = (s.length / 4) * 3 - pad;
  return bytes % TAG_BYTES[tag] === 0 ? tag : undefined;
}

/**
 * Replace, in place, every large typed-array tag object of an encoded state
 * (fresh from `encodeValue`) by a `{"$blob": h}` reference, collecting
 * h → canonical JSON of the tag object in `blobs`. A single-key `{"$blob": …}`
 * object in the state is rejected: the key is reserved for references.
 */
function externalizeBlobs(v: JsonValue, path: string, blobs: Map<string, PendingBlob>): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof DeferredTag) {
    const blob = tagObjectDigest(v);
    blobs.set(blob.hash, blob);
    return { [BLOB_TAG]: blob.hash };
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === "object") v[i] = externalizeBlobs(x, childPath(path, i), blobs);
    }
    return v;
  }
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0];
    if (k === BLOB_TAG) {
      throw new TypeError(
        `writeCheckpoint: the object at ${path} has the single key "${BLOB_TAG}", which the store reserves for blob references; rename the key`,
      );
    }
    if (isTypedArrayTagKey(k)) {
      const payload = v[k];
      if (typeof payload !== "string" || payload.length < BLOB_MIN_CHARS) return v;
      const blob = tagObjectDigest(v);
      blobs.set(blob.hash, blob);
      return { [BLOB_TAG]: blob.hash };
    }
  }
  for (const k of keys) {
    const x = v[k];
    // Own data properties only (fresh from encodeValue / JSON.parse), so plain assignment is safe even for "__proto__".
    if (x !== null && typeof x === "object") v[k] = externalizeBlobs(x, childPath(path, k), blobs);
  }
  return v;
}

/**
 * Blob files this process wrote or found intact, with their byte lengths: a
 * sample pool's blobs are referenced by every later checkpoint, and reading
 * hundreds of MB back at every stage to compare them would cost more than the
 * stage. Such a blob is checked by its size (a truncated or half-written file
 * is rewritten); others are compared byte for byte.
 */
const knownBlobs = new Map<string, number>();

/** A blob to write: its name, the length of its file (text + newline) and its text, made when needed. */
type PendingBlob = ReturnType<typeof tagObjectDigest>;

/**
 * Make sure `blobs/<hash>.json` holds the blob's text + "\n": written atomically when
 * missing; an existing file with exactly those bytes is left alone, one with
 * other bytes (damaged) is replaced atomically by the right content (which
 * its name fixes), so that it does not break this and every later
 * checkpoint. A blob in `knownBlobs` whose file has its size is left alone
 * unread.
 */
function writeBlob(run: RunHandle, hash: string, blob: PendingBlob): void {
  const file = blobPath(run, hash);
  const bytes = blob.bytes + 1;
  if (knownBlobs.get(file) === bytes) {
    try {
      if (statSync(file).size === bytes) return;
    } catch (e) {
      if (errCode(e) !== "ENOENT") throw e;
    }
  }
  const data = Buffer.from(blob.text() + "\n", "utf8");
  let existing: Buffer | null = null;
  try {
    existing = readFileSync(file);
  } catch (e) {
    if (errCode(e) !== "ENOENT") throw e;
  }
  if (existing === null || !existing.equals(data)) writeFileAtomic(file, data);
  knownBlobs.set(file, data.length);
}

/** A blob read and verified during one call (readCheckpoint, latestGoodCheckpoint, stageRecords). */
interface VerifiedBlob {
  readonly tag: TypedArrayTag;
  readonly base64: string;
}
type BlobCache = Map<string, VerifiedBlob>;

interface BlobContext {
  readonly run: RunHandle;
  readonly file: string;
  readonly index: number;
  readonly cache: BlobCache;
}

function loadBlob(ctx: BlobContext, hash: string, path: string): VerifiedBlob {
  const cached = ctx.cache.get(hash);
  if (cached !== undefined) return cached;
  const bfile = blobPath(ctx.run, hash);
  const fail = (reason: CorruptReason, what: string): never => {
    throw new CorruptCheckpointError(ctx.file, ctx.index, reason, `blob ${bfile} (referenced at ${path}) ${what}`, bfile);
  };
  let text = "";
  try {
    text = readFileSync(bfile, "utf8");
  } catch (e) {
    fail("unreadable", errCode(e) === "ENOENT" ? "is missing" : `cannot be read (${(e as Error).message})`);
  }
  if (text.trim() === "") fail("invalid-json", "is empty (truncated write?)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail("invalid-json", `is not valid JSON, truncated or damaged (${(e as Error).message})`);
  }
  let actual = "";
  try {
    actual = sha256Hex(canonicalJson(parsed as JsonValue));
  } catch (e) {
    fail("invalid-json", `does not hold canonical JSON (${(e as Error).message})`);
  }
  if (actual !== hash) {
    fail("hash-mismatch", `content hashes to ${actual}, not to its name (the blob was modified or damaged)`);
  }
  const tag = wellFormedTypedArrayTag(parsed);
  if (tag === undefined) fail("schema", 'does not hold a well-formed typed-array tag object ({"$f64"|"$i32"|"$u32": base64})');
  const blob: VerifiedBlob = { tag: tag!, base64: (parsed as Record<string, string>)[tag!] };
  ctx.cache.set(hash, blob);
  return blob;
}

/** Replace, in place, every `{"$blob": h}` of a parsed, hash-checked state by its verified tag object. */
function resolveBlobs(v: JsonValue, path: string, ctx: BlobContext): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x !== null && typeof x === "object") v[i] = resolveBlobs(x, childPath(path, i), ctx);
    }
    return v;
  }
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const k = keys[0];
    if (k === BLOB_TAG) {
      const hash = v[k];
      if (typeof hash !== "string" || !BLOB_HASH.test(hash)) {
        throw new CorruptCheckpointError(
          ctx.file,
          ctx.index,
          "schema",
          `${path}: expected a blob reference {"${BLOB_TAG}": <64 lowercase hex digits>}, ${showActual(hash)}`,
        );
      }
      const blob = loadBlob(ctx, hash, path);
      return { [blob.tag]: blob.base64 };
    }
    if (isTypedArrayTagKey(k) || k === "$num") return v;
  }
  for (const k of keys) {
    const x = v[k];
    if (x !== null && typeof x === "object") v[k] = resolveBlobs(x, childPath(path, k), ctx);
  }
  return v;
}

/**
 * Write the checkpoint of a finished stage atomically and return the file's
 * absolute path (then append the stage with `appendStageLog`). Refuses to
 * replace an existing checkpoint file: resume with `truncateAfter` first.
 * Large typed arrays of the state go to `blobs/` first (see the module
 * comment); a single-key `{"$blob": …}` object in the state is a TypeError.
 */
export function writeCheckpoint(run: RunHandle, input: CheckpointInput): string {
  checkStageFields(input, "writeCheckpoint");
  const file = checkpointPath(run, input.index);
  if (existsSync(file)) {
    throw new StoreError(
      `checkpoint ${file} already exists (another process wrote this run?); checkpoints are never overwritten: resume with --from-stage ${input.index} to redo the stage`,
      file,
    );
  }
  const body: JsonObject = {
    format: STORE_FORMAT,
    index: input.index,
    kind: input.kind,
    label: input.label,
    digest: input.digest,
    metrics: encodeMetrics(input.metrics, "writeCheckpoint"),
    durationMs: input.durationMs,
    state: null,
  };
  const blobs = new Map<string, PendingBlob>();
  body.state = externalizeBlobs(input.encoded ?? encodeValue(input.state), "state", blobs);
  const contentHash = sha256Hex(canonicalJson(body)); // over the references, as the file holds them
  if (blobs.size > 0) {
    // Blobs first (each durable on its own), so that no checkpoint ever names a missing blob.
    const blobsDir = join(run.dir, BLOBS_DIR);
    if (!isDirectory(blobsDir)) {
      mkdirWritable(blobsDir);
      fsyncDir(run.dir);
    }
    for (const [hash, blob] of blobs) writeBlob(run, hash, blob);
  }
  mkdirWritable(run.checkpointsDir);
  writeFileAtomic(file, canonicalJson({ ...body, contentHash }) + "\n");
  return file;
}

function logEntryOf(r: CheckpointRecord): StageLogEntry {
  return {
    index: r.index,
    kind: r.kind,
    label: r.label,
    digest: r.digest,
    metrics: r.metrics,
    durationMs: r.durationMs,
    checkpoint: checkpointFileName(r.index),
  };
}

/**
 * Read and verify checkpoint `index`: valid JSON, format 1, contentHash equal
 * to the hash of the rest of the file, well-formed fields, the index inside
 * matching the file name, and every blob it references present, hashing to
 * its name and well formed. The returned state is the full encoded state,
 * blob references replaced by their tag objects. Throws
 * `CorruptCheckpointError` (naming the file, the blob file if one is at
 * fault, and why) or `CheckpointNotFoundError`.
 */
export function readCheckpoint(run: RunHandle, index: number): CheckpointRecord {
  return readCheckpointWith(run, index, new Map());
}

/**
 * `readCheckpoint` for the parts of the state named by `keys` only: the file
 * is verified as a whole (its content hash covers the blob references), but
 * only the blobs under those keys are read and verified; the returned state
 * holds those keys alone. For readers that need a small part of a large
 * state (the report's pictures need the conditions, not the sample pool).
 */
export function readCheckpointPart(run: RunHandle, index: number, keys: readonly string[]): CheckpointRecord {
  return readCheckpointWith(run, index, new Map(), keys);
}

function readCheckpointWith(run: RunHandle, index: number, cache: BlobCache, keys?: readonly string[]): CheckpointRecord {
  const file = checkpointPath(run, index);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (errCode(e) === "ENOENT") throw new CheckpointNotFoundError(file, index);
    throw new CorruptCheckpointError(file, index, "unreadable", (e as Error).message);
  }
  if (text.trim() === "") throw new CorruptCheckpointError(file, index, "invalid-json", "the file is empty (truncated write?)");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CorruptCheckpointError(file, index, "invalid-json", `not valid JSON, truncated or damaged (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new CorruptCheckpointError(file, index, "schema", "the file does not hold a JSON object");
  }
  const obj = raw as Record<string, unknown>;
  if (obj.format !== STORE_FORMAT) {
    throw new CorruptCheckpointError(file, index, "bad-format", `format: expected ${STORE_FORMAT}, ${showActual(obj.format)}`);
  }
  if (typeof obj.contentHash !== "string") {
    throw new CorruptCheckpointError(file, index, "schema", `contentHash: expected string, ${showActual(obj.contentHash)}`);
  }
  const { contentHash, ...rest } = obj;
  let actual: string;
  try {
    actual = sha256Hex(canonicalJson(rest as JsonObject));
  } catch (e) {
    // e.g. a damaged number that now overflows to Infinity
    throw new CorruptCheckpointError(file, index, "invalid-json", (e as Error).message);
  }
  if (actual !== contentHash) {
    throw new CorruptCheckpointError(
      file,
      index,
      "hash-mismatch",
      `content hash mismatch: the file records ${contentHash} but its content hashes to ${actual} (the file was modified or damaged)`,
    );
  }
  const rec = decodeWith(CheckpointC, raw, (p) => {
    throw new CorruptCheckpointError(file, index, "schema", p.join("; "));
  });
  if (rec.index !== index) {
    throw new CorruptCheckpointError(file, index, "wrong-index", `the record says index ${rec.index} but the file name says ${index}`);
  }
  const ctx = { run, file, index, cache };
  let state: JsonValue;
  if (keys === undefined) state = resolveBlobs(rec.state as JsonValue, "state", ctx);
  else {
    const all = rec.state as JsonObject;
    const part: JsonObject = {};
    for (const k of keys) if (k in all) part[k] = resolveBlobs(all[k], `state.${k}`, ctx);
    state = part;
  }
  return {
    format: STORE_FORMAT,
    index: rec.index,
    kind: rec.kind,
    label: rec.label,
    digest: rec.digest,
    metrics: decodeMetrics(rec.metrics),
    durationMs: rec.durationMs,
    contentHash: rec.contentHash,
    state,
  };
}

/**
 * The highest checkpoint that verifies, scanning down from the highest file.
 * Corrupt checkpoints met on the way are reported (never moved, rewritten or
 * deleted); each checkpoint holds the whole state, so gaps below do not
 * matter for resuming and are only reported in `missing`.
 */
export function latestGoodCheckpoint(run: RunHandle): LatestGood {
  const indices = listCheckpointIndices(run);
  const present = new Set(indices);
  const missing: number[] = [];
  const max = indices.length > 0 ? indices[indices.length - 1] : -1;
  for (let i = 0; i < max; i++) if (!present.has(i)) missing.push(i);
  const corruptErrors: CorruptCheckpointError[] = [];
  const result = (record: CheckpointRecord | null): LatestGood => ({
    index: record === null ? null : record.index,
    record,
    corrupt: corruptErrors.map((e) => e.message),
    corruptErrors,
    missing,
  });
  const cache: BlobCache = new Map();
  for (let j = indices.length - 1; j >= 0; j--) {
    try {
      return result(readCheckpointWith(run, indices[j], cache));
    } catch (e) {
      if (e instanceof CorruptCheckpointError) corruptErrors.push(e);
      else if (!(e instanceof CheckpointNotFoundError)) throw e; // vanished between listing and reading: skip
    }
  }
  return result(null);
}

// ---------------------------------------------------------------------------
// Stage log

function appendLine(file: string, line: string): void {
  const existed = existsSync(file);
  let fd: number;
  try {
    fd = openSync(file, "a+");
  } catch (e) {
    throw asWriteError(file, e);
  }
  try {
    const size = fstatSync(fd).size;
    let prefix = "";
    if (size > 0) {
      // A kill mid-append can leave a last line without its newline: start on a fresh line.
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    writeAll(fd, Buffer.from(prefix + line + "\n", "utf8"));
    fsyncSync(fd);
  } catch (e) {
    throw asWriteError(file, e);
  } finally {
    closeSync(fd);
  }
  if (!existed) fsyncDir(dirname(file));
}

/**
 * Append one stage entry to stages.jsonl (one canonical JSON line) and fsync.
 * `checkpoint` defaults to `checkpointFileName(entry.index)`.
 */
export function appendStageLog(run: RunHandle, entry: StageLogInput): void {
  checkStageFields(entry, "appendStageLog");
  const checkpoint = entry.checkpoint ?? checkpointFileName(entry.index);
  if (typeof checkpoint !== "string") throw new TypeError("appendStageLog: checkpoint must be a file name");
  const line: JsonObject = {
    index: entry.index,
    kind: entry.kind,
    label: entry.label,
    digest: entry.digest,
    metrics: encodeMetrics(entry.metrics, "appendStageLog"),
    durationMs: entry.durationMs,
    checkpoint,
    ...(entry.slots ? { slots: { ...entry.slots } } : {}),
  };
  appendLine(run.stageLogPath, canonicalJson(line));
}

/** `writeCheckpoint` then `appendStageLog`: the normal way to record a finished stage. Returns the checkpoint path. */
export function recordStage(run: RunHandle, input: CheckpointInput): string {
  const file = writeCheckpoint(run, input);
  const { state: _state, ...entry } = input;
  appendStageLog(run, entry);
  return file;
}

/**
 * Read stages.jsonl. A last line cut short by a kill is ignored
 * (`truncatedTail`), as is any other line that is not valid JSON (a torn
 * write from an earlier crash, `skipped`); a line that is valid JSON but of
 * the wrong shape throws a `StoreFormatError` naming the line and field.
 * A missing file reads as empty, with a warning.
 */
export function readStageLog(run: RunHandle): StageLog {
  const file = run.stageLogPath;
  const warnings: string[] = [];
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    if (errCode(e) !== "ENOENT") throw new StoreError(`Cannot read ${file}: ${(e as Error).message}`, file);
    return { lines: [], entries: [], truncatedTail: false, skipped: [], warnings: [`${file} does not exist; read as empty`] };
  }
  const parts = text.split("\n");
  const endsWithNewline = text.endsWith("\n");
  if (endsWithNewline || text === "") parts.pop();
  const lines: StageLogLine[] = [];
  const skipped: { line: number; text: string }[] = [];
  let truncatedTail = false;
  parts.forEach((lineText, i) => {
    const lineNo = i + 1;
    const isTail = !endsWithNewline && i === parts.length - 1;
    if (lineText.trim() === "") return;
    let raw: unknown;
    try {
      raw = JSON.parse(lineText);
    } catch {
      skipped.push({ line: lineNo, text: lineText });
      if (isTail) {
        truncatedTail = true;
        warnings.push(`${file}: line ${lineNo} is cut short (the run was killed while appending); ignored`);
      } else {
        warnings.push(`${file}: line ${lineNo} is not valid JSON (a torn write from an earlier crash); ignored`);
      }
      return;
    }
    if (isTail) warnings.push(`${file}: line ${lineNo} has no trailing newline`);
    const fail = (p: string[]): never => {
      throw new StoreFormatError(file, p, ` line ${lineNo}`);
    };
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && "resumedFrom" in raw) {
      const m = decodeWith(ResumeMarkerC, raw, fail);
      lines.push({ type: "resume", line: lineNo, resumedFrom: m.resumedFrom });
    } else {
      const e = decodeWith(StageLogEntryC, raw, fail);
      lines.push({
        type: "stage",
        line: lineNo,
        entry: { ...e, metrics: decodeMetrics(e.metrics) },
      });
    }
  });
  const effective = new Map<number, StageLogEntry>();
  for (const l of lines) {
    if (l.type === "stage") effective.set(l.entry.index, l.entry);
    else for (const k of [...effective.keys()]) if (k > l.resumedFrom) effective.delete(k);
  }
  const entries = [...effective.values()].sort((a, b) => a.index - b.index);
  return { lines, entries, truncatedTail, skipped, warnings };
}

/**
 * One record per stage index found in checkpoints/ or in the effective stage
 * log, sorted by index. A verified checkpoint is authoritative (so a run
 * killed between writing a checkpoint and appending its log line still shows
 * the stage); a corrupt one falls back to the log's fields; a logged stage
 * without a checkpoint file is `missing-checkpoint`.
 */
export function stageRecords(run: RunHandle): StageRecord[] {
  const log = readStageLog(run);
  const logged = new Map(log.entries.map((e) => [e.index, e] as const));
  const indices = new Set<number>([...listCheckpointIndices(run), ...logged.keys()]);
  const out: StageRecord[] = [];
  const cache: BlobCache = new Map(); // each shared blob is read and verified once per call
  for (const index of [...indices].sort((a, b) => a - b)) {
    const fromLog = logged.get(index) ?? null;
    try {
      const rec = readCheckpointWith(run, index, cache);
      out.push({ ...logEntryOf(rec), status: "ok", source: "checkpoint", logged: fromLog !== null, problem: null });
    } catch (e) {
      if (e instanceof CorruptCheckpointError) {
        const fields: StageLogEntry = fromLog ?? {
          index,
          kind: "unknown",
          label: "<corrupt checkpoint>",
          digest: "",
          metrics: {},
          durationMs: 0,
          checkpoint: checkpointFileName(index),
        };
        out.push({ ...fields, status: "corrupt", source: fromLog ? "log" : "none", logged: fromLog !== null, problem: e.message });
      } else if (e instanceof CheckpointNotFoundError && fromLog !== null) {
        out.push({ ...fromLog, status: "missing-checkpoint", source: "log", logged: true, problem: e.message });
      } else {
        throw e;
      }
    }
  }
  return out;
}

/**
 * Prepare to resume after stage `index` (-1: from the start): move every
 * checkpoint with a higher index into a fresh `checkpoints/superseded-<n>/`
 * (nothing is deleted), then append `{"resumedFrom": index}` to stages.jsonl
 * so readers drop earlier entries above `index`.
 */
export function truncateAfter(run: RunHandle, index: number): TruncateResult {
  if (!Number.isSafeInteger(index) || index < -1) {
    throw new TypeError(`truncateAfter: index must be an integer >= -1, got ${index}`);
  }
  const later = listCheckpointIndices(run).filter((i) => i > index);
  let supersededDir: string | null = null;
  const moved: string[] = [];
  if (later.length > 0) {
    for (let n = 1; ; n++) {
      const candidate = join(run.checkpointsDir, `superseded-${n}`);
      if (existsSync(candidate)) continue;
      try {
        mkdirSync(candidate);
        supersededDir = candidate;
        break;
      } catch (e) {
        if (errCode(e) !== "EEXIST") throw e;
      }
    }
    for (const i of later) {
      const name = checkpointFileName(i);
      renameSync(join(run.checkpointsDir, name), join(supersededDir, name));
      moved.push(name);
    }
    fsyncDir(supersededDir);
    fsyncDir(run.checkpointsDir);
  }
  appendLine(run.stageLogPath, canonicalJson({ resumedFrom: index }));
  return { supersededDir, moved };
}

/**
 * Record that a run continues under a changed experiment (`gps resume --force`):
 * the previous experiment.json is kept as experiment.<n>.json, the new one
 * replaces it and run.json takes the new hash. Both writes are atomic.
 */
export function replaceExperiment(run: RunHandle, experimentJson: JsonValue, experimentHash: string): RunHandle {
  const current = join(run.dir, EXPERIMENT_FILE);
  let n = 1;
  while (existsSync(join(run.dir, `experiment.${n}.json`))) n++;
  writeFileAtomic(join(run.dir, `experiment.${n}.json`), canonicalJson(run.experiment) + "\n");
  writeFileAtomic(current, canonicalJson(experimentJson) + "\n");
  const meta: RunMeta = { ...run.meta, experimentHash };
  writeFileAtomic(join(run.dir, RUN_META_FILE), canonicalJson(meta as unknown as JsonObject) + "\n");
  return openRun(run.dir);
}
