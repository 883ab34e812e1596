/**
 * `gps report`: pictures and a page for a run, written into `<run>/report/`.
 *
 *   index.html                      the page: stage table, cost curve, gaits
 *   cost.svg                        cost (and distance) after every stage
 *   condition-<i>-root.svg          root path: demonstration, trajectory (Figure 1 of the 2013 paper)
 *   condition-<i>-<what>-strip.svg  chronophotograph of the planar links
 *   condition-<i>-<what>-panels.svg small multiples of the same frames
 *   condition-<i>-<what>.anim.svg   animation that plays in a browser
 *   condition-<i>-push-<k>-strip.svg the response to test push k (evaluate with pushes)
 *
 * The gaits are the last good checkpoint's: each condition's recorded
 * demonstration and its trajectory distribution's nominal (noise-free) path.
 * Body positions come from MuJoCo (the condition's own world: terrain too).
 */
import { decodeConditionStates } from "../algorithms/run-state.js";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { conditionTaskSpec, unrollPipeline, type Experiment } from "../dsl/experiment.js";
import { resolveExperiment } from "../dsl/resolve.js";
import { decodeExperiment } from "../dsl/validate.js";
import type { PushTestRecord, RunState } from "../algorithms/state.js";
import { firstFall, RECOVERY_SECONDS } from "../algorithms/evaluate.js";
import { preload, Simulator } from "../sim/mujoco.js";
import { taskFor } from "../tasks/index.js";
import type { Task } from "../tasks/types.js";
import { decodeValue } from "../runtime/canonical.js";
import { CorruptCheckpointError, listCheckpointIndices, readCheckpointPart, readExperiment, stageRecords, writeFileAtomic, type CheckpointRecord, type RunHandle } from "../runtime/store.js";
import { bodyTrajectory, rootTrajectoryPlot, stickFigureAnimation, stickFigurePanels, stickFigureStrip, gaitTaskOf, type GroundPoint, type RootSeries } from "./gait.js";
import { trajectoryDiagnosticsPlot } from "./trajectory-diagnostics.js";
import { esc, linePlot, type LineSeries } from "./svg.js";
import { evaluationsByIteration, learningCurvePlot, POLICY_SEARCH_ITERATIONS, TRAJECTORY_STEPS } from "./learning-curves.js";
import { aggregateGroup, aggregatePlot, runCurve } from "./aggregate.js";

export interface ReportResult {
  readonly dir: string;
  readonly files: readonly string[];
}

interface Gait {
  readonly what: "demonstration" | "trajectory";
  readonly label: string;
  readonly xs: Float64Array;
  readonly T: number;
}

/** The last evaluation's root path, as a plot series (x and height / y are columns 0 and 1). */
function evaluationSeries(state: Pick<RunState, "conditions">, i: number, dt: number) {
  const e = state.conditions[i].evaluation;
  if (!e) return [];
  const T = e.root.length / 2 - 1;
  return [{ label: `evaluation: ${e.controller}${e.noise ? ", noisy sample" : ", noise-free"}`, xs: e.root, nx: 2, T, dt, fellAt: e.fallStep >= 0 ? e.fallStep : null, dash: "6 4" }];
}

function gaitsOf(state: Pick<RunState, "conditions">, i: number, nu: number): Gait[] {
  const c = state.conditions[i];
  const out: Gait[] = [];
  if (c.demonstration) out.push({ what: "demonstration", label: `demonstration (${c.demonstration.source === "controller" ? c.demonstration.controller : "given in the experiment"})`, xs: c.demonstration.xs, T: c.demonstration.us.length / nu });
  if (c.trajectory) out.push({ what: "trajectory", label: "trajectory distribution q (nominal)", xs: c.trajectory.xbar, T: c.trajectory.T });
  return out;
}

/** The ground under the gaits (1 m either side of where they go), so the plot frames the motion, not 30 m of terrain. */
function groundPoints(task: Task, gaits: readonly Gait[]): GroundPoint[] | undefined {
  if (!task.ground) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (const g of gaits) {
    for (let t = 0; t <= g.T; t++) {
      const x = g.xs[t * task.nx];
      if (Number.isFinite(x)) {
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
    }
  }
  lo -= 1;
  hi += 1;
  const pts = task.ground.points.filter((p) => p.x >= lo && p.x <= hi).map((p) => ({ x: p.x, z: p.z }));
  const at = (x: number) => ({ x, z: task.groundHeight ? task.groundHeight(x) : 0 });
  return [at(lo), ...pts, at(hi)];
}

/** Write the report for the run's last good checkpoint; returns the files written. */
export async function writeRunReport(run: RunHandle, outDir = join(run.dir, "report")): Promise<ReportResult> {
  await preload(); // a declared model's task is built from its MJCF with MuJoCo
  const experiment: Experiment = decodeExperiment(decodeValue(readExperiment(run)));
  // The newest checkpoint whose conditions read back (the pictures need nothing else).
  const latest = newestConditions(run);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    writeFileAtomic(join(outDir, name), content);
    files.push(name);
  };
  const records = stageRecords(run).filter((r) => r.status === "ok");
  write("cost.svg", costCurve(records, experiment.name));
  const learning = learningCurve(records, experiment.name) ?? learningCurvePlot(records, experiment.name);
  if (learning) write("learning-curve.svg", learning);
  const longRun = longHorizonCurve(records, experiment.name);
  if (longRun) write("long-horizon.svg", longRun);
  const pushCurves = pushRecoveryCurves(records, experiment);
  if (pushCurves) {
    write("push-recovery.svg", pushCurves.recovered);
    write("push-cost.svg", pushCurves.cost);
  }
  const wr = regularizerCurve(records, experiment.name);
  if (wr) write("wr.svg", wr);
  const diagnosis = [...records].reverse().find((r) => r.kind === "diagnoseTrajectories");
  const diagnostics = diagnosis ? trajectoryDiagnosticsPlot(diagnosis.metrics as Record<string, unknown>, `${experiment.name}: q's gains and the dynamics' Jacobian jumps (stage ${diagnosis.index})`) : null;
  if (diagnostics) write("trajectory-diagnostics.svg", diagnostics);

  const sections: string[] = [];
  if (latest.record !== null) {
    const stored = latest.record.state;
    const conditions = typeof stored === "object" && stored !== null && !Array.isArray(stored) ? stored.conditions : undefined;
    const state: Pick<RunState, "conditions"> = { conditions: decodeConditionStates(conditions ?? null) };
    const sims = new Map<Task, Simulator>();
    try {
      for (let i = 0; i < state.conditions.length; i++) {
        const task = taskFor(conditionTaskSpec(experiment, i));
        let sim = sims.get(task);
        if (!sim) {
          sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
          sims.set(task, sim);
        }
        sections.push(conditionPictures(i, task, sim, gaitsOf(state, i, task.nu), evaluationSeries(state, i, task.dt), write));
        const pushTests = state.conditions[i].pushTests;
        // One section per controller tested (the policy's responses, and the demonstration controller's).
        for (const controller of [...new Set((pushTests ?? []).map((r) => r.controller))]) {
          sections.push(pushPictures(i, task, sim, pushTests!.filter((r) => r.controller === controller), write));
        }
      }
    } finally {
      sims.forEach((s) => s.dispose());
    }
  }
  write("index.html", page(run, experiment, records, latest.index, sections, files));
  return { dir: outDir, files };
}

/**
 * The newest checkpoint whose file and conditions verify, read without the
 * rest of the state: an importance-sampled run's sample pool (hundreds of MB
 * of blobs) is neither read nor held while the pictures are drawn.
 */
function newestConditions(run: RunHandle): { index: number | null; record: CheckpointRecord | null } {
  const indices = listCheckpointIndices(run);
  for (let j = indices.length - 1; j >= 0; j--) {
    try {
      return { index: indices[j], record: readCheckpointPart(run, indices[j], ["conditions"]) };
    } catch (e) {
      if (!(e instanceof CorruptCheckpointError)) throw e;
    }
  }
  return { index: null, record: null };
}

function conditionPictures(
  i: number,
  task: Task,
  sim: Simulator,
  gaits: readonly Gait[],
  evaluations: readonly RootSeries[],
  write: (name: string, s: string) => void,
): string {
  if (gaits.length === 0) return `<h2>Condition ${i}</h2><p>No demonstration or trajectory yet.</p>`;
  const kind = gaitTaskOf(task.name);
  const ground = groundPoints(task, gaits);
  const root = rootTrajectoryPlot(
    [...gaits.map((g) => ({ label: g.label, xs: g.xs, nx: task.nx, T: g.T, dt: task.dt, fellAt: firstFall(task, g.xs, g.T) })), ...evaluations],
    { task: kind, title: `Condition ${i}: root path`, ground, idPrefix: `c${i}` },
  );
  write(`condition-${i}-root.svg`, root);
  let html = `<h2>Condition ${i}</h2>\n<figure><img src="condition-${i}-root.svg" alt="root path of condition ${i}"><figcaption>Root path${kind === "swimmer" ? " (top view)" : " (height against forward position)"}; dots every second, × where a fall begins.</figcaption></figure>\n`;
  for (const g of gaits) {
    const frames = bodyTrajectory(sim, g.xs, g.T);
    const every = Math.max(1, Math.round(0.1 / task.dt) * (kind === "swimmer" ? 5 : 2));
    const base = `condition-${i}-${g.what}`;
    write(`${base}-strip.svg`, stickFigureStrip(frames, { task: kind, every, ground, dt: task.dt, title: `Condition ${i}: ${g.label}` }));
    write(`${base}-panels.svg`, stickFigurePanels(frames, { task: kind, every: every * 2, ground, dt: task.dt, title: `Condition ${i}: ${g.label}` }));
    write(`${base}.anim.svg`, stickFigureAnimation(frames, { task: kind, dt: task.dt, ground }));
    html += `<h3>${esc(g.label)}</h3>\n<figure><img src="${base}-strip.svg" alt="${esc(g.label)}"></figure>\n<figure><img src="${base}-panels.svg" alt="${esc(g.label)} panels"></figure>\n<p><a href="${base}.anim.svg">animation</a> (opens in a browser)</p>\n`;
  }
  return html;
}

/** Seconds drawn before a push's onset and after it in a push strip. */
const PUSH_STRIP_BEFORE = 0.5;
const PUSH_STRIP_AFTER = 3;
const PUSH_STRIP_AFTER_FALL = 0.3;

/**
 * The last test pushes of condition i (evaluate with `pushes`; 2014 paper,
 * Figs. 4–5): a table (onset, force, direction, body, recovered, cost,
 * distance) and a strip per push of the response from 0.5 s before the onset
 * to 3 s after it (or 0.3 s after a fall), the push's steps in red, an arrow
 * at the pushed body along the push.
 */
function pushPictures(i: number, task: Task, sim: Simulator, tests: readonly PushTestRecord[], write: (name: string, s: string) => void): string {
  const kind = gaitTaskOf(task.name);
  const rows = tests
    .map((r, k) => {
      const fell = r.fallStep >= 0 ? `${(r.fallStep * task.dt).toFixed(2)} s` : "no";
      // A rollout shorter than onset + 5 s: recovered means no fall through its end.
      const short = r.recovered && r.recoveryWindowSteps < Math.round(RECOVERY_SECONDS / task.dt) ? ` (to the rollout's end, ${(r.recoveryWindowSteps * task.dt).toFixed(2)} s after the push)` : "";
      return `<tr><td>${k}</td><td>${r.push.onset} s</td><td>${r.push.force} N</td><td>${esc(r.push.direction)}</td><td>${esc(r.push.body ?? "torso")}</td><td>${Number(((r.push.duration ?? 0.1) * 1000).toFixed(3))} ms</td><td>${r.recovered ? "yes" : "no"}${short}</td><td>${fell}</td><td>${fmt(r.cost)}</td><td>${fmt(r.distance)}</td></tr>`;
    })
    .join("\n");
  let html = `<h3>Condition ${i}: test pushes (${esc(tests[0].controller)}${tests[0].noise ? ", noisy" : ", noise-free"})</h3>
<table><tr><th>push</th><th>onset</th><th>force</th><th>direction</th><th>body</th><th>duration</th><th>recovered</th><th>fell at</th><th>cost</th><th>distance (m)</th></tr>
${rows}
</table>
<p>Recovered: no fall from the push's onset until ${RECOVERY_SECONDS} s after it (fell at: the first fall, the task's fall criteria).</p>\n`;
  tests.forEach((r, k) => {
    const from = Math.max(0, r.fromStep - Math.round(PUSH_STRIP_BEFORE / task.dt));
    // To 3 s after the onset, or 0.3 s after a fall (a fallen walker's flailing hides the response).
    const to = Math.min(r.T, r.fromStep + Math.round(PUSH_STRIP_AFTER / task.dt), r.fallStep >= 0 ? r.fallStep + Math.round(PUSH_STRIP_AFTER_FALL / task.dt) : Infinity);
    const xs = r.xs.subarray(from * task.nx, (to + 1) * task.nx);
    const frames = bodyTrajectory(sim, xs, to - from);
    const every = Math.max(1, Math.round(0.1 / task.dt) * 2);
    const label = `${r.push.force} N ${r.push.direction} at ${r.push.onset} s`;
    const name = `condition-${i}-push-${k}${r.controller === "policy" ? "" : `-${r.controller}`}-strip.svg`;
    const title = `Condition ${i}: push ${k}, ${label} (${r.recovered ? "recovered" : "did not recover"}); t = ${(from * task.dt).toFixed(2)}–${(to * task.dt).toFixed(2)} s`;
    write(
      name,
      stickFigureStrip(frames, {
        task: kind,
        every,
        ground: groundPoints(task, [{ what: "trajectory", label, xs: r.xs, T: r.T }]),
        dt: task.dt,
        title,
        highlight: { from: r.fromStep - from, to: r.toStep - from, direction: r.push.direction === "forward" ? 1 : -1, body: r.push.body, label: "the push" },
      }),
    );
    html += `<figure><img src="${name}" alt="${esc(`push ${k}: ${label}`)}"><figcaption>Push ${k}: ${esc(label)} on the ${esc(r.push.body ?? "torso")}; frames during the push in red, the arrow its direction; frame numbers and times in the caption count from the strip's first frame.</figcaption></figure>\n`;
  });
  return html;
}

type Record_ = ReturnType<typeof stageRecords>[number];

/**
 * The cost against the run's training iterations (its training stage kind's
 * counter: iLQG, constrained GPS, importance-sampled GPS or a prior method),
 * with evaluation stages as markers at the iteration they follow (a noisy
 * evaluation is not a step of training) and the initial trajectory or example
 * as references. A run without training stages: every stage's cost by index.
 */
function costCurve(records: readonly Record_[], name: string): string {
  let curve: ReturnType<typeof runCurve> = null;
  try {
    curve = runCurve(records, "cost", name);
  } catch {
    curve = null; // training stages without a cost: every stage's cost by index, as below
  }
  if (curve === null) {
    const pts = records.flatMap((r) => {
      const v = (r.metrics as Record<string, unknown>).cost;
      return typeof v === "number" && Number.isFinite(v) ? [[r.index, v] as const] : [];
    });
    return linePlot([{ label: "cost (task cost, Σ over the horizon, mean over conditions)", points: pts }], { title: `${name}: cost after each stage`, xLabel: "stage", yLabel: "cost" });
  }
  return aggregatePlot([aggregateGroup(name, [{ id: name, seed: null, records }], "cost")], { title: `${name}: cost after each ${curve.kind}` });
}

/**
 * The learning curve of guided policy search: the policy's noise-free cost
 * (mean over training conditions, and per condition) after every fitTheta,
 * against the cost of the initial trajectory distribution (its last
 * initializeTrajectories or ilqgIteration stage before the first trajectory step, optimizeQ or variationalEStep)
 * as a reference line.
 */
function learningCurve(records: readonly Record_[], name: string): string | null {
  const fits = records.filter((r) => r.kind === "fitTheta");
  if (fits.length === 0) return null;
  const firstQ = records.find((r) => TRAJECTORY_STEPS.includes(r.kind));
  // The trajectory distributions' own stages (not a policy test that may run in between).
  const before = records.filter(
    (r) => firstQ && r.index < firstQ.index && (r.kind === "initializeTrajectories" || r.kind === "ilqgIteration") && typeof (r.metrics as Record<string, unknown>).cost === "number",
  );
  const reference = before.length ? ((before[before.length - 1].metrics as Record<string, number>).cost as number) : null;
  const mean = fits.map((r, i) => [i + 1, (r.metrics as Record<string, number>).cost] as const);
  const perCondition = ((fits[0].metrics as Record<string, unknown>).costs as number[] | undefined)?.map((_, c) => ({
    label: `condition ${c}`,
    points: fits.map((r, i) => [i + 1, ((r.metrics as Record<string, unknown>).costs as number[])[c]] as const),
    width: 1,
    dash: "3 3",
  })) ?? [];
  const series = [{ label: "policy (noise-free), mean over conditions", points: mean, width: 2.5 }, ...(perCondition.length > 1 ? perCondition : [])];
  if (reference !== null) series.push({ label: "initial trajectory", points: [[1, reference], [fits.length, reference]] as const, width: 1.5, dash: "8 4" });
  return linePlot(series, { title: `${name}: learning curve`, xLabel: "iteration", yLabel: "cost (Σ over the horizon)" });
}

/**
 * Push tests between guided-policy-search iterations (evaluate stages with
 * `pushes`; the 2014 paper's Figure 4): per group of tests (the same starts and
 * push onsets every iteration), how many pushes the controller recovered from and
 * their mean cost, against the iteration (fits after the first trajectory step;
 * 0: before it). Groups seen once only (a final test) are left out.
 */
function pushRecoveryCurves(records: readonly Record_[], experiment: Experiment): { recovered: string; cost: string } | null {
  const name = experiment.name;
  // The controller each test ran (the run's own pipeline): the demonstration's push test at the end is not the policy's curve.
  const specs = unrollPipeline(resolveExperiment(experiment).pipeline).map((u) => u.spec);
  const groups = new Map<string, { label: string; points: { iteration: number; recovered: number; of: number; cost: number }[] }>();
  for (const { iteration, index, m } of evaluationsByIteration(records)) {
    if (!Array.isArray(m.recovered) || !Array.isArray(m.costs)) continue;
    const conditions = (m.conditions as number[] | undefined) ?? [];
    const onsets = (m.pushOnsetSteps as number[] | undefined) ?? [];
    const spec = specs[index];
    const controller = spec?.kind === "evaluate" ? spec.controller : "?";
    const key = JSON.stringify({ controller, conditions, onsets, horizon: m.horizon });
    const recovered = (m.recovered as number[]).reduce((a, b) => a + b, 0);
    const costs = m.costs as number[];
    const g = groups.get(key) ?? { label: `${controller === "policy" ? "" : `${controller}: `}${onsets.length} push${onsets.length === 1 ? "" : "es"} from ${conditions.length === 0 ? "every condition" : `condition${conditions.length === 1 ? "" : "s"} ${conditions.join(", ")}`} (onset step${onsets.length === 1 ? "" : "s"} ${onsets.join(", ")})`, points: [] };
    g.points.push({ iteration, recovered, of: costs.length, cost: costs.reduce((a, b) => a + b, 0) / costs.length });
    groups.set(key, g);
  }
  const curves = [...groups.values()].filter((g) => g.points.length >= 2);
  if (curves.length === 0) return null;
  const many = curves.length > 1;
  // Groups of several pushes bold and dashed, single pushes thin.
  const lines = (value: "recovered" | "cost", label: (g: (typeof curves)[number]) => string): LineSeries[] =>
    curves.map((g) => ({ label: label(g), points: g.points.map((p) => [p.iteration, p[value]] as const), width: g.points[0].of > 1 ? 2.5 : 1.2, ...(g.points[0].of > 1 ? { dash: "6 3" } : {}) }));
  const recovered = linePlot(lines("recovered", (g) => `${g.label}: recovered (of ${g.points[0].of})`), {
    title: `${name}: pushes recovered from (no fall within ${RECOVERY_SECONDS} s)`,
    xLabel: "iteration",
    yLabel: many ? "pushes recovered" : "count",
  });
  const cost = linePlot(lines("cost", (g) => `${g.label}: mean cost`), { title: `${name}: cost of the push responses`, xLabel: "iteration", yLabel: "cost (Σ over the rollout)" });
  return { recovered, cost };
}

/**
 * Policy tests past the training horizon (evaluate stages with `horizon`)
 * between guided-policy-search iterations: the distance the policy alone
 * walks from each start, and how many starts it walks without falling.
 * Iteration 0 is a test before the first trajectory step.
 */
function longHorizonCurve(records: readonly Record_[], name: string): string | null {
  const points: { iteration: number; distances: number[]; walked: number; horizon: number }[] = [];
  for (const { iteration, m } of evaluationsByIteration(records)) {
    // Push tests have their own curves (pushRecoveryCurves).
    if (typeof m.horizon !== "number" || !Array.isArray(m.distances) || Array.isArray(m.recovered)) continue;
    const fallSteps = (m.fallSteps as number[] | undefined) ?? [];
    points.push({ iteration, distances: m.distances as number[], walked: fallSteps.filter((f) => f === -1 || f === null).length, horizon: m.horizon });
  }
  // Only where the same starts are tested every iteration: a curve.
  const series = points.filter((p) => p.distances.length === points[0]?.distances.length);
  if (series.length < 2) return null;
  const starts = series[0].distances.length;
  const lines: LineSeries[] = series[0].distances.map((_, c) => ({
    label: starts > 1 ? `start ${c}: distance (m)` : "distance (m)",
    points: series.map((p) => [p.iteration, p.distances[c]] as const),
    width: starts > 1 ? 1 : 2.5,
  }));
  lines.push({ label: `starts walked without a fall (of ${starts})`, points: series.map((p) => [p.iteration, p.walked] as const), width: 2.5, dash: "6 3" });
  return linePlot(lines, { title: `${name}: the policy alone over ${series[0].horizon} steps`, xLabel: "iteration", yLabel: "metres / count" });
}

/** log10 w_r after every adaptWr stage (importance-sampled GPS). */
function regularizerCurve(records: readonly Record_[], name: string): string | null {
  const adapts = records.filter((r) => r.kind === "adaptWr");
  if (adapts.length === 0) return null;
  const points = adapts.map((r, i) => [i + 1, Math.log10(Math.max(1e-300, (r.metrics as Record<string, number>).wr))] as const);
  return linePlot([{ label: "log10 w_r", points, width: 2 }], { title: `${name}: regularizer weight`, xLabel: "iteration", yLabel: "log10 w_r", plotHeight: 200 });
}

function fmt(v: unknown): string {
  if (typeof v !== "number") return "";
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(3);
}

function page(run: RunHandle, experiment: Experiment, records: readonly Record_[], lastStage: number | null, sections: readonly string[], files: readonly string[]): string {
  const rows = records
    .map((r) => {
      const m = r.metrics as Record<string, unknown>;
      const falls = typeof m.falls === "number" ? m.falls : "";
      return `<tr><td>${r.index}</td><td>${esc(r.label)}</td><td>${fmt(m.cost)}</td><td>${fmt(m.distance)}</td><td>${fmt(m.meanVelocity)}</td><td>${falls}</td><td>${(r.durationMs / 1000).toFixed(2)} s</td><td><code>${r.digest.slice(0, 12)}</code></td></tr>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(experiment.name)} — gps report</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 13px; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
td:nth-child(2), th:nth-child(2) { text-align: left; } img { max-width: 100%; } figure { margin: 1em 0; }
details { margin: 1em 0; } code { font-size: 12px; }
</style></head><body>
<h1>${esc(experiment.name)}</h1>
<p>Run <code>${esc(run.dir)}</code>, task <b>${esc(experiment.task.kind)}</b>, horizon ${experiment.task.horizon}, seed ${experiment.seed}, ${experiment.conditions.length} condition(s). Pictures are of the last good checkpoint (stage ${lastStage ?? "none"}).</p>
${records.some((r) => r.kind === "fitTheta") ? `<figure><img src="learning-curve.svg" alt="learning curve"><figcaption>Noise-free cost of the policy alone after each guided-policy-search iteration, beside the initial trajectory's cost.</figcaption></figure>` : ""}
${records.some((r) => POLICY_SEARCH_ITERATIONS.includes(r.kind)) ? `<figure><img src="learning-curve.svg" alt="learning curve"><figcaption>Mean cost of each iteration's on-policy samples and the best policy's noise-free cost, beside the initial example and the guiding samples' ±2 std band (2013 paper, Figure 2).</figcaption></figure>` : ""}
${files.includes("long-horizon.svg") ? `<figure><img src="long-horizon.svg" alt="long-horizon test"><figcaption>The policy alone, noise-free, rolled out past the training horizon after each iteration (evaluate with horizon): distance from each start, and the number of starts walked without a fall.</figcaption></figure>` : ""}
${files.includes("push-recovery.svg") ? `<figure><img src="push-recovery.svg" alt="push recovery per iteration"><figcaption>Push tests after each iteration (evaluate with pushes; the 2014 paper's Figure 4): pushes recovered from (no fall within ${RECOVERY_SECONDS} s after the push) per group of tests; dashed: groups of several pushes.</figcaption></figure><figure><img src="push-cost.svg" alt="push response cost per iteration"><figcaption>The mean cost of the same push responses.</figcaption></figure>` : ""}
${files.includes("trajectory-diagnostics.svg") ? `<figure><img src="trajectory-diagnostics.svg" alt="trajectory diagnostics"><figcaption>diagnoseTrajectories: q's feedback gains and the finite-difference Jacobian's jumps along each nominal, with contact events (docs/trajectory-optimization.md).</figcaption></figure>` : ""}
${records.some((r) => r.kind === "adaptWr") ? `<figure><img src="wr.svg" alt="regularizer weight"><figcaption>The regularizer weight w_r after each adaptWr stage.</figcaption></figure>` : ""}
<figure><img src="cost.svg" alt="cost after each training iteration"><figcaption>Noise-free cost after each training iteration; evaluation stages are rings at the iteration they follow (a noisy evaluation is not a step of training).</figcaption></figure>
${sections.join("\n")}
<details><summary>Stages (${records.length})</summary>
<table><tr><th>stage</th><th>kind</th><th>cost</th><th>distance (m)</th><th>speed (m/s)</th><th>falls</th><th>time</th><th>digest</th></tr>
${rows}
</table></details>
</body></html>
`;
}
