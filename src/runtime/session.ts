/**
 * Starting and resuming runs: the glue between experiment files, the store
 * and the interpreter. Everything here is I/O; the results are Observables of
 * interpreter events.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Observable } from "rxjs";
import { unrollPipeline, type Experiment } from "../dsl/experiment.js";
import { decodeExperiment, ExperimentValidationError } from "../dsl/validate.js";
import { decodeRunState } from "../algorithms/run-state.js";
import { planExperiment } from "../dsl/plan.js";
import { resolveExperiment, type ResolvedExperiment } from "../dsl/resolve.js";
import type { Task } from "../tasks/types.js";
import { canonicalJson, decodeValue, diffValues, encodeValue, sha256Hex, type JsonValue, type ValueChange } from "./canonical.js";
import { interpret, type RunEvent } from "./interpreter.js";
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
} from "./store.js";

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
    throw new ExperimentFileError(`cannot load ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const value = mod.default ?? mod.experiment;
  if (value === undefined) throw new ExperimentFileError(`${path} has no default export (export default experiment({...}))`);
  try {
    return decodeExperiment(value);
  } catch (e) {
    if (e instanceof ExperimentValidationError) throw new ExperimentValidationError(e.problems.map((p) => `${path}: ${p}`));
    throw e;
  }
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
}

/** Create a run directory for the experiment and run it from stage 0. */
export function startRun(
  experiment: Experiment,
  options: { store: string; source?: string; stopAfterStage?: number; seedOverride?: number; workers?: number; numerics?: Numerics },
): StartedRun {
  // Resolve, then plan: a bad or misordered pipeline fails here, before anything is written.
  const { experiment: resolved } = planExperiment(resolveExperiment(experiment), options.source);
  const id = experimentIdentity(resolved);
  const numerics = options.numerics ?? DEFAULT_NUMERICS;
  // The source is recorded absolute, so a resume from another directory finds the same file (issue 13).
  const run = createRun(options.store, id.json, id.hash, experiment.name, options.source === undefined ? undefined : resolve(options.source), { seedOverride: options.seedOverride, numerics });
  return { run, startStage: 0, events: interpret({ experiment: resolved, run, startStage: 0, stopAfterStage: options.stopAfterStage, workers: options.workers, numerics }) };
}

/**
 * What the codec cannot check without the task, and the pipeline's order:
 * the plan of the resolved experiment (src/dsl/plan.ts). Throws an
 * ExperimentValidationError naming each problem's field or pipeline place.
 */
export function checkConditions(experiment: Experiment, _task?: Task, source?: string): void {
  planExperiment(resolveExperiment(experiment), source);
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
}

/** Continue a run from its last good checkpoint (or from `fromStage`). */
export function resumeRun(dir: string, options: ResumeOptions = {}): StartedRun & { corrupt: readonly string[] } {
  let run = openRun(dir);
  // Runs recorded before defaults were recorded store the unresolved value: resolve both sides before comparing.
  const stored = resolveExperiment(decodeExperiment(decodeValue(readExperiment(run))));
  let experiment: ResolvedExperiment = stored;
  let changed = false;
  if (options.currentExperiment) {
    const current = resolveExperiment(options.currentExperiment);
    const changes = diffValues(encodeValue(stored), encodeValue(current));
    if (changes.length > 0 && !options.force) throw new ExperimentChangedError(changes);
    experiment = current;
    changed = changes.length > 0;
  }
  planExperiment(experiment);
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
  return {
    run,
    startStage,
    corrupt: latest.corrupt,
    // Runs recorded before the batched kernels used the per-row ones: keep them.
    events: interpret({ experiment, run, state, startStage, stopAfterStage: options.stopAfterStage, workers: options.workers, numerics: run.meta.numerics ?? "per-row" }),
  };
}
