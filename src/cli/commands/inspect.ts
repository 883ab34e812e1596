/** The readers: gps show, list, diff, export, report, compare. None takes the run's lock. */
import { resolveExperiment } from "../../dsl/resolve.js";
import { decodeExperiment } from "../../dsl/validate.js";
import { decodeValue, encodeValue } from "../../runtime/canonical.js";
import { join } from "node:path";
import { DEFAULT_STORE_DIR, listRunEntries, openRun, readExperiment, readRunMeta, stageRecords, StoreError, writeFileAtomic } from "../../runtime/store.js";
import { currentStatus } from "../../runtime/run-status.js";
import { diffRuns, formatRunDiff } from "../../runtime/diff.js";
import { formatChanges } from "../../runtime/session.js";
import { exportRun } from "../../runtime/export.js";
import { writeRunReport } from "../../report/run-report.js";
import { compareRuns } from "../../report/compare-runs.js";
import { isPushMetric } from "../../report/push-curves.js";
import { fmt, headlineMetrics } from "../progress.js";
import { err, out, warn } from "../io.js";
import { EXIT_BAD_INPUT, EXIT_OK, UsageError } from "../errors.js";
import { intOption } from "../options.js";
import { overridesLabel, type Override } from "../../runtime/overrides.js";

export function showCommand(dir: string, o: { json: boolean; experiment?: boolean }): number {
  const run = openRun(dir);
  if (o.experiment) {
    // The experiment as the run resolves it: every default filled in (older runs stored it unresolved).
    const resolved = resolveExperiment(decodeExperiment(decodeValue(readExperiment(run))));
    out.write(`${JSON.stringify(encodeValue(resolved), null, 2)}\n`);
    return EXIT_OK;
  }
  const meta = readRunMeta(run);
  const status = currentStatus(run);
  const stages = stageRecords(run).map((r) => ({
    index: r.index,
    kind: r.kind,
    label: r.label,
    digest: r.digest,
    metrics: r.metrics,
    durationMs: r.durationMs,
    status: r.status,
    ...(r.problem ? { problem: r.problem } : {}),
  }));
  if (o.json) {
    const shown = {
      run: run.dir,
      experimentName: meta.experimentName,
      experimentHash: meta.experimentHash,
      source: meta.source ?? null,
      sourceHash: meta.sourceHash ?? null,
      status,
      statusRecord: meta.status ?? null,
      provenance: meta.provenance ?? null,
      overrides: meta.overrides ?? [],
      sweep: meta.sweep ?? null,
      stages,
    };
    out.write(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT_OK;
  }
  const p = meta.provenance;
  out.write(
    `run         ${run.dir}\nexperiment  ${meta.experimentName} (${meta.experimentHash.slice(0, 16)})\nsource      ${meta.source ?? "-"}${meta.sourceHash ? ` (sha256 ${meta.sourceHash.slice(0, 16)})` : ""}\nstatus      ${status}\n` +
      (meta.overrides?.length ? `overrides   ${overridesLabel(meta.overrides as Override[])}\n` : "") +
      (meta.sweep ? `sweep       ${meta.sweep.id} (run ${meta.sweep.index})\n` : "") +
      (p ? `made with   gps ${p.packageVersion}${p.gitCommit ? ` (${p.gitCommit.slice(0, 12)})` : ""}, node ${p.node}, mujoco-js ${p.mujocoJs ?? "?"}\n` : "") +
      `stages      ${stages.length} done\n\n`,
  );
  out.write(`${"stage".padStart(5)}  ${"kind".padEnd(26)} ${"digest".padEnd(12)}  ${"time".padStart(7)}  metrics\n`);
  for (const s of stages) {
    out.write(`${String(s.index).padStart(5)}  ${s.label.padEnd(26)} ${s.digest.slice(0, 12).padEnd(12)}  ${(s.durationMs / 1000).toFixed(2).padStart(6)}s  ${headlineMetrics(s.metrics)}\n`);
    if (s.status !== "ok") out.write(`       ! ${s.status}: ${s.problem ?? ""}\n`);
  }
  const bad = stages.filter((s) => s.status !== "ok").length;
  if (bad > 0) warn(`${bad} stage(s) without a good checkpoint (marked !)`);
  return EXIT_OK;
}

/** Exit 2 when either run has a checkpoint that does not verify: its digests are claims, not results. */
export function diffCommand(a: string, b: string, o: { json: boolean }): number {
  const [runA, runB] = [openRun(a), openRun(b)];
  const d = diffRuns(runA, runB);
  const status = d.problems.length > 0 ? EXIT_BAD_INPUT : EXIT_OK;
  // Each run's overrides (--seed, --set, a sweep's): their effect is among the experiment changes.
  const overrides = { a: runA.meta.overrides ?? [], b: runB.meta.overrides ?? [] };
  if (o.json) {
    out.write(`${JSON.stringify({ ...d, overrides }, null, 2)}\n`);
  } else {
    out.write(`overrides A: ${overridesLabel(overrides.a as Override[])}\noverrides B: ${overridesLabel(overrides.b as Override[])}\n`);
    out.write(formatRunDiff(d, formatChanges));
  }
  if (d.problems.length > 0) {
    const n = d.problems.length;
    err.write(`gps: cannot compare: ${n} ${n === 1 ? "checkpoint does" : "checkpoints do"} not verify:\n`);
    for (const p of d.problems) err.write(`  run ${p.run.toUpperCase()} stage ${p.index}: ${p.problem}\n`);
  }
  return status;
}

export function exportCommand(dir: string, o: { out?: string; condition: string; stage?: string; demonstration: boolean; policy: boolean }): number {
  if (!o.out) throw new UsageError("export needs --out FILE");
  if (o.policy && o.demonstration) throw new UsageError("export takes --policy or --demonstration, not both");
  const what = o.policy ? "policy" : o.demonstration ? "demonstration" : "trajectory";
  const exported = exportRun(openRun(dir), { condition: intOption(o.condition, "condition") ?? 0, stage: intOption(o.stage, "stage"), what });
  writeFileAtomic(o.out, `${JSON.stringify(exported)}\n`);
  out.write(`wrote ${o.out} (${exported.horizon} steps, controller ${exported.controller.kind})\n`);
  return EXIT_OK;
}

export async function reportCommand(dir: string, o: { out?: string }): Promise<number> {
  const r = await writeRunReport(openRun(dir), o.out);
  out.write(`wrote ${r.files.length} files to ${r.dir}; open ${join(r.dir, "index.html")}\n`);
  return EXIT_OK;
}

/**
 * Learning curves of runs, store directories or sweeps in one SVG: runs grouped
 * by experiment (and differing overrides), seeds aggregated (src/report/aggregate.ts).
 */
export function compareCommand(args: readonly string[], o: { out?: string; metric?: string; title?: string; store?: string }): number {
  if (!o.out) throw new UsageError("compare needs --out FILE.svg");
  const metric = o.metric;
  if (metric !== undefined && metric !== "sampleCost" && metric !== "cost" && !isPushMetric(metric)) throw new UsageError(`--metric must be sampleCost, cost, pushCost or pushesRecovered, got ${JSON.stringify(metric)}`);
  let svg: string;
  let table: string;
  let count: number;
  try {
    const r = compareRuns(args, { metric, title: o.title, store: o.store ?? DEFAULT_STORE_DIR });
    for (const s of r.skipped) warn(`skipped ${s}`);
    svg = r.svg;
    table = r.table;
    count = r.runs;
  } catch (e) {
    if (!(e instanceof Error) || e instanceof StoreError) throw e;
    throw new UsageError(e.message.replace(/^compare: /, ""));
  }
  writeFileAtomic(o.out, svg);
  out.write(table);
  out.write(`wrote ${o.out} (${count} runs, ${metric ?? "default metric per kind"})\n`);
  return EXIT_OK;
}
