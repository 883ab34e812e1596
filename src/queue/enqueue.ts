/**
 * Enqueueing runs on a BullMQ queue in Redis. Every request is checked (and
 * its experiment file loaded and planned) before Redis is touched: bad input
 * enqueues nothing. Job ids are deterministic, so enqueueing the same
 * requests again adds nothing (and retries jobs that failed).
 */
import { existsSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { Queue, type JobsOptions } from "bullmq";
import { loadExperimentFile } from "../runtime/session.js";
import { planExperiment } from "../dsl/plan.js";
import { resolveExperiment } from "../dsl/resolve.js";
import { preload } from "../sim/mujoco.js";
import { connectRedis } from "./connection.js";
import { QueueRequestError } from "./errors.js";
import { defaultSweepId, JOB_FORMAT, jobIdOf, SWEEP_ID, type JobData, type Override } from "./job.js";
import { ensureStoreIdentity } from "./store-identity.js";

export const DEFAULT_QUEUE_NAME = "gps";
export const QUEUE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,100}$/;

/** One run to enqueue. */
export interface RunRequest {
  /** Absolute path of the experiment file (the same path on every worker machine). */
  readonly experimentSource: string;
  /** Seed in place of the experiment's (as `gps run --seed`). */
  readonly seed?: number;
  /** Passed through to the worker as is; refused unless `allowOverrides` (see worker.ts `overrideArgs`). */
  readonly overrides?: readonly Override[];
  /** Job ids and run directories are `<sweepId>-<NNN>` (NNN: the request's index); default: a hash of the requests. */
  readonly sweepId?: string;
  readonly label?: string;
}

export interface EnqueueOptions {
  readonly queueName?: string;
  /** The store the runs go into (created with its store.json if new). */
  readonly store: string;
  readonly requests: readonly RunRequest[];
  /** Accept non-empty overrides (only when the workers are started with an `overrideArgs`). Default false. */
  readonly allowOverrides?: boolean;
  /**
   * Check a request's experiment before anything is enqueued (throw to
   * refuse). Default: load the file, apply the seed, plan it.
   */
  readonly check?: (request: RunRequest) => Promise<void>;
}

export interface EnqueuedJob {
  readonly jobId: string;
  /** The run directory the job creates or resumes: `<store>/<jobId>`. */
  readonly runDir: string;
  /** added: new; exists: a job with this id was there (its state given); retried: it had failed and was retried. */
  readonly outcome: "added" | "exists" | "retried";
  readonly state: string;
}

/** Retries of a run whose child failed (crash, busy run): with exponential backoff from 2 s. */
export const JOB_OPTIONS: JobsOptions = { attempts: 5, backoff: { type: "exponential", delay: 2000 }, removeOnComplete: false, removeOnFail: false };

/** The default check: each file loaded once per call, each request (its seed applied) planned. */
function defaultCheck(): (request: RunRequest) => Promise<void> {
  const loaded = new Map<string, ReturnType<typeof loadExperimentFile>>();
  return async (request) => {
    await preload();
    let load = loaded.get(request.experimentSource);
    if (!load) loaded.set(request.experimentSource, (load = loadExperimentFile(request.experimentSource)));
    let experiment = await load;
    if (request.seed !== undefined) experiment = { ...experiment, seed: request.seed };
    planExperiment(resolveExperiment(experiment), request.experimentSource);
  };
}

/** The requests' own checks (pure): throws QueueRequestError naming the request. */
export function checkRequests(requests: readonly RunRequest[], options: { allowOverrides?: boolean; queueName?: string } = {}): void {
  if (options.queueName !== undefined && !QUEUE_NAME.test(options.queueName)) throw new QueueRequestError(`bad queue name ${JSON.stringify(options.queueName)} (letters, digits, '.', '_', '-')`);
  if (requests.length === 0) throw new QueueRequestError("nothing to enqueue: no run requests");
  requests.forEach((r, i) => {
    const at = `run request ${i}`;
    if (typeof r.experimentSource !== "string" || !isAbsolute(r.experimentSource)) throw new QueueRequestError(`${at}: experimentSource must be an absolute path, got ${JSON.stringify(r.experimentSource)}`);
    if (!existsSync(r.experimentSource)) throw new QueueRequestError(`${at}: experiment file not found: ${r.experimentSource}`);
    if (r.seed !== undefined && !(Number.isSafeInteger(r.seed) && r.seed >= 0 && r.seed <= 0xffffffff)) throw new QueueRequestError(`${at}: seed must be an integer 0…2^32-1, got ${r.seed}`);
    if ((r.overrides?.length ?? 0) > 0 && !options.allowOverrides) throw new QueueRequestError(`${at}: overrides are not supported by the queue yet (no override applier is wired into the workers)`);
    if (r.sweepId !== undefined && !SWEEP_ID.test(r.sweepId)) throw new QueueRequestError(`${at}: bad sweep id ${JSON.stringify(r.sweepId)} (letters, digits, '.', '_', '-'; at most 151)`);
  });
}

/**
 * Enqueue runs; returns one entry per request, in order. Throws
 * QueueRequestError (a bad request or store), an experiment's own error (a
 * bad experiment file) or QueueUnreachableError: then nothing was enqueued.
 * Only a Redis lost during the adds can leave a part enqueued, which
 * enqueueing again completes.
 */
export async function enqueueRuns(url: string, options: EnqueueOptions): Promise<EnqueuedJob[]> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  checkRequests(options.requests, { allowOverrides: options.allowOverrides, queueName });
  const check = options.check ?? defaultCheck();
  for (const r of options.requests) await check(r);
  const redis = await connectRedis(url, { blocking: false });
  const queue = new Queue(queueName, { connection: redis });
  queue.on("error", () => undefined); // surfaced by the calls below
  try {
    const identity = ensureStoreIdentity(options.store);
    const fallbackSweep = defaultSweepId(identity.id, options.requests);
    const jobs = options.requests.map((r, index) => {
      const sweepId = r.sweepId ?? fallbackSweep;
      const jobId = jobIdOf(sweepId, index);
      const data: JobData = {
        format: JOB_FORMAT,
        experimentSource: r.experimentSource,
        store: { id: identity.id, path: identity.path },
        runName: jobId,
        overrides: [...(r.overrides ?? [])],
        index,
        sweepId,
        ...(r.seed !== undefined ? { seed: r.seed } : {}),
        ...(r.label !== undefined ? { label: r.label } : {}),
      };
      return { name: r.label ?? jobId, data, opts: { ...JOB_OPTIONS, jobId } };
    });
    const before = await Promise.all(jobs.map(async (j) => (await queue.getJob(j.opts.jobId)) ?? null));
    const added = await queue.addBulk(jobs.filter((_, i) => before[i] === null));
    void added;
    const result: EnqueuedJob[] = [];
    for (const [i, j] of jobs.entries()) {
      const runDir = join(identity.path, j.data.runName);
      const old = before[i];
      if (old === null) {
        result.push({ jobId: j.opts.jobId, runDir, outcome: "added", state: "waiting" });
        continue;
      }
      const state = await old.getState();
      if (state === "failed") {
        await old.retry("failed");
        result.push({ jobId: j.opts.jobId, runDir, outcome: "retried", state: "waiting" });
      } else {
        result.push({ jobId: j.opts.jobId, runDir, outcome: "exists", state });
      }
    }
    return result;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly completed: number;
  readonly failed: number;
}

/** The queue's job counts by state. */
export async function queueCounts(url: string, queueName = DEFAULT_QUEUE_NAME): Promise<QueueCounts> {
  if (!QUEUE_NAME.test(queueName)) throw new QueueRequestError(`bad queue name ${JSON.stringify(queueName)}`);
  const redis = await connectRedis(url, { blocking: false });
  const queue = new Queue(queueName, { connection: redis });
  queue.on("error", () => undefined);
  try {
    const c = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized", "paused");
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.paused ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0 };
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}
