/**
 * Trajectory initialization with max-entropy iLQG, as stages:
 *
 *   initializeTrajectories  — the first nominal per condition (zero, seeded
 *                             random or demonstrated actions), and the
 *                             objective (task cost, plus the tracking term
 *                             when following a demonstration)
 *   ilqgIteration           — one iLQG iteration on every condition
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import type { TrajectoryInit } from "../dsl/experiment.js";
import { Sampler } from "../random/generator.js";
import { trajectoryCost } from "../tasks/cost.js";
import { demoController } from "../demos/index.js";
import { demonstrationFeedback } from "../demos/feedback.js";
import { ilqgIteration, initialTrajectory, type IlqgSettings, type IlqgTrajectory } from "../trajopt/ilqg.js";
import type { Task } from "../tasks/types.js";
import { internalError, type ConditionState, type DemonstrationRecord, type RunState, type StageEnv } from "./state.js";
import { motorNoiseFrom, objectiveFor } from "./objective.js";

export { motorNoiseFrom, objectiveFor } from "./objective.js";
import { rolloutSummary, summarize, mean } from "./summaries.js";

export { mean, summarize } from "./summaries.js";
import { dynamicsOf } from "./rollouts.js";
import { rngAfterLinearizing, withConditionLinearizer } from "./linearization.js";

type InitSpec = ResolvedStageSpec<"initializeTrajectories">;


/** The demonstration to start from and track: inline in the spec, or recorded by a demonstrate stage. */
function demonstrationFor(env: StageEnv, task: Task, c: ConditionState, init: TrajectoryInit): { xs: Float64Array; us: Float64Array } | null {
  if (init.kind === "demonstration") return demonstrationArrays(env, task, init);
  if (init.kind !== "recorded") return null;
  if (!c.demonstration) throw internalError("initializeTrajectories from: recorded needs a demonstrate stage before it");
  return { xs: c.demonstration.xs, us: c.demonstration.us };
}


function demonstrationArrays(env: StageEnv, task: Task, init: Extract<TrajectoryInit, { kind: "demonstration" }>): { xs: Float64Array; us: Float64Array } {
  const { nx, nu } = task;
  const T = env.horizon;
  const { states, actions } = init.demonstration;
  if (states.length < T + 1 || actions.length < T) {
    throw internalError(`demonstration has ${states.length} states and ${actions.length} actions; horizon ${T} needs ${T + 1} and ${T}`);
  }
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  for (let t = 0; t <= T; t++) {
    if (states[t].length !== nx) throw internalError(`demonstration.states[${t}] has ${states[t].length} entries, the task's state has ${nx}`);
    xs.set(states[t], t * nx);
  }
  for (let t = 0; t < T; t++) {
    if (actions[t].length !== nu) throw internalError(`demonstration.actions[${t}] has ${actions[t].length} entries, the task has ${nu} actions`);
    us.set(actions[t], t * nu);
  }
  return { xs, us };
}

/**
 * q from the demonstration controller itself (method "linearizeDemonstration"):
 * nominal = the recorded demonstration, K_t = the controller's own feedback
 * along it (demonstrationFeedback), k = 0, covariance = the motor noise,
 * diagonal. Rolled out noise-free it reproduces the demonstration exactly.
 */
function linearizedDemonstration(task: Task, c: ConditionState, settings: IlqgSettings): IlqgTrajectory {
  const demo = c.demonstration;
  // The plan (src/dsl/plan.ts) refuses linearizeDemonstration without a recorded demonstration and motor noise.
  if (!demo || demo.source !== "controller") throw internalError("linearizeDemonstration without a recorded demonstration");
  if (!c.motorNoise || c.motorNoise.some((s) => !(s > 0))) throw new Error('initializeTrajectories method "linearizeDemonstration" needs motorNoise with a positive fraction (it is q\'s covariance), and the demonstration moves every joint');
  const { nx, nu } = task;
  const T = demo.us.length / nu;
  const K = demonstrationFeedback(() => demoController(demo.controller, task), demo.xs, nx, nu, T);
  const cov = new Float64Array(T * nu * nu);
  for (let t = 0; t < T; t++) for (let j = 0; j < nu; j++) cov[t * nu * nu + j * nu + j] = c.motorNoise[j] ** 2;
  const xbar = Float64Array.from(demo.xs);
  const ubar = Float64Array.from(demo.us);
  return { T, nx, nu, xbar, ubar, K, k: new Float64Array(T * nu), cov, cost: trajectoryCost(objectiveFor(task, c), xbar, ubar, T), mu: settings.muInit, muFactor: 1 };
}

export const initializeTrajectories = function* (env: StageEnv, spec: InitSpec, state: RunState) {
  const T = env.horizon;
  const settings: IlqgSettings = spec.ilqg;
  const sampler = new Sampler(state.rng);
  const conditions: ConditionState[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { task } = env.worlds[i];
    const sim = dynamicsOf(env, env.worlds[i]);
    const { nu } = task;
    const demo = demonstrationFor(env, task, c, spec.from);
    if (spec.track && !demo) throw internalError("initializeTrajectories: track needs a demonstration (from: demonstration or recorded)");
    if (spec.motorNoise && !demo) throw internalError("initializeTrajectories: motorNoise is relative to a demonstration's torques");
    let us: Float64Array;
    if (spec.from.kind === "zero") us = new Float64Array(T * nu);
    else if (spec.from.kind === "random") {
      us = new Float64Array(T * nu);
      for (let j = 0; j < us.length; j++) us[j] = spec.from.std * sampler.normal();
    } else us = Float64Array.from(demo!.us);
    const tracking = spec.track && demo ? { ...spec.track } : null;
    // An inline demonstration is kept like a recorded one: tracking refers to it.
    const demonstration: DemonstrationRecord | null = spec.from.kind === "demonstration" && demo ? { source: "inline", xs: demo.xs, us: demo.us } : c.demonstration;
    const motorNoise = spec.motorNoise && demo ? motorNoiseFrom(demo.us, nu, spec.motorNoise.fraction) : c.motorNoise;
    const withObjective: ConditionState = { ...c, demonstration, tracking, settings, motorNoise, ...(spec.linearization ? { linearization: spec.linearization } : {}) };
    const trajectory =
      spec.method === "linearizeDemonstration"
        ? linearizedDemonstration(task, withObjective, settings)
        : initialTrajectory(sim, objectiveFor(task, withObjective), c.x0, us, settings);
    conditions.push({ ...withObjective, trajectory });
    yield { fraction: (i + 1) / state.conditions.length, message: `condition ${i + 1}/${state.conditions.length} cost ${trajectory.cost.toFixed(2)}` };
  }
  const next = { ...state, rng: sampler.state(), conditions };
  return { state: next, metrics: trajectoryMetrics(env, conditions) };
};

export const ilqgIterationStage = function* (env: StageEnv, spec: ResolvedStageSpec<"ilqgIteration">, state: RunState) {
  const chosen = spec.conditions ? new Set(spec.conditions) : null;
  const sampler = new Sampler(state.rng);
  const conditions: ConditionState[] = [];
  const accepted: number[] = [];
  const alphas: number[] = [];
  const mus: number[] = [];
  const gainMus: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    if (!c.trajectory || !c.settings) throw internalError("ilqgIteration needs initializeTrajectories before it");
    // Conditions left out keep their q (and report no step).
    if (chosen && !chosen.has(i)) {
      conditions.push(c);
      continue;
    }
    const { task } = env.worlds[i];
    const q = c.trajectory;
    const { trajectory, info } = withConditionLinearizer(env, env.worlds[i], c, q.K, sampler, (l) => ilqgIteration(dynamicsOf(env, env.worlds[i]), objectiveFor(task, c), q, c.settings!, l));
    conditions.push({ ...c, trajectory });
    accepted.push(info.accepted ? 1 : 0);
    alphas.push(info.alpha);
    mus.push(info.mu);
    // −1: no μ up to μ_max made Q̃_uu positive definite at the new nominal, so q kept the step's own gains
    // (gainsAt reports that as NaN; a metric must be finite to be checkpointed). A rejected step: −1 as well.
    if (c.settings.gainMu !== undefined) gainMus.push(info.gainMu !== undefined && Number.isFinite(info.gainMu) ? info.gainMu : -1);
    yield {
      fraction: (i + 1) / state.conditions.length,
      message: `condition ${i + 1}/${state.conditions.length} cost ${info.cost.toFixed(2)}${info.accepted ? "" : " (rejected)"}`,
      metrics: { objective: info.cost },
    };
  }
  return {
    // Only a fitted linearization draws from the generator; otherwise rng stays as it was.
    state: { ...state, rng: rngAfterLinearizing(state, sampler), conditions },
    // accepted, alpha, mu (and gainMu): one entry per condition iterated, in order (`conditions` lists them when not all are).
    metrics: { ...trajectoryMetrics(env, conditions), accepted, alpha: alphas, mu: mus, ...(gainMus.length ? { gainMu: gainMus } : {}), ...(spec.conditions ? { conditions: [...spec.conditions] } : {}) },
  };
};

/** Task cost, objective, distance and speed of each condition's nominal trajectory. */
function trajectoryMetrics(env: StageEnv, conditions: readonly ConditionState[]) {
  const rows = conditions.map((c, i) => rolloutSummary(env.worlds[i].task, env.horizon, c.trajectory!.xbar, c.trajectory!.ubar));
  const objectives = conditions.map((c) => c.trajectory!.cost);
  return { ...summarize(rows), objective: mean(objectives) };
}

