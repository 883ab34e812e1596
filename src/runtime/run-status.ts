/**
 * A run's status in run.json — running, stopped (interrupted or
 * --stop-after-stage), failed (with the error) or complete — written
 * atomically at each transition by the process holding the run's lock, and
 * how readers describe it (a "running" run whose process is gone was killed).
 */
import { hostname } from "node:os";
import { Observable } from "rxjs";
import type { RunEvent } from "./interpreter.js";
import { isStale, readLockOwner, type LockOwner, type RunLock } from "./lock.js";
import { listCheckpointIndices, openRun, writeRunMeta, type RunHandle, type RunState, type RunStatusRecord } from "./store.js";

export function statusRecord(state: RunState, lastStage: number, message?: string, now: () => Date = () => new Date()): RunStatusRecord {
  return { state, pid: process.pid, host: hostname(), at: now().toISOString(), lastStage, ...(message !== undefined ? { message } : {}) };
}

/** The highest checkpoint index in checkpoints/ (-1: none). */
export function lastCheckpointIndex(run: RunHandle): number {
  const indices = listCheckpointIndices(run);
  return indices.length > 0 ? indices[indices.length - 1] : -1;
}

/** Rewrite run.json's status (re-reading run.json, so a --force replacement is kept). */
export function writeRunStatus(dir: string, state: RunState, message?: string): void {
  const run = openRun(dir);
  writeRunMeta(run, { ...run.meta, status: statusRecord(state, lastCheckpointIndex(run), message) });
}

/** Best effort, for the paths out of a failing process: a status that cannot be written must not hide the first error. */
export function tryWriteRunStatus(dir: string, state: RunState, message?: string): void {
  try {
    writeRunStatus(dir, state, message);
  } catch {
    /* the run's own error is the one to report */
  }
}

/**
 * The events of a run, with run.json's status kept up to date (running at
 * subscription; complete, stopped or failed at the end) and the lock released
 * when the stream ends, however it ends.
 */
export function withRunStatus(dir: string, events: Observable<RunEvent>, lock: RunLock, stopMessage: () => string | undefined): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    let finished = false; // a status for the end is written (or the stream failed)
    const sub = events.subscribe({
      next: (e) => {
        if (e.type === "run-finished") {
          finished = true;
          if (e.complete) writeRunStatus(dir, "complete");
          else writeRunStatus(dir, "stopped", stopMessage() ?? `--stop-after-stage ${e.lastStage}`);
        }
        subscriber.next(e);
      },
      error: (err: unknown) => {
        finished = true;
        tryWriteRunStatus(dir, "failed", err instanceof Error ? err.message : String(err));
        lock.release();
        subscriber.error(err);
      },
      complete: () => {
        lock.release();
        subscriber.complete();
      },
    });
    return () => {
      sub.unsubscribe();
      if (!finished) tryWriteRunStatus(dir, "stopped", stopMessage() ?? "stopped");
      lock.release();
    };
  });
}

/**
 * How `gps show`/`gps list` describe a status: a "running" run whose lock is
 * gone or stale is "stopped (process N gone)". Runs from before statuses: "unknown".
 */
export function describeStatus(status: RunStatusRecord | undefined, lock: LockOwner | null, staleOnThisHost: (o: LockOwner) => boolean = isStale): string {
  if (status === undefined) return "unknown";
  if (status.state === "running") {
    if (lock !== null && !staleOnThisHost(lock)) return `running (pid ${lock.pid} on ${lock.host} since ${lock.since})`;
    return `stopped (process ${status.pid} gone)`;
  }
  if (status.state === "failed") return `failed: ${status.message ?? "unknown error"}`;
  if (status.state === "stopped") return `stopped${status.message ? ` (${status.message})` : ""}`;
  return "complete";
}

/** `describeStatus` for a run directory as it is on disk now. */
export function currentStatus(run: RunHandle): string {
  return describeStatus(run.meta.status, readLockOwner(run.dir));
}
