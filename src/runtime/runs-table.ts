/**
 * The runs table of `gps list`: one row per run of a store (broken ones too),
 * sorting, filtering and formatting. Pure: the rows are built from what the
 * CLI read (src/cli/commands/list.ts) and the time it passes in.
 */
import { countStages, type PipelineItem } from "../dsl/experiment.js";
import type { RunMeta, StageRecord } from "./store.js";

export type ShortStatus = "running" | "stopped" | "failed" | "complete" | "unknown" | "broken";

export interface RunRow {
  readonly run: string;
  readonly experimentName: string;
  readonly experimentHash: string;
  readonly createdAt: string;
  readonly sweep: string | null;
  readonly seed: number | null;
  readonly status: ShortStatus;
  /** As `gps show` says it: "stopped (process 123 gone)", "failed: …". */
  readonly statusDetail: string;
  readonly stagesDone: number;
  readonly totalStages: number | null;
  readonly badCheckpoints: number;
  /** The last value each stage reported, latest stage first. */
  readonly cost: number | null;
  readonly distance: number | null;
  readonly falls: number | null;
  readonly ageMs: number;
  readonly age: string;
  readonly overrides: readonly { readonly path: string; readonly value: unknown }[];
  readonly last: { readonly index: number; readonly kind: string; readonly metrics: StageRecord["metrics"] } | null;
}

export interface BrokenRow {
  readonly run: string;
  readonly status: "broken";
  readonly broken: string;
}

export type ListRow = RunRow | BrokenRow;

export function isBroken(r: ListRow): r is BrokenRow {
  return "broken" in r;
}

/** "running (pid …)" → "running". */
export function shortStatus(detail: string): ShortStatus {
  const word = detail.split(/[\s:(]/)[0];
  return (["running", "stopped", "failed", "complete"] as const).find((s) => s === word) ?? "unknown";
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function lastNumber(stages: readonly StageRecord[], key: string): number | null {
  for (let i = stages.length - 1; i >= 0; i--) {
    const v = stages[i].metrics[key];
    if (typeof v === "number") return v;
  }
  return null;
}

/** A row of a run that opened: its meta, stage log, stored experiment (JSON) and described status. */
export function runRow(input: { dir: string; meta: RunMeta; stages: readonly StageRecord[]; experiment: unknown; statusDetail: string; now: number }): RunRow {
  const { meta, stages } = input;
  const exp = (typeof input.experiment === "object" && input.experiment !== null ? input.experiment : {}) as { seed?: unknown; pipeline?: unknown };
  let total: number | null = null;
  try {
    total = Array.isArray(exp.pipeline) ? countStages(exp.pipeline as PipelineItem[]) : null;
  } catch {
    total = null;
  }
  const last = stages[stages.length - 1];
  const ageMs = input.now - Date.parse(meta.createdAt);
  return {
    run: input.dir,
    experimentName: meta.experimentName,
    experimentHash: meta.experimentHash,
    createdAt: meta.createdAt,
    sweep: meta.sweep?.id ?? null,
    seed: typeof exp.seed === "number" ? exp.seed : null,
    status: shortStatus(input.statusDetail),
    statusDetail: input.statusDetail,
    stagesDone: stages.length,
    totalStages: Number.isFinite(total) ? total : null,
    badCheckpoints: stages.filter((s) => s.status !== "ok").length,
    cost: lastNumber(stages, "cost"),
    distance: lastNumber(stages, "distance"),
    falls: lastNumber(stages, "falls"),
    ageMs: Number.isFinite(ageMs) ? ageMs : 0,
    age: formatAge(Number.isFinite(ageMs) ? ageMs : 0),
    overrides: meta.overrides ?? [],
    last: last ? { index: last.index, kind: last.kind, metrics: last.metrics } : null,
  };
}

export const SORT_KEYS = ["name", "age", "status", "cost", "seed"] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export const FILTER_KEYS = ["status", "experiment", "name", "sweep", "seed", "run"] as const;
export type Filter = { readonly key: (typeof FILTER_KEYS)[number]; readonly pattern: string };

/** A problem with --sort or --filter (bad input). */
export class ListRequestError extends Error {
  override name = "ListRequestError";
}

export function parseSort(value: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(value)) throw new ListRequestError(`--sort must be one of ${SORT_KEYS.join(", ")}, got "${value}"`);
  return value as SortKey;
}

export function parseFilter(text: string): Filter {
  const eq = text.indexOf("=");
  const key = eq > 0 ? text.slice(0, eq) : "";
  if (!(FILTER_KEYS as readonly string[]).includes(key)) {
    throw new ListRequestError(`--filter ${text}: expected <key>=<value> with key one of ${FILTER_KEYS.join(", ")} (e.g. status=failed, experiment=walker-*)`);
  }
  return { key: key as Filter["key"], pattern: text.slice(eq + 1) };
}

/** `*` any text, `?` one character; the rest literal; the whole value must match. */
export function globMatch(pattern: string, text: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(text);
}

function field(r: ListRow, key: Filter["key"]): string | null {
  if (key === "status") return r.status;
  if (key === "run") return r.run.split(/[\\/]/).pop() ?? r.run;
  if (isBroken(r)) return null;
  if (key === "experiment" || key === "name") return r.experimentName;
  if (key === "sweep") return r.sweep;
  return r.seed === null ? null : String(r.seed);
}

/** Rows that match every filter (a broken run matches only status=broken and run=…). */
export function filterRows(rows: readonly ListRow[], filters: readonly Filter[]): ListRow[] {
  return rows.filter((r) =>
    filters.every((f) => {
      const v = field(r, f.key);
      return v !== null && globMatch(f.pattern, v);
    }),
  );
}

const STATUS_ORDER: readonly ShortStatus[] = ["running", "failed", "stopped", "unknown", "complete", "broken"];

/** Stable sort: name (experiment, then run), age (newest first), status, cost (lowest first), seed; rows without the value last. */
export function sortRows(rows: readonly ListRow[], key: SortKey | undefined): ListRow[] {
  if (key === undefined) return [...rows];
  const k = (r: ListRow): number | string | null => {
    if (key === "status") return STATUS_ORDER.indexOf(r.status);
    if (isBroken(r)) return null;
    if (key === "name") return `${r.experimentName}\u0000${r.run}`;
    if (key === "age") return r.ageMs;
    if (key === "cost") return r.cost;
    return r.seed;
  };
  return rows
    .map((r, i) => ({ r, i, v: k(r) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
      if (a.v < b.v) return -1;
      if (a.v > b.v) return 1;
      return a.i - b.i;
    })
    .map((x) => x.r);
}

function num(v: number | null, fmt: (x: number) => string): string {
  return v === null ? "-" : fmt(v);
}

/** The table: a header, one line per row (a broken run: its name and why). */
export function formatRunsTable(rows: readonly ListRow[], fmt: (x: number) => string): string {
  const name = (r: ListRow): string => r.run.split(/[\\/]/).pop() ?? r.run;
  const cells = rows.map((r) =>
    isBroken(r)
      ? null
      : [
          name(r),
          r.experimentName,
          r.sweep ?? "-",
          r.seed === null ? "-" : String(r.seed),
          r.status,
          `${r.stagesDone}/${r.totalStages ?? "?"}`,
          num(r.cost, fmt),
          num(r.distance, fmt),
          num(r.falls, String),
          r.age,
        ],
  );
  const header = ["run", "experiment", "sweep", "seed", "status", "stages", "cost", "distance", "falls", "age"];
  const right = new Set([3, 5, 6, 7, 8, 9]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c ? c[i].length : 0))));
  const line = (c: readonly string[]): string => c.map((x, i) => (right.has(i) ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join("  ").trimEnd();
  const out = [line(header)];
  rows.forEach((r, i) => {
    const c = cells[i];
    if (isBroken(r) || !c) {
      out.push(`${name(r)}  broken: ${(r as BrokenRow).broken}`);
      return;
    }
    const notes = [r.status !== "complete" && r.statusDetail !== r.status ? r.statusDetail : "", r.badCheckpoints > 0 ? `bad checkpoints: ${r.badCheckpoints}` : ""].filter(Boolean);
    out.push(`${line(c)}${notes.length ? `  (${notes.join("; ")})` : ""}`);
  });
  return `${out.join("\n")}\n`;
}
