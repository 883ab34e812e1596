/**
 * Reading runs for the curves: what `gps compare` takes as arguments (run
 * directories, store directories, sweep ids) and what a run's meta says about
 * its seed, sweep and overrides. Reads only; never writes.
 *
 * `sweep` and `overrides` in run.json come from `gps sweep` / `--set`; they are
 * read tolerantly (absent in older runs; a string or { id } for the sweep; an
 * object, or a list of "path=value" strings, for the overrides).
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { listRunEntries, openRun, RUN_META_FILE, type RunHandle } from "../runtime/store.js";
import type { RunInfo } from "./aggregate.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The run's sweep id, if it belongs to one. */
export function sweepOf(meta: unknown): string | null {
  const s = isObject(meta) ? meta.sweep : undefined;
  if (typeof s === "string" || typeof s === "number") return String(s);
  if (isObject(s) && (typeof s.id === "string" || typeof s.id === "number")) return String(s.id);
  return null;
}

/** The run's overrides as path → value text (JSON for non-strings). */
export function overridesOf(meta: unknown): Record<string, string> {
  const o = isObject(meta) ? (meta.overrides ?? meta.sets ?? meta.set) : undefined;
  const out: Record<string, string> = {};
  const text = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  if (Array.isArray(o)) {
    for (const item of o) {
      if (typeof item === "string" && item.includes("=")) out[item.slice(0, item.indexOf("="))] = item.slice(item.indexOf("=") + 1);
      else if (isObject(item) && typeof item.path === "string") out[item.path] = text(item.value);
    }
  } else if (isObject(o)) for (const [k, v] of Object.entries(o)) out[k] = text(v);
  return out;
}

/** The seed the run ran with: the command line's, else the experiment's. */
export function seedOf(run: RunHandle): number | null {
  if (typeof run.meta.seedOverride === "number") return run.meta.seedOverride;
  const e = run.experiment;
  return isObject(e) && typeof e.seed === "number" ? e.seed : null;
}

export function runInfo(run: RunHandle): RunInfo {
  return { id: run.name, experimentName: run.meta.experimentName, seed: seedOf(run), sweep: sweepOf(run.meta), overrides: overridesOf(run.meta) };
}

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * The runs named by `args`, in order, each once: a run directory; a store
 * directory (its runs that open; the others are returned as `skipped`); or a
 * sweep id (the runs of `store` whose run.json names that sweep). Throws an
 * Error naming an argument that is none of these.
 */
export function resolveRunArgs(args: readonly string[], store: string): { runs: RunHandle[]; skipped: string[] } {
  const runs: RunHandle[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const add = (r: RunHandle) => {
    if (!seen.has(r.dir)) runs.push(r);
    seen.add(r.dir);
  };
  let storeEntries: ReturnType<typeof listRunEntries> | null = null;
  for (const a of args) {
    if (existsSync(join(a, RUN_META_FILE))) {
      add(openRun(a));
      continue;
    }
    if (isDir(a)) {
      const entries = listRunEntries(a);
      if (entries.length === 0) throw new Error(`${a} is neither a run nor a store with runs`);
      for (const e of entries) {
        if (e.run) add(e.run);
        else skipped.push(`${e.dir}: ${e.error}`);
      }
      continue;
    }
    storeEntries ??= listRunEntries(store);
    const inSweep = storeEntries.flatMap((e) => (e.run && sweepOf(e.run.meta) === a ? [e.run] : []));
    if (inSweep.length === 0) throw new Error(`${a} is not a run directory, a store directory or a sweep id in ${store}`);
    inSweep.forEach(add);
  }
  return { runs, skipped };
}
