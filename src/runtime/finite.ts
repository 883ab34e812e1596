/**
 * Non-finite numbers in a stage's result: a diverged simulation (an initial
 * velocity of 1e200) or a broken update turns every later number into NaN,
 * and a run that checkpoints them "completes" with nonsense. The interpreter
 * checks each stage's new state and metrics here before checkpointing; the
 * first offending quantity fails the stage, named by its path.
 *
 * Decided per field (what the stages write on purpose):
 *   - state `policy.inputStd` is +∞ for an input the policy ignores
 *     (src/policy/mlp.ts); NaN there is still a fault.
 *   - every other state number must be finite.
 *   - metrics in NAN_SENTINEL_METRICS are diagnostics that are NaN or ±∞ by
 *     definition in degenerate cases (no demonstration, no gain schedule, every
 *     importance weight 0); every other metric (cost, distance, …) must be
 *     finite. Integer sentinels such as `fallStep` −1 are finite anyway.
 *   - the metrics of a stage in DIAGNOSTIC_STAGES are all diagnostics, NaN
 *     where a quantity does not exist (no contact: jumpAtContact); its state
 *     is still checked.
 */

const DIAGNOSTIC_STAGES: ReadonlySet<string> = new Set(["diagnoseTrajectories"]);

const NAN_SENTINEL_METRICS: ReadonlySet<string> = new Set([
  "demonstrationGainNorm",
  "demonstrationWindowAmplification",
  "gainMus",
  "meanEss",
  "effectiveSampleSize",
  "guidingWeightShare",
  "estimatedReturnK",
  "estimatedReturnStar",
  "phi",
  "previousWr",
]);

/** A state path where +∞ is a legitimate value. */
const POSITIVE_INFINITY_OK: readonly RegExp[] = [/^policy\.inputStd$/];

export interface NonFinite {
  /** e.g. `conditions[1].trajectory.xbar` or `metrics.cost`. */
  readonly path: string;
  /** Index inside a typed array or number array, when the quantity is one. */
  readonly element: number | null;
  readonly value: number;
}

function describeValue(v: number): string {
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** `conditions[1].trajectory.xbar has NaN at element 123` / `metrics.cost is NaN`. */
export function describeNonFinite(f: NonFinite): string {
  return f.element === null ? `${f.path} is ${describeValue(f.value)}` : `${f.path} has ${describeValue(f.value)} at element ${f.element}`;
}

function allowed(path: string, v: number): boolean {
  return v === Infinity && POSITIVE_INFINITY_OK.some((r) => r.test(path));
}

function join(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

function firstInArray(a: ArrayLike<number>, path: string): NonFinite | null {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!Number.isFinite(v) && !allowed(path, v)) return { path, element: i, value: v };
  }
  return null;
}

/** The first non-finite number in a state value (depth first, in key order), or null. */
export function firstNonFiniteInState(value: unknown, path = ""): NonFinite | null {
  if (typeof value === "number") return Number.isFinite(value) || allowed(path, value) ? null : { path, element: null, value };
  if (value === null || typeof value !== "object") return null;
  if (value instanceof Float64Array || value instanceof Float32Array) return firstInArray(value, path);
  if (ArrayBuffer.isView(value)) return null; // integer arrays are always finite
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === "number")) return firstInArray(value as number[], path);
    for (let i = 0; i < value.length; i++) {
      const f = firstNonFiniteInState(value[i], join(path, i));
      if (f) return f;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const f = firstNonFiniteInState(v, join(path, k));
    if (f) return f;
  }
  return null;
}

/** The first metric that must be finite and is not, or null. */
export function firstNonFiniteMetric(metrics: Readonly<Record<string, number | readonly number[]>>): NonFinite | null {
  for (const [k, v] of Object.entries(metrics)) {
    if (NAN_SENTINEL_METRICS.has(k)) continue;
    const path = `metrics.${k}`;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return { path, element: null, value: v };
    } else {
      const f = firstInArray(v, path);
      if (f) return f;
    }
  }
  return null;
}

/** A stage whose result holds a NaN or ±∞ where none may be: it is not checkpointed (exit 3). */
export class NonFiniteStageError extends Error {
  override name = "NonFiniteStageError";
  constructor(
    readonly stageIndex: number,
    readonly stageLabel: string,
    readonly found: NonFinite,
  ) {
    super(
      `stage ${stageIndex} (${stageLabel}): ${describeNonFinite(found)} — the stage was not checkpointed; the checkpoints before it are kept (gps resume retries from them)`,
    );
  }
}

/** Throw NonFiniteStageError for the first non-finite metric, else the first in the state. */
export function checkStageFinite(
  index: number,
  label: string,
  state: unknown,
  metrics: Readonly<Record<string, number | readonly number[]>>,
  kind = "",
): void {
  const found = (DIAGNOSTIC_STAGES.has(kind) ? null : firstNonFiniteMetric(metrics)) ?? firstNonFiniteInState(state);
  if (found) throw new NonFiniteStageError(index, label, found);
}
