/**
 * A worker thread's loop: wait for a job, take its chunks one by one until
 * none is left, report, wait again. Runs every op of the module at
 * workerData.opsUrl on its own thread (its own compiled kernels and MuJoCo
 * instance, built once), on the memory all lanes share.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import type { LaneContext, LaneOps } from "./compute.js";
import { claimChunk, DONE, FAULT, finishChunk, SEQ, SHUTDOWN, type FromWorker, type ToWorker } from "./control.js";

interface LaneData {
  readonly lane: number;
  readonly ctrl: Int32Array;
  readonly memory: WebAssembly.Memory;
  readonly opsUrl: string;
  readonly port: MessagePort;
  /** Modules to import (and await) before reporting ready, e.g. to load MuJoCo. */
  readonly preload: readonly string[];
}

const data = workerData as LaneData & { main: string };
const { lane, ctrl, memory, port } = data;

for (const url of data.preload) {
  const mod = (await import(url)) as { preload?: () => Promise<unknown> };
  await mod.preload?.();
}
const ops = (await import(data.opsUrl)).laneOps as LaneOps;
const ctx: LaneContext = { lane, memory, cache: new Map() };

/**
 * Fault injection for tests: GPS_WORKER_FAULT="<lane>:<chunks>" makes that
 * lane end its thread abruptly (exit code 137, as if killed) when it starts
 * its chunks-th chunk, in the middle of a job.
 */
const fault = /^(\d+):(\d+)$/.exec(process.env.GPS_WORKER_FAULT ?? "");
const dieAt = fault && Number(fault[1]) === lane ? Number(fault[2]) : -1;
let started = 0;

/**
 * The job of `seq`, or null when it is no longer worth waiting for. Messages
 * can arrive ahead of their job number (the main thread posts a job before it
 * announces it) and a lane that slept through jobs finds their messages
 * queued: keep what was read, by job number. A message that has not arrived
 * is waited for as long as its job is the announced one; once a newer job is
 * announced (or the pool shuts down) this job's chunks can no longer be
 * claimed (claimChunk checks the job number), the other lanes and the main
 * thread have taken them, and skipping it loses nothing. (A fixed timeout here
 * failed long runs on a loaded machine: "no message for job 10561".)
 */
const pending = new Map<number, ToWorker>();
function jobOf(seq: number): ToWorker | null {
  for (;;) {
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
      const job = m.message as ToWorker;
      pending.set(job.seq, job);
    }
    const job = pending.get(seq);
    if (job) {
      for (const k of [...pending.keys()]) if (k <= seq) pending.delete(k);
      return job;
    }
    if (Atomics.load(ctrl, SEQ) !== seq || Atomics.load(ctrl, SHUTDOWN) !== 0) return null;
    Atomics.wait(ctrl, SHUTDOWN, 0, 1);
  }
}

parentPort!.postMessage({ kind: "ready", lane });
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, SEQ, seen);
  if (Atomics.load(ctrl, SHUTDOWN) !== 0) break;
  const seq = Atomics.load(ctrl, SEQ);
  seen = seq;
  const job = jobOf(seq);
  if (job === null) continue;
  const op = ops[job.op] as ((a: unknown, c: number, x: LaneContext) => unknown) | undefined;
  for (;;) {
    const c = claimChunk(ctrl, seq);
    if (c < 0) break;
    if (++started === dieAt) process.exit(137);
    try {
      if (!op) throw new Error(`unknown op "${job.op}"`);
      const result = op(job.args, c, ctx);
      if (result !== undefined) port.postMessage({ kind: "result", seq, chunk: c, result } satisfies FromWorker);
    } catch (e) {
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      port.postMessage({ kind: "error", seq, chunk: c, message } satisfies FromWorker);
      Atomics.store(ctrl, FAULT, lane);
      Atomics.notify(ctrl, DONE);
      break;
    }
    finishChunk(ctrl);
  }
}
port.close();
