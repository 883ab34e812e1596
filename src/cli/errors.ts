/**
 * How the CLI reports an error: its exit status and its message. Pure.
 *
 *   2  bad input: arguments, experiment files, runs that are not runs or were
 *      edited, corrupt checkpoints asked for, a busy run; nothing was written.
 *   3  a stage produced NaN/∞ (not checkpointed; the run is resumable).
 *   1  anything else while running (a worker died, a disk filled up).
 */
import { CommanderError } from "commander";
import { ExperimentValidationError } from "../dsl/validate.js";
import { ExperimentChangedError, ExperimentFileError, ResumeError } from "../runtime/session.js";
import {
  CheckpointNotFoundError,
  CorruptCheckpointError,
  ExperimentTamperedError,
  NotARunError,
  RunNameTakenError,
  StoreFormatError,
  StoreWriteError,
} from "../runtime/store.js";
import { ExportRequestError } from "../runtime/export.js";
import { RunBusyError } from "../runtime/lock.js";
import { UnfollowableChangeError } from "../runtime/force.js";
import { FootprintError } from "../runtime/bounds.js";
import { NonFiniteStageError } from "../runtime/finite.js";
import { SweepRequestError } from "../runtime/sweep.js";
import { ListRequestError } from "../runtime/runs-table.js";
import { QueueRequestError, QueueUnreachableError } from "../queue/errors.js";

/** A bad command line found by our own checks (commander finds the rest). */
export class UsageError extends Error {
  override name = "UsageError";
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_NON_FINITE = 3;
export const EXIT_INTERRUPTED = 130;

const BAD_INPUT: readonly (abstract new (...args: never[]) => Error)[] = [
  UsageError,
  CommanderError,
  ExperimentValidationError,
  ExperimentFileError,
  ExperimentChangedError,
  UnfollowableChangeError,
  ExperimentTamperedError,
  CorruptCheckpointError,
  CheckpointNotFoundError,
  NotARunError,
  RunNameTakenError,
  StoreFormatError,
  ExportRequestError,
  ResumeError,
  RunBusyError,
  FootprintError,
  SweepRequestError,
  ListRequestError,
  QueueRequestError,
  QueueUnreachableError,
];

export function exitStatusOf(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  if (e instanceof NonFiniteStageError) return EXIT_NON_FINITE;
  if (BAD_INPUT.some((C) => e instanceof C)) return EXIT_BAD_INPUT;
  return EXIT_FAILED;
}

/**
 * The message for people: commander's "error: " prefix and an internal
 * function's "name: " prefix go; a refused write says the run is resumable.
 */
export function errorMessage(e: unknown, activeRun?: string): string {
  let message = e instanceof Error ? e.message : String(e);
  if (e instanceof CommanderError) message = message.replace(/^error: /, "");
  else if (!BAD_INPUT.some((C) => e instanceof C)) message = message.replace(/^[a-z][A-Za-z0-9]*: /, "");
  if (e instanceof StoreWriteError && activeRun !== undefined) {
    message += ` — the run is resumable after freeing space (or fixing permissions): gps resume ${activeRun}`;
  }
  return message;
}
