/**
 * Plan-time estimate of what a run will hold in memory and write to disk,
 * checked before anything is written: the codec's bounds (MAX_HORIZON,
 * MAX_STAGES) stop typos, this stops experiments the machine cannot hold.
 *
 * The estimate is an upper bound of the order of magnitude, in doubles:
 *   - trajectory distributions: conditions × horizon × (nx² + nx·nu)
 *     (covariances, gains and the linearization per step);
 *   - sample pools: every stage that keeps its samples in the state (the
 *     importance-sampled GPS pool: POOLED_SAMPLES) adds its samples (per
 *     condition or in all) × ((horizon+1)·nx + horizon·nu + horizon) (states,
 *     actions, rewards);
 *   - samples a stage draws and drops when it ends (fitTheta, updateLambda,
 *     evaluate, cost-weighted regression, …) are held only while it runs: the
 *     largest such draw adds to the peak, not to the state or the disk;
 *   - a checkpoint is encoded (base64, ×4/3) while the state is held, so the
 *     peak is about 3 × the state;
 *   - on disk, every checkpoint has its own trajectories (they change each
 *     stage) while sample pools are blobs shared by all checkpoints.
 */
import { statfsSync, existsSync } from "node:fs";
import { totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import { unrollPipeline, type Experiment } from "../dsl/experiment.js";

export interface Footprint {
  readonly stages: number;
  /** Bytes of one checkpoint's state at the end of the run. */
  readonly stateBytes: number;
  /** Peak memory while writing a checkpoint. */
  readonly memoryBytes: number;
  /** Bytes written to the run directory by the whole pipeline. */
  readonly diskBytes: number;
}

export interface Limits {
  readonly memoryBytes: number;
  /** Free bytes where the store lives; null when unknown. */
  readonly diskFreeBytes: number | null;
}

const DOUBLE = 8;
const BASE64 = 4 / 3;

/**
 * The stage options whose samples join the state's pool (src/algorithms/isgps-stages.ts,
 * baselines.ts daggerIteration) and stay in every later checkpoint: guiding samples
 * are drawn per condition, rollouts of π_θ (drawPolicyBatches) in all, round-robin.
 */
const POOLED_SAMPLES: Readonly<Record<string, { readonly field: string; readonly per: "condition" | "run" }>> = {
  guidingSamples: { field: "samples", per: "condition" },
  pretrainPolicy: { field: "samples", per: "run" },
  isgpsIteration: { field: "samples", per: "run" },
  daggerIteration: { field: "samples", per: "run" },
  adaptWr: { field: "resample", per: "run" },
};

export function estimateFootprint(experiment: Experiment, dims: { readonly nx: number; readonly nu: number }): Footprint {
  const { nx, nu } = dims;
  const T = experiment.task.horizon;
  const conditions = experiment.conditions.length;
  const stages = unrollPipeline(experiment.pipeline);
  const trajectoryDoubles = conditions * T * (nx * nx + nx * nu);
  const sampleDoubles = (T + 1) * nx + T * nu + T;
  let poolDoubles = 0;
  let transientDoubles = 0;
  for (const { spec } of stages) {
    const pool = POOLED_SAMPLES[spec.kind];
    const pooled = pool === undefined ? undefined : (spec as unknown as Record<string, unknown>)[pool.field];
    const samples = (spec as { samples?: unknown }).samples;
    if (typeof pooled === "number") poolDoubles += (pool!.per === "condition" ? conditions * pooled : pooled) * sampleDoubles;
    else if (typeof samples === "number") transientDoubles = Math.max(transientDoubles, conditions * samples * sampleDoubles);
  }
  const stateBytes = (trajectoryDoubles + poolDoubles) * DOUBLE;
  return {
    stages: stages.length,
    stateBytes,
    memoryBytes: 3 * stateBytes + transientDoubles * DOUBLE,
    diskBytes: (stages.length * trajectoryDoubles + poolDoubles) * DOUBLE * BASE64,
  };
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}

export function describeFootprint(f: Footprint): string {
  return `estimated ${formatBytes(f.memoryBytes)} of memory per checkpoint and ${formatBytes(f.diskBytes)} on disk for ${f.stages} stages`;
}

/** Why the run cannot fit (empty: it can). Pure. */
export function footprintProblems(f: Footprint, limits: Limits): string[] {
  const problems: string[] = [];
  if (f.memoryBytes > limits.memoryBytes) {
    problems.push(`the run needs about ${formatBytes(f.memoryBytes)} of memory per checkpoint, more than this machine's ${formatBytes(limits.memoryBytes)}`);
  }
  if (limits.diskFreeBytes !== null && f.diskBytes > limits.diskFreeBytes) {
    problems.push(`the run would write about ${formatBytes(f.diskBytes)}, more than the ${formatBytes(limits.diskFreeBytes)} free where the store is`);
  }
  return problems;
}

/** Worth telling the user before starting (a few GiB are no surprise to nobody). */
export function isLargeFootprint(f: Footprint): boolean {
  return f.memoryBytes > 1 << 30 || f.diskBytes > 4 * 2 ** 30;
}

/** An experiment this machine cannot hold: bad input, refused before any write. */
export class FootprintError extends Error {
  override name = "FootprintError";
  constructor(
    readonly footprint: Footprint,
    problems: readonly string[],
  ) {
    super(`${problems.join("; ")} (${describeFootprint(footprint)}); lower the horizon, samples or stages`);
  }
}

/** This machine's limits for a store at `storeDir` (its nearest existing ancestor's file system). */
export function machineLimits(storeDir: string): Limits {
  let dir = resolve(storeDir);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let diskFreeBytes: number | null = null;
  try {
    const s = statfsSync(dir);
    diskFreeBytes = Number(s.bavail) * Number(s.bsize);
  } catch {
    diskFreeBytes = null;
  }
  return { memoryBytes: totalmem(), diskFreeBytes };
}

/** Throw FootprintError when the estimate does not fit the limits; return the estimate. */
export function checkFootprint(experiment: Experiment, dims: { readonly nx: number; readonly nu: number }, limits: Limits): Footprint {
  const f = estimateFootprint(experiment, dims);
  const problems = footprintProblems(f, limits);
  if (problems.length > 0) throw new FootprintError(f, problems);
  return f;
}
