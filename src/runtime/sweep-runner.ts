/**
 * Running a sweep on this machine (effects): each run is a child process
 * (`node bin/gps.js run … --json --workers 1`, or `resume` for a run that has
 * a directory and is not complete), its JSON event lines an Observable; the
 * sweep is their merge with at most `jobs` at once (`mergeMap(run, jobs)`).
 * One process per run, so N runs use N cores. The manifest lives at
 * `<store>/sweeps/<id>.json`, written atomically.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defer, from, mergeMap, Observable, of } from "rxjs";
import type { RunEvent } from "./interpreter.js";
import { listRunEntries, writeFileAtomic } from "./store.js";
import { decodeManifest, resumeArgs, runArgs, SweepRequestError, type SweepManifest } from "./sweep.js";

export const SWEEPS_DIR = "sweeps";

const GPS_BIN = fileURLToPath(new URL("../../bin/gps.js", import.meta.url));

export function manifestPath(store: string, id: string): string {
  return join(resolve(store), SWEEPS_DIR, `${id}.json`);
}

export function writeManifest(m: SweepManifest): string {
  const file = manifestPath(m.store, m.id);
  mkdirSync(join(m.store, SWEEPS_DIR), { recursive: true });
  writeFileAtomic(file, `${JSON.stringify(m, null, 2)}\n`);
  return file;
}

/** A manifest named by its path, or by its id in `store`'s sweeps/. */
export function readManifest(idOrPath: string, store: string): { manifest: SweepManifest; file: string } {
  const file = existsSync(idOrPath) ? resolve(idOrPath) : manifestPath(store, idOrPath);
  if (!existsSync(file)) throw new SweepRequestError(`no sweep ${JSON.stringify(idOrPath)}: neither a manifest file nor ${file}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new SweepRequestError(`${file} is not a sweep manifest: ${(e as Error).message}`);
  }
  return { manifest: decodeManifest(raw, file), file };
}

export type SweepEvent =
  /** Run `index` is already complete (a sweep resumed): nothing to do. */
  | { readonly type: "run-skipped"; readonly index: number; readonly run: string }
  | { readonly type: "run-event"; readonly index: number; readonly event: RunEvent }
  | {
      readonly type: "run-exit";
      readonly index: number;
      /** The child's exit status (null: killed by `signal`), or null with `notStarted` when the sweep stopped first. */
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly notStarted: boolean;
      /** The last lines the child wrote to stderr. */
      readonly stderr: string;
      readonly wallMs: number;
    };

/** One `gps` child: its JSON event lines, then its exit. Unsubscribing sends it SIGINT. */
export function childRun(index: number, args: readonly string[], live: Set<ChildProcess>, clock: () => number = Date.now): Observable<SweepEvent> {
  return new Observable<SweepEvent>((subscriber) => {
    const started = clock();
    // Its own process group: a Ctrl-C at the terminal reaches the sweep alone, which forwards one SIGINT.
    const child = spawn(process.execPath, [GPS_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    live.add(child);
    let pending = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          subscriber.next({ type: "run-event", index, event: JSON.parse(line) as RunEvent });
        } catch {
          /* not an event line */
        }
      }
    });
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on("error", (e) => {
      live.delete(child);
      subscriber.error(e);
    });
    child.on("close", (code, signal) => {
      live.delete(child);
      subscriber.next({ type: "run-exit", index, code, signal, notStarted: false, stderr, wallMs: clock() - started });
      subscriber.complete();
    });
    return () => {
      if (live.has(child)) child.kill("SIGINT");
    };
  });
}

/** Where each run of the manifest stands: its directory (from the manifest, or found by its sweep tag in the store) and whether it is complete. */
export function sweepRunDirs(m: SweepManifest): Map<number, { dir: string; complete: boolean }> {
  const found = new Map<number, { dir: string; complete: boolean }>();
  for (const entry of listRunEntries(m.store)) {
    const meta = entry.run?.meta;
    if (meta?.sweep?.id !== m.id) continue;
    found.set(meta.sweep.index, { dir: entry.dir, complete: meta.status?.state === "complete" });
  }
  for (const r of m.runs) {
    if (r.run !== null && !found.has(r.index)) found.set(r.index, { dir: r.run, complete: false });
  }
  return found;
}

export interface SweepRunner {
  readonly events: Observable<SweepEvent>;
  /** Stop: no new run starts, and each running one gets SIGINT (a second stop: a second SIGINT, which aborts them). */
  stop(): void;
}

/**
 * Run the manifest's runs, at most `jobs` at once. With `resume`, a run that
 * has a directory is resumed (`gps resume`) unless complete (skipped), and one
 * without is started.
 */
export function runSweep(m: SweepManifest, options: { jobs: number; resume: boolean; clock?: () => number }): SweepRunner {
  const live = new Set<ChildProcess>();
  let stopped = false;
  const dirs = options.resume ? sweepRunDirs(m) : new Map<number, { dir: string; complete: boolean }>();
  const events = from(m.runs).pipe(
    mergeMap(
      (r) =>
        defer((): Observable<SweepEvent> => {
          const known = dirs.get(r.index);
          if (known?.complete) return of({ type: "run-skipped", index: r.index, run: known.dir });
          if (stopped) return of({ type: "run-exit", index: r.index, code: null, signal: null, notStarted: true, stderr: "", wallMs: 0 });
          return childRun(r.index, known ? resumeArgs(m, known.dir) : runArgs(m, r), live, options.clock);
        }),
      options.jobs,
    ),
  );
  return {
    events,
    stop() {
      stopped = true;
      for (const child of live) child.kill("SIGINT");
    },
  };
}
