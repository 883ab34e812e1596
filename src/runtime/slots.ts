/**
 * The run state by slot, for `gps diff`: a digest per slot, recorded with
 * every stage (stages.jsonl `slots`), says which part of the state diverged
 * first; the magnitudes say by how much (read from the two checkpoints).
 *
 * Slots group what the stages write: the generator, each kind of per-condition
 * record over all conditions, and the family records. A digest is the
 * sha256 of the slot's canonical JSON (the state's own encoding) in which each
 * large typed array (the ones the store keeps as blobs) stands as the sha256
 * of its bytes, cut to 16 hex digits: enough to tell two runs apart, short
 * enough for every log line. An array's hash is computed once per run (state
 * arrays are never changed once in a state), so the ISGPS pool, which grows
 * by a few batches per stage, is not hashed again whole at every stage.
 */
import type { RunState } from "../algorithms/state.js";
import { gaussianKl, gaussianKlWorkspace } from "../trajopt/cgps-math.js";
import type { IlqgTrajectory } from "../trajopt/ilqg.js";
import { createHash } from "node:crypto";
import { DeferredTag, digestOfEncoded, type JsonObject, type JsonValue } from "./canonical.js";

/** Per-condition fields, each a slot over all conditions. */
const CONDITION_SLOTS = ["x0", "trajectory", "settings", "tracking", "linearization", "demonstration", "motorNoise", "lambda", "stateCovariance", "evaluation", "pushTests"] as const;
/** Top-level fields of the state, each a slot. */
const STATE_SLOTS = ["rng", "policy", "gpsIteration", "isgps", "policyGradient"] as const;

export type SlotName = (typeof CONDITION_SLOTS)[number] | (typeof STATE_SLOTS)[number];

/** How the diff names a slot. */
export const SLOT_NAMES: Readonly<Record<SlotName, string>> = {
  rng: "rng",
  policy: "policy",
  gpsIteration: "GPS iteration count",
  isgps: "ISGPS pool",
  policyGradient: "policy-gradient moments",
  x0: "initial states",
  trajectory: "trajectories",
  settings: "iLQG settings",
  tracking: "tracking",
  linearization: "linearization",
  demonstration: "demonstrations",
  motorNoise: "motor noise",
  lambda: "λ",
  stateCovariance: "state covariances",
  evaluation: "evaluations",
  pushTests: "push tests",
};

const isObject = (v: JsonValue | undefined): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** sha256 of a typed array's bytes, once per array. */
const arrayHashes = new WeakMap<ArrayBufferView, string>();
function arrayHash(a: ArrayBufferView): string {
  let h = arrayHashes.get(a);
  if (h === undefined) arrayHashes.set(a, (h = createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex")));
  return h;
}

/** The value with each deferred (large) typed array replaced by its bytes' hash. */
function hashedArrays(v: JsonValue): JsonValue {
  if (v instanceof DeferredTag) return { [`${v.tag}sha256`]: arrayHash(v.array) };
  if (Array.isArray(v)) return v.map(hashedArrays);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) out[k] = hashedArrays(x);
  return out;
}

/**
 * The digest of every slot of an encoded state (`encodeValue(state, { deferFromBytes })`
 * as the interpreter makes it, before the store takes it over).
 */
export function slotDigests(encoded: JsonValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(encoded)) return out;
  const short = (v: JsonValue): string => digestOfEncoded(hashedArrays(v)).slice(0, 16);
  for (const key of STATE_SLOTS) out[key] = short(encoded[key] ?? null);
  const conditions = Array.isArray(encoded.conditions) ? encoded.conditions : [];
  for (const key of CONDITION_SLOTS) out[key] = short(conditions.map((c) => (isObject(c) ? (c[key] ?? null) : null)));
  return out;
}

/** The slots whose digests differ (both recorded), in SLOT_NAMES order, and those equal. */
export function compareSlots(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): { differ: SlotName[]; same: SlotName[] } {
  const differ: SlotName[] = [];
  const same: SlotName[] = [];
  for (const key of [...STATE_SLOTS, ...CONDITION_SLOTS]) {
    if (!(key in a) || !(key in b)) continue;
    (a[key] === b[key] ? same : differ).push(key);
  }
  return { differ, same };
}

/** How far apart two runs' states are, per slot that differs. */
export interface SlotMagnitudes {
  /** ‖θ_A − θ_B‖₂ (null: the shapes differ, or a run has no policy). */
  readonly policyDistance?: number | null;
  /**
   * Per condition, Σ_t KL(q_A(u|x̄ᴬ_t) ‖ q_B(u|x̄ᴬ_t)): the two trajectory distributions'
   * action Gaussians at A's nominal states (null: a condition lacks one, or the shapes differ).
   */
  readonly trajectoryKl?: readonly (number | null)[];
  /** Max |Δ| over the numbers of every other differing slot (null: the shapes differ). */
  readonly maxAbsDelta?: Readonly<Record<string, number | null>>;
}

/** Σ_t KL between two linear-Gaussian controllers' action distributions at A's nominal states. */
export function trajectoryKl(a: IlqgTrajectory, b: IlqgTrajectory): number | null {
  if (a.T !== b.T || a.nx !== b.nx || a.nu !== b.nu) return null;
  const { T, nx, nu } = a;
  const muA = new Float64Array(nu);
  const muB = new Float64Array(nu);
  const work = gaussianKlWorkspace(nu);
  let sum = 0;
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < nu; j++) {
      muA[j] = a.ubar[t * nu + j] + a.k[t * nu + j];
      let m = b.ubar[t * nu + j] + b.k[t * nu + j];
      for (let i = 0; i < nx; i++) m += b.K[(t * nu + j) * nx + i] * (a.xbar[t * nx + i] - b.xbar[t * nx + i]);
      muB[j] = m;
    }
    try {
      sum += gaussianKl(muA, a.cov.subarray(t * nu * nu, (t + 1) * nu * nu), muB, b.cov.subarray(t * nu * nu, (t + 1) * nu * nu), nu, work);
    } catch {
      return null; // a covariance that is not positive definite: no KL to report
    }
  }
  return sum;
}

/** Max |a − b| over two values of the same shape (numbers, arrays, Float64Arrays, records); null if the shapes differ. */
export function maxAbsDelta(a: unknown, b: unknown): number | null {
  if (typeof a === "number" && typeof b === "number") return a === b ? 0 : Math.abs(a - b);
  if (a instanceof Float64Array && b instanceof Float64Array) {
    if (a.length !== b.length) return null;
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return null;
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      const d = maxAbsDelta(a[i], b[i]);
      if (d === null) return null;
      m = Math.max(m, d);
    }
    return m;
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    let m = 0;
    for (const k of keys) {
      const d = maxAbsDelta(Reflect.get(a, k), Reflect.get(b, k));
      if (d === null) return null;
      m = Math.max(m, d);
    }
    return m;
  }
  return a === b ? 0 : null;
}

function slotValue(state: RunState, slot: SlotName): unknown {
  switch (slot) {
    case "rng":
    case "policy":
    case "gpsIteration":
    case "isgps":
    case "policyGradient":
      return state[slot] ?? null;
    default:
      return state.conditions.map((c) => c[slot] ?? null);
  }
}

/** The magnitudes of the differing slots between two states. */
export function slotMagnitudes(a: RunState, b: RunState, differ: readonly SlotName[]): SlotMagnitudes {
  let policyDistance: number | null | undefined;
  let trajectoryKls: (number | null)[] | undefined;
  const others: Record<string, number | null> = {};
  for (const slot of differ) {
    if (slot === "policy") {
      const ta = a.policy?.theta;
      const tb = b.policy?.theta;
      policyDistance = ta && tb && ta.length === tb.length ? Math.sqrt(ta.reduce((s, v, i) => s + (v - tb[i]) ** 2, 0)) : null;
    } else if (slot === "trajectory") {
      trajectoryKls = a.conditions.map((c, i) => {
        const qa = c.trajectory;
        const qb = b.conditions[i]?.trajectory;
        return qa && qb ? trajectoryKl(qa, qb) : null;
      });
    } else {
      others[slot] = maxAbsDelta(slotValue(a, slot), slotValue(b, slot));
    }
  }
  return {
    ...(policyDistance !== undefined ? { policyDistance } : {}),
    ...(trajectoryKls ? { trajectoryKl: trajectoryKls } : {}),
    ...(Object.keys(others).length ? { maxAbsDelta: others } : {}),
  };
}
