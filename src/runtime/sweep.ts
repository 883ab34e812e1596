/**
 * Sweeps over seeds and settings, the pure part: a sweep request (seeds, a
 * grid of values per path, common overrides) expands into run requests, one
 * per combination; each is an ordinary run with overrides, checked the way
 * `gps run --seed k --set …` checks it. The manifest (`<store>/sweeps/<id>.json`)
 * lists the runs. No files, no processes here: src/runtime/sweep-runner.ts
 * runs them, `gps sweep` (src/cli/commands/sweep.ts) prints them, and a job
 * queue can reuse `expandSweep`, `runOverrides` and `runArgs`.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import type { Experiment } from "../dsl/experiment.js";
import { planExperiment } from "../dsl/plan.js";
import { resolveExperiment } from "../dsl/resolve.js";
import { ExperimentValidationError, formatErrors } from "../dsl/validate.js";
import { sha256Hex } from "./canonical.js";
import { applyOverrides, formatOverride, OverridesC, overridesLabel, parseOverrideValue, parsePath, seedOverride, type Override, type OverrideValue } from "./overrides.js";

/** A sweep's option that does not parse (--seeds 5..1, --grid without values): bad input, nothing written. */
export class SweepRequestError extends Error {
  override name = "SweepRequestError";
}

const Seed = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0 && n < 2 ** 32, "Seed");
const NonNegInt = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, "NonNegInt");

/** One axis of the grid: every value of one path. */
export const GridAxisC = t.type({ path: t.string, values: t.readonlyArray(t.unknown) }, "grid axis");
export type GridAxis = { readonly path: string; readonly values: readonly OverrideValue[] };

/**
 * One run of a sweep: its place, its seed (null: the experiment's own) and
 * its overrides besides the seed (the common `--set`s, then its grid values),
 * and a label naming what distinguishes it (`seed=3 policy.hidden=[10]`).
 */
export const RunRequestC = t.type(
  { index: NonNegInt, seed: t.union([Seed, t.null]), overrides: OverridesC, label: t.string },
  "run request",
);
export type RunRequest = { readonly index: number; readonly seed: number | null; readonly overrides: readonly Override[]; readonly label: string };

export interface SweepRequest {
  /** null: one run per grid combination with the experiment's seed. */
  readonly seeds: readonly number[] | null;
  readonly grid: readonly GridAxis[];
  /** Overrides common to every run (`--set`). */
  readonly sets: readonly Override[];
}

/** `1..10` (inclusive), `3`, or `1,4,9`. */
export function parseSeeds(text: string): number[] {
  const bad = (why: string): never => {
    throw new SweepRequestError(`--seeds ${JSON.stringify(text)}: ${why} (e.g. --seeds 1..10 or --seeds 1,4,9)`);
  };
  const int = (s: string): number => {
    if (!/^\d+$/.test(s)) bad(`"${s}" is not a non-negative integer`);
    const n = Number(s);
    if (n >= 2 ** 32) bad(`${s} is not below 2^32`);
    return n;
  };
  const range = /^(.*)\.\.(.*)$/.exec(text);
  if (range) {
    const [a, b] = [int(range[1]), int(range[2])];
    if (b < a) bad(`the range is empty (${b} < ${a})`);
    if (b - a >= 10_000) bad("more than 10000 seeds");
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const seeds = text.split(",").map(int);
  if (new Set(seeds).size !== seeds.length) bad("a seed is listed twice");
  return seeds;
}

/** Split at commas outside brackets, braces and quotes: `[5,5],[10]` → ["[5,5]", "[10]"]. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** `--grid path=v1,v2,…`: each value JSON when it parses, else text. */
export function parseGridAxis(text: string): GridAxis {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new SweepRequestError(`--grid ${text}: expected <path>=<v1>,<v2>,…, e.g. task.horizon=50,100`);
  const path = text.slice(0, eq);
  parsePath(path);
  const values = splitTopLevel(text.slice(eq + 1));
  if (values.some((v) => v === "")) throw new SweepRequestError(`--grid ${text}: an empty value`);
  return { path, values: values.map(parseOverrideValue) };
}

/**
 * Every combination, seeds slowest, then the grid's axes in the order given
 * (the last fastest). Pure; the order is the runs' indices.
 */
export function expandSweep(request: SweepRequest): RunRequest[] {
  for (const axis of request.grid) {
    if (axis.path === "seed") throw new SweepRequestError("--grid seed=…: use --seeds for seeds");
  }
  let combos: Override[][] = [[]];
  for (const axis of request.grid) combos = combos.flatMap((c) => axis.values.map((value) => [...c, { path: axis.path, value }]));
  const seeds: (number | null)[] = request.seeds ? [...request.seeds] : [null];
  const out: RunRequest[] = [];
  for (const seed of seeds) {
    for (const combo of combos) {
      const distinct = [...(seed === null ? [] : [seedOverride(seed)]), ...combo];
      out.push({ index: out.length, seed, overrides: [...request.sets, ...combo], label: overridesLabel(distinct) });
    }
  }
  return out;
}

/** A run request's overrides as run.json records them: `--seed` first, then each `--set`. */
export function runOverrides(r: RunRequest): Override[] {
  return [...(r.seed === null ? [] : [seedOverride(r.seed)]), ...r.overrides];
}

/**
 * Check every run of a sweep as `gps run` would (decode, resolve, plan) before
 * anything is written. Throws an ExperimentValidationError naming the run and
 * the field. Returns each run's resolved experiment.
 */
export function checkSweep(experiment: Experiment, runs: readonly RunRequest[], source?: string): Experiment[] {
  return runs.map((r) => {
    try {
      const e = applyOverrides(experiment, runOverrides(r));
      planExperiment(resolveExperiment(e), source);
      return e;
    } catch (e) {
      if (e instanceof ExperimentValidationError) throw new ExperimentValidationError(e.problems.map((p) => `run ${r.index} (${r.label}): ${p}`));
      throw e;
    }
  });
}

// ---------------------------------------------------------------------------
// The manifest

export const SweepRunC = t.intersection([RunRequestC, t.type({ run: t.union([t.string, t.null]) })], "sweep run");
export type SweepRun = RunRequest & { readonly run: string | null };

export const SweepManifestC = t.type(
  {
    format: t.literal(1),
    id: t.string,
    createdAt: t.string,
    /** The experiment file, absolute. */
    source: t.string,
    experimentName: t.string,
    /** The store the runs go into, absolute. */
    store: t.string,
    seeds: t.union([t.readonlyArray(Seed), t.null]),
    grid: t.readonlyArray(GridAxisC),
    sets: OverridesC,
    report: t.boolean,
    runs: t.readonlyArray(SweepRunC),
  },
  "sweep manifest",
);
export interface SweepManifest {
  readonly format: 1;
  readonly id: string;
  readonly createdAt: string;
  readonly source: string;
  readonly experimentName: string;
  readonly store: string;
  readonly seeds: readonly number[] | null;
  readonly grid: readonly GridAxis[];
  readonly sets: readonly Override[];
  readonly report: boolean;
  readonly runs: readonly SweepRun[];
}

export function decodeManifest(input: unknown, file: string): SweepManifest {
  const r = SweepManifestC.decode(input);
  if (isLeft(r)) throw new SweepRequestError(`${file} is not a sweep manifest: ${formatErrors(r.left).join("; ")}`);
  return r.right as SweepManifest;
}

/** `<name>-<yyyymmddThhmmss>-<6 hex>`: readable, and distinct for distinct requests made in the same second. */
export function sweepId(experimentName: string, createdAt: string, request: SweepRequest, source: string): string {
  const name = experimentName.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 40) || "sweep";
  const stamp = createdAt.replace(/[-:]/g, "").replace(/\.\d+Z$/, "");
  const hash = sha256Hex(JSON.stringify({ createdAt, source, request })).slice(0, 6);
  return `${name}-${stamp}-${hash}`;
}

export function newManifest(options: {
  id: string;
  createdAt: string;
  source: string;
  experimentName: string;
  store: string;
  request: SweepRequest;
  report: boolean;
}): SweepManifest {
  const { request } = options;
  return {
    format: 1,
    id: options.id,
    createdAt: options.createdAt,
    source: options.source,
    experimentName: options.experimentName,
    store: options.store,
    seeds: request.seeds,
    grid: request.grid,
    sets: request.sets,
    report: options.report,
    runs: expandSweep(request).map((r) => ({ ...r, run: null })),
  };
}

/** The manifest with run `index`'s directory recorded. */
export function withRunDir(m: SweepManifest, index: number, dir: string): SweepManifest {
  return { ...m, runs: m.runs.map((r) => (r.index === index ? { ...r, run: dir } : r)) };
}

/** The `gps` arguments that start run `r` of the sweep: the same as `gps run --seed k --set …` by hand, plus the sweep's tag. */
export function runArgs(m: SweepManifest, r: RunRequest): string[] {
  return [
    "run",
    m.source,
    "--store",
    m.store,
    ...(r.seed === null ? [] : ["--seed", String(r.seed)]),
    ...r.overrides.flatMap((o) => ["--set", formatOverride(o)]),
    "--sweep",
    `${m.id}:${r.index}`,
    "--workers",
    "1",
    "--json",
    ...(m.report ? [] : ["--no-report"]),
  ];
}

/** The `gps` arguments that continue run `dir` of the sweep from its last checkpoint. */
export function resumeArgs(m: SweepManifest, dir: string): string[] {
  return ["resume", dir, "--workers", "1", "--json", ...(m.report ? [] : ["--no-report"])];
}
