/**
 * A queue worker: takes jobs from a BullMQ queue and runs each in a child
 * process, `node bin/gps.js run|resume … --json --workers 1`, so N jobs use
 * N cores and a crashing run does not take the worker down.
 *
 * - The run directory is `<store>/<runName>` (the job's id): the first
 *   attempt creates it (`gps run --name`), later ones resume it. The run's
 *   lock keeps two writers out; a busy run is retried with backoff.
 * - BullMQ renews the job's lock every lockMs/2 while the child works (the
 *   heartbeat); a worker that dies stops renewing, and after lockMs another
 *   worker's stalled-job check (every lockMs) hands the job on.
 * - The children notice a dead worker (child-guard.mjs) and stop after their
 *   current stage.
 * - A job for another store, or with overrides this worker cannot apply, is
 *   put back and the worker stops (exit 2): it is misconfigured.
 * - Redis lost for longer than a grace period: the children stop after their
 *   current stage and the worker exits 1; enqueueing again (same ids) or
 *   restarting the workers once Redis is back resumes the runs.
 * - stop() (SIGINT/SIGTERM): no new jobs; the children stop after their
 *   current stage; their jobs go back to waiting; exit 130. A second stop()
 *   aborts the children at once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, renameSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Job, UnrecoverableError, WaitingError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { openRun, RUN_META_FILE } from "../runtime/store.js";
import { connectRedis } from "./connection.js";
import { DEFAULT_QUEUE_NAME, QUEUE_NAME } from "./enqueue.js";
import { QueueRequestError } from "./errors.js";
import { decodeJobData, JobDataError, type JobData, type Override } from "./job.js";
import { ensureStoreIdentity, readStoreIdentity, type StoreIdentity } from "./store-identity.js";

/** Default BullMQ lock duration and stalled-check interval. */
export const DEFAULT_LOCK_MS = 30_000;
/** A directory claimed for a run but never given its run.json, older than this, was left by a killed `gps run`. */
export const INCOMPLETE_RUN_DIR_MS = 60_000;
/** How long a stopping worker waits for BullMQ once its runs have stopped. */
const CLOSE_GRACE_MS = 5000;
/** How long putting a job back may take (Redis may be gone). */
const PUT_BACK_MS = 3000;

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** `p`, or a rejection after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const HERE = dirname(fileURLToPath(import.meta.url));
const GPS_BIN = resolve(HERE, "../../bin/gps.js");
const CHILD_GUARD = pathToFileURL(join(HERE, "child-guard.mjs")).href;

export interface WorkerOptions {
  readonly url: string;
  readonly store: string;
  readonly queueName?: string;
  /** Jobs at once (BullMQ concurrency), each in its own child process. Default 1. */
  readonly jobs?: number;
  /** BullMQ lockDuration and stalledInterval (ms); the lock is renewed every half. Default 30 000. */
  readonly lockMs?: number;
  /** Write each run's report when it completes (as gps run). Default true. */
  readonly report?: boolean;
  /**
   * Turn a job's overrides into extra `gps run` arguments (e.g. `--set
   * path=value`). Without it, a job with overrides is refused.
   */
  readonly overrideArgs?: (overrides: readonly Override[]) => string[];
  /** Grace period for a lost Redis before the runs are stopped. Default min(lockMs, 10 000). */
  readonly redisGraceMs?: number;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

export interface JobResult {
  readonly runDir: string;
  readonly lastStage: number;
  readonly totalStages: number;
}

export interface QueueWorker {
  readonly identity: StoreIdentity;
  /** The exit status once the worker has stopped: 130 stopped by stop(), 2 refused a job, 1 lost Redis. */
  readonly done: Promise<number>;
  /** Stop taking jobs and stop the children after their current stage; a second call aborts them. */
  stop(reason?: string): void;
}

type Stopping = { readonly status: number; readonly why: string };

export async function startWorker(options: WorkerOptions): Promise<QueueWorker> {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  if (!QUEUE_NAME.test(queueName)) throw new QueueRequestError(`bad queue name ${JSON.stringify(queueName)}`);
  const jobs = options.jobs ?? 1;
  if (!Number.isSafeInteger(jobs) || jobs < 1 || jobs > 256) throw new QueueRequestError(`--jobs must be an integer 1…256, got ${jobs}`);
  const lockMs = options.lockMs ?? DEFAULT_LOCK_MS;
  if (!Number.isSafeInteger(lockMs) || lockMs < 1000) throw new QueueRequestError(`the lock duration must be an integer ≥ 1000 ms, got ${lockMs}`);
  const store = resolve(options.store);
  if (!existsSync(store)) throw new QueueRequestError(`store not found: ${store} (on a worker machine, the shared store's mount point)`);
  readStoreIdentity(store); // a malformed store.json: refused before connecting
  const log = options.log ?? (() => undefined);
  const graceMs = options.redisGraceMs ?? Math.min(lockMs, 10_000);

  const redis: Redis = await connectRedis(options.url, { blocking: true });
  // Written (when new) only once Redis answered: an unreachable Redis writes nothing.
  let identity: StoreIdentity;
  try {
    identity = ensureStoreIdentity(store);
  } catch (e) {
    redis.disconnect();
    throw e;
  }
  const children = new Set<ChildProcess>();
  let stopping: Stopping | null = null;
  let aborted = false;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));

  const processor = async (job: Job, token?: string): Promise<JobResult> => {
    let data: JobData;
    try {
      data = decodeJobData(job.data);
    } catch (e) {
      throw new UnrecoverableError(e instanceof JobDataError ? e.message : String(e));
    }
    const refuse = async (why: string): Promise<never> => {
      log(`job ${job.id}: refused: ${why}`);
      await within(job.moveToWait(token), PUT_BACK_MS, "putting the job back");
      shutdown({ status: 2, why: `refused job ${job.id}: ${why}` });
      throw new WaitingError();
    };
    if (data.store.id !== identity.id) {
      await refuse(`it belongs to the store ${data.store.path} (id ${data.store.id}), this worker's --store is ${identity.path} (id ${identity.id})`);
    }
    if (data.overrides.length > 0 && !options.overrideArgs) await refuse("it has overrides, which this worker cannot apply yet");
    if (stopping) {
      await within(job.moveToWait(token), PUT_BACK_MS, "putting the job back");
      throw new WaitingError();
    }
    const runDir = join(store, data.runName);
    const args = childArgs(data, runDir);
    if (args === "complete") {
      log(`job ${job.id}: ${runDir} is already complete`);
      const run = openRun(runDir);
      const last = run.meta.status?.lastStage ?? -1;
      return { runDir, lastStage: last, totalStages: last + 1 };
    }
    log(`job ${job.id}: gps ${args.join(" ")}`);
    const outcome = await runChild(args, job);
    if (outcome.code === 0 && outcome.finished?.complete) {
      log(`job ${job.id}: complete: ${runDir}`);
      return { runDir, lastStage: outcome.finished.lastStage, totalStages: outcome.finished.totalStages };
    }
    const tail = outcome.stderr.trim().split("\n").slice(-5).join(" | ");
    if (outcome.code === 130 || outcome.signal === "SIGINT") {
      if ((stopping as Stopping | null)?.status !== 1) {
        log(`job ${job.id}: stopped after a stage; back to waiting`);
        await within(job.moveToWait(token), PUT_BACK_MS, "putting the job back");
        throw new WaitingError();
      }
      // Redis lost: the job cannot be put back; once Redis is back, its lock expires and BullMQ's stalled check hands it on.
      log(`job ${job.id}: stopped after a stage (Redis lost: the job stays active until its lock expires)`);
      throw new Error(`interrupted: ${tail}`);
    }
    // Another process writes the run, or created it a moment ago (a job handed on while its first
    // worker still runs it): retried with backoff, by which time it can be resumed.
    if (outcome.code === 2 && /run is busy|a run directory named \S+ already exists/.test(outcome.stderr)) throw new Error(`the run is busy (retried later): ${tail}`);
    if (outcome.code === 2 || outcome.code === 3) throw new UnrecoverableError(`gps ${args[0]} exited with ${outcome.code}: ${tail}`);
    throw new Error(`gps ${args[0]} ${outcome.signal ? `was killed by ${outcome.signal}` : `exited with ${outcome.code}`}: ${tail}`);
  };

  /** `gps run` for a new run, `gps resume` for an existing one, or "complete". */
  function childArgs(data: JobData, runDir: string): string[] | "complete" {
    const common = ["--json", "--workers", "1", ...(options.report === false ? ["--no-report"] : [])];
    if (existsSync(join(runDir, RUN_META_FILE))) {
      let run;
      try {
        run = openRun(runDir);
      } catch (e) {
        throw new UnrecoverableError(`the job's run directory does not open: ${(e as Error).message}`);
      }
      const seedMatches = run.meta.seedOverride === data.seed;
      if (run.meta.source !== data.experimentSource || !seedMatches) {
        throw new UnrecoverableError(`${runDir} is another run (source ${run.meta.source}, seed ${run.meta.seedOverride ?? "the file's"}): not this job's (${data.experimentSource}, seed ${data.seed ?? "the file's"})`);
      }
      if (run.meta.status?.state === "complete") return "complete";
      return ["resume", runDir, ...common];
    }
    if (existsSync(runDir)) {
      // Claimed but no run.json: a `gps run` creating it now, or one killed while creating it.
      const age = Date.now() - statSync(runDir).mtimeMs;
      if (age < INCOMPLETE_RUN_DIR_MS) throw new Error(`${runDir} is being created (retried later)`);
      let n = 1;
      while (existsSync(join(store, `.${data.runName}.incomplete-${n}`))) n++;
      renameSync(runDir, join(store, `.${data.runName}.incomplete-${n}`));
      log(`moved the incomplete ${runDir} aside (.${data.runName}.incomplete-${n})`);
    }
    const seed = data.seed !== undefined ? ["--seed", String(data.seed)] : [];
    const extra = data.overrides.length > 0 && options.overrideArgs ? options.overrideArgs(data.overrides) : [];
    // Tagged with its sweep and place in it, as `gps sweep` tags its local runs (gps list, gps compare).
    const sweep = ["--sweep", `${data.sweepId}:${data.index}`];
    return ["run", data.experimentSource, "--store", store, "--name", data.runName, ...seed, ...extra, ...sweep, ...common];
  }

  interface Finished {
    readonly complete: boolean;
    readonly lastStage: number;
    readonly totalStages: number;
  }

  function runChild(args: readonly string[], job: Job): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; finished: Finished | null }> {
    return new Promise((resolvePromise, reject) => {
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const child = spawn(process.execPath, ["--import", CHILD_GUARD, GPS_BIN, ...args], {
        env,
        // Its own process group: a Ctrl-C at the worker's terminal reaches the worker only, which forwards one SIGINT.
        detached: true,
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      children.add(child);
      if (aborted || stopping) child.kill("SIGINT");
      let stderr = "";
      let pending = "";
      let finished: Finished | null = null;
      child.stdout!.setEncoding("utf8");
      child.stderr!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let e: { type?: string; index?: number; complete?: boolean; lastStage?: number; totalStages?: number };
          try {
            e = JSON.parse(line) as typeof e;
          } catch {
            continue;
          }
          if (e.type === "checkpoint-written" && typeof e.index === "number") void job.updateProgress({ checkpoint: e.index }).catch(() => undefined);
          if (e.type === "run-finished") finished = { complete: e.complete === true, lastStage: e.lastStage ?? -1, totalStages: e.totalStages ?? 0 };
        }
      });
      child.stderr!.on("data", (chunk: string) => void (stderr = (stderr + chunk).slice(-8000)));
      child.on("error", (e) => {
        children.delete(child);
        reject(e);
      });
      child.on("close", (code, signal) => {
        children.delete(child);
        resolvePromise({ code, signal, stderr, finished });
      });
    });
  }

  const worker = new Worker(queueName, processor, {
    connection: redis,
    concurrency: jobs,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 3,
    autorun: false,
  });
  // Each distinct error once per outage (a lost Redis repeats its error on every reconnection).
  let lastError = "";
  worker.on("error", (e) => {
    if (e.message !== lastError) log(`queue: ${e.message}`);
    lastError = e.message;
  });
  worker.on("stalled", (jobId) => log(`job ${jobId}: stalled (its worker stopped renewing the lock): back to waiting`));
  worker.on("failed", (job, e) => job && log(`job ${job.id}: failed (attempt ${job.attemptsMade}): ${e.message}`));

  // A lost Redis: after the grace period, stop the runs after their stage.
  let lostTimer: NodeJS.Timeout | undefined;
  redis.on("close", () => {
    if (lostTimer || stopping) return;
    lostTimer = setTimeout(() => shutdown({ status: 1, why: `lost Redis at ${options.url} for ${graceMs} ms: the runs stopped after their current stage; restart the workers (or enqueue again) once it is back` }), graceMs);
  });
  redis.on("ready", () => {
    lastError = "";
    clearTimeout(lostTimer);
    lostTimer = undefined;
  });

  function waitChildren(): Promise<void> {
    return new Promise((r) => {
      const check = (): void => (children.size === 0 ? r() : void setTimeout(check, 100));
      check();
    });
  }

  function shutdown(why: Stopping): void {
    if (stopping) return;
    stopping = why;
    clearTimeout(lostTimer);
    for (const c of children) c.kill("SIGINT");
    // Graceful: wait for the active jobs, whose children stop after their stage
    // (and put their jobs back). Redis lost: no job can be put back; do not wait for it.
    const closing = why.status === 1 ? waitChildren().then(() => worker.close(true)) : worker.close();
    void closing
      .catch(() => undefined)
      .then(waitChildren)
      // Once the children are gone, BullMQ gets a few seconds to finish talking to Redis (it may be gone).
      .then(() => Promise.race([closing.catch(() => undefined), delay(CLOSE_GRACE_MS)]))
      .then(() => Promise.race([redis.quit().catch(() => undefined), delay(1000)]))
      .then(() => redis.disconnect())
      .finally(() => {
        log(`stopped: ${why.why}`);
        resolveDone(why.status);
      });
  }

  void worker.run().catch((e: Error) => shutdown({ status: 1, why: `the worker failed: ${e.message}` }));
  log(`worker on queue ${queueName} at ${options.url}, store ${identity.path} (id ${identity.id}), ${jobs} job(s) at once, lock ${lockMs} ms`);
  return {
    identity,
    done,
    stop(reason = "stopped") {
      if (!stopping) return shutdown({ status: 130, why: reason });
      if (aborted) return;
      aborted = true; // the second: abort the runs now (they release their locks)
      for (const c of children) c.kill("SIGINT");
    },
  };
}
