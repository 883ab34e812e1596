/**
 * The browser view's data: the store's runs table and the learning-curve rows
 * (long format, one row per run, metric and iteration, for Vega-Lite). Built
 * from run.json and stages.jsonl only (no checkpoint is read, so a running or
 * large run is cheap to poll). Reads only; never writes to the store.
 */
import { decodeValue } from "../runtime/canonical.js";
import { countStages } from "../dsl/experiment.js";
import { decodeExperiment } from "../dsl/validate.js";
import { currentStatus } from "../runtime/run-status.js";
import { listRunEntries, readStageLog, type RunHandle } from "../runtime/store.js";
import { CURVE_METRICS, groupRuns, runCurve, type RunInfo, type StageLike } from "../report/aggregate.js";
import { runInfo } from "../report/run-inputs.js";
import { existsSync } from "node:fs";
import { join } from "node:path";

/** The last stage's headline numbers (as `gps list` shows them). */
function headline(m: Readonly<Record<string, unknown>>): string {
  const f = (v: number) => (!Number.isFinite(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3));
  const parts: string[] = [];
  for (const [key, name] of [["cost", "cost"], ["sampleCost", "samples"], ["distance", "distance"], ["meanVelocity", "v"], ["falls", "falls"], ["kl", "KL"]] as const) {
    const v = m[key];
    if (typeof v === "number") parts.push(`${name} ${key === "falls" ? v : f(v)}`);
  }
  return parts.join("  ");
}

export interface RunRow {
  readonly id: string;
  readonly experimentName: string | null;
  readonly sweep: string | null;
  readonly seed: number | null;
  readonly status: string;
  readonly running: boolean;
  readonly stagesDone: number;
  /** Stages in the experiment's pipeline (null: the experiment does not decode). */
  readonly totalStages: number | null;
  readonly last: string;
  readonly lastKind: string | null;
  readonly createdAt: string | null;
  /** ISO time of the last status transition, else the creation time. */
  readonly updatedAt: string | null;
  readonly hasReport: boolean;
  /** Where the run's report is, relative to the page (null: none yet). */
  readonly reportHref: string | null;
  readonly broken: string | null;
}

export interface CurveRow {
  /** Legend entry: the group's label, plus the seed when the group has several runs. */
  readonly series: string;
  readonly group: string;
  readonly run: string;
  readonly seed: number | null;
  readonly kind: string;
  readonly metric: string;
  readonly type: "train" | "evaluation";
  readonly iteration: number;
  readonly value: number;
  readonly label: string;
}

export interface StoreView {
  readonly store: string;
  readonly runs: readonly RunRow[];
  readonly curves: readonly CurveRow[];
  readonly metrics: readonly string[];
}

export interface RunData {
  readonly info: RunInfo;
  readonly records: readonly StageLike[];
}

/** Curve rows of runs (grouped as `gps compare` groups them); runs without training stages give none. */
export function curveRows(runs: readonly RunData[]): CurveRow[] {
  const rows: CurveRow[] = [];
  for (const g of groupRuns(runs.map((r) => ({ ...r.info, records: r.records })))) {
    const several = g.runs.length > 1;
    for (const r of g.runs) {
      const series = several ? `${g.label} · seed ${r.seed ?? "?"}` : g.label;
      for (const metric of CURVE_METRICS) {
        let c;
        try {
          c = runCurve(r.records, metric, r.id);
        } catch {
          continue; // the run's training stages lack this metric
        }
        if (c === null) break;
        const base = { series, group: g.label, run: r.id, seed: r.seed, kind: c.kind, metric };
        for (const [iteration, value] of c.points) if (Number.isFinite(value)) rows.push({ ...base, type: "train", iteration, value, label: `${c.kind} ${iteration}` });
        if (metric === "cost") for (const e of c.evaluations) if (Number.isFinite(e.cost)) rows.push({ ...base, type: "evaluation", iteration: e.iteration, value: e.cost, label: `${e.label} (stage ${e.index})` });
      }
    }
  }
  return rows;
}

function totalStagesOf(run: RunHandle): number | null {
  try {
    return countStages(decodeExperiment(decodeValue(run.experiment)).pipeline);
  } catch {
    return null;
  }
}

/**
 * Read the store's view. `reportHref` maps a run directory name to the link
 * of its report (the server's route, or a path relative to a static page).
 */
export function readStoreView(store: string, reportHref: (name: string, dir: string) => string): StoreView {
  const runs: RunRow[] = [];
  const data: RunData[] = [];
  for (const e of listRunEntries(store)) {
    const hasReport = existsSync(join(e.dir, "report", "index.html"));
    const none = { experimentName: null, sweep: null, seed: null, running: false, stagesDone: 0, totalStages: null, last: "", lastKind: null, createdAt: null, updatedAt: null };
    if (!e.run) {
      runs.push({ ...none, id: e.name, status: "broken", hasReport, reportHref: hasReport ? reportHref(e.name, e.dir) : null, broken: e.error });
      continue;
    }
    try {
      const run = e.run;
      const info = runInfo(run);
      const records = readStageLog(run).entries;
      const last = records[records.length - 1];
      const status = currentStatus(run);
      runs.push({
        id: e.name,
        experimentName: info.experimentName,
        sweep: info.sweep,
        seed: info.seed,
        status,
        running: status.startsWith("running"),
        stagesDone: records.length,
        totalStages: totalStagesOf(run),
        last: last ? headline(last.metrics) : "",
        lastKind: last ? last.label : null,
        createdAt: run.meta.createdAt,
        updatedAt: run.meta.status?.at ?? run.meta.createdAt,
        hasReport,
        reportHref: hasReport ? reportHref(e.name, e.dir) : null,
        broken: null,
      });
      data.push({ info, records });
    } catch (err) {
      runs.push({ ...none, id: e.name, status: "broken", hasReport, reportHref: null, broken: (err as Error).message });
    }
  }
  const curves = curveRows(data);
  const metrics = CURVE_METRICS.filter((m) => curves.some((c) => c.metric === m && c.type === "train"));
  return { store, runs, curves, metrics: metrics.length ? metrics : ["cost"] };
}
