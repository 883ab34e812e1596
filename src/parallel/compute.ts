/**
 * Where pure, independent work runs: the main thread alone (`inProcess`) or
 * the main thread and worker threads together (./pool.ts). Stages see only
 * this interface, so a stage is the same pure function of its inputs either
 * way.
 *
 * Work is an op (a named pure function every lane can run) applied to chunks
 * 0…count−1. What a chunk computes depends on its index and the arguments
 * only, never on which lane ran it or how many lanes there are; callers
 * combine chunk results in chunk order. That is what makes a run's results
 * bit-identical for any number of workers.
 */
import { SharedArena } from "./arena.js";

/** What an op may use besides its arguments. */
export interface LaneContext {
  /** 0 for the main thread, 1… for worker threads. */
  readonly lane: number;
  /** The memory every lane shares (the arena's). */
  readonly memory: WebAssembly.Memory;
  /** Built once per thread and kept: compiled kernels, simulators. */
  readonly cache: Map<string, unknown>;
}

/** One chunk of work: returns a structured-cloneable value (or writes into shared memory and returns nothing). */
export type LaneOp = (args: never, chunk: number, ctx: LaneContext) => unknown;
export type LaneOps = Readonly<Record<string, LaneOp>>;

export interface Compute {
  /** Threads that take chunks (the main thread included). */
  readonly lanes: number;
  /** Shared memory for row blocks (policy kernels). */
  readonly arena: SharedArena;
  /** The main thread's own context (lane 0). */
  readonly main: LaneContext;
  /** Run chunks 0…count−1 of `op`; the chunks' return values in chunk order. */
  run<R = unknown>(op: string, args: unknown, count: number): R[];
  /** Stop the workers (no-op in-process). */
  close(): void;
}

/** Everything on the calling thread, chunks in order. */
export function inProcessCompute(ops: LaneOps, memory: WebAssembly.Memory): Compute {
  const arena = new SharedArena(memory);
  const main: LaneContext = { lane: 0, memory, cache: new Map() };
  return {
    lanes: 1,
    arena,
    main,
    run<R>(op: string, args: unknown, count: number): R[] {
      const f = ops[op] as ((a: unknown, c: number, ctx: LaneContext) => R) | undefined;
      if (!f) throw new Error(`compute: unknown op "${op}"`);
      const out: R[] = new Array(count);
      for (let c = 0; c < count; c++) out[c] = f(args, c, main);
      return out;
    },
    close() {},
  };
}
