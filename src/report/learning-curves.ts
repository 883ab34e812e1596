/**
 * Learning curves of importance-sampled GPS and the prior methods, as the 2013
 * paper's Figure 2: the mean cost of each iteration's on-policy samples, the
 * initial example's noise-free cost and the guiding samples' mean ± 2 std band
 * (costs: lower is better; the paper plots rewards, their negatives). One run
 * (its report page) or several runs in one plot (`gps compare`).
 */
import type { StageRecord } from "../runtime/store.js";
import { linePlot, type LineSeries } from "./svg.js";

/** Stage kinds that draw on-policy samples once an iteration: GPS's and the prior methods'. */
export const POLICY_SEARCH_ITERATIONS: readonly string[] = ["isgpsIteration", "policyGradientIteration", "daggerIteration", "costWeightedRegression"];

/** The trajectory steps that alternate with fitTheta: constrained GPS's, and variational GPS's E-step. */
export const TRAJECTORY_STEPS: readonly string[] = ["optimizeQ", "variationalEStep"];

type Numbers = Record<string, number>;
const metricsOf = (r: StageRecord) => r.metrics as Numbers;

/** A run's policy-search iterations, and the references its first guidingSamples stage gives. */
export interface LearningCurveData {
  readonly iterations: readonly StageRecord[];
  /** The noise-free cost of the last stage before the guiding samples that had one: the initial example. */
  readonly example: number | null;
  /** The guiding samples' mean ± 2 std. */
  readonly band: { readonly low: number; readonly high: number } | null;
}

export function learningCurveData(records: readonly StageRecord[]): LearningCurveData {
  const iterations = records.filter((r) => POLICY_SEARCH_ITERATIONS.includes(r.kind));
  const guiding = records.find((r) => r.kind === "guidingSamples");
  const before = records.filter((r) => guiding && r.index < guiding.index && typeof metricsOf(r).cost === "number");
  const example = before.length ? metricsOf(before[before.length - 1]).cost : null;
  const g = guiding ? metricsOf(guiding) : null;
  const band = g ? { low: g.guidingCost - 2 * g.guidingCostStd, high: g.guidingCost + 2 * g.guidingCostStd } : null;
  return { iterations, example, band };
}

/** The example and the band as flat reference lines over iterations 1…n. */
function references(d: LearningCurveData, n: number, exampleLabel = "initial example (noise-free)"): LineSeries[] {
  const out: LineSeries[] = [];
  if (d.example !== null) out.push({ label: exampleLabel, points: [[1, d.example], [n, d.example]], width: 1.5, dash: "8 4", color: "#2a9d8f" });
  if (d.band) {
    const color = "#999999";
    out.push({ label: "guiding samples: mean ± 2 std", points: [[1, d.band.high], [n, d.band.high]], width: 1, dash: "2 3", color });
    out.push({ label: "", points: [[1, d.band.low], [n, d.band.low]], width: 1, dash: "2 3", color, hideInLegend: true });
  }
  return out;
}

/** Samples that fell can cost 10× the rest: values above 3× the references' scale are drawn at that cap. */
function capFor(d: LearningCurveData, more: readonly number[]): number {
  const scale = Math.max(d.example ?? 0, d.band?.high ?? 0, ...more);
  return scale > 0 ? 3 * scale : Infinity;
}

/** One run's learning curve (its report page): on-policy samples and the policy alone, noise-free. */
export function learningCurvePlot(records: readonly StageRecord[], name: string): string | null {
  const d = learningCurveData(records);
  const iters = d.iterations;
  if (iters.length === 0) return null;
  const gps = iters[0].kind === "isgpsIteration";
  const cap = capFor(d, iters.map((r) => metricsOf(r).cost));
  const clipped = iters.filter((r) => metricsOf(r).sampleCost > cap).length;
  const series: LineSeries[] = [
    {
      label: gps ? "samples of π_θk (mean cost of the iteration's on-policy samples)" : "the iteration's on-policy samples (mean cost)",
      points: iters.map((r, i) => [i + 1, Math.min(cap, metricsOf(r).sampleCost)] as const),
      width: 2.5,
    },
    { label: gps ? "best policy π_θ* (noise-free)" : "policy after the iteration (noise-free)", points: iters.map((r, i) => [i + 1, metricsOf(r).cost] as const), width: 1.5 },
    ...references(d, iters.length),
  ];
  const caption = clipped > 0 ? `${clipped} iteration(s) whose samples cost more than ${cap.toFixed(0)} are drawn at ${cap.toFixed(0)}.` : undefined;
  return linePlot(series, { title: `${name}: learning curve`, xLabel: "iteration", yLabel: "cost (Σ over the horizon)", caption });
}

/** What `gps compare` plots per iteration: the on-policy samples' mean cost, or the policy alone, noise-free. */
export type CompareMetric = "sampleCost" | "cost";

/**
 * Several runs' learning curves in one plot (Figure 2's panels): one line per
 * run, with the first run's example and guiding band as references. Throws,
 * naming the run, if a run has no policy-search iterations.
 */
export function compareLearningCurves(runs: readonly { name: string; records: readonly StageRecord[] }[], metric: CompareMetric, title?: string): string {
  if (runs.length === 0) throw new Error("compare: no runs");
  const data = runs.map((r) => {
    const d = learningCurveData(r.records);
    if (d.iterations.length === 0) throw new Error(`compare: ${r.name} has no policy-search iterations (${POLICY_SEARCH_ITERATIONS.join(", ")})`);
    return d;
  });
  const n = Math.max(...data.map((d) => d.iterations.length));
  const cap = capFor(data[0], []);
  let clipped = 0;
  const series: LineSeries[] = runs.map((r, k) => ({
    label: r.name,
    width: k === 0 ? 2.5 : 1.8,
    points: data[k].iterations.map((rec, i) => {
      const v = metricsOf(rec)[metric];
      if (v > cap) clipped++;
      return [i + 1, Math.min(cap, v)] as const;
    }),
  }));
  series.push(...references(data[0], n, `initial example (noise-free, ${runs[0].name})`));
  const what = metric === "sampleCost" ? "mean cost of each iteration's on-policy samples" : "the policy alone, noise-free, after each iteration";
  const caption = `${what}.${clipped > 0 ? ` ${clipped} point(s) above ${cap.toFixed(0)} are drawn at ${cap.toFixed(0)}.` : ""}`;
  return linePlot(series, { title: title ?? "learning curves", xLabel: "iteration", yLabel: "cost (Σ over the horizon)", caption });
}

/**
 * The evaluate stages with the guided-policy-search iteration each follows: the
 * fitTheta stages after the first trajectory step (optimizeQ or
 * variationalEStep) done before it; 0 for a test before that step.
 */
export function evaluationsByIteration(records: readonly Pick<StageRecord, "index" | "kind" | "metrics">[]): { iteration: number; index: number; m: Record<string, unknown> }[] {
  const out: { iteration: number; index: number; m: Record<string, unknown> }[] = [];
  let fits = 0;
  let sawQ = false;
  for (const r of records) {
    if (TRAJECTORY_STEPS.includes(r.kind)) sawQ = true;
    if (r.kind === "fitTheta" && sawQ) fits++;
    if (r.kind === "evaluate") out.push({ iteration: fits, index: r.index, m: r.metrics as Record<string, unknown> });
  }
  return out;
}
