/**
 * The `gps` command line: run, resume, show, list, diff, export, report, compare.
 * Exit status: 0 success, 1 failure while running, 2 bad input (arguments,
 * experiment files, corrupt or mismatched runs) with nothing written.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { lastValueFrom, tap } from "rxjs";
import { existsSync } from "node:fs";
import { ExperimentValidationError } from "../dsl/validate.js";
import type { RunEvent } from "../runtime/interpreter.js";
import {
  ExperimentChangedError,
  ExperimentFileError,
  loadExperimentFile,
  resumeRun,
  startRun,
  formatChanges,
  ResumeError,
  type StartedRun,
} from "../runtime/session.js";
import { listRunEntries, openRun, readRunMeta, stageRecords, CorruptCheckpointError, NotARunError, StoreFormatError, writeFileAtomic } from "../runtime/store.js";
import { diffRuns, formatRunDiff } from "../runtime/diff.js";
import { exportRun, ExportRequestError } from "../runtime/export.js";
import { writeRunReport } from "../report/run-report.js";
import { compareLearningCurves } from "../report/learning-curves.js";
import { join } from "node:path";
import { createRenderer, headlineMetrics } from "./progress.js";
import { NUMERICS, type Numerics } from "../algorithms/numerics.js";

class UsageError extends Error {
  override name = "UsageError";
}

const USAGE = `gps — guided policy search experiments

usage:
  gps run <experiment.ts> [--store DIR] [--seed N] [--workers N] [--numerics batched|per-row] [--stop-after-stage K] [--json]
  gps resume <run> [--from-stage K] [--stop-after-stage K] [--workers N] [--force] [--json]
  gps show <run> [--json]
  gps list [--store DIR] [--json]
  gps diff <runA> <runB> [--json]
  gps export <run> --out FILE [--condition I] [--stage K] [--demonstration | --policy]
  gps report <run> [--out DIR]
  gps compare <run>... --out FILE.svg [--metric sampleCost|cost] [--title T]

A run is named by its directory (gps run prints it). --json prints
machine-readable output (for run/resume: one event per line). run and resume
write the report (<run>/report/index.html) when the pipeline completes,
unless --no-report. --workers N (1…64, default: the number of cores) runs the
independent work on N threads; 1 keeps everything on one. Results do not
depend on N. --numerics per-row uses the original per-row policy kernels
instead of the batched ones; a run records its choice and resume keeps it.`;

const out = process.stdout;
const err = process.stderr;
// A reader that goes away (`gps run … | head -1`) must not stop the run:
// once stdout is closed, further output is dropped and the work goes on.
let stdoutClosed = false;
out.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") stdoutClosed = true;
  else throw e;
});
const originalWrite = out.write.bind(out);
out.write = ((chunk: string | Uint8Array, ...rest: never[]) => (stdoutClosed ? true : originalWrite(chunk, ...rest))) as typeof out.write;

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return await cmdRun(rest);
      case "resume":
        return await cmdResume(rest);
      case "show":
        return cmdShow(rest);
      case "list":
        return cmdList(rest);
      case "diff":
        return cmdDiff(rest);
      case "export":
        return cmdExport(rest);
      case "compare":
        return cmdCompare(rest);
      case "report":
        return await cmdReport(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    return report(e);
  }
}

function report(e: unknown): number {
  const inputError =
    e instanceof UsageError ||
    e instanceof ExperimentValidationError ||
    e instanceof ExperimentFileError ||
    e instanceof ExperimentChangedError ||
    e instanceof CorruptCheckpointError ||
    e instanceof NotARunError ||
    e instanceof StoreFormatError ||
    e instanceof ExportRequestError ||
    e instanceof ResumeError ||
    (e instanceof Error && (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") ||
    (e instanceof Error && (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") ||
    (e instanceof Error && (e as NodeJS.ErrnoException).code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL");
  const message = e instanceof Error ? e.message : String(e);
  err.write(`gps: ${message}\n`);
  if (e instanceof UsageError) err.write(`\n${USAGE}\n`);
  if (!inputError && e instanceof Error && process.env.GPS_DEBUG) err.write(`${e.stack}\n`);
  return inputError ? 2 : 1;
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

const MAX_WORKERS = 64;

/** --workers: an integer in 1…64 (default: the cores). More than the cores is allowed, and said once. */
function workersOption(value: string | undefined): number {
  const cores = availableParallelism();
  if (value === undefined) return cores;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    throw new UsageError(`--workers must be an integer from 1 to ${MAX_WORKERS}, got "${value}"`);
  }
  const n = Number(value);
  if (n > cores) err.write(`gps: note: --workers ${n} is more than the ${cores} cores of this machine\n`);
  return n;
}

function numericsOption(value: string | undefined): Numerics | undefined {
  if (value === undefined) return undefined;
  if (!(NUMERICS as readonly string[]).includes(value)) throw new UsageError(`--numerics must be one of ${NUMERICS.join(", ")}, got "${value}"`);
  return value as Numerics;
}

function positional(args: readonly string[], n: number, what: string): string[] {
  if (args.length !== n) throw new UsageError(`expected ${what}`);
  return [...args];
}

async function drive(started: StartedRun, json: boolean, report: boolean): Promise<number> {
  const renderer = createRenderer(out, { tty: Boolean(out.isTTY) && !json });
  const sink = json ? (e: RunEvent) => out.write(`${JSON.stringify(e)}\n`) : (e: RunEvent) => renderer.next(e);
  const last = await lastValueFrom(started.events.pipe(tap(sink)), { defaultValue: undefined });
  renderer.done();
  if (report && last?.type === "run-finished" && last.complete) {
    const r = await writeRunReport(started.run);
    if (!json) out.write(`report: ${join(r.dir, "index.html")}\n`);
  }
  return 0;
}

async function cmdReport(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { out: { type: "string" } } });
  const [dir] = positional(positionals, 1, "one run directory: gps report <run>");
  const r = await writeRunReport(openRun(dir), values.out);
  out.write(`wrote ${r.files.length} files to ${r.dir}; open ${join(r.dir, "index.html")}\n`);
  return 0;
}

/** Several runs' learning curves in one SVG (the 2013 paper's Figure 2: GPS beside its variants and the prior methods). */
function cmdCompare(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { out: { type: "string" }, metric: { type: "string", default: "sampleCost" }, title: { type: "string" } },
  });
  if (positionals.length === 0) throw new UsageError("compare needs one or more runs: gps compare <run>... --out FILE.svg");
  if (!values.out) throw new UsageError("compare needs --out FILE.svg");
  const metric = values.metric;
  if (metric !== "sampleCost" && metric !== "cost") throw new UsageError(`--metric must be sampleCost or cost, got ${JSON.stringify(metric)}`);
  const runs = positionals.map((dir) => {
    const run = openRun(dir);
    return { name: readRunMeta(run).experimentName, records: stageRecords(run) };
  });
  let svg: string;
  try {
    svg = compareLearningCurves(runs, metric, values.title);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  writeFileAtomic(values.out, svg);
  out.write(`wrote ${values.out} (${runs.length} runs, ${metric})\n`);
  return 0;
}

async function cmdRun(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      store: { type: "string", default: "runs" },
      seed: { type: "string" },
      workers: { type: "string" },
      numerics: { type: "string" },
      "stop-after-stage": { type: "string" },
      json: { type: "boolean", default: false },
      "no-report": { type: "boolean", default: false },
    },
  });
  const [file] = positional(positionals, 1, "one experiment file: gps run <experiment.ts>");
  const workers = workersOption(values.workers);
  const numerics = numericsOption(values.numerics);
  const seed = intOption(values.seed, "seed");
  const stopAfterStage = intOption(values["stop-after-stage"], "stop-after-stage");
  let experiment = await loadExperimentFile(file);
  if (seed !== undefined) {
    if (seed > 0xffffffff) throw new UsageError("--seed must be below 2^32");
    experiment = { ...experiment, seed };
  }
  const started = startRun(experiment, { store: values.store!, source: file, stopAfterStage, seedOverride: seed, workers, numerics });
  if (!values.json) out.write(`${started.run.dir}\n`);
  return drive(started, values.json!, !values["no-report"]);
}

async function cmdResume(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      "from-stage": { type: "string" },
      "stop-after-stage": { type: "string" },
      workers: { type: "string" },
      force: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "no-report": { type: "boolean", default: false },
    },
  });
  const [dir] = positional(positionals, 1, "one run directory: gps resume <run>");
  const workers = workersOption(values.workers);
  const run = openRun(dir);
  const meta = readRunMeta(run);
  // Compare with the experiment file as it reads now, if it is still there.
  // A file that exists but no longer loads is an error, not a reason to ignore it.
  let currentExperiment;
  if (meta.source && existsSync(meta.source)) {
    currentExperiment = await loadExperimentFile(meta.source);
    if (meta.seedOverride !== undefined) currentExperiment = { ...currentExperiment, seed: meta.seedOverride };
  } else if (meta.source) {
    err.write(`gps: note: ${meta.source} is gone; resuming with the experiment stored in the run\n`);
  }
  const started = resumeRun(dir, {
    fromStage: intOption(values["from-stage"], "from-stage"),
    stopAfterStage: intOption(values["stop-after-stage"], "stop-after-stage"),
    currentExperiment,
    force: values.force,
    workers,
  });
  for (const c of started.corrupt) err.write(`gps: warning: ${c}\n`);
  if (!values.json) out.write(`resuming ${started.run.dir} at stage ${started.startStage}\n`);
  return drive(started, values.json!, !values["no-report"]);
}

function cmdShow(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  const [dir] = positional(positionals, 1, "one run directory: gps show <run>");
  const run = openRun(dir);
  const meta = readRunMeta(run);
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
  if (values.json) {
    out.write(`${JSON.stringify({ run: run.dir, experimentName: meta.experimentName, experimentHash: meta.experimentHash, source: meta.source ?? null, stages }, null, 2)}\n`);
    return 0;
  }
  out.write(`run         ${run.dir}\nexperiment  ${meta.experimentName} (${meta.experimentHash.slice(0, 16)})\nsource      ${meta.source ?? "-"}\nstages      ${stages.length} done\n\n`);
  out.write(`${"stage".padStart(5)}  ${"kind".padEnd(26)} ${"digest".padEnd(12)}  ${"time".padStart(7)}  metrics\n`);
  for (const s of stages) {
    out.write(`${String(s.index).padStart(5)}  ${s.label.padEnd(26)} ${s.digest.slice(0, 12).padEnd(12)}  ${(s.durationMs / 1000).toFixed(2).padStart(6)}s  ${headlineMetrics(s.metrics)}\n`);
    if (s.status !== "ok") out.write(`       ! ${s.status}: ${s.problem ?? ""}\n`);
  }
  const bad = stages.filter((s) => s.status !== "ok").length;
  if (bad > 0) err.write(`gps: warning: ${bad} stage(s) without a good checkpoint (marked !)\n`);
  return 0;
}

function cmdList(argv: readonly string[]): number {
  const { values } = parseArgs({ args: [...argv], options: { store: { type: "string", default: "runs" }, json: { type: "boolean", default: false } } });
  // A run that does not open or read (no run.json, malformed files) is listed as broken, not fatal to the list.
  const runs = listRunEntries(values.store!).map((entry) => {
    try {
      if (!entry.run) throw new Error(entry.error ?? "does not open");
      const meta = readRunMeta(entry.run);
      const stages = stageRecords(entry.run);
      const last = stages[stages.length - 1];
      return { run: entry.dir, experimentName: meta.experimentName, experimentHash: meta.experimentHash, createdAt: meta.createdAt, stagesDone: stages.length, last: last ? { index: last.index, kind: last.kind, metrics: last.metrics } : null };
    } catch (e) {
      return { run: entry.dir, broken: e instanceof Error ? e.message : String(e) };
    }
  });
  if (values.json) {
    out.write(`${JSON.stringify(runs, null, 2)}\n`);
    return 0;
  }
  if (runs.length === 0) out.write(`no runs in ${values.store}\n`);
  for (const r of runs) {
    if ("broken" in r) out.write(`${r.run}  broken: ${r.broken}\n`);
    else out.write(`${r.run}  ${r.createdAt}  ${r.stagesDone} stages  ${r.last ? `${r.last.kind}  ${headlineMetrics(r.last.metrics)}` : ""}\n`);
  }
  return 0;
}

function cmdDiff(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  const [a, b] = positional(positionals, 2, "two run directories: gps diff <runA> <runB>");
  const d = diffRuns(openRun(a), openRun(b));
  if (values.json) {
    out.write(`${JSON.stringify(d, null, 2)}\n`);
    return 0;
  }
  out.write(formatRunDiff(d, formatChanges));
  return 0;
}

function cmdExport(argv: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { out: { type: "string" }, condition: { type: "string", default: "0" }, stage: { type: "string" }, demonstration: { type: "boolean", default: false }, policy: { type: "boolean", default: false } },
  });
  const [dir] = positional(positionals, 1, "one run directory: gps export <run> --out FILE");
  if (!values.out) throw new UsageError("export needs --out FILE");
  const exported = exportRun(openRun(dir), { condition: intOption(values.condition, "condition") ?? 0, stage: intOption(values.stage, "stage"), what: values.policy ? "policy" : values.demonstration ? "demonstration" : "trajectory" });
  writeFileAtomic(values.out, `${JSON.stringify(exported)}\n`);
  out.write(`wrote ${values.out} (${exported.horizon} steps, controller ${exported.controller.kind})\n`);
  return 0;
}
