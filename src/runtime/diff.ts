/**
 * Comparing two runs stage by stage: what differs in their (resolved)
 * experiments, the first stage whose state differs and which slots of the
 * state differ there (with magnitudes), and every metric's delta per stage.
 *
 * Runs record a digest per state slot with every stage (src/runtime/slots.ts);
 * for runs recorded before that, the comparison falls back to the whole-state
 * digest, and the slots at the first divergent stage are found from the two
 * checkpoints instead.
 */
import { decodeRunState } from "../algorithms/run-state.js";
import type { Metrics, RunState } from "../algorithms/state.js";
import { resolveExperiment } from "../dsl/resolve.js";
import { decodeExperiment } from "../dsl/validate.js";
import { decodeValue, diffValues, encodeValue, type JsonValue, type ValueChange } from "./canonical.js";
import { compareSlots, SLOT_NAMES, slotDigests, slotMagnitudes, type SlotMagnitudes, type SlotName } from "./slots.js";
import { BLOB_MIN_BYTES, readCheckpoint, readExperiment, readStageLog, stageRecords, type RunHandle } from "./store.js";

export interface MetricDelta {
  readonly a: number;
  readonly b: number;
  readonly delta: number;
}

export interface StageComparison {
  readonly index: number;
  readonly kindA: string;
  readonly kindB: string;
  readonly labelA: string;
  readonly digestA: string;
  readonly digestB: string;
  readonly sameDigest: boolean;
  /** Slots whose digests differ / agree (empty when a run did not record slot digests). */
  readonly slotsDiffer: readonly SlotName[];
  readonly slotsSame: readonly SlotName[];
  /** Scalar metrics present in both: a, b and b − a. */
  readonly metricDeltas: Readonly<Record<string, MetricDelta>>;
  /** Array metrics present in both with equal lengths: the largest |b − a| over their entries. */
  readonly arrayMetricMaxDelta: Readonly<Record<string, number>>;
}

/** The first stage whose state differs, slot by slot. */
export interface Divergence {
  readonly index: number;
  readonly kind: string;
  readonly label: string;
  readonly slotsDiffer: readonly SlotName[];
  readonly slotsSame: readonly SlotName[];
  /** Where the slots came from: the recorded slot digests, or the two checkpoints (older runs), or neither. */
  readonly slotsFrom: "log" | "checkpoints" | "none";
  readonly magnitudes: SlotMagnitudes | null;
}

export interface RunDiff {
  readonly identical: boolean;
  readonly experimentChanges: readonly ValueChange[];
  readonly firstDivergentStage: number | null;
  readonly divergence: Divergence | null;
  readonly stages: readonly StageComparison[];
  readonly stagesOnlyIn: { readonly a: readonly number[]; readonly b: readonly number[] };
  /** Stages of either run without a good checkpoint (corrupt, missing), each naming the file: such runs are never "identical". */
  readonly problems: readonly { readonly run: "a" | "b"; readonly index: number; readonly problem: string }[];
}

/** A run's experiment, resolved (older runs stored it unresolved); as stored when it does not decode. */
function resolvedExperimentJson(run: RunHandle): JsonValue {
  const stored = readExperiment(run);
  try {
    return encodeValue(resolveExperiment(decodeExperiment(decodeValue(stored))));
  } catch {
    return stored;
  }
}

function stateAt(run: RunHandle, index: number): RunState | null {
  try {
    return decodeRunState(readCheckpoint(run, index).state);
  } catch {
    return null;
  }
}

export function diffRuns(a: RunHandle, b: RunHandle): RunDiff {
  const experimentChanges = diffValues(resolvedExperimentJson(a), resolvedExperimentJson(b));
  const ra = stageRecords(a);
  const rb = stageRecords(b);
  const slotsA = new Map(readStageLog(a).entries.map((e) => [e.index, e.slots] as const));
  const slotsB = new Map(readStageLog(b).entries.map((e) => [e.index, e.slots] as const));
  const byIndexB = new Map(rb.map((r) => [r.index, r]));
  const stages: StageComparison[] = [];
  let firstDivergentStage: number | null = null;
  for (const sa of ra) {
    const sb = byIndexB.get(sa.index);
    if (!sb) continue;
    const sameDigest = sa.digest === sb.digest;
    if (!sameDigest && firstDivergentStage === null) firstDivergentStage = sa.index;
    const da = slotsA.get(sa.index);
    const db = slotsB.get(sa.index);
    const slots = da && db ? compareSlots(da, db) : { differ: [], same: [] };
    stages.push({
      index: sa.index,
      kindA: sa.kind,
      kindB: sb.kind,
      labelA: sa.label,
      digestA: sa.digest,
      digestB: sb.digest,
      sameDigest,
      slotsDiffer: slots.differ,
      slotsSame: slots.same,
      metricDeltas: scalarDeltas(sa.metrics, sb.metrics),
      arrayMetricMaxDelta: arrayDeltas(sa.metrics, sb.metrics),
    });
  }
  const common = new Set(stages.map((s) => s.index));
  const stagesOnlyIn = { a: ra.filter((r) => !common.has(r.index)).map((r) => r.index), b: rb.filter((r) => !common.has(r.index)).map((r) => r.index) };
  // A digest from the stage log is only a claim when its checkpoint does not verify.
  const problems = [...ra.map((r) => ({ run: "a" as const, r })), ...rb.map((r) => ({ run: "b" as const, r }))]
    .filter(({ r }) => r.status !== "ok")
    .map(({ run, r }) => ({ run, index: r.index, problem: r.problem ?? r.status }));
  const identical = experimentChanges.length === 0 && firstDivergentStage === null && stagesOnlyIn.a.length === 0 && stagesOnlyIn.b.length === 0 && problems.length === 0;
  const first = stages.find((s) => s.index === firstDivergentStage);
  return { identical, experimentChanges, firstDivergentStage, divergence: first ? divergenceAt(a, b, first) : null, stages, stagesOnlyIn, problems };
}

/** Which slots differ at the first divergent stage, and by how much (from the two checkpoints, when they read). */
function divergenceAt(a: RunHandle, b: RunHandle, s: StageComparison): Divergence {
  const stateA = stateAt(a, s.index);
  const stateB = stateAt(b, s.index);
  let differ = s.slotsDiffer;
  let same = s.slotsSame;
  let slotsFrom: Divergence["slotsFrom"] = differ.length + same.length > 0 ? "log" : "none";
  if (slotsFrom === "none" && stateA && stateB) {
    // An older run: no slot digests recorded; compute them from the checkpoints.
    const c = compareSlots(slotDigests(encodeValue(stateA, { deferFromBytes: BLOB_MIN_BYTES })), slotDigests(encodeValue(stateB, { deferFromBytes: BLOB_MIN_BYTES })));
    differ = c.differ;
    same = c.same;
    slotsFrom = "checkpoints";
  }
  return { index: s.index, kind: s.kindA, label: s.labelA, slotsDiffer: differ, slotsSame: same, slotsFrom, magnitudes: stateA && stateB ? slotMagnitudes(stateA, stateB, differ) : null };
}

function scalarDeltas(a: Metrics, b: Metrics): Record<string, MetricDelta> {
  const out: Record<string, MetricDelta> = {};
  for (const key of Object.keys(a)) {
    const va = a[key];
    const vb = b[key];
    if (typeof va === "number" && typeof vb === "number") out[key] = { a: va, b: vb, delta: vb - va };
  }
  return out;
}

function arrayDeltas(a: Metrics, b: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(a)) {
    const va = a[key];
    const vb = b[key];
    if (typeof va === "number" || typeof vb === "number" || vb === undefined || va.length !== vb.length) continue;
    out[key] = va.reduce((m, x, i) => Math.max(m, Math.abs(vb[i] - x)), 0);
  }
  return out;
}

const fmt = (x: number): string => (x === 0 ? "0" : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(3) : x.toPrecision(6));

/** "a, b and c". */
function listed(names: readonly string[]): string {
  return names.length <= 1 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** One line for the first divergence: `stage 12 fitTheta: policy differs (‖θ_A − θ_B‖ = …); trajectories, λ and rng identical`. */
export function describeDivergence(d: Divergence): string {
  const named = (slots: readonly SlotName[]) => slots.map((s) => SLOT_NAMES[s]);
  const m = d.magnitudes;
  const detail = (slot: SlotName): string => {
    if (!m) return "";
    if (slot === "policy" && m.policyDistance !== undefined) return m.policyDistance === null ? "" : ` (‖θ_A − θ_B‖ = ${fmt(m.policyDistance)})`;
    if (slot === "trajectory" && m.trajectoryKl) return ` (KL(q_A‖q_B) per condition: ${m.trajectoryKl.map((k) => (k === null ? "-" : fmt(k))).join(", ")})`;
    const delta = m.maxAbsDelta?.[slot];
    return delta === undefined || delta === null ? "" : ` (max |Δ| = ${fmt(delta)})`;
  };
  const differ = d.slotsDiffer.map((s) => `${SLOT_NAMES[s]}${detail(s)}`);
  if (d.slotsFrom === "none") return `stage ${d.index} ${d.kind}: the state differs (no slot digests recorded and the checkpoints do not both read)`;
  const same = named(d.slotsSame.filter((s) => ["rng", "policy", "trajectory", "lambda", "isgps", "demonstration"].includes(s)));
  return `stage ${d.index} ${d.kind}: ${listed(differ)} ${d.slotsDiffer.length === 1 ? "differs" : "differ"}${same.length ? `; ${listed(same)} identical` : ""}`;
}

/** The text `gps diff` prints. */
export function formatRunDiff(d: RunDiff, formatChanges: (changes: readonly ValueChange[]) => string): string {
  if (d.identical) return `identical: same experiment and the same digest at all ${d.stages.length} stages\n`;
  const lines: string[] = [];
  lines.push(d.experimentChanges.length ? `experiment:\n${formatChanges(d.experimentChanges)}` : "experiment: identical");
  lines.push(d.firstDivergentStage === null ? "digests: identical at every common stage" : `first divergent stage: ${d.firstDivergentStage}`);
  if (d.divergence) lines.push(`  ${describeDivergence(d.divergence)}`);
  if (d.stagesOnlyIn.a.length || d.stagesOnlyIn.b.length) lines.push(`stages only in A: ${d.stagesOnlyIn.a.length}, only in B: ${d.stagesOnlyIn.b.length}`);
  lines.push("");
  lines.push(`${"stage".padStart(5)}  ${"kind".padEnd(22)} ${"cost A".padStart(12)} ${"cost B".padStart(12)} ${"Δ".padStart(12)}  same  slots that differ / other metrics that changed`);
  for (const s of d.stages) {
    const c = s.metricDeltas.cost;
    const cell = (x: number | undefined) => (x === undefined ? "" : fmt(x)).padStart(12);
    const changed = Object.entries(s.metricDeltas)
      .filter(([k, v]) => k !== "cost" && v.delta !== 0)
      .map(([k, v]) => `${k} ${fmt(v.a)}→${fmt(v.b)}`)
      .concat(Object.entries(s.arrayMetricMaxDelta).filter(([, v]) => v !== 0).map(([k, v]) => `${k} max|Δ| ${fmt(v)}`));
    const slots = s.slotsDiffer.map((x) => SLOT_NAMES[x]).join(", ");
    const tail = [slots && `[${slots}]`, changed.join("; ")].filter(Boolean).join(" ");
    lines.push(`${String(s.index).padStart(5)}  ${(s.kindA === s.kindB ? s.kindA : `${s.kindA}/${s.kindB}`).padEnd(22)} ${cell(c?.a)} ${cell(c?.b)} ${cell(c?.delta)}  ${s.sameDigest ? "=" : "≠"}     ${tail}`);
  }
  return `${lines.join("\n")}\n`;
}
