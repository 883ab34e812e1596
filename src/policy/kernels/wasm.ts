/**
 * The compiled policy kernels (./assembly/mlp.ts → ./mlp.wasm, built by
 * `npm run build:kernels`, which `npm ci` runs through `prepare`) and the one
 * linear memory they work in.
 *
 * The memory is a shared WebAssembly.Memory: every thread of a run
 * instantiates the same module on it, so the rows of a batch live in one
 * place and every thread reads and writes them without copying. Each thread
 * compiles the module once (synchronously: stages are synchronous).
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The exports of ./assembly/mlp.ts (pointers are byte offsets into the memory). */
export interface KernelExports {
  gemmNN(p: number, q: number, k: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number, bias: number, accumulate: number): void;
  gemmTN(p: number, q: number, k: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number): void;
  columnSums(rows: number, q: number, A: number, lda: number, out: number): void;
  hadamard(D: number, S: number, count: number): void;
  zero(P: number, count: number): void;
  copyBlock(src: number, lds: number, dst: number, ldd: number, rows: number, cols: number, add: number): void;
  normalizeRows(X: number, ldx: number, rows: number, n: number, mean: number, std: number, XN: number, ldxn: number): void;
  softplus(Z: number, S: number, count: number): void;
  fitLossRows(rows: number, m: number, M: number, ldm: number, targets: number, P: number, weights: number, D: number, ldd: number): number;
  logDensityRows(rows: number, m: number, M: number, ldm: number, U: number, invStd: number, c: number, out: number): void;
  scoreRows(rows: number, m: number, M: number, ldm: number, U: number, invStd: number, coef: number, constCoef: number, scale: number, D: number, ldd: number, gLogStd: number): void;
  jacobianRows(rows: number, n: number, H: number, m: number, W2: number, ldh: number, S: number, W1: number, ldw: number, std: number, out: number): void;
}

/** Pages of 64 KiB the module declares (asconfig.json): the memory must fit these limits. */
export const INITIAL_PAGES = 32;
export const MAXIMUM_PAGES = 32768;

const WASM_URL = new URL("./mlp.wasm", import.meta.url);

export class KernelsNotBuiltError extends Error {
  override name = "KernelsNotBuiltError";
}

let compiled: WebAssembly.Module | undefined;

/** The compiled module, once per thread. */
export function kernelModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = fileURLToPath(WASM_URL);
  if (!existsSync(path)) {
    throw new KernelsNotBuiltError(`the policy kernels are not built (${path} is missing): run \`npm run build:kernels\` (npm ci runs it)`);
  }
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

/** A new shared memory for the kernels. */
export function createKernelMemory(pages = INITIAL_PAGES): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: Math.max(INITIAL_PAGES, pages), maximum: MAXIMUM_PAGES, shared: true });
}

/** This thread's instance of the kernels on `memory`. */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(kernelModule(), { env: { memory } });
  return instance.exports as unknown as KernelExports;
}
