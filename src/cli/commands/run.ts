/** gps run and gps resume: start or continue a run, drive its events, stop cleanly on a signal. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { lastValueFrom, tap } from "rxjs";
import type { RunEvent } from "../../runtime/interpreter.js";
import { loadExperimentFile, resumeRun, startRun, type StartedRun } from "../../runtime/session.js";
import { openRun, readRunMeta, RUN_DIR_NAME } from "../../runtime/store.js";
import { describeFootprint, isLargeFootprint } from "../../runtime/bounds.js";
import { fileSha256 } from "../../runtime/provenance.js";
import { tryWriteRunStatus } from "../../runtime/run-status.js";
import { writeRunReport } from "../../report/run-report.js";
import { createRenderer } from "../progress.js";
import { err, note, out, warn } from "../io.js";
import { EXIT_INTERRUPTED, EXIT_OK, UsageError } from "../errors.js";
import { intOption, numericsOption, workersOption } from "../options.js";
import { listenForStop, type StopSignals } from "../signals.js";
import { applyOverrides, decodeOverrides, parseOverride, seedOverride } from "../../runtime/overrides.js";

/** `--sweep <id>:<index>` (written by gps sweep, not by people). */
function sweepOption(value: string | undefined): { id: string; index: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^([\w.-]+):(\d+)$/.exec(value);
  if (!m) throw new UsageError(`--sweep must be <sweep id>:<index>, got "${value}"`);
  return { id: m[1], index: Number(m[2]) };
}

/** The run being written, for error messages (a refused write says how to resume it). */
export let activeRun: string | undefined;

export interface RunOptions {
  readonly store: string;
  readonly seed?: string;
  /** `--set path=value`, repeatable (src/runtime/overrides.ts). */
  readonly set?: readonly string[];
  /** `--sweep <id>:<index>`: the run is that sweep's run (set by gps sweep). */
  readonly sweep?: string;
  readonly workers?: string;
  readonly numerics?: string;
  readonly stopAfterStage?: string;
  readonly name?: string;
  readonly json: boolean;
  readonly report: boolean;
}

export interface ResumeOptions {
  readonly fromStage?: string;
  readonly stopAfterStage?: string;
  readonly workers?: string;
  readonly force: boolean;
  readonly json: boolean;
  readonly report: boolean;
}

/**
 * Listen for SIGINT/SIGTERM around a run's start: `started` is filled in
 * once the run exists, so that an abort can release its lock.
 */
function stopSignals(): { signals: StopSignals; attach(s: StartedRun): void; stage(i: number): void } {
  let started: StartedRun | undefined;
  let stage = -1;
  const signals = listenForStop({
    onFirst: (signal) => err.write(`gps: ${signal}: stopping after the current stage (send it again to abort now)\n`),
    onAbort: (signal) => {
      if (!started) return;
      tryWriteRunStatus(started.run.dir, "stopped", `aborted by a second ${signal} during stage ${stage}`);
      started.lock.release();
      err.write(`gps: aborted during stage ${stage} — gps resume ${started.run.dir}\n`);
    },
  });
  return { signals, attach: (s) => void (started = s), stage: (i) => void (stage = i) };
}

async function drive(started: StartedRun, options: { json: boolean; report: boolean }, stop: ReturnType<typeof stopSignals>): Promise<number> {
  activeRun = started.run.dir;
  stop.attach(started);
  // Whatever ends this process, the lock must not outlive it.
  const release = (): void => started.lock.release();
  process.once("exit", release);
  try {
    if (isLargeFootprint(started.footprint)) note(describeFootprint(started.footprint));
    const renderer = createRenderer(out, { tty: Boolean(out.isTTY) && !options.json });
    const sink = (e: RunEvent): void => {
      if (e.type === "stage-started") stop.stage(e.index);
      if (options.json) out.write(`${JSON.stringify(e)}\n`);
      else renderer.next(e);
    };
    const last = await lastValueFrom(started.events.pipe(tap(sink)), { defaultValue: undefined });
    renderer.done();
    if (last?.type === "run-finished" && !last.complete && stop.signals.requested()) {
      err.write(`interrupted ${last.lastStage >= 0 ? `after stage ${last.lastStage}` : "before the first stage"} — gps resume ${started.run.dir}\n`);
      return EXIT_INTERRUPTED;
    }
    if (options.report && last?.type === "run-finished" && last.complete) {
      const r = await writeRunReport(started.run);
      if (!options.json) out.write(`report: ${join(r.dir, "index.html")}\n`);
    }
    return EXIT_OK;
  } finally {
    release();
    process.off("exit", release);
  }
}

export async function runCommand(file: string, o: RunOptions): Promise<number> {
  const workers = workersOption(o.workers, note);
  const numerics = numericsOption(o.numerics);
  const seed = intOption(o.seed, "seed");
  const stopAfterStage = intOption(o.stopAfterStage, "stop-after-stage");
  if (seed !== undefined && seed > 0xffffffff) throw new UsageError("--seed must be below 2^32");
  if (o.name !== undefined && !RUN_DIR_NAME.test(o.name)) throw new UsageError(`--name must be letters, digits, '.', '_' or '-' (not first '.' or '-'), at most 200: got ${JSON.stringify(o.name)}`);
  // --seed N is the override seed=N, applied first; then each --set in order.
  const overrides = [...(seed !== undefined ? [seedOverride(seed)] : []), ...(o.set ?? []).map(parseOverride)];
  const sweep = sweepOption(o.sweep);
  const experiment = applyOverrides(await loadExperimentFile(file), overrides);
  const stop = stopSignals();
  try {
    const started = startRun(experiment, { store: o.store, source: file, stopAfterStage, seedOverride: seed, overrides, sweep, workers, numerics, stop: stop.signals, runName: o.name });
    if (!o.json) out.write(`${started.run.dir}\n`);
    return await drive(started, o, stop);
  } finally {
    stop.signals.dispose();
  }
}

export async function resumeCommand(dir: string, o: ResumeOptions): Promise<number> {
  const workers = workersOption(o.workers, note);
  const fromStage = intOption(o.fromStage, "from-stage");
  const stopAfterStage = intOption(o.stopAfterStage, "stop-after-stage");
  const meta = readRunMeta(openRun(dir));
  // Compare with the experiment file as it reads now, if it is still there,
  // and say which file that is. A file that no longer loads is an error.
  let currentExperiment;
  if (meta.source && existsSync(meta.source)) {
    const hash = fileSha256(meta.source);
    const since =
      meta.sourceHash === undefined ? "the run recorded no content hash for it" : hash === meta.sourceHash ? "unchanged since the run started" : "changed since the run started";
    note(`comparing with ${meta.source} (${since})`);
    currentExperiment = await loadExperimentFile(meta.source);
    // The run's overrides, re-applied to the file as it reads now (older runs: only a --seed).
    if (meta.overrides !== undefined) currentExperiment = applyOverrides(currentExperiment, decodeOverrides(meta.overrides));
    else if (meta.seedOverride !== undefined) currentExperiment = { ...currentExperiment, seed: meta.seedOverride };
  } else if (meta.source) {
    note(`${meta.source} is gone; resuming with the experiment stored in the run`);
  }
  const stop = stopSignals();
  try {
    const started = resumeRun(dir, { fromStage, stopAfterStage, currentExperiment, force: o.force, workers, stop: stop.signals });
    if (started.tookOverFrom) {
      const t = started.tookOverFrom;
      warn(`took over a stale lock of pid ${t.pid} on ${t.host} (since ${t.since}): that process is gone`);
    }
    for (const c of started.corrupt) warn(c);
    if (!o.json) out.write(`resuming ${started.run.dir} at stage ${started.startStage}\n`);
    return await drive(started, o, stop);
  } finally {
    stop.signals.dispose();
  }
}
