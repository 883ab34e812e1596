/**
 * `gps compare`: read the runs named on the command line and draw their
 * grouped, seed-aggregated learning curves (src/report/aggregate.ts), or with a
 * push metric their push-recovery curves (src/report/push-curves.ts). Reads only.
 */
import { resolveExperiment } from "../dsl/resolve.js";
import { decodeExperiment } from "../dsl/validate.js";
import { decodeValue } from "../runtime/canonical.js";
import { readExperiment, stageRecords } from "../runtime/store.js";
import { aggregateGroup, aggregatePlot, compareTable, groupRuns, type CurveMetric } from "./aggregate.js";
import { aggregatePushCurves, isPushMetric, pushComparePlot, pushCompareTable, type PushMetric } from "./push-curves.js";
import { resolveRunArgs, runInfo } from "./run-inputs.js";

export function compareRuns(args: readonly string[], o: { metric?: CurveMetric | PushMetric; title?: string; store: string }): { svg: string; table: string; runs: number; skipped: string[] } {
  const { runs, skipped } = resolveRunArgs(args, o.store);
  if (runs.length === 0) throw new Error("compare: no runs");
  const infos = runs.map((run) => ({ ...runInfo(run), run, records: stageRecords(run).filter((r) => r.status === "ok") }));
  const metric = o.metric;
  if (isPushMetric(metric)) {
    const withExperiments = infos.map((i) => ({ ...i, experiment: resolveExperiment(decodeExperiment(decodeValue(readExperiment(i.run)))) }));
    const groups = aggregatePushCurves(withExperiments, metric);
    return { svg: pushComparePlot(groups, metric, { title: o.title }), table: pushCompareTable(groups, metric), runs: runs.length, skipped };
  }
  const groups = groupRuns(infos).map((g) => aggregateGroup(g.label, g.runs, metric));
  return { svg: aggregatePlot(groups, { title: o.title }), table: compareTable(groups), runs: runs.length, skipped };
}
