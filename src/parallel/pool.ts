/**
 * A Compute on the main thread plus worker threads (node:worker_threads).
 *
 * Why threads and this small pool rather than piscina or tinypool: stages,
 * trajectory optimization and LBFGS are synchronous pure code, and an LBFGS
 * evaluation on the policy kernels is a few milliseconds of work over rows
 * that live in memory every lane shares. A job here is dispatched and
 * collected synchronously (Atomics.wait on a shared control block, messages
 * read with receiveMessageOnPort), so an optimizer calls the pool like a
 * function, and the rows are never copied. Promise-based pools would make
 * every caller asynchronous and every evaluation a round of copies.
 *
 * Lanes: the main thread is lane 0 and takes chunks too; lanes 1…N−1 are
 * worker threads started and watched by a supervisor thread
 * (./supervisor.mjs). A job is an op of the ops module (one per pool)
 * applied to chunks 0…count−1; any lane takes any chunk. A worker that throws or dies
 * fails the job with an error naming the worker and the op; the pool is then
 * closed and unusable (its workers are stopped), and the stage that used it
 * fails without writing a checkpoint.
 */
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { SharedArena } from "./arena.js";
import type { Compute, LaneContext, LaneOps } from "./compute.js";
import { claimChunk, controlBlock, DONE, EXIT_CODE, FAULT, MAX_CHUNKS, NEXT, SEQ, SHUTDOWN, TOTAL, type FromWorker } from "./control.js";

export interface PoolOptions {
  /** Lanes in all, the main thread included (≥ 2). */
  readonly lanes: number;
  /** The main thread's ops (the same module the workers import). */
  readonly ops: LaneOps;
  /** URL of the module whose `laneOps` export the workers run. */
  readonly opsUrl: URL;
  /** Modules whose `preload()` a worker awaits before it reports ready (e.g. MuJoCo). */
  readonly preload?: readonly URL[];
  readonly memory: WebAssembly.Memory;
  /** Milliseconds to wait for the workers to start. Default 120 s. */
  readonly startTimeoutMs?: number;
}

/** A lane failed or died during a job. */
export class WorkerFailure extends Error {
  override name = "WorkerFailure";
  constructor(
    message: string,
    readonly lane: number,
    readonly op: string,
  ) {
    super(message);
  }
}

export interface Pool extends Compute {
  /** Stop the workers and wait for their threads to end. */
  closed(): Promise<void>;
}

const ENTRY = new URL("./entry.mjs", import.meta.url);
const SUPERVISOR = new URL("./supervisor.mjs", import.meta.url);
const LANE = new URL("./lane.ts", import.meta.url);

export async function createPool(o: PoolOptions): Promise<Pool> {
  if (!Number.isInteger(o.lanes) || o.lanes < 2) throw new RangeError(`createPool: lanes must be an integer ≥ 2, got ${o.lanes}`);
  const ctrl = controlBlock();
  const channels = Array.from({ length: o.lanes - 1 }, () => new MessageChannel());
  const ports = channels.map((c) => c.port1);
  const faults = new MessageChannel();
  const supervisor = new Worker(SUPERVISOR, {
    workerData: {
      words: { DONE, EXIT_CODE, FAULT, SHUTDOWN },
      entry: ENTRY.href,
      laneMain: LANE.href,
      lanes: o.lanes,
      ctrl,
      memory: o.memory,
      opsUrl: o.opsUrl.href,
      preload: (o.preload ?? []).map((u) => u.href),
      ports: channels.map((c) => c.port2),
      faults: faults.port2,
    },
    transferList: [...channels.map((c) => c.port2), faults.port2],
  });
  let exited: { readonly end: Promise<void> };
  try {
    exited = await new Promise<{ readonly end: Promise<void> }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker pool: the workers did not start within ${(o.startTimeoutMs ?? 120_000) / 1000} s`)), o.startTimeoutMs ?? 120_000);
      const end = new Promise<void>((r) => supervisor.once("exit", () => r()));
      supervisor.on("message", (m: { kind: string; message?: string }) => {
        if (m.kind === "ready") {
          clearTimeout(timer);
          resolve({ end });
        } else if (m.kind === "failed") {
          clearTimeout(timer);
          reject(new Error(`worker pool: a worker could not start: ${m.message}`));
        }
      });
      supervisor.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      supervisor.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`worker pool: the supervisor exited with code ${code} while starting`));
      });
    });
  } catch (e) {
    Atomics.store(ctrl, SHUTDOWN, 1);
    await supervisor.terminate();
    throw e;
  }
  supervisor.removeAllListeners("message");
  // Idle workers must not keep the process alive.
  supervisor.unref();
  for (const p of ports) p.unref();
  faults.port1.unref();

  const main: LaneContext = { lane: 0, memory: o.memory, cache: new Map() };
  const arena = new SharedArena(o.memory);
  let seq = 0;
  let broken: Error | null = null;
  let closing = false;

  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    Atomics.store(ctrl, SHUTDOWN, 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (const p of ports) p.close();
    void supervisor.terminate();
  };

  /** Why a job failed, from the workers' and the supervisor's messages. */
  const failure = (op: string): WorkerFailure => {
    const lane = Atomics.load(ctrl, FAULT);
    let message = `worker ${lane} failed`;
    for (const p of ports) {
      for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) {
        const msg = m.message as FromWorker;
        if (msg.kind === "error") message = `worker ${lane} threw in op ${op}, chunk ${msg.chunk}: ${msg.message}`;
      }
    }
    // The supervisor's first report on that lane says the most (an error comes before its exit).
    let reported = false;
    for (let m = receiveMessageOnPort(faults.port1); m; m = receiveMessageOnPort(faults.port1)) {
      const f = m.message as { lane: number; message: string; code: number };
      if (f.lane === lane && !reported) {
        message = `${f.message} during op ${op}`;
        reported = true;
      }
    }
    if (message === `worker ${lane} failed`) message = `worker ${lane} died (exit code ${Atomics.load(ctrl, EXIT_CODE)}) during op ${op}`;
    return new WorkerFailure(message, lane, op);
  };

  return {
    lanes: o.lanes,
    arena,
    main,
    run<R>(op: string, args: unknown, count: number): R[] {
      if (broken) throw new Error(`worker pool: unusable after an earlier failure (${broken.message})`);
      if (closing) throw new Error("worker pool: closed");
      if (!Number.isInteger(count) || count < 0 || count > MAX_CHUNKS) throw new RangeError(`worker pool: ${count} chunks (at most ${MAX_CHUNKS})`);
      const f = o.ops[op] as ((a: unknown, c: number, x: LaneContext) => R) | undefined;
      if (!f) throw new Error(`compute: unknown op "${op}"`);
      const out: R[] = new Array(count);
      if (count === 0) return out;
      seq = (seq + 1) | 0;
      if (seq === 0) seq = 1;
      for (const p of ports) p.postMessage({ seq, op, args });
      Atomics.store(ctrl, TOTAL, count);
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, NEXT, (seq & 0xffff) << 16);
      Atomics.store(ctrl, SEQ, seq);
      Atomics.notify(ctrl, SEQ);
      // The main thread takes chunks like any lane.
      for (let c = claimChunk(ctrl, seq); c >= 0; c = claimChunk(ctrl, seq)) {
        if (Atomics.load(ctrl, FAULT) !== 0) break;
        try {
          out[c] = f(args, c, main);
        } catch (e) {
          // No more chunks for anyone; wait for those the workers hold, then rethrow (the pool stays usable).
          const claimed = Atomics.exchange(ctrl, NEXT, 0) & 0xffff;
          for (let done = Atomics.load(ctrl, DONE); done < claimed - 1 && Atomics.load(ctrl, FAULT) === 0; done = Atomics.load(ctrl, DONE)) {
            Atomics.wait(ctrl, DONE, done, 200);
          }
          for (const p of ports) while (receiveMessageOnPort(p));
          throw e;
        }
        Atomics.add(ctrl, DONE, 1);
      }
      for (;;) {
        const done = Atomics.load(ctrl, DONE);
        if (done >= count) break;
        if (Atomics.load(ctrl, FAULT) !== 0) {
          broken = failure(op);
          shutdown();
          throw broken;
        }
        Atomics.wait(ctrl, DONE, done, 200);
      }
      for (const p of ports) {
        for (let m = receiveMessageOnPort(p); m; m = receiveMessageOnPort(p)) {
          const msg = m.message as FromWorker;
          if (msg.kind === "result" && msg.seq === seq) out[msg.chunk] = msg.result as R;
        }
      }
      return out;
    },
    close: shutdown,
    async closed() {
      shutdown();
      await exited.end;
    },
  };
}
