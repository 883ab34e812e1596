/**
 * Starting and resuming runs: the glue between experiment files, the store
 * and the interpreter. Everything here is I/O; the results are Observables of
 * interpreter events.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Observable } from "rxjs";
import { unrollPipeline, type Experiment } from "../dsl/experiment.js";
import { decodeExperiment, ExperimentValidationError } from "../dsl/validate.js";
import { decodeRunState } from "../algorithms/run-state.js";
import { planExperiment } from "../dsl/plan.js";
import { resolveExperiment, type ResolvedExperiment } from "../dsl/resolve.js";
import { canonicalJson, decodeValue, diffValues, encodeValue, sha256Hex, type JsonValue, type ValueChange } from "./canonical.js";
import { interpret, type RunEvent } from "./interpreter.js";
import { withModelFiles } from "./model-files.js";
import { DEFAULT_NUMERICS, type Numerics } from "../algorithms/numerics.js";
import {
  createRun,
  latestGoodCheckpoint,
  listCheckpointIndices,
  openRun,
  readCheckpoint,
  readExperiment,
  replaceExperiment,
  truncateAfter,
  type RunHandle,
  type RunMeta,
} from "./store.js";
import { acquireRunLock, type RunLock } from "./lock.js";
import { checkFootprint, machineLimits, type Footprint } from "./bounds.js";
import { currentProvenance, fileSha256 } from "./provenance.js";
import { statusRecord, withRunStatus, writeRunStatus } from "./run-status.js";
import { unfollowableChanges, UnfollowableChangeError } from "./force.js";

/** Canonical JSON and hash of an experiment, resolved (every default filled in): what identifies it. */
export function experimentIdentity(e: Experiment): { json: JsonValue; canonical: string; hash: string } {
  const json = encodeValue(resolveExperiment(e));
  const canonical = canonicalJson(json);
  return { json, canonical, hash: sha256Hex(canonical) };
}

/**
 * Import an experiment file (TypeScript or JavaScript) and decode its default
 * export. Importing runs no stage: an experiment file only builds a value.
 */
export async function loadExperimentFile(path: string): Promise<Experiment> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ExperimentFileError(`experiment file not found: ${path}`);
  // A query string defeats the module cache, so a changed file is re-read.
  let mod: { default?: unknown; experiment?: unknown };
  try {
    mod = (await import(`${pathToFileURL(abs).href}?t=${Date.now()}`)) as { default?: unknown; experiment?: unknown };
  } catch (e) {
    // A syntax error, a failing import or a throw while building the value: bad input, named by file.
    const message = e instanceof Error ? e.message : String(e);
    // The library imported by name from a folder where it is not installed: say how to install it.
    const hint = /Cannot find (package|module) '?"?guided-policy-search/.test(message)
      ? " (install the library where the experiment is: npm install <path or tarball of guided-policy-search>)"
      : "";
    throw new ExperimentFileError(`cannot load ${path}: ${message}${hint}`);
  }
  const value = mod.default ?? mod.experiment;
  if (value === undefined) throw new ExperimentFileError(`${path} has no default export (export default experiment({...}))`);
  let experiment: Experiment;
  try {
    experiment = decodeExperiment(value);
  } catch (e) {
    if (e instanceof ExperimentValidationError) throw new ExperimentValidationError(e.problems.map((p) => `${path}: ${p}`));
    throw e;
  }
  // A declared model's file is read into the value, relative to the experiment file.
  return withModelFiles(experiment, dirname(abs), path);
}

export class ExperimentFileError extends Error {
  override name = "ExperimentFileError";
}

/** A resume that cannot start where asked (no good checkpoint before it, past the end). */
export class ResumeError extends Error {
  override name = "ResumeError";
}

export class ExperimentChangedError extends Error {
  override name = "ExperimentChangedError";
  constructor(readonly changes: readonly ValueChange[]) {
    super(`the experiment file changed since the run started:\n${formatChanges(changes)}\n(use --force to resume with the new experiment)`);
  }
}

export function formatChanges(changes: readonly ValueChange[]): string {
  return changes.map((c) => `  ${c.path}: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join("\n");
}

export interface StartedRun {
  readonly run: RunHandle;
  readonly events: Observable<RunEvent>;
  readonly startStage: number;
  /** The run's writer lock, released when `events` ends (and by the CLI on a hard abort). */
  readonly lock: RunLock;
  /** The plan-time estimate of memory and disk. */
  readonly footprint: Footprint;
}

/** A request to stop at the end of the current stage (SIGINT/SIGTERM). */
export interface StopRequest {
  requested(): boolean;
}

/** The interpreter's events with the run's status kept in run.json and the lock released at the end. */
function tracked(run: RunHandle, lock: RunLock, stop: StopRequest | undefined, events: (shouldStop: () => boolean) => Observable<RunEvent>): Observable<RunEvent> {
  const shouldStop = (): boolean => stop?.requested() ?? false;
  return withRunStatus(run.dir, events(shouldStop), lock, () => (shouldStop() ? "interrupted" : undefined));
}

/** Create a run directory for the experiment and run it from stage 0. */
export function startRun(
  experiment: Experiment,
  options: {
    store: string;
    source?: string;
    stopAfterStage?: number;
    seedOverride?: number;
    /** Recorded in run.json (the caller applied them: src/runtime/overrides.ts). */
    overrides?: RunMeta["overrides"];
    sweep?: RunMeta["sweep"];
    workers?: number;
    numerics?: Numerics;
    stop?: StopRequest;
    /** The run directory's name in place of <name>-<hash8>-<NNN> (the job queue's deterministic runs). */
    runName?: string;
  },
): StartedRun {
  // Resolve, then plan: a bad or misordered pipeline fails here, before anything is written.
  const { experiment: resolved, task } = planExperiment(resolveExperiment(experiment), options.source);
  const footprint = checkFootprint(resolved, task, machineLimits(options.store)); // so does an experiment the machine cannot hold
  const id = experimentIdentity(resolved);
  const numerics = options.numerics ?? DEFAULT_NUMERICS;
  // The source is recorded absolute, so a resume from another directory finds the same file (issue 13),
  // with its content hash, so a resume can say whether the file changed.
  const source = options.source === undefined ? undefined : resolve(options.source);
  const sourceHash = source === undefined ? undefined : (fileSha256(source) ?? undefined);
  const run = createRun(options.store, id.json, id.hash, resolved.name, source, {
    seedOverride: options.seedOverride,
    overrides: options.overrides,
    sweep: options.sweep,
    numerics,
    sourceHash,
    provenance: currentProvenance(),
    status: statusRecord("running", -1),
    ...(options.runName !== undefined ? { name: options.runName } : {}),
  });
  // The directory is new (claimed by mkdir), so the lock is free.
  const lock = acquireRunLock(run.dir);
  const events = tracked(run, lock, options.stop, (shouldStop) =>
    interpret({ experiment: resolved, run, startStage: 0, stopAfterStage: options.stopAfterStage, workers: options.workers, numerics, shouldStop }),
  );
  return { run, startStage: 0, lock, footprint, events };
}

export interface ResumeOptions {
  /** Re-run from this stage (its predecessor's checkpoint must be good). */
  readonly fromStage?: number;
  /** The experiment as its source file reads now, to detect changes. */
  readonly currentExperiment?: Experiment;
  readonly force?: boolean;
  readonly stopAfterStage?: number;
  /** Lanes for independent work (1: this thread alone). Any number gives the same results. */
  readonly workers?: number;
  readonly stop?: StopRequest;
}

/**
 * Continue a run from its last good checkpoint (or from `fromStage`). Takes
 * the run's lock first: every check below runs under it, and nothing is
 * written unless all pass.
 */
export function resumeRun(dir: string, options: ResumeOptions = {}): StartedRun & { corrupt: readonly string[]; tookOverFrom: RunLock["tookOverFrom"] } {
  let run = openRun(dir);
  const lock = acquireRunLock(run.dir);
  try {
    run = openRun(dir); // as it is now that no one else writes it
    // Runs recorded before defaults were recorded store the unresolved value: resolve both sides before comparing.
    const stored = resolveExperiment(decodeExperiment(decodeValue(readExperiment(run))));
    let experiment: ResolvedExperiment = stored;
    let changed = false;
    if (options.currentExperiment) {
      const current = resolveExperiment(options.currentExperiment);
      const changes = diffValues(encodeValue(stored), encodeValue(current));
      if (changes.length > 0 && !options.force) throw new ExperimentChangedError(changes);
      const refused = unfollowableChanges(changes);
      if (refused.length > 0) throw new UnfollowableChangeError(refused);
      experiment = current;
      changed = changes.length > 0;
    }
    const { task } = planExperiment(experiment);
    const footprint = checkFootprint(experiment, task, machineLimits(run.dir));
    const total = unrollPipeline(experiment.pipeline).length;
    const latest = latestGoodCheckpoint(run);
    const lastGood = latest.index ?? -1;
    const startStage = options.fromStage ?? lastGood + 1;
    if (startStage < 0 || startStage > lastGood + 1) {
      throw new ResumeError(`cannot resume from stage ${startStage}: the last good checkpoint is stage ${lastGood}${latest.corrupt.length ? ` (corrupt: ${latest.corrupt.join(", ")})` : ""}`);
    }
    if (startStage > total) throw new ResumeError(`stage ${startStage} is past the end of the pipeline (${total} stages)`);
    // Stage 0 starts from the initial state, which the interpreter builds.
    const state = startStage === 0 ? undefined : decodeRunState(readCheckpoint(run, startStage - 1).state);
    // Checkpoints at or after the restart point (good or corrupt) are moved
    // aside, never overwritten or deleted.
    if (listCheckpointIndices(run).some((i) => i >= startStage)) truncateAfter(run, startStage - 1);
    if (changed) run = replaceExperiment(run, experimentIdentity(experiment).json, experimentIdentity(experiment).hash);
    writeRunStatus(run.dir, "running");
    run = openRun(run.dir);
    const resumed = run;
    const events = tracked(resumed, lock, options.stop, (shouldStop) =>
      // Runs recorded before the batched kernels used the per-row ones: keep them.
      interpret({ experiment, run: resumed, state, startStage, stopAfterStage: options.stopAfterStage, workers: options.workers, numerics: resumed.meta.numerics ?? "per-row", shouldStop }),
    );
    return { run, startStage, corrupt: latest.corrupt, lock, footprint, tookOverFrom: lock.tookOverFrom, events };
  } catch (e) {
    lock.release();
    throw e;
  }
}
