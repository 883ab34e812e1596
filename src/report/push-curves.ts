/**
 * Push-recovery curves across runs, the 2014 paper's Figure 4: after every
 * guided-policy-search iteration, the policy's push tests split into
 *
 *  - training pushes: push tests whose every start is a condition that carries
 *    pushes (each training push tested from its own start), and
 *  - test pushes: the policy's other push tests (pushes it never trained on),
 *
 * per run the mean cost of the responses or the percentage recovered (no fall
 * within RECOVERY_SECONDS after the push), runs grouped as `gps compare` groups
 * them (aggregate.ts groupRuns) and seeds aggregated with a 95% bootstrap band.
 * Solid: training pushes; dashed: test pushes (the paper's dotted lines).
 * Which stage is which comes from the run's own resolved pipeline, so the
 * demonstration's push test at the end of a run is never drawn as the policy's.
 * Pure data shaping: no files, no clocks.
 */
import { unrollPipeline, type PipelineItem, type StageSpec } from "../dsl/experiment.js";
import { bootstrapMeanCI, ciBandsUnderlay, formatStat, groupRuns, textTable, type AggregatePoint, type RunInfo, type StageLike } from "./aggregate.js";
import { evaluationsByIteration } from "./learning-curves.js";
import { linePlot, paletteColor, type LineSeries } from "./svg.js";

export const PUSH_METRICS = ["pushCost", "pushesRecovered"] as const;
export type PushMetric = (typeof PUSH_METRICS)[number];
export const isPushMetric = (m: string | undefined): m is PushMetric => (PUSH_METRICS as readonly string[]).includes(m ?? "");

export type PushPart = "training" | "test";

/** What the curves read of an experiment: its conditions' pushes and its (resolved) pipeline. */
export interface PushExperiment {
  readonly conditions: readonly { readonly pushes?: readonly unknown[] }[];
  readonly pipeline: readonly PipelineItem[];
}

/** [iteration, value] per part; iteration 0 is a test before the first trajectory step. */
export type RunPushCurves = Readonly<Record<PushPart, readonly (readonly [number, number])[]>>;

/**
 * One run's curves. A push test is an evaluate stage of the policy with
 * `pushes`; it is a training-push test when it names its starts and every one
 * carries pushes. Tests after the same iteration are pooled (mean cost over
 * every response; recovered over every push).
 */
export function runPushCurves(records: readonly StageLike[], experiment: PushExperiment, metric: PushMetric): RunPushCurves {
  const specs = unrollPipeline(experiment.pipeline).map((u) => u.spec as StageSpec);
  const pushed = (c: number) => (experiment.conditions[c]?.pushes?.length ?? 0) > 0;
  const pooled = { training: new Map<number, { cost: number; recovered: number; n: number }>(), test: new Map<number, { cost: number; recovered: number; n: number }>() };
  for (const { iteration, index, m } of evaluationsByIteration(records)) {
    const spec = specs[index];
    if (!spec || spec.kind !== "evaluate" || spec.controller !== "policy" || !spec.pushes?.length) continue;
    if (!Array.isArray(m.recovered) || !Array.isArray(m.costs)) continue;
    const part: PushPart = spec.conditions !== undefined && spec.conditions.length > 0 && spec.conditions.every(pushed) ? "training" : "test";
    const costs = m.costs as number[];
    const recovered = m.recovered as number[];
    const p = pooled[part].get(iteration) ?? { cost: 0, recovered: 0, n: 0 };
    pooled[part].set(iteration, { cost: p.cost + costs.reduce((a, b) => a + b, 0), recovered: p.recovered + recovered.reduce((a, b) => a + b, 0), n: p.n + costs.length });
  }
  const curve = (m: Map<number, { cost: number; recovered: number; n: number }>) =>
    [...m.entries()].sort((a, b) => a[0] - b[0]).map(([it, p]) => [it, metric === "pushCost" ? p.cost / p.n : (100 * p.recovered) / p.n] as const);
  return { training: curve(pooled.training), test: curve(pooled.test) };
}

/** A part's mean over the group's runs at one iteration, with its 95% bootstrap interval and n runs. */
export type PushPoint = AggregatePoint;

export interface PushGroupCurve {
  readonly label: string;
  readonly part: PushPart;
  /** Palette index: a group's training and test curves share a colour. */
  readonly colorIndex: number;
  readonly runs: readonly { readonly id: string; readonly seed: number | null; readonly points: readonly (readonly [number, number])[] }[];
  readonly mean: readonly PushPoint[];
}

/**
 * Group the runs (experiment name plus differing overrides) and aggregate each
 * part over the group's seeds. Throws when no run has a push test of the policy.
 */
export function aggregatePushCurves(
  runs: readonly (RunInfo & { records: readonly StageLike[]; experiment: PushExperiment })[],
  metric: PushMetric,
  o: { resamples?: number; seed?: number } = {},
): PushGroupCurve[] {
  const out: PushGroupCurve[] = [];
  groupRuns(runs).forEach((g, gi) => {
    const curves = g.runs.map((r) => ({ id: r.id, seed: r.seed, curves: runPushCurves(r.records, r.experiment, metric) }));
    for (const part of ["training", "test"] as const) {
      const withPart = curves.filter((c) => c.curves[part].length > 0);
      if (withPart.length === 0) continue;
      const iterations = [...new Set(withPart.flatMap((c) => c.curves[part].map(([it]) => it)))].sort((a, b) => a - b);
      const mean = iterations.map((it) => {
        const vs = withPart.flatMap((c) => c.curves[part].filter(([i, v]) => i === it && Number.isFinite(v)).map(([, v]) => v));
        return { iteration: it, ...bootstrapMeanCI(vs, { resamples: o.resamples, seed: (o.seed ?? 1) + it }), n: vs.length };
      });
      out.push({ label: g.label, part, colorIndex: gi, runs: withPart.map((c) => ({ id: c.id, seed: c.seed, points: c.curves[part] })), mean });
    }
  });
  if (out.length === 0) throw new Error("no run has a push test of the policy (an evaluate stage with controller \"policy\" and pushes)");
  return out;
}

const PART_TEXT: Record<PushPart, string> = { training: "training pushes", test: "test pushes" };

/** The groups' curves in one SVG: training pushes solid, test pushes dashed, one colour per group, 95% bands over seeds. */
export function pushComparePlot(groups: readonly PushGroupCurve[], metric: PushMetric, o: { title?: string } = {}): string {
  const series: LineSeries[] = [];
  const bands: { color: string; pts: PushPoint[] }[] = [];
  const include: (readonly [number, number])[] = [];
  for (const g of groups) {
    const color = paletteColor(g.colorIndex);
    const dash = g.part === "test" ? { dash: "6 4" } : {};
    const several = g.runs.length > 1;
    series.push({ label: `${g.label}: ${PART_TEXT[g.part]}${several ? ` (mean of ${g.runs.length} seeds, 95% CI)` : ""}`, color, width: 2.4, ...dash, points: g.mean.map((p) => [p.iteration, p.mean] as const) });
    if (several) {
      bands.push({ color, pts: g.mean.filter((p) => p.n > 1) });
      for (const p of g.mean) include.push([p.iteration, p.low], [p.iteration, p.high]);
    }
  }
  if (metric === "pushesRecovered") include.push([0, 0], [0, 100]);
  const underlay = ciBandsUnderlay(bands, 0.15);
  return linePlot(series, {
    title: o.title ?? (metric === "pushCost" ? "push responses: mean cost" : "pushes recovered from"),
    xLabel: "iteration (0: before the first trajectory step)",
    yLabel: metric === "pushCost" ? "mean cost of a push response" : "pushes recovered (%)",
    caption: "The policy alone, noise-free, after each iteration. Solid: its training pushes, each from its own start; dashed: pushes it never trained on.",
    underlay,
    include,
  });
}

/** The curves as a text table: per group and part, runs, and the mean [95% CI] at the first and last iteration and at the best. */
export function pushCompareTable(groups: readonly PushGroupCurve[], metric: PushMetric): string {
  const f = formatStat;
  const cell = (p: PushPoint | undefined, runs: number) => (p ? `${f(p.mean)} [${f(p.low)}, ${f(p.high)}] @${p.iteration}${p.n < runs ? ` (${p.n} of ${runs} runs)` : ""}` : "—");
  const better = (a: PushPoint, b: PushPoint) => (metric === "pushCost" ? a.mean < b.mean : a.mean > b.mean);
  const rows = groups.map((g) => {
    const best = g.mean.reduce((b, p) => (better(p, b) ? p : b), g.mean[0]);
    return [g.label, PART_TEXT[g.part], String(g.runs.length), cell(g.mean[0], g.runs.length), cell(g.mean[g.mean.length - 1], g.runs.length), cell(best, g.runs.length)];
  });
  const what = metric === "pushCost" ? "mean cost" : "% recovered";
  const head = ["group", "pushes", "runs", `first ${what} (mean [95% CI] @iteration)`, `last ${what}`, `best ${what}`];
  return textTable(head, rows);
}
