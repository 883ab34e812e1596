/**
 * Everything a lane of a Compute can run: the policy kernels' chunk ops and
 * the physics ops (rollouts, linearizations). Worker threads import this
 * module by URL (src/parallel/pool.ts), the main thread directly; an op is
 * the same pure function on either.
 */
import type { LaneOps } from "../parallel/compute.js";
import { kernelOps } from "../policy/kernels/ops.js";
import { physicsOps } from "./rollout-ops.js";
import { cgpsOps } from "./cgps-condition.js";

export const laneOps: LaneOps = {
  ...(kernelOps as unknown as LaneOps),
  ...(physicsOps as unknown as LaneOps),
  ...(cgpsOps as unknown as LaneOps),
};

/** This module, for worker threads to import. */
export const laneOpsUrl = new URL(import.meta.url);

/** Modules a worker preloads (their `preload()`) before taking work: MuJoCo's WASM module. */
export const lanePreload = [new URL("../sim/mujoco.ts", import.meta.url)];
