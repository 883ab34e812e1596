/**
 * Plan-time estimate of what a run will hold in memory and write to disk,
 * checked before anything is written: the codec's bounds (MAX_HORIZON,
 * MAX_STAGES) stop typos, this stops experiments the machine cannot hold.
 *
 * The estimate is an upper bound of the order of magnitude, in doubles:
 *   - trajectory distributions: conditions × horizon × (2·nx² + 2·nx·nu +
 *     nu² + 2·nu + nx) (per step: q's state covariance and the dynamics'
 *     linearization, the gains K and k, the action covariance, the nominal);
 *   - sample pools: every stage that keeps its samples in the state (the
 *     importance-sampled GPS pool: POOLED_SAMPLES) adds its samples (per
 *     condition or in all) × ((horizon+1)·nx + horizon·nu + horizon) (states,
 *     actions, rewards);
 *   - samples a stage draws and drops when it ends (fitTheta, updateLambda,
 *     evaluate, cost-weighted regression, …) are held only while it runs: the
 *     largest such draw adds to the peak, not to the state or the disk;
 *   - a checkpoint is encoded (base64, ×4/3) while the state is held, so the
 *     peak is about 3 × the state;
 *   - on disk, a checkpoint's large arrays are content-addressed blobs
 *     (src/runtime/store.ts), so a checkpoint costs only what its stage wrote
 *     anew (FRESH_WRITES): a trajectory step its conditions' trajectories, a
 *     policy fit θ, an evaluate its roots and push responses; everything else
 *     is a blob the previous checkpoint already wrote. Sample pools are
 *     written once.
 */
import { statfsSync, existsSync } from "node:fs";
import { totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import { unrollPipeline, type Experiment, type StageKind, type StageSpec } from "../dsl/experiment.js";

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

/**
 * What a stage of each kind writes anew into its checkpoint (the rest of the state
 * is blobs an earlier checkpoint holds). Keyed by every stage kind, so a new kind
 * does not compile until it says what it writes.
 *   trajectories: every condition's q (gains, covariances, linearization);
 *   demonstration: every condition's recorded states and actions;
 *   policy: this many copies of θ (a fit's θ; policy gradient's Adam moments too);
 *   evaluation: the chosen conditions' root tracks and each push's states.
 */
interface FreshWrites {
  readonly trajectories?: true;
  readonly demonstration?: true;
  readonly policy?: number;
  readonly evaluation?: true;
}
const FRESH_WRITES: Readonly<Record<StageKind, FreshWrites>> = {
  demonstrate: { demonstration: true },
  initializeTrajectories: { trajectories: true },
  ilqgIteration: { trajectories: true },
  optimizeQ: { trajectories: true },
  adaptGuiding: { trajectories: true },
  variationalEStep: { trajectories: true },
  fitTheta: { policy: 1 },
  updateLambda: {},
  guidingSamples: {},
  pretrainPolicy: { policy: 2 },
  isgpsIteration: { policy: 2 },
  adaptWr: { policy: 1 },
  policyGradientIteration: { policy: 3 },
  daggerIteration: { policy: 1 },
  costWeightedRegression: { policy: 1 },
  evaluate: { evaluation: true },
  diagnoseTrajectories: {},
};

/** Doubles an evaluate stage writes: each chosen condition's root track, and each test push's states. */
function evaluationDoubles(spec: StageSpec, conditions: number, T: number, nx: number): number {
  if (spec.kind !== "evaluate") return 0;
  const H = spec.horizon ?? T;
  const chosen = spec.conditions?.length ?? conditions;
  return chosen * (H + 1) * (2 + (spec.pushes?.length ?? 0) * nx);
}

export function estimateFootprint(experiment: Experiment, dims: { readonly nx: number; readonly nu: number }): Footprint {
  const { nx, nu } = dims;
  const T = experiment.task.horizon;
  const conditions = experiment.conditions.length;
  const stages = unrollPipeline(experiment.pipeline);
  const trajectoryDoubles = conditions * T * (2 * nx * nx + 2 * nx * nu + nu * nu + 2 * nu + nx);
  const sampleDoubles = (T + 1) * nx + T * nu + T;
  const demonstrationDoubles = conditions * ((T + 1) * nx + T * nu);
  // θ of the one-hidden-layer network (src/policy): weights, biases, log std, input normalization.
  const H = experiment.policy?.hidden ?? 0;
  const policyDoubles = (nx + 1) * H + (H + 1) * nu + nu + 2 * nx;
  let poolDoubles = 0;
  let transientDoubles = 0;
  let freshDoubles = 0;
  for (const { spec } of stages) {
    const w = FRESH_WRITES[spec.kind];
    freshDoubles += (w.trajectories ? trajectoryDoubles : 0) + (w.demonstration ? demonstrationDoubles : 0) + (w.policy ?? 0) * policyDoubles;
    if (w.evaluation) freshDoubles += evaluationDoubles(spec, conditions, T, nx);
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
    diskBytes: (freshDoubles + poolDoubles) * DOUBLE * BASE64,
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
