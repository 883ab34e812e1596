/**
 * What a queued job carries (the boundary between `enqueueRuns` and a
 * worker, stored as JSON in Redis): an io-ts codec, checked on both sides.
 * Pure.
 */
import * as t from "io-ts";
import { isRight } from "fp-ts/lib/Either.js";
import { PathReporter } from "io-ts/lib/PathReporter.js";
import { isAbsolute } from "node:path";
import { canonicalJson, sha256Hex, type JsonValue } from "../runtime/canonical.js";
import { RUN_DIR_NAME } from "../runtime/store.js";

export const JOB_FORMAT = 1 as const;

/** One override of an experiment's value at a path; opaque to the queue (see `overrideArgs` in worker.ts). */
export const OverrideC = t.type({ path: t.string, value: t.unknown });
export type Override = t.TypeOf<typeof OverrideC>;

const SeedC = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff, "Seed (integer 0…2^32-1)");
const AbsolutePathC = t.refinement(t.string, (s) => isAbsolute(s), "AbsolutePath");
const RunNameC = t.refinement(t.string, (s) => RUN_DIR_NAME.test(s), "RunName");

export const JobDataC = t.intersection([
  t.type({
    format: t.literal(JOB_FORMAT),
    /** Absolute path of the experiment file, the same on every machine (docs/queue.md). */
    experimentSource: AbsolutePathC,
    /** The store the run belongs to: its id (store.json) is what a worker compares; the path is for messages. */
    store: t.type({ id: t.string, path: t.string }),
    /** The run directory's name in the store: derived from the job id, so every attempt finds the same run. */
    runName: RunNameC,
    overrides: t.array(OverrideC),
    /** Position of the request in its `enqueueRuns` call. */
    index: t.number,
    sweepId: t.string,
  }),
  t.partial({ seed: SeedC, label: t.string }),
]);
export type JobData = t.TypeOf<typeof JobDataC>;

export class JobDataError extends Error {
  override name = "JobDataError";
}

/** Check a job's data as read from Redis. */
export function decodeJobData(u: unknown): JobData {
  const r = JobDataC.decode(u);
  if (isRight(r)) return r.right;
  throw new JobDataError(`malformed job data: ${PathReporter.report(r).join("; ")}`);
}

/** A sweep id or label usable in job ids and run directory names. */
export const SWEEP_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,150}$/;

/** The job id (and run directory name) of a sweep's index-th run: `<sweepId>-<NNN>`. */
export function jobIdOf(sweepId: string, index: number): string {
  return `${sweepId}-${String(index).padStart(3, "0")}`;
}

/**
 * The default sweep id of a batch of requests: `q-` and 12 hex digits of the
 * hash of the store id and the requests (source, seed, overrides), so the
 * same batch enqueued again names the same jobs (idempotent).
 */
export function defaultSweepId(storeId: string, requests: readonly { experimentSource: string; seed?: number; overrides?: readonly Override[] }[]): string {
  const value = {
    store: storeId,
    requests: requests.map((r) => ({ source: r.experimentSource, seed: r.seed ?? null, overrides: (r.overrides ?? []) as unknown as JsonValue })),
  };
  return `q-${sha256Hex(canonicalJson(value as unknown as JsonValue)).slice(0, 12)}`;
}
