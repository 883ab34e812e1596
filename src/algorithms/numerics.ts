/**
 * Which implementation of the policy network's many-row computations a run
 * uses, and where its independent work runs.
 *
 *   "per-row"  the original per-row code of src/policy/mlp.ts, one thread:
 *              runs recorded before the batched kernels existed resume with
 *              it, bit-identically
 *   "batched"  the batched WebAssembly kernels (src/policy/kernels), chunked
 *              over every lane of the run's Compute: the default
 *
 * The two agree to ~1e-15 relative per evaluation; over a long run the last
 * bits drift apart, so a run records which one it used (run.json) and a
 * resume uses the same.
 */
import { inProcessCompute, type Compute } from "../parallel/compute.js";
import { createKernelMemory } from "../policy/kernels/wasm.js";
import { batchedKernels, DEFAULT_NUMERICS, perRowKernels, type Numerics, type PolicyKernels } from "./kernels.js";
import { laneOps } from "./lane-ops.js";

export { batchedKernels, DEFAULT_NUMERICS, NUMERICS, perRowKernels, type Numerics, type PolicyKernels } from "./kernels.js";

let local: Compute | undefined;

/** A Compute on the calling thread alone (created once, on first use). */
export function localCompute(): Compute {
  local ??= inProcessCompute(laneOps, createKernelMemory());
  return local;
}

/** The kernels of a stage's environment: its numerics on its Compute. */
export function kernelsOf(env: { readonly compute?: Compute; readonly numerics?: Numerics }): PolicyKernels {
  const numerics = env.numerics ?? DEFAULT_NUMERICS;
  return numerics === "per-row" ? perRowKernels : batchedKernels(env.compute ?? localCompute());
}
