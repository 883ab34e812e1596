/**
 * `gps compare`: read the runs named on the command line and draw their
 * grouped, seed-aggregated learning curves (src/report/aggregate.ts). Reads only.
 */
import { stageRecords } from "../runtime/store.js";
import { aggregateGroup, aggregatePlot, compareTable, groupRuns, type CurveMetric } from "./aggregate.js";
import { resolveRunArgs, runInfo } from "./run-inputs.js";

export function compareRuns(args: readonly string[], o: { metric?: CurveMetric; title?: string; store: string }): { svg: string; table: string; runs: number; skipped: string[] } {
  const { runs, skipped } = resolveRunArgs(args, o.store);
  if (runs.length === 0) throw new Error("compare: no runs");
  const infos = runs.map((run) => ({ ...runInfo(run), records: stageRecords(run).filter((r) => r.status === "ok") }));
  const groups = groupRuns(infos).map((g) => aggregateGroup(g.label, g.runs, o.metric));
  return { svg: aggregatePlot(groups, { title: o.title }), table: compareTable(groups), runs: runs.length, skipped };
}
