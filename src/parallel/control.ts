/**
 * The control block the main thread, the supervisor and the worker threads
 * of a pool share: Int32 words in a SharedArrayBuffer, read and written with
 * Atomics only.
 */

/** Word indices. */
export const SEQ = 0; // job number; workers wait for it to change
export const NEXT = 1; // (seq & 0xffff) << 16 | next unclaimed chunk
export const DONE = 2; // chunks finished in the current job
export const TOTAL = 3; // chunks in the current job
export const FAULT = 4; // 0, or the lane that failed or died
export const SHUTDOWN = 5; // 1: workers leave their loop
export const EXIT_CODE = 6; // the exit code of a lane that died
export const WORDS = 8;

/** Chunks per job: they must fit the low 16 bits of NEXT. */
export const MAX_CHUNKS = 0xffff;

export function controlBlock(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(WORDS * 4));
}

/**
 * Claim the next chunk of job `seq`, or −1 when the job has none left (or
 * another job has started: a late lane never takes a newer job's chunk with
 * an older job's arguments).
 */
export function claimChunk(ctrl: Int32Array, seq: number): number {
  const tag = (seq & 0xffff) << 16;
  const total = Atomics.load(ctrl, TOTAL);
  for (;;) {
    const v = Atomics.load(ctrl, NEXT);
    if ((v & 0xffff0000) !== tag) return -1;
    const c = v & 0xffff;
    if (c >= total) return -1;
    if (Atomics.compareExchange(ctrl, NEXT, v, v + 1) === v) return c;
  }
}

/** Count a finished chunk; wake the main thread after the last one. */
export function finishChunk(ctrl: Int32Array): void {
  if (Atomics.add(ctrl, DONE, 1) + 1 >= Atomics.load(ctrl, TOTAL)) Atomics.notify(ctrl, DONE);
}

/** Messages on a worker's port. */
export type ToWorker = { readonly seq: number; readonly op: string; readonly args: unknown };
export type FromWorker =
  | { readonly kind: "result"; readonly seq: number; readonly chunk: number; readonly result: unknown }
  | { readonly kind: "error"; readonly seq: number; readonly chunk: number; readonly message: string };
