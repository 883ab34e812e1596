/**
 * The supervisor thread of a pool: it starts the worker threads, reports when
 * they are all ready, and watches them. The main thread blocks in
 * Atomics.wait while lanes work, so it cannot see a worker's exit event; the
 * supervisor's own event loop does, writes the fault into the control block,
 * wakes the main thread and tells it what happened.
 */
import { parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import { DONE, EXIT_CODE, FAULT, SHUTDOWN } from "./control.js";

interface SupervisorData {
  readonly entry: string;
  readonly laneMain: string;
  readonly lanes: number;
  readonly ctrl: Int32Array;
  readonly memory: WebAssembly.Memory;
  readonly opsUrl: string;
  readonly preload: readonly string[];
  readonly ports: readonly MessagePort[];
  readonly faults: MessagePort;
}

const d = workerData as SupervisorData;
let ready = 0;
let exited = 0;
const workers = d.ports.map((port, k) => {
  const lane = k + 1;
  const w = new Worker(new URL(d.entry), {
    workerData: { main: d.laneMain, lane, ctrl: d.ctrl, memory: d.memory, opsUrl: d.opsUrl, preload: d.preload, port },
    transferList: [port],
  });
  w.on("message", (m: { kind: string }) => {
    if (m.kind === "ready" && ++ready === d.ports.length) parentPort!.postMessage({ kind: "ready" });
  });
  w.on("error", (e) => fault(lane, `worker ${lane} failed: ${e.stack ?? e.message}`, 1));
  w.on("exit", (code) => {
    exited++;
    if (Atomics.load(d.ctrl, SHUTDOWN) === 0) fault(lane, `worker ${lane} exited with code ${code}`, code);
    if (exited === d.ports.length) d.faults.close();
  });
  return w;
});

function fault(lane: number, message: string, code: number): void {
  if (ready < workers.length) parentPort!.postMessage({ kind: "failed", message });
  if (Atomics.compareExchange(d.ctrl, FAULT, 0, lane) === 0) Atomics.store(d.ctrl, EXIT_CODE, code);
  d.faults.postMessage({ lane, message, code });
  Atomics.notify(d.ctrl, DONE);
}
