/**
 * The per-run writer lock: `<run>/lock`, created with O_EXCL, holding the
 * writer's PID, hostname and start time. run and resume take it before their
 * first write and drop it when they end (errors and signals included);
 * readers (show, list, diff, export, report) never look at it.
 *
 * A lock whose holder is on this host and no longer alive is stale (the
 * process was killed): it is taken over with a warning. A lock held from
 * another host is never judged stale: we cannot see its processes.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import * as t from "io-ts";
import { isRight } from "fp-ts/lib/Either.js";

export const LOCK_FILE = "lock";

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** ISO-8601 time the lock was taken. */
  readonly since: string;
}

const LockOwnerC = t.type({ pid: t.number, host: t.string, since: t.string });

/** Another live process holds the run: bad input for a second writer (exit 2). */
export class RunBusyError extends Error {
  override name = "RunBusyError";
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(`run is busy (pid ${owner.pid} on ${owner.host} since ${owner.since}): ${dir}`);
  }
}

export interface RunLock {
  readonly dir: string;
  readonly owner: LockOwner;
  /** A stale lock that was taken over, if any (for a warning). */
  readonly tookOverFrom: LockOwner | null;
  /** Remove the lock file if it is still ours. Idempotent; never throws. */
  release(): void;
}

/** An unreadable lock file older than this was left by a process that died while writing it. */
const UNREADABLE_STALE_MS = 10_000;

/** Milliseconds since the file was last modified (0 when it is gone). */
function unreadableFor(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since;
}

export function lockPath(dir: string): string {
  return join(dir, LOCK_FILE);
}

/** The lock's holder as recorded, or null when there is no lock (or it is unreadable: being written). */
export function readLockOwner(dir: string): LockOwner | null {
  return readOwnerFile(lockPath(dir));
}

function readOwnerFile(file: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  try {
    const v: unknown = JSON.parse(text);
    const r = LockOwnerC.decode(v);
    return isRight(r) ? r.right : null;
  } catch {
    return null;
  }
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by someone else). */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A recorded holder that is certainly gone: same host, process not alive. */
export function isStale(owner: LockOwner, thisHost = hostname()): boolean {
  return owner.host === thisHost && !processAlive(owner.pid);
}

/**
 * Take the run's lock or throw `RunBusyError`. `now` gives the start time
 * recorded in the lock (meta only).
 */
export function acquireRunLock(dir: string, now: () => Date = () => new Date()): RunLock {
  const owner: LockOwner = { pid: process.pid, host: hostname(), since: now().toISOString() };
  const file = lockPath(dir);
  let tookOverFrom: LockOwner | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o644);
      try {
        writeSync(fd, JSON.stringify(owner) + "\n");
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 2) {
        if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new RunBusyError(dir, readLockOwner(dir) ?? { pid: 0, host: "?", since: "?" });
        throw e;
      }
      const recorded = readLockOwner(dir);
      // Unreadable: another process is writing it right now (busy) — or one died
      // between creating and writing it, which an old enough file says (stale).
      const holder = recorded ?? (unreadableFor(file) > UNREADABLE_STALE_MS ? { pid: 0, host: hostname(), since: "unknown (unreadable lock file)" } : null);
      if (holder === null || !isStale(holder)) {
        throw new RunBusyError(dir, holder ?? { pid: 0, host: "unknown host", since: "just now" });
      }
      // Stale: move it aside under a unique name (rename is atomic, so of two
      // processes taking over at once only one succeeds), then retry O_EXCL.
      const aside = `${file}.stale-${holder.pid}-${randomBytes(4).toString("hex")}`;
      try {
        renameSync(file, aside);
        const moved = readOwnerFile(aside);
        // Another process took over between our read and our rename: give its lock back.
        if (moved !== null && !sameOwner(moved, holder)) linkSync(aside, file);
        unlinkSync(aside);
      } catch {
        /* lost the race, or the cleanup: the retry decides */
      }
      tookOverFrom = holder;
    }
  }
  let held = true;
  return {
    dir,
    owner,
    tookOverFrom,
    release() {
      if (!held) return;
      held = false;
      const current = readLockOwner(dir);
      if (current === null || !sameOwner(current, owner)) return;
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    },
  };
}
