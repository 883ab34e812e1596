// The 2014 constrained-GPS paper's Figure 1 suite (issue 15; docs/fig1-suite.md): six
// policy-search methods on the swimmer and the walker, each with a 5- or 10-unit network,
// as values derived from one common base — the constrained-GPS experiment of each task —
// with the structural map over pipelines (mapStages) and array edits, not copied files.
//
// Every method on a task shares the task, the conditions, the trajectory-optimization
// start (the CGPS value's stages before its first policy stage), the policy class
// (fig1Policy: hidden 5 or 10, the same ignoreInputs), 100 policy-search iterations, the
// per-iteration evaluations of the CGPS loop (walker: the 500-step test from rest) and
// the same final evaluations (fig1Evaluations), so `gps compare --metric cost` overlays
// them: every method's training stage records `cost`, the policy alone noise-free on
// the training conditions.
//
// Hidden units: `fig1Experiment(task, method, hidden)`; the thin files in this folder
// use 10, and `--set policy.hidden=5` (or a sweep grid) gives the 5-unit runs —
// the same experiment hash as fig1Experiment(task, method, 5) would have, since the
// name does not carry the size.
import { experiment, mapStages, policy, repeat, stage, type Experiment, type PipelineItem } from "../../src/index.js";
import { isRepeat } from "../../src/dsl/experiment.js";
import { variationalPipeline } from "../variational.js";
import { walkerPolicy } from "../cgps-walker.js";
import { dagger } from "../isgps-variants.js";
import swimmerCgps from "../swimmer-cgps-10.js";
import swimmerIsgps from "../swimmer-isgps.js";
import walkerCgps from "../walker-cgps-10.js";
import walkerIsgps from "../walker-isgps.js";

export const FIG1_TASKS = ["swimmer", "walker"] as const;
export type Fig1Task = (typeof FIG1_TASKS)[number];

/** The paper's six methods, in its legend's order. */
export const FIG1_METHODS = ["cgps", "vgps", "isgps", "isgps-adapted", "cwr", "dagger-weighted"] as const;
export type Method = (typeof FIG1_METHODS)[number];

/** The hidden-unit counts of the paper's panels. */
export const FIG1_HIDDEN = [5, 10] as const;

/** Policy-search iterations of every method (the paper's 100). */
export const FIG1_ITERATIONS = 100;

/**
 * The policy class of every method on a task. Swimmer: the network does not see the
 * head's absolute position (as swimmer-isgps.ts; swimmer-cgps-10.ts sees it — a
 * position-invariant policy is the one that can keep swimming, and the methods must
 * share one class). Walker: cgps-walker.ts's, without the absolute x (as walker-isgps.ts).
 */
export function fig1Policy(task: Fig1Task, hidden: number) {
  return task === "swimmer" ? policy.mlp({ hidden, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }) : walkerPolicy(hidden);
}

/**
 * The evaluations every method ends with: the policy alone, noise-free, on the training
 * conditions; on the walker also the 500-step (5 s) test from rest (condition 0, the
 * demonstration's start) of experiments/cgps-walker.ts.
 */
export function fig1Evaluations(task: Fig1Task): PipelineItem[] {
  return [
    stage.evaluate({ noise: false, controller: "policy" }),
    ...(task === "walker" ? [stage.evaluate({ noise: false, controller: "policy", horizon: 500, conditions: [0] })] : []),
  ];
}

/** Whether an item is, or contains, a stage of one of these kinds. */
function contains(item: PipelineItem, kinds: readonly string[]): boolean {
  return isRepeat(item) ? item.body.some((b) => contains(b, kinds)) : kinds.includes(item.kind);
}

/**
 * A CGPS experiment cut into its parts: `start` (trajectory optimization, up to the
 * first stage that touches the policy), `prelude` (CGPS's own stages before the loop:
 * the walker's first fit, λ's start and its test), `loop` (the last repeat: the
 * policy-search loop) and `tail` (what follows it).
 */
export function cgpsParts(e: Experiment): { start: PipelineItem[]; prelude: PipelineItem[]; loop: Extract<PipelineItem, { kind: "repeat" }>; tail: PipelineItem[] } {
  const p = e.pipeline;
  const first = p.findIndex((item) => contains(item, ["fitTheta", "updateLambda", "optimizeQ"]));
  let last = p.length - 1;
  while (last >= 0 && !isRepeat(p[last])) last--;
  const loop = p[last];
  if (first < 0 || last < first || !isRepeat(loop) || !contains(loop, ["optimizeQ"])) throw new Error(`${e.name}: not a constrained-GPS pipeline`);
  return { start: p.slice(0, first), prelude: p.slice(first, last), loop, tail: p.slice(last + 1) };
}

/** The per-iteration evaluations of a loop (the walker's 500-step test from rest), for every method's loop. */
function perIterationEvaluations(loop: Extract<PipelineItem, { kind: "repeat" }>): PipelineItem[] {
  return loop.body.filter((s) => s.kind === "evaluate");
}

/**
 * The common base: the task's constrained-GPS experiment (swimmer-cgps-10.ts;
 * walker-cgps-10.ts, the recipe of cgps-walker.ts) with the shared policy class,
 * 100 iterations and the shared final evaluations in place of its own.
 */
function cgps(task: Fig1Task, hidden: number): Experiment {
  const source = task === "swimmer" ? swimmerCgps : walkerCgps;
  const { start, prelude, loop } = cgpsParts(source);
  return experiment({
    ...source,
    name: `fig1-${task}-cgps`,
    policy: fig1Policy(task, hidden),
    pipeline: [...start, ...prelude, repeat(FIG1_ITERATIONS, loop.body), ...fig1Evaluations(task)],
  });
}

/**
 * Variational GPS from the CGPS value: each optimizeQ (q's step against the dual)
 * becomes the variational E-step and every updateLambda (the walker's λ start too)
 * goes: the loop is [E-step, fitTheta (the M-step, CGPS's), evaluations].
 */
function vgps(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: base.name.replace(/-cgps$/, "-vgps"),
    pipeline: variationalPipeline(base.pipeline),
  });
}

/**
 * Importance-sampled GPS from the CGPS value: CGPS's prelude and loop give way to the
 * ISGPS source's own stages before its loop (guidingSamples, pretrainPolicy: stages the
 * CGPS base lacks) and its loop body for 100 iterations, followed by the CGPS loop's
 * per-iteration evaluations. Swimmer: swimmer-isgps.ts. Walker: walker-isgps.ts (guiding
 * samples of the trajectory distributions, θ* pretrained to convergence with σ fixed at
 * the guiding noise: the DDP-guided walker that walks, docs/reproduction.md); its guiding
 * samples here are the shared q's (SIMBICON's feedback linearized along the
 * demonstration, ten 1 s conditions), which weighted DAgger and adaptGuiding need
 * (a demonstration expert has no state marginal). Horizon and conditions stay CGPS's.
 */
function isgps(base: Experiment, source: Experiment): Experiment {
  const { start, loop, tail } = cgpsParts(base);
  const sourceLoop = source.pipeline.findIndex((p) => isRepeat(p) && contains(p, ["isgpsIteration"]));
  const sourceGuiding = source.pipeline.findIndex((p) => !isRepeat(p) && p.kind === "guidingSamples");
  const body = source.pipeline[sourceLoop];
  if (sourceLoop < 0 || sourceGuiding < 0 || !isRepeat(body)) throw new Error(`${source.name}: not an importance-sampled GPS pipeline`);
  return experiment({
    ...base,
    name: base.name.replace(/-cgps$/, "-isgps"),
    pipeline: [...start, ...source.pipeline.slice(sourceGuiding, sourceLoop), repeat(loop.times, [...body.body, ...perIterationEvaluations(loop)]), ...tail],
  });
}

/** Adapted ISGPS, as swimmer-isgps-adapted.ts derives it: after every adaptWr, adaptGuiding (5 iLQG iterations on ℓ − log π_θ*) and 10 fresh guiding samples. */
function isgpsAdapted(base: Experiment): Experiment {
  return experiment({
    ...base,
    name: `${base.name}-adapted`,
    pipeline: mapStages(base.pipeline, (s) => (s.kind === "adaptWr" ? [s, stage.adaptGuiding({ iterations: 5 }), stage.guidingSamples({ samples: 10 })] : s)),
  });
}

/** The policy-search loop's method stages — the loop body less its evaluations — replaced by `body`; the evaluations stay. */
function withLoopBody(base: Experiment, name: string, body: PipelineItem[]): Experiment {
  return experiment({
    ...base,
    name,
    pipeline: base.pipeline.map((p) => (isRepeat(p) && contains(p, ["isgpsIteration"]) ? repeat(p.times, [...body, ...p.body.filter((s) => s.kind === "evaluate")]) : p)),
  });
}

/** The paper's CWR sample count per iteration, over all training conditions. */
export const CWR_SAMPLES = 1000;

/**
 * Cost-weighted regression, as swimmer-cwr.ts: the ISGPS value's guiding samples and
 * pretrained θ*, then the loop is costWeightedRegression with the paper's 1000 rollouts
 * per iteration spread over the conditions (swimmer: 1000 of its one condition, the
 * stage's default; walker: 100 of each of the ten), as the paper counts them.
 */
function cwr(base: Experiment): Experiment {
  const samples = Math.round(CWR_SAMPLES / base.conditions.length);
  return withLoopBody(base, base.name.replace(/-isgps$/, "-cwr"), [stage.costWeightedRegression(samples === 1000 ? {} : { samples })]);
}

/**
 * Weighted DAgger, as swimmer-dagger-weighted.ts from swimmer-isgps-dagger.ts (isgps-variants.ts
 * `dagger`: the guiding distributions are the expert, from the pretrained θ*), with every
 * labelled state weighted by the trajectory distribution's state marginal.
 */
function daggerWeighted(base: Experiment): Experiment {
  const evaluations = base.pipeline.flatMap((p) => (isRepeat(p) && contains(p, ["isgpsIteration"]) ? p.body.filter((s) => s.kind === "evaluate") : []));
  const d = dagger(base);
  const weighted = mapStages(d.pipeline, (s) => (s.kind === "daggerIteration" ? { ...s, weighting: "trajectory" as const } : s));
  return experiment({
    ...d,
    name: base.name.replace(/-isgps$/, "-dagger-weighted"),
    // dagger() replaces the whole loop body; the shared per-iteration evaluations go back in.
    pipeline: weighted.map((p) => (isRepeat(p) && contains(p, ["daggerIteration"]) ? repeat(p.times, [...p.body, ...evaluations]) : p)),
  });
}

/** One panel's method: `fig1-<task>-<method>`, `hidden` units (the paper's 5 or 10). */
export function fig1Experiment(task: Fig1Task, method: Method, hidden = 10): Experiment {
  return methodFrom(cgps(task, hidden), method, task === "swimmer" ? swimmerIsgps : walkerIsgps);
}

/**
 * `method` derived from a constrained-GPS experiment `base` (its name ending in
 * "-cgps"; its loop's iteration count is every method's), with the importance-sampled
 * methods' guiding samples and pretraining taken from `isgpsSource` (also Figure 3's
 * terrain suite, experiments/fig3/suite.ts).
 */
export function methodFrom(base: Experiment, method: Method, isgpsSource: Experiment): Experiment {
  const is = () => isgps(base, isgpsSource);
  switch (method) {
    case "cgps":
      return base;
    case "vgps":
      return vgps(base);
    case "isgps":
      return is();
    case "isgps-adapted":
      return isgpsAdapted(is());
    case "cwr":
      return cwr(is());
    case "dagger-weighted":
      return daggerWeighted(is());
  }
}
