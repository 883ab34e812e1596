/**
 * Trajectory initialization with max-entropy iLQG, as stages:
 *
 *   initializeTrajectories  — the first nominal per condition (zero, seeded
 *                             random or demonstrated actions), and the
 *                             objective (task cost, plus the tracking term
 *                             when following a demonstration)
 *   ilqgIteration           — one iLQG iteration on every condition
 */
import type { StageSpec, TrajectoryInit } from "../dsl/experiment.js";
import { Sampler } from "../random/generator.js";
import { trajectoryCost, withTracking } from "../tasks/cost.js";
import { defaultIlqgSettings, ilqgIteration, initialTrajectory, type IlqgSettings } from "../trajopt/ilqg.js";
import type { Cost } from "../trajopt/types.js";
import type { Task } from "../tasks/types.js";
import type { ConditionState, Stage, StageEnv } from "./state.js";
import { rolloutSummary } from "./evaluate.js";

type InitSpec = Extract<StageSpec, { kind: "initializeTrajectories" }>;

/** The objective iLQG minimizes for one condition: task cost, plus tracking if any. */
export function objectiveFor(task: Task, c: ConditionState): Cost {
  return c.tracking ? withTracking(task.cost, c.tracking.xs, c.tracking.us, c.tracking.weight) : task.cost;
}

function demonstrationArrays(env: StageEnv, task: Task, init: Extract<TrajectoryInit, { kind: "demonstration" }>): { xs: Float64Array; us: Float64Array } {
  const { nx, nu } = task;
  const T = env.horizon;
  const { states, actions } = init.demonstration;
  if (states.length < T + 1 || actions.length < T) {
    throw new Error(`demonstration has ${states.length} states and ${actions.length} actions; horizon ${T} needs ${T + 1} and ${T}`);
  }
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  for (let t = 0; t <= T; t++) {
    if (states[t].length !== nx) throw new Error(`demonstration.states[${t}] has ${states[t].length} entries, the task's state has ${nx}`);
    xs.set(states[t], t * nx);
  }
  for (let t = 0; t < T; t++) {
    if (actions[t].length !== nu) throw new Error(`demonstration.actions[${t}] has ${actions[t].length} entries, the task has ${nu} actions`);
    us.set(actions[t], t * nu);
  }
  return { xs, us };
}

export const initializeTrajectories: Stage<InitSpec> = function* (env, spec, state) {
  const T = env.horizon;
  const settings: IlqgSettings = { ...defaultIlqgSettings, ...spec.ilqg };
  const sampler = new Sampler(state.rng);
  const conditions: ConditionState[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { task, sim } = env.worlds[i];
    const { nu } = task;
    const demo = spec.from.kind === "demonstration" ? demonstrationArrays(env, task, spec.from) : null;
    if (spec.track && !demo) throw new Error("initializeTrajectories: track needs from: { kind: \"demonstration\" }");
    let us: Float64Array;
    if (spec.from.kind === "zero") us = new Float64Array(T * nu);
    else if (spec.from.kind === "random") {
      us = new Float64Array(T * nu);
      for (let j = 0; j < us.length; j++) us[j] = spec.from.std * sampler.normal();
    } else us = Float64Array.from(demo!.us);
    const tracking = spec.track && demo ? { xs: demo.xs, us: demo.us, weight: spec.track.weight } : null;
    const withObjective: ConditionState = { ...c, tracking, settings };
    const trajectory = initialTrajectory(sim, objectiveFor(task, withObjective), c.x0, us, settings);
    conditions.push({ ...withObjective, trajectory });
    yield { fraction: (i + 1) / state.conditions.length, message: `condition ${i + 1}/${state.conditions.length} cost ${trajectory.cost.toFixed(2)}` };
  }
  const next = { rng: sampler.state(), conditions };
  return { state: next, metrics: trajectoryMetrics(env, conditions) };
};

export const ilqgIterationStage: Stage = function* (env, _spec, state) {
  const conditions: ConditionState[] = [];
  const accepted: number[] = [];
  const alphas: number[] = [];
  const mus: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    if (!c.trajectory || !c.settings) throw new Error("ilqgIteration needs initializeTrajectories before it");
    const { task, sim } = env.worlds[i];
    const { trajectory, info } = ilqgIteration(sim, objectiveFor(task, c), c.trajectory, c.settings);
    conditions.push({ ...c, trajectory });
    accepted.push(info.accepted ? 1 : 0);
    alphas.push(info.alpha);
    mus.push(info.mu);
    yield {
      fraction: (i + 1) / state.conditions.length,
      message: `condition ${i + 1}/${state.conditions.length} cost ${info.cost.toFixed(2)}${info.accepted ? "" : " (rejected)"}`,
      metrics: { objective: info.cost },
    };
  }
  return {
    state: { rng: state.rng, conditions },
    metrics: { ...trajectoryMetrics(env, conditions), accepted, alpha: alphas, mu: mus },
  };
};

/** Task cost, objective and speed of each condition's nominal trajectory. */
function trajectoryMetrics(env: StageEnv, conditions: readonly ConditionState[]) {
  const costs: number[] = [];
  const objectives: number[] = [];
  const velocities: number[] = [];
  const distances: number[] = [];
  conditions.forEach((c, i) => {
    const { task } = env.worlds[i];
    const tr = c.trajectory!;
    const s = rolloutSummary(task, env.horizon, tr.xbar, tr.ubar);
    costs.push(s.cost);
    objectives.push(tr.cost);
    velocities.push(s.meanVelocity);
    distances.push(s.distance);
  });
  return {
    cost: mean(costs),
    costs,
    objective: mean(objectives),
    meanVelocity: mean(velocities),
    distance: mean(distances),
  };
}

export function mean(a: readonly number[]): number {
  return a.length === 0 ? 0 : a.reduce((s, v) => s + v, 0) / a.length;
}
