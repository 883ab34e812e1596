/**
 * The evaluate stage: roll out each condition's controller in its world and
 * record the same metrics for every controller, so comparisons are like for
 * like: total task cost, forward distance (root x displacement; qpos[0] is
 * rootx in every task), mean forward speed, whether and when it fell (the
 * task's fall criteria), and the root path.
 *
 * Noise-free by default; with noise, `samples` seeded rollouts per condition
 * from q(u|x) (plus the condition's motor noise, when one is set); with
 * noise "motor", the mean controller with motor noise only. With
 * `controller: "demonstration"` it rolls out the hand-crafted controller that
 * recorded the condition's demonstration instead (noise: motor noise only);
 * with `controller: "tbdp"` the nearest-neighbour controller over every
 * condition's DDP solution (src/algorithms/tbdp.ts; noise: motor noise only).
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { Sampler } from "../random/generator.js";
import { linearGaussianPart } from "../trajopt/linear-gaussian.js";
import { rolloutSummary, summarize } from "./summaries.js";

export { firstFall, rolloutSummary } from "./summaries.js";
import type { Controller } from "../trajopt/types.js";
import { runRollouts, type RolloutController, type RolloutGroup } from "./rollouts.js";

import { observerFor } from "./observation.js";
import { internalError, type EvaluationRecord, type PushTestRecord, type RunState, type StageEnv, type World } from "./state.js";
import { tbdpController, tbdpLibrary, type TbdpLibrary } from "./tbdp.js";
import { pushTestTaskSpec, testTaskSpec, type PushSpec } from "../dsl/experiment.js";
import { normalizePushes, pushWindow } from "../tasks/index.js";

/** Seconds after a push's onset in which a rollout must not fall to have recovered (2014 paper §4.3). */
export const RECOVERY_SECONDS = 5;

/**
 * Steps after the push's onset step that `recovered` looks at: 5 s at dt, or
 * fewer where the rollout (T steps, states 0 … T) ends first.
 */
export function recoveryWindow(fromStep: number, T: number, dt: number): number {
  return Math.max(0, Math.min(Math.round(RECOVERY_SECONDS / dt), T - fromStep));
}

type EvaluateSpec = ResolvedStageSpec<"evaluate">;


/** Root x and the second root coordinate (height, or y for the swimmer) over the rollout. */
function rootPath(xs: Float64Array, nx: number, T: number): Float64Array {
  const out = new Float64Array((T + 1) * 2);
  for (let t = 0; t <= T; t++) {
    out[2 * t] = xs[t * nx];
    out[2 * t + 1] = xs[t * nx + 1];
  }
  return out;
}

/** u ← u + σ ⊙ ε after the controller: noisy motors (σ per action). */
function withMotorNoise(controller: Controller, std: Float64Array, sampler: Sampler): Controller {
  return (t, x, xOff, u, uOff) => {
    controller(t, x, xOff, u, uOff);
    for (let j = 0; j < std.length; j++) u[uOff + j] += std[j] * sampler.normal();
  };
}

/** TBDP's library: every condition's DDP solution, seen as the policy would see it in the condition's own world. */
function tbdpLibraryOf(env: StageEnv, state: RunState): TbdpLibrary {
  const task = env.worlds[0].task;
  const ignore = (env.experiment.policy?.ignoreInputs ?? []).map((name) => task.stateNames.indexOf(name)).filter((i) => i >= 0);
  return tbdpLibrary(
    state.conditions.map((c, i) => {
      if (!c.trajectory) throw internalError(`evaluate controller: tbdp needs every condition's trajectory distribution (condition ${i} has none): run initializeTrajectories first`);
      return { trajectory: c.trajectory, observe: observerFor(env.experiment.policy, env.worlds[i].task) };
    }),
    ignore,
  );
}

/**
 * Condition i's controller of an evaluate stage as rollout data: `samples`
 * rollouts in `world`; the controller's own noise when `noise` (noise: true),
 * the condition's motor noise when `motor` (noise: true or "motor").
 */
function groupFor(env: StageEnv, state: RunState, which: "policy" | "trajectory" | "demonstration", i: number, world: World, T: number, samples: number, noise: boolean, motor: boolean): RolloutGroup {
  const c = state.conditions[i];
  let controller: RolloutController;
  if (which === "policy") {
    if (!state.policy) throw internalError("evaluate controller: policy needs a trained policy (fitTheta or pretrainPolicy) before it");
    controller = { kind: "policy", policy: state.policy, spec: env.experiment.policy, noisy: noise };
  } else if (which === "demonstration") {
    if (c.demonstration?.source !== "controller") throw internalError("evaluate controller demonstration without a recorded demonstration");
    controller = { kind: "demonstration", name: c.demonstration.controller, std: null };
  } else {
    if (!c.trajectory) throw internalError("evaluate needs a controller: run initializeTrajectories first");
    controller = { kind: "linearGaussian", controller: linearGaussianPart(c.trajectory), noisy: noise };
  }
  return { world, T, count: samples, start: c.x0, controller, motorNoise: motor && c.motorNoise ? c.motorNoise : null };
}

/** TBDP's rollouts, on this thread (its library is built here and not sent anywhere); motor noise when `motor`. */
function tbdpRollouts(env: StageEnv, state: RunState, runs: readonly { condition: number; world: World }[], T: number, samples: number, motor: boolean, sampler: Sampler) {
  const library = tbdpLibraryOf(env, state);
  return runs.map(({ condition, world }) => {
    const c = state.conditions[condition];
    const { task, sim } = world;
    return Array.from({ length: samples }, () => {
      let controller = tbdpController(library, observerFor(env.experiment.policy, task));
      if (motor && c.motorNoise) controller = withMotorNoise(controller, c.motorNoise, sampler);
      const xs = new Float64Array((T + 1) * task.nx);
      const us = new Float64Array(T * task.nu);
      sim.rollout(c.x0, controller, T, xs, us);
      return { xs, us };
    });
  });
}

export const evaluate = function* (env: StageEnv, spec: EvaluateSpec, state: RunState) {
  const T = spec.horizon ?? env.horizon;
  const sampler = new Sampler(state.rng);
  const samples = spec.noise ? spec.samples : 1;
  const which = spec.controller;
  if (which === "trajectory" && T > env.horizon) {
    throw internalError(`evaluate horizon: ${T} steps is past the trajectory distributions' ${env.horizon}; use controller "policy" or "demonstration"`);
  }
  // What to roll out where: each condition in its own world, on every listed terrain (test grounds), or with every listed push (test pushes).
  const runs: { condition: number; world: World; push?: PushSpec }[] = [];
  const chosen = spec.conditions ?? state.conditions.map((_, i) => i);
  for (const i of chosen) {
    if (i >= state.conditions.length) throw internalError(`evaluate conditions: ${i} is not a condition (the experiment has ${state.conditions.length})`);
    if (spec.pushes) {
      for (const push of spec.pushes) {
        const world = env.testWorlds?.get(pushTestTaskSpec(env.experiment, i, push).key);
        if (!world) throw internalError(`evaluate pushes: no world for condition ${i} with ${JSON.stringify(push)} (the interpreter creates them)`);
        runs.push({ condition: i, world, push });
      }
    } else if (!spec.terrains) runs.push({ condition: i, world: env.worlds[i] });
    else {
      for (const terrain of spec.terrains) {
        const world = env.testWorlds?.get(testTaskSpec(env.experiment, i, terrain).key);
        if (!world) throw internalError(`evaluate terrains: no world for condition ${i} on ${JSON.stringify(terrain)} (the interpreter creates them)`);
        runs.push({ condition: i, world });
      }
    }
  }
  // Every rollout first (on the run's lanes; TBDP's controller on this thread), then the summaries.
  const rollouts: { xs: Float64Array; us: Float64Array }[][] =
    which === "tbdp"
      ? tbdpRollouts(env, state, runs, T, samples, Boolean(spec.noise), sampler)
      : runRollouts(env, runs.map(({ condition, world }) => groupFor(env, state, which, condition, world, T, samples, spec.noise === true, Boolean(spec.noise))), sampler);
  const rows = [];
  const fallCounts: number[] = [];
  const evaluations = new Map<number, EvaluationRecord | null>();
  const pushTests = new Map<number, PushTestRecord[]>();
  const recovery = { recovered: [] as number[], recoveryWindowSteps: [] as number[], pushOnsetSteps: [] as number[] };
  for (let r = 0; r < runs.length; r++) {
    const { condition: i, world, push } = runs[r];
    const { task } = world;
    const row = { cost: 0, distance: 0, meanVelocity: 0, fallStep: null as number | null };
    let falls = 0;
    let evaluation: EvaluationRecord | null = null;
    for (let s = 0; s < samples; s++) {
      const { xs, us } = rollouts[r][s];
      const sum = rolloutSummary(task, T, xs, us);
      if (s === 0) evaluation = { controller: which, noise: spec.noise !== false, root: rootPath(xs, task.nx, T), fallStep: sum.fallStep ?? -1 };
      row.cost += sum.cost / samples;
      row.distance += sum.distance / samples;
      row.meanVelocity += sum.meanVelocity / samples;
      if (sum.fallStep !== null) {
        falls++;
        row.fallStep = row.fallStep === null ? sum.fallStep : Math.min(row.fallStep, sum.fallStep);
      }
    }
    rows.push(row);
    fallCounts.push(falls);
    let recovered: boolean | null = null;
    if (push) {
      const normalized = normalizePushes([push])[0];
      const { fromStep, toStep } = pushWindow(normalized, task.dt);
      const window = recoveryWindow(fromStep, T, task.dt);
      // Recovered: no rollout fell before the window's end (one that fell before the push did not recover either).
      recovered = row.fallStep === null || row.fallStep > fromStep + window;
      recovery.recovered.push(recovered ? 1 : 0); // metrics are numbers: 1 recovered, 0 not
      recovery.recoveryWindowSteps.push(window);
      recovery.pushOnsetSteps.push(fromStep);
      const list = pushTests.get(i) ?? [];
      list.push({ push: normalized, controller: which, noise: spec.noise !== false, T, xs: rollouts[r][0].xs, fromStep, toStep, fallStep: evaluation?.fallStep ?? -1, recovered, recoveryWindowSteps: window, cost: row.cost, distance: row.distance });
      pushTests.set(i, list);
    }
    if (!spec.terrains && !spec.pushes && !evaluations.has(i)) evaluations.set(i, evaluation);
    const where = spec.terrains ? ` on ${JSON.stringify(task.terrain)}` : push ? ` pushed ${push.force} N ${push.direction} at ${push.onset} s` : "";
    yield {
      fraction: (r + 1) / runs.length,
      message: `condition ${i + 1}/${state.conditions.length}${where} cost ${row.cost.toFixed(2)} distance ${row.distance.toFixed(2)} m${falls ? ` fell ${falls}/${samples}` : ""}${recovered === null ? "" : recovered ? " recovered" : " did not recover"}`,
    };
  }
  // The report draws each condition's first rollout in its own world; test grounds and test pushes leave
  // that drawing alone (test pushes keep their own records, for the report's push strips).
  // A condition keeps the latest push tests of each controller (the policy's and the demonstration controller's side by side).
  const conditions = state.conditions.map((c, i) => {
    const latest = pushTests.get(i);
    if (!latest) return { ...c, evaluation: evaluations.get(i) ?? c.evaluation };
    const others = (c.pushTests ?? []).filter((r) => r.controller !== latest[0].controller);
    return { ...c, evaluation: evaluations.get(i) ?? c.evaluation, pushTests: [...others, ...latest] };
  });
  return {
    state: { ...state, rng: sampler.state(), conditions },
    // With terrains (pushes), the per-row lists run over (condition, terrain) ((condition, push)) pairs, terrains (pushes) fastest.
    metrics: {
      ...summarize(rows),
      samples,
      fallsPerCondition: fallCounts,
      ...(spec.horizon ? { horizon: T } : {}),
      ...(spec.conditions ? { conditions: [...chosen] } : {}),
      ...(spec.terrains ? { terrainsPerCondition: spec.terrains.length } : {}),
      ...(spec.pushes ? { pushesPerCondition: spec.pushes.length, recoveredCount: recovery.recovered.filter((v) => v === 1).length, ...recovery } : {}),
    },
  };
};
