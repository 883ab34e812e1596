/**
 * Comparing two runs stage by stage: what differs in their experiments, the
 * first stage whose state digest differs, and per-stage metric deltas.
 */
import { decodeValue, diffValues, type ValueChange } from "./canonical.js";
import { readExperiment, stageRecords, type RunHandle } from "./store.js";
import type { Metrics } from "../algorithms/state.js";

export interface StageComparison {
  readonly index: number;
  readonly kindA: string;
  readonly kindB: string;
  readonly digestA: string;
  readonly digestB: string;
  readonly sameDigest: boolean;
  /** Scalar metrics present in both: a, b and b − a. */
  readonly metricDeltas: Readonly<Record<string, { a: number; b: number; delta: number }>>;
}

export interface RunDiff {
  readonly identical: boolean;
  readonly experimentChanges: readonly ValueChange[];
  readonly firstDivergentStage: number | null;
  readonly stages: readonly StageComparison[];
  readonly stagesOnlyIn: { readonly a: readonly number[]; readonly b: readonly number[] };
  /** Stages of either run without a good checkpoint (corrupt, missing), each naming the file: such runs are never "identical". */
  readonly problems: readonly { readonly run: "a" | "b"; readonly index: number; readonly problem: string }[];
}

export function diffRuns(a: RunHandle, b: RunHandle): RunDiff {
  const experimentChanges = diffValues(readExperiment(a), readExperiment(b));
  const ra = stageRecords(a);
  const rb = stageRecords(b);
  const byIndexB = new Map(rb.map((r) => [r.index, r]));
  const stages: StageComparison[] = [];
  let firstDivergentStage: number | null = null;
  for (const sa of ra) {
    const sb = byIndexB.get(sa.index);
    if (!sb) continue;
    const sameDigest = sa.digest === sb.digest;
    if (!sameDigest && firstDivergentStage === null) firstDivergentStage = sa.index;
    stages.push({
      index: sa.index,
      kindA: sa.kind,
      kindB: sb.kind,
      digestA: sa.digest,
      digestB: sb.digest,
      sameDigest,
      metricDeltas: scalarDeltas(sa.metrics as Metrics, sb.metrics as Metrics),
    });
  }
  const common = new Set(stages.map((s) => s.index));
  const stagesOnlyIn = { a: ra.filter((r) => !common.has(r.index)).map((r) => r.index), b: rb.filter((r) => !common.has(r.index)).map((r) => r.index) };
  // A digest from the stage log is only a claim when its checkpoint does not verify.
  const problems = [...ra.map((r) => ({ run: "a" as const, r })), ...rb.map((r) => ({ run: "b" as const, r }))]
    .filter(({ r }) => r.status !== "ok")
    .map(({ run, r }) => ({ run, index: r.index, problem: r.problem ?? r.status }));
  const identical = experimentChanges.length === 0 && firstDivergentStage === null && stagesOnlyIn.a.length === 0 && stagesOnlyIn.b.length === 0 && problems.length === 0;
  void decodeValue;
  return { identical, experimentChanges, firstDivergentStage, stages, stagesOnlyIn, problems };
}

function scalarDeltas(a: Metrics, b: Metrics): Record<string, { a: number; b: number; delta: number }> {
  const out: Record<string, { a: number; b: number; delta: number }> = {};
  for (const key of Object.keys(a)) {
    const va = a[key];
    const vb = b[key];
    if (typeof va === "number" && typeof vb === "number") out[key] = { a: va, b: vb, delta: vb - va };
  }
  return out;
}
