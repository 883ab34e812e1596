/**
 * gps sweep: one ordinary run per combination of seeds and grid values, up to
 * --jobs at once, each in its own process; a table row as each run ends.
 * gps sweep --resume <id | manifest>: finish the runs that are not complete.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, resolve } from "node:path";
import { lastValueFrom, tap } from "rxjs";
import { loadExperimentFile } from "../../runtime/session.js";
import { checkFootprint, machineLimits } from "../../runtime/bounds.js";
import { planExperiment } from "../../dsl/plan.js";
import { resolveExperiment } from "../../dsl/resolve.js";
import { parseOverride, type Override } from "../../runtime/overrides.js";
import { checkSweep, expandSweep, runOverrides, newManifest, parseGridAxis, parseSeeds, sweepId, withRunDir, type SweepManifest } from "../../runtime/sweep.js";
import { manifestPath, readManifest, runSweep, writeManifest, type SweepEvent } from "../../runtime/sweep-runner.js";
import type { Metrics } from "../../algorithms/state.js";
import { openRun, stageRecords } from "../../runtime/store.js";
import { fmt } from "../progress.js";
import { err, out } from "../io.js";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, UsageError } from "../errors.js";
import { MAX_WORKERS } from "../options.js";
import { listenForStop } from "../signals.js";

export interface SweepOptions {
  readonly seeds?: string;
  readonly grid: readonly string[];
  readonly set: readonly string[];
  readonly jobs?: string;
  readonly store: string;
  readonly resume?: string;
  readonly report: boolean;
  readonly json: boolean;
  /** Enqueue the runs on this Redis job queue (gps worker runs them) instead of running them here. */
  readonly queue?: string;
  readonly queueName?: string;
  readonly sweepId?: string;
}

function jobsOption(value: string | undefined): number {
  if (value === undefined) return availableParallelism();
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) throw new UsageError(`--jobs must be an integer from 1 to ${MAX_WORKERS}, got "${value}"`);
  return Number(value);
}

export async function sweepCommand(file: string | undefined, o: SweepOptions): Promise<number> {
  const jobs = jobsOption(o.jobs);
  if (o.resume !== undefined) {
    if (file !== undefined || o.seeds !== undefined || o.grid.length > 0 || o.set.length > 0) {
      throw new UsageError("sweep --resume takes the sweep's id or manifest only (its runs, seeds and settings are in the manifest)");
    }
    const { manifest, file: mf } = readManifest(o.resume, o.store);
    if (!o.json) out.write(`resuming sweep ${manifest.id} (${manifest.runs.length} runs, ${jobs} at once): ${mf}\n`);
    return drive(manifest, jobs, true, o.json);
  }
  if (file === undefined) throw new UsageError("sweep needs an experiment file (or --resume <sweep id>)");
  // Everything is parsed and every run checked (decode, resolve, plan) before anything is written.
  const seeds = o.seeds === undefined ? null : parseSeeds(o.seeds);
  const request = { seeds, grid: o.grid.map(parseGridAxis), sets: o.set.map(parseOverride) };
  const experiment = await loadExperimentFile(file);
  const limits = machineLimits(o.store);
  for (const e of checkSweep(experiment, expandSweep(request), file)) {
    // So is a combination this machine cannot hold (gps run would refuse it too).
    const { experiment: resolved, task } = planExperiment(resolveExperiment(e), file);
    checkFootprint(resolved, task, limits);
  }
  if (o.queue !== undefined) return enqueueSweep(file, request, o);
  const createdAt = new Date().toISOString();
  const source = resolve(file);
  const store = resolve(o.store);
  const first = sweepId(experiment.name, createdAt, request, source);
  let id = first;
  for (let n = 2; existsSync(manifestPath(store, id)); n++) id = `${first}-${n}`;
  const manifest = newManifest({ id, createdAt, source, experimentName: experiment.name, store, request, report: o.report });
  const mf = writeManifest(manifest);
  if (o.json) out.write(`${JSON.stringify({ type: "sweep-started", id, manifest: mf, runs: manifest.runs.length, jobs })}\n`);
  else out.write(`sweep ${id}: ${manifest.runs.length} runs, ${jobs} at once\nmanifest ${mf}\n`);
  return drive(manifest, jobs, false, o.json);
}

/**
 * The sweep's runs as jobs on a Redis queue (src/queue/): the same expansion as a
 * local sweep, every run already checked above; a worker applies each run's
 * overrides with `gps run --set` and tags it with the sweep. The queue module
 * loads here only (BullMQ is not needed by a local sweep).
 */
async function enqueueSweep(file: string, request: Parameters<typeof expandSweep>[0], o: SweepOptions): Promise<number> {
  if (o.jobs !== undefined) throw new UsageError("--jobs sets how many runs this machine runs at once; with --queue each gps worker sets its own (gps worker --jobs N)");
  const { enqueueRuns } = await import("../../queue/index.js");
  const source = resolve(file);
  const requests = expandSweep(request).map((r) => ({
    experimentSource: source,
    ...(r.seed === null ? {} : { seed: r.seed }),
    overrides: r.overrides,
    label: r.label,
    ...(o.sweepId === undefined ? {} : { sweepId: o.sweepId }),
  }));
  const jobs = await enqueueRuns(o.queue!, { queueName: o.queueName, store: o.store, requests, allowOverrides: true });
  if (o.json) out.write(`${JSON.stringify({ type: "sweep-enqueued", queue: o.queue, jobs })}\n`);
  else {
    out.write(`enqueued ${jobs.filter((j) => j.outcome !== "exists").length} of ${jobs.length} runs on ${o.queue} (run them with: gps worker --queue ${o.queue} --store ${o.store})\n`);
    for (const j of jobs) out.write(`  ${j.jobId}  ${j.outcome.padEnd(7)}  ${j.runDir}\n`);
  }
  return EXIT_OK;
}

interface Row {
  readonly index: number;
  readonly run: string | null;
  readonly seed: number | null;
  /** What distinguishes the run: `seed=3 task.horizon=50`. */
  readonly label: string;
  /** Its overrides as run.json records them. */
  readonly overrides: readonly Override[];
  readonly status: "complete" | "stopped" | "failed" | "not started" | "complete (earlier)";
  readonly metrics: Metrics | null;
  readonly wallMs: number;
  readonly problem?: string;
}

/** cost, distance, falls of the last stage that reported them. */
export function headline(m: Metrics | null): string {
  if (!m) return "";
  const parts: string[] = [];
  for (const key of ["cost", "distance", "falls"]) {
    const v = m[key];
    if (typeof v === "number") parts.push(`${key} ${key === "falls" ? v : fmt(v)}`);
  }
  return parts.join("  ");
}

/** The last value of each metric in a finished run's stage log (null when it does not read). */
function finalMetrics(dir: string): Metrics | null {
  try {
    return stageRecords(openRun(dir)).reduce<Metrics>((m, r) => ({ ...m, ...r.metrics }), {});
  } catch {
    return null;
  }
}

function wall(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}

async function drive(initial: SweepManifest, jobs: number, resume: boolean, json: boolean): Promise<number> {
  let manifest = initial;
  const runner = runSweep(manifest, { jobs, resume });
  const signals = listenForStop({
    onFirst: (signal) => {
      err.write(`gps: ${signal}: stopping the sweep: running runs finish their stage, no new run starts (send it again to abort now)\n`);
      runner.stop();
    },
    onAbort: () => runner.stop(),
  });
  const overridesWidth = Math.max(9, ...manifest.runs.map((r) => r.label.length));
  const runWidth = `${manifest.experimentName}-12345678-001`.length; // a run directory's name
  const statusWidth = resume ? "complete (earlier)".length : "complete".length + 2;
  if (!json) {
    out.write(`\n${"run".padEnd(runWidth)}  ${"seed".padStart(5)}  ${"overrides".padEnd(overridesWidth)}  ${"status".padEnd(statusWidth)}  ${"wall".padStart(7)}  metrics\n`);
  }
  const state = new Map<number, { run: string | null; metrics: Metrics | null }>();
  const rows: Row[] = [];
  const print = (row: Row): void => {
    rows.push(row);
    if (json) {
      out.write(`${JSON.stringify({ type: "run-done", ...row })}\n`);
      return;
    }
    const name = row.run ? basename(row.run) : "-";
    out.write(
      `${name.padEnd(runWidth)}  ${(row.seed === null ? "-" : String(row.seed)).padStart(5)}  ${row.label.padEnd(overridesWidth)}  ${row.status.padEnd(statusWidth)}  ${wall(row.wallMs).padStart(7)}  ${headline(row.metrics)}\n`,
    );
    if (row.problem) out.write(`${" ".repeat(runWidth)}  ! ${row.problem}\n`);
  };
  const byIndex = new Map(manifest.runs.map((r) => [r.index, r]));
  const sink = (e: SweepEvent): void => {
    const req = byIndex.get(e.index)!;
    const s = state.get(e.index) ?? { run: req.run, metrics: null };
    state.set(e.index, s);
    const base = { index: e.index, seed: req.seed, label: req.label, overrides: runOverrides(req) };
    if (e.type === "run-skipped") {
      print({ ...base, run: e.run, status: "complete (earlier)", metrics: finalMetrics(e.run), wallMs: 0 });
    } else if (e.type === "run-event") {
      const ev = e.event;
      if (ev.type === "run-started" && s.run !== ev.run) {
        s.run = ev.run;
        manifest = withRunDir(manifest, e.index, ev.run);
        writeManifest(manifest);
      } else if (ev.type === "stage-finished") {
        // Keep the last value of each metric (an evaluation's distance after iterations' costs).
        s.metrics = { ...(s.metrics ?? {}), ...ev.metrics };
      }
    } else {
      const status: Row["status"] = e.notStarted ? "not started" : e.code === 0 ? "complete" : e.code === EXIT_INTERRUPTED || e.signal !== null ? "stopped" : "failed";
      const lastLine = e.stderr.trim().split("\n").filter((l) => l.startsWith("gps:") && !l.startsWith("gps: note")).pop();
      const problem = status === "failed" ? (lastLine ?? `exit ${e.code}`).replace(/^gps: /, "") : undefined;
      // A run stopped by --stop-after-stage exits 0 without completing: not a case of sweeps, which never pass it.
      print({ ...base, run: s.run, status, metrics: s.metrics, wallMs: e.wallMs, ...(problem ? { problem } : {}) });
    }
  };
  try {
    await lastValueFrom(runner.events.pipe(tap(sink)), { defaultValue: undefined });
  } finally {
    signals.dispose();
  }
  const count = (st: Row["status"]): number => rows.filter((r) => r.status === st).length;
  const done = count("complete") + count("complete (earlier)");
  const summary = `${done}/${manifest.runs.length} complete, ${count("stopped") + count("not started")} stopped or not started, ${count("failed")} failed`;
  const rest = done < manifest.runs.length ? ` — gps sweep --resume ${manifest.id} --store ${manifest.store}` : "";
  if (json) out.write(`${JSON.stringify({ type: "sweep-finished", id: manifest.id, complete: done, runs: manifest.runs.length })}\n`);
  else out.write(`\n${summary}${rest}\n`);
  if (signals.requested()) return EXIT_INTERRUPTED;
  return count("failed") > 0 ? EXIT_FAILED : EXIT_OK;
}
