/**
 * Learning curves of every run kind, grouped and aggregated over seeds: pure
 * data shaping (no files, no clocks; the bootstrap draws from a seeded
 * generator, so the same runs always give the same figure).
 *
 *  - A run's training stage kind is the one its curve is drawn against: the
 *    iteration counter of importance-sampled GPS or a prior method
 *    (isgpsIteration, policyGradientIteration, daggerIteration,
 *    costWeightedRegression), of
 *    constrained GPS (fitTheta: the policy's noise-free cost), or of iLQG
 *    (ilqgIteration). Evaluation stages are not training iterations: they are
 *    markers at the number of iterations done before them.
 *  - Runs are grouped by experiment name plus the overrides (`gps sweep`,
 *    `--set`) that differ between runs of that name, seed excluded: a group's
 *    runs are seeds of one configuration, drawn as their mean with a 95%
 *    percentile-bootstrap band.
 */
import { Sampler, seedGenerator } from "../random/generator.js";
import type { StageRecord } from "../runtime/store.js";
import { learningCurveData, POLICY_SEARCH_ITERATIONS, TRAJECTORY_STEPS } from "./learning-curves.js";
import { el, linePlot, marker, paletteColor, pointsAttr, type LegendItem, type LineSeries, type PlotFrame } from "./svg.js";

/** What the curves read of a stage: the log's fields (a StageRecord or a stages.jsonl entry). */
export type StageLike = Pick<StageRecord, "index" | "kind" | "label" | "metrics">;

/** Training stage kinds, most specific first: a CGPS run's ilqgIterations are its warm start, not its training. */
export const TRAINING_KINDS: readonly string[] = [...POLICY_SEARCH_ITERATIONS, "fitTheta", "ilqgIteration"];

/** The metrics `gps compare` and the browser view draw per training iteration. */
export const CURVE_METRICS = ["sampleCost", "cost"] as const;
export type CurveMetric = (typeof CURVE_METRICS)[number];

const num = (m: StageLike["metrics"], key: string): number | null => {
  const v = (m as Record<string, unknown>)[key];
  return typeof v === "number" ? v : null;
};

/** The run's training stage kind (null: none, e.g. a run of evaluations only). */
export function trainingKindOf(records: readonly StageLike[]): string | null {
  for (const k of TRAINING_KINDS) if (records.some((r) => r.kind === k)) return k;
  return null;
}

/** The metric a kind's curve shows by default: the on-policy samples' mean cost where there are samples, else the cost. */
export function defaultMetric(kind: string): CurveMetric {
  return POLICY_SEARCH_ITERATIONS.includes(kind) ? "sampleCost" : "cost";
}

/** A horizontal reference: a value (a dashed line) or a band (two dotted lines). */
export type Reference = { readonly label: string; readonly value: number } | { readonly label: string; readonly low: number; readonly high: number };

export interface Evaluation {
  /** Training iterations done before the evaluation (0: before the first). */
  readonly iteration: number;
  readonly index: number;
  readonly label: string;
  readonly cost: number;
}

export interface RunCurve {
  readonly kind: string;
  readonly metric: CurveMetric;
  /** [iteration (1-based), value]; a non-finite value is kept (it breaks the line). */
  readonly points: readonly (readonly [number, number])[];
  /** Evaluate stages at the training horizon (a longer-horizon test is on another scale and left out). */
  readonly evaluations: readonly Evaluation[];
  readonly references: readonly Reference[];
}

/** The cost of the last stage of `kinds` with a cost before `before` (the initial trajectory). */
function lastCostBefore(records: readonly StageLike[], before: number, kinds: readonly string[]): number | null {
  const c = records.filter((r) => r.index < before && kinds.includes(r.kind) && num(r.metrics, "cost") !== null);
  return c.length ? (num(c[c.length - 1].metrics, "cost") as number) : null;
}

function referencesOf(records: readonly StageLike[], kind: string): Reference[] {
  if (POLICY_SEARCH_ITERATIONS.includes(kind)) {
    const d = learningCurveData(records as StageRecord[]);
    const out: Reference[] = [];
    if (d.example !== null) out.push({ label: "initial example (noise-free)", value: d.example });
    if (d.band) out.push({ label: "guiding samples: mean ± 2 std", ...d.band });
    return out;
  }
  // A fitTheta loop starts at its first trajectory step: constrained GPS's optimizeQ or variational GPS's E-step.
  const first = records.find((r) => (kind === "fitTheta" ? TRAJECTORY_STEPS.includes(r.kind) : r.kind === kind));
  if (!first) return [];
  const v = lastCostBefore(records, first.index, ["initializeTrajectories", "ilqgIteration"]);
  return v === null ? [] : [{ label: "initial trajectory", value: v }];
}

/**
 * A run's learning curve: `metric` (default: the kind's) after each training
 * iteration. Null when the run has no training stages; throws when its
 * training stages lack the metric.
 */
export function runCurve(records: readonly StageLike[], metric?: CurveMetric, name = "run"): RunCurve | null {
  const kind = trainingKindOf(records);
  if (kind === null) return null;
  const m = metric ?? defaultMetric(kind);
  const training = records.filter((r) => r.kind === kind);
  if (!training.some((r) => num(r.metrics, m) !== null)) throw new Error(`${name}: its training stages (${kind}) have no metric ${m}${m === "sampleCost" ? " (use --metric cost)" : ""}`);
  const points = training.map((r, i) => [i + 1, num(r.metrics, m) ?? NaN] as const);
  const evaluations: Evaluation[] = [];
  for (const r of records) {
    const cost = num(r.metrics, "cost");
    if (r.kind !== "evaluate" || cost === null || num(r.metrics, "horizon") !== null) continue;
    evaluations.push({ iteration: training.filter((t) => t.index < r.index).length, index: r.index, label: r.label, cost });
  }
  return { kind, metric: m, points, evaluations, references: referencesOf(records, kind) };
}

/**
 * The mean of `values` and its percentile-bootstrap confidence interval
 * (`resamples` resamples with replacement, drawn from a generator seeded with
 * `seed`). One value: the interval is the value.
 */
export function bootstrapMeanCI(values: readonly number[], o: { resamples?: number; level?: number; seed?: number } = {}): { mean: number; low: number; high: number } {
  const n = values.length;
  if (n === 0) throw new Error("bootstrapMeanCI: no values");
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, low: mean, high: mean };
  const B = o.resamples ?? 1000;
  const level = o.level ?? 0.95;
  const s = new Sampler(seedGenerator(o.seed ?? 1));
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(s.uniform() * n)];
    means[b] = sum / n;
  }
  means.sort();
  const q = (p: number) => means[Math.min(B - 1, Math.max(0, Math.floor(p * B)))];
  return { mean, low: q((1 - level) / 2), high: q(1 - (1 - level) / 2) };
}

/** A run as grouping sees it. `overrides`: path → value as text (seed excluded by the grouping). */
export interface RunInfo {
  readonly id: string;
  readonly experimentName: string;
  readonly seed: number | null;
  readonly sweep: string | null;
  readonly overrides: Readonly<Record<string, string>>;
}

export interface Group<R extends RunInfo = RunInfo> {
  readonly key: string;
  /** Experiment name plus the differing overrides: `walker-isgps (samples=20)`. */
  readonly label: string;
  readonly runs: readonly R[];
}

const SEED_KEYS = new Set(["seed", "seedOverride"]);

/**
 * Group runs by experiment name and the overrides whose values differ between
 * runs of that name (seed excluded), in order of first appearance.
 */
export function groupRuns<R extends RunInfo>(runs: readonly R[]): Group<R>[] {
  const byName = new Map<string, R[]>();
  for (const r of runs) byName.set(r.experimentName, [...(byName.get(r.experimentName) ?? []), r]);
  const groups = new Map<string, { label: string; runs: R[] }>();
  for (const r of runs) {
    const same = byName.get(r.experimentName) as R[];
    const keys = [...new Set(same.flatMap((x) => Object.keys(x.overrides)))].filter((k) => !SEED_KEYS.has(k)).sort();
    const differing = keys.filter((k) => new Set(same.map((x) => x.overrides[k] ?? "")).size > 1);
    const parts = differing.filter((k) => r.overrides[k] !== undefined).map((k) => `${k}=${r.overrides[k]}`);
    const key = JSON.stringify([r.experimentName, parts]);
    const label = parts.length ? `${r.experimentName} (${parts.join(", ")})` : r.experimentName;
    const g = groups.get(key) ?? { label, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }
  return [...groups.entries()].map(([key, g]) => ({ key, label: g.label, runs: g.runs }));
}

export interface AggregatePoint {
  readonly iteration: number;
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  /** Runs with a finite value at this iteration. */
  readonly n: number;
}

export interface GroupCurve {
  readonly label: string;
  readonly kind: string;
  readonly metric: CurveMetric;
  readonly runs: readonly { readonly id: string; readonly seed: number | null; readonly curve: RunCurve }[];
  readonly mean: readonly AggregatePoint[];
  /** The runs' references, averaged (by label). */
  readonly references: readonly Reference[];
}

function averageReferences(curves: readonly RunCurve[]): Reference[] {
  const byLabel = new Map<string, Reference[]>();
  for (const c of curves) for (const r of c.references) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), r]);
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [...byLabel.entries()].map(([label, rs]) =>
    "value" in rs[0] ? { label, value: avg(rs.map((r) => (r as { value: number }).value)) } : { label, low: avg(rs.map((r) => (r as { low: number }).low)), high: avg(rs.map((r) => (r as { high: number }).high)) },
  );
}

/**
 * A group's curve: at each iteration, the mean over its runs with a value
 * there and a 95% bootstrap interval (seeded per iteration). Throws when the
 * group's runs train with different stage kinds or a run has no training stage.
 */
export function aggregateGroup(
  label: string,
  runs: readonly { id: string; seed: number | null; records: readonly StageLike[] }[],
  metric?: CurveMetric,
  o: { resamples?: number; seed?: number } = {},
): GroupCurve {
  const curves = runs.map((r) => {
    const c = runCurve(r.records, metric, r.id);
    if (c === null) throw new Error(`${r.id} has no training stages (${TRAINING_KINDS.join(", ")})`);
    return { id: r.id, seed: r.seed, curve: c };
  });
  const kinds = [...new Set(curves.map((c) => c.curve.kind))];
  if (kinds.length > 1) throw new Error(`${label}: its runs train with different stage kinds (${kinds.join(", ")})`);
  const m = curves[0].curve.metric;
  const n = Math.max(...curves.map((c) => c.curve.points.length));
  const mean: AggregatePoint[] = [];
  for (let i = 0; i < n; i++) {
    const vs = curves.flatMap((c) => (i < c.curve.points.length && Number.isFinite(c.curve.points[i][1]) ? [c.curve.points[i][1]] : []));
    if (vs.length === 0) continue;
    const ci = bootstrapMeanCI(vs, { resamples: o.resamples, seed: (o.seed ?? 1) + i });
    mean.push({ iteration: i + 1, ...ci, n: vs.length });
  }
  return { label, kind: kinds[0], metric: m, runs: curves, mean, references: averageReferences(curves.map((c) => c.curve)) };
}

const KIND_TEXT: Record<string, string> = {
  isgpsIteration: "importance-sampled GPS iterations",
  policyGradientIteration: "policy-gradient iterations",
  daggerIteration: "DAgger iterations",
  costWeightedRegression: "cost-weighted regression iterations",
  fitTheta: "constrained or variational GPS iterations",
  ilqgIteration: "iLQG iterations",
};

/** Shaded confidence bands (one polygon per band, low to high along the iterations), drawn under a plot's lines. */
export function ciBandsUnderlay(bands: readonly { color: string; pts: readonly Pick<AggregatePoint, "iteration" | "low" | "high">[] }[], opacity: number): (f: PlotFrame) => string {
  return (f) =>
    bands
      .filter((b) => b.pts.length > 0)
      .map((b) => {
        const upper = b.pts.map((p) => [f.x(p.iteration), f.y(p.high)] as const);
        const lower = [...b.pts].reverse().map((p) => [f.x(p.iteration), f.y(p.low)] as const);
        return el("polygon", { class: "ci-band", points: pointsAttr([...upper, ...lower]), fill: b.color, "fill-opacity": opacity, stroke: "none" });
      })
      .join("");
}

/** A statistic as the tables print it: one decimal, exponent notation from 1000 on. */
export const formatStat = (x: number): string => (Math.abs(x) >= 1000 ? x.toExponential(3) : x.toFixed(1));

/** Rows under a header, columns padded to their widest cell, two spaces apart. */
export function textTable(head: readonly string[], rows: readonly string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), ...rows.map(line)].join("\n") + "\n";
}

/**
 * The groups' curves in one SVG: per group its mean (bold), a 95% bootstrap
 * band when it has several runs, each run thin and labelled by its seed,
 * its references flat and dashed, and its evaluations as rings at the
 * iteration they follow. Values above 3× the references' scale are drawn at
 * that cap (the caption says how many).
 */
export function aggregatePlot(groups: readonly GroupCurve[], o: { title?: string } = {}): string {
  if (groups.length === 0) throw new Error("no runs to plot");
  const refScale = Math.max(0, ...groups.flatMap((g) => g.references.map((r) => ("value" in r ? r.value : r.high))));
  const cap = refScale > 0 ? 3 * refScale : Infinity;
  let clipped = 0;
  const c = (v: number) => {
    if (v > cap) clipped++;
    return Math.min(cap, v);
  };
  const n = Math.max(1, ...groups.map((g) => Math.max(0, ...g.runs.map((r) => r.curve.points.length))));
  const series: LineSeries[] = [];
  const bands: { color: string; pts: AggregatePoint[] }[] = [];
  const rings: { color: string; x: number; y: number }[] = [];
  const include: (readonly [number, number])[] = [];
  groups.forEach((g, gi) => {
    const color = paletteColor(gi);
    const several = g.runs.length > 1;
    series.push({ label: several ? `${g.label}: mean of ${g.runs.length} seeds, 95% CI` : g.label, color, width: 2.6, points: g.mean.map((p) => [p.iteration, c(p.mean)] as const) });
    if (several) {
      bands.push({ color, pts: g.mean.filter((p) => p.n > 1).map((p) => ({ ...p, low: Math.min(cap, p.low), high: Math.min(cap, p.high) })) });
      for (const p of g.mean) include.push([p.iteration, Math.min(cap, p.low)], [p.iteration, Math.min(cap, p.high)]);
      for (const r of g.runs) series.push({ label: `seed ${r.seed ?? "?"}`, color, width: 0.8, dash: "1 2", points: r.curve.points.map(([x, y]) => [x, c(y)] as const) });
    }
    for (const r of g.runs) for (const e of r.curve.evaluations) rings.push({ color, x: e.iteration, y: c(e.cost) });
    for (const ref of g.references) {
      if ("value" in ref) series.push({ label: `${g.label}: ${ref.label}`, color, width: 1.2, dash: "8 4", points: [[1, ref.value], [n, ref.value]] });
      else {
        series.push({ label: `${g.label}: ${ref.label}`, color, width: 1, dash: "2 3", points: [[1, ref.high], [n, ref.high]] });
        series.push({ label: "", color, width: 1, dash: "2 3", points: [[1, ref.low], [n, ref.low]], hideInLegend: true });
      }
    }
  });
  for (const r of rings) include.push([r.x, r.y]);
  const underlay = ciBandsUnderlay(bands, 0.18);
  const overlay = (f: PlotFrame) => rings.map((r) => marker("ring", f.x(r.x), f.y(r.y), r.color, 4)).join("");
  const extraLegend: LegendItem[] = rings.length ? [{ label: "evaluation stage (after that many iterations)", color: "#555", marker: "ring" }] : [];
  const kinds = [...new Set(groups.map((g) => KIND_TEXT[g.kind] ?? g.kind))].join(" / ");
  const metrics = [...new Set(groups.map((g) => (g.metric === "sampleCost" ? "mean cost of the iteration's on-policy samples" : "the policy's (iLQG: the trajectory's) noise-free cost")))].join("; ");
  const caption = `${metrics}.${clipped > 0 ? ` ${clipped} point(s) above ${cap.toFixed(0)} are drawn at ${cap.toFixed(0)}.` : ""}`;
  return linePlot(series, { title: o.title ?? "learning curves", xLabel: `iteration (${kinds})`, yLabel: "cost (Σ over the horizon)", caption, underlay, overlay, extraLegend, include });
}

/**
 * The groups as a text table: per group its training kind, runs, iterations, and
 * the metric's mean with its 95% bootstrap interval at the first and the last
 * iteration (the numbers the figure draws, for notes and docs).
 */
export function compareTable(groups: readonly GroupCurve[]): string {
  const f = formatStat;
  // A run cut short has no value at the last iterations: n says how many runs a cell averages.
  const cell = (p: AggregatePoint | undefined, runs: number) => (p ? `${f(p.mean)} [${f(p.low)}, ${f(p.high)}]${p.n < runs ? ` (${p.n} of ${runs} runs)` : ""}` : "—");
  const rows = groups.map((g) => [g.label, g.kind, String(g.runs.length), String(g.mean[g.mean.length - 1]?.iteration ?? 0), cell(g.mean[0], g.runs.length), cell(g.mean[g.mean.length - 1], g.runs.length)]);
  const head = ["group", "trains with", "runs", "iterations", `first ${groups[0]?.metric ?? ""} (mean [95% CI])`, `last ${groups[0]?.metric ?? ""} (mean [95% CI])`];
  return textTable(head, rows);
}
