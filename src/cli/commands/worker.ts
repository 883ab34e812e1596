/** gps worker, gps enqueue, gps queue-status: runs on a BullMQ job queue in Redis (docs/queue.md). */
import { resolve } from "node:path";
import { enqueueRuns, queueCounts, type RunRequest } from "../../queue/enqueue.js";
import { startWorker } from "../../queue/worker.js";
import { err, out } from "../io.js";
import { UsageError } from "../errors.js";
import { intOption } from "../options.js";

export interface WorkerCommandOptions {
  readonly queue: string;
  readonly store: string;
  readonly queueName?: string;
  readonly jobs?: string;
  readonly lockMs?: string;
  readonly report: boolean;
}

export async function workerCommand(o: WorkerCommandOptions): Promise<number> {
  const jobs = intOption(o.jobs, "jobs") ?? 1;
  if (jobs < 1 || jobs > 256) throw new UsageError(`--jobs must be 1…256, got ${jobs}`);
  const lockMs = intOption(o.lockMs, "lock-ms");
  if (lockMs !== undefined && lockMs < 1000) throw new UsageError(`--lock-ms must be at least 1000, got ${lockMs}`);
  const worker = await startWorker({
    url: o.queue,
    store: o.store,
    queueName: o.queueName,
    jobs,
    lockMs,
    report: o.report,
    // Overrides travel as data and reach each run as `gps run --set path=<JSON value>` (src/runtime/overrides.ts parses JSON first).
    overrideArgs: (overrides) => overrides.flatMap((ov) => ["--set", `${ov.path}=${JSON.stringify(ov.value)}`]),
    log: (line) => void err.write(`gps worker: ${line}\n`),
  });
  const onSignal = (signal: NodeJS.Signals): void => {
    err.write(`gps worker: ${signal}: taking no more jobs; the runs stop after their current stage (send it again to abort them now)\n`);
    worker.stop(`${signal}`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const code = await worker.done;
    // Stopped: if a connection BullMQ still retries (Redis lost) keeps the process alive, end it.
    setTimeout(() => process.exit(code), 2000).unref();
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** "1..4", "1,2,7", "3" → seeds; anything else is a usage error. Pure. */
export function parseSeeds(text: string): number[] {
  const range = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  let seeds: number[];
  if (range) {
    const [a, b] = [Number(range[1]), Number(range[2])];
    if (b < a || b - a >= 10_000) throw new UsageError(`--seeds ${text}: a range A..B with A ≤ B and at most 10000 seeds`);
    seeds = Array.from({ length: b - a + 1 }, (_, i) => a + i);
  } else if (/^\d+(,\d+)*$/.test(text.trim())) {
    seeds = text.trim().split(",").map(Number);
  } else {
    throw new UsageError(`--seeds must be A..B or a comma-separated list of integers, got ${JSON.stringify(text)}`);
  }
  for (const s of seeds) if (!Number.isSafeInteger(s) || s > 0xffffffff) throw new UsageError(`--seeds: ${s} is not below 2^32`);
  if (new Set(seeds).size !== seeds.length) throw new UsageError(`--seeds ${text} repeats a seed`);
  return seeds;
}

export interface EnqueueCommandOptions {
  readonly queue: string;
  readonly store: string;
  readonly queueName?: string;
  readonly seeds?: string;
  readonly sweepId?: string;
  readonly json: boolean;
}

export async function enqueueCommand(file: string, o: EnqueueCommandOptions): Promise<number> {
  const experimentSource = resolve(file);
  const seeds: (number | undefined)[] = o.seeds === undefined ? [undefined] : parseSeeds(o.seeds);
  const requests: RunRequest[] = seeds.map((seed) => ({
    experimentSource,
    ...(seed !== undefined ? { seed } : {}),
    ...(o.sweepId !== undefined ? { sweepId: o.sweepId } : {}),
  }));
  const jobs = await enqueueRuns(o.queue, { queueName: o.queueName, store: o.store, requests });
  if (o.json) out.write(`${JSON.stringify(jobs)}\n`);
  else for (const j of jobs) out.write(`${j.jobId}\t${j.outcome}${j.outcome === "exists" ? ` (${j.state})` : ""}\t${j.runDir}\n`);
  return 0;
}

export async function queueStatusCommand(o: { queue: string; queueName?: string; json: boolean }): Promise<number> {
  const c = await queueCounts(o.queue, o.queueName);
  if (o.json) out.write(`${JSON.stringify(c)}\n`);
  else out.write(`waiting ${c.waiting}  active ${c.active}  delayed ${c.delayed}  completed ${c.completed}  failed ${c.failed}\n`);
  return 0;
}
