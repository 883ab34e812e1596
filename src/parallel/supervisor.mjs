// The supervisor thread of a pool (./pool.ts): it starts the worker threads,
// reports when they are all ready, and watches them. The main thread blocks in
// Atomics.wait while lanes work, so it cannot see a worker's exit event; the
// supervisor's own event loop does, writes the fault into the control block,
// wakes the main thread and tells it what happened.
//
// Plain JavaScript on purpose: it needs neither tsx nor MuJoCo, and a thread
// without them costs tens of MB less. The control block's word indices come
// in workerData (./control.ts owns them).
import { parentPort, Worker, workerData } from "node:worker_threads";

const d = workerData;
const { DONE, EXIT_CODE, FAULT, SHUTDOWN } = d.words;
let ready = 0;
let exited = 0;
const workers = d.ports.map((port, k) => {
  const lane = k + 1;
  const w = new Worker(new URL(d.entry), {
    workerData: { main: d.laneMain, lane, ctrl: d.ctrl, memory: d.memory, opsUrl: d.opsUrl, preload: d.preload, port },
    transferList: [port],
  });
  w.on("message", (m) => {
    if (m.kind === "ready" && ++ready === d.ports.length) parentPort.postMessage({ kind: "ready" });
  });
  w.on("error", (e) => fault(lane, `worker ${lane} failed: ${e.stack ?? e.message}`, 1));
  w.on("exit", (code) => {
    exited++;
    if (Atomics.load(d.ctrl, SHUTDOWN) === 0) fault(lane, `worker ${lane} exited with code ${code}`, code);
    if (exited === d.ports.length) d.faults.close();
  });
  return w;
});

function fault(lane, message, code) {
  if (ready < workers.length) parentPort.postMessage({ kind: "failed", message });
  if (Atomics.compareExchange(d.ctrl, FAULT, 0, lane) === 0) Atomics.store(d.ctrl, EXIT_CODE, code);
  d.faults.postMessage({ lane, message, code });
  Atomics.notify(d.ctrl, DONE);
}
