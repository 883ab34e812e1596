/**
 * The evaluate stage: roll out each condition's controller in its world and
 * record the same metrics for every controller, so comparisons are like for
 * like: total task cost, forward distance (root x displacement; qpos[0] is
 * rootx in every task), mean forward speed, whether and when it fell (the
 * task's fall criteria), and the root path.
 *
 * Noise-free by default; with noise, `samples` seeded rollouts per condition
 * from q(u|x) (plus the condition's motor noise, when one is set).
 */
import type { StageSpec } from "../dsl/experiment.js";
import { Sampler } from "../random/generator.js";
import { trajectoryCost } from "../tasks/cost.js";
import type { Task } from "../tasks/types.js";
import { linearGaussianController } from "../trajopt/linear-gaussian.js";
import { mean } from "./ilqg-stages.js";
import type { Stage } from "./state.js";

type EvaluateSpec = Extract<StageSpec, { kind: "evaluate" }>;

export function rolloutSummary(task: Task, T: number, xs: Float64Array, us: Float64Array) {
  const { nx } = task;
  const distance = xs[T * nx] - xs[0];
  return { distance, meanVelocity: distance / (T * task.dt), cost: trajectoryCost(task.cost, xs, us, T), fallStep: firstFall(task, xs, T) };
}

/** First step at which the task's fall criteria hold, or null (tasks without criteria never fall). */
export function firstFall(task: Task, xs: Float64Array, T: number): number | null {
  const fall = "fall" in task ? (task as { fall?: { minHeightAboveGround: number; maxAbsPitch: number; pitchIndex: number } | null }).fall : null;
  if (!fall || task.heightIndex < 0) return null;
  const ground = "groundHeight" in task ? (task as { groundHeight: (x: number) => number }).groundHeight : () => 0;
  const { nx } = task;
  for (let t = 0; t <= T; t++) {
    const o = t * nx;
    const height = xs[o + task.heightIndex] - ground(xs[o]);
    if (height < fall.minHeightAboveGround || Math.abs(xs[o + fall.pitchIndex]) > fall.maxAbsPitch) return t;
  }
  return null;
}

export const evaluate: Stage<EvaluateSpec> = function* (env, spec, state) {
  const T = env.horizon;
  const sampler = new Sampler(state.rng);
  const samples = spec.noise ? (spec.samples ?? 10) : 1;
  const costs: number[] = [];
  const distances: number[] = [];
  const velocities: number[] = [];
  const falls: number[] = [];
  const fallSteps: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { task, sim } = env.worlds[i];
    const xs = new Float64Array((T + 1) * task.nx);
    const us = new Float64Array(T * task.nu);
    if (!c.trajectory) throw new Error("evaluate needs a controller: run initializeTrajectories first");
    const controller = linearGaussianController(c.trajectory, { noise: spec.noise, sampler });
    const perSample = { cost: 0, distance: 0, velocity: 0, falls: 0, firstFall: -1 };
    for (let s = 0; s < samples; s++) {
      sim.rollout(c.x0, controller, T, xs, us);
      const r = rolloutSummary(task, T, xs, us);
      perSample.cost += r.cost / samples;
      perSample.distance += r.distance / samples;
      perSample.velocity += r.meanVelocity / samples;
      if (r.fallStep !== null) {
        perSample.falls++;
        if (perSample.firstFall < 0 || r.fallStep < perSample.firstFall) perSample.firstFall = r.fallStep;
      }
    }
    costs.push(perSample.cost);
    distances.push(perSample.distance);
    velocities.push(perSample.velocity);
    falls.push(perSample.falls);
    fallSteps.push(perSample.firstFall);
    yield {
      fraction: (i + 1) / state.conditions.length,
      message: `condition ${i + 1}/${state.conditions.length} cost ${perSample.cost.toFixed(2)} distance ${perSample.distance.toFixed(2)} m${perSample.falls ? ` fell ${perSample.falls}/${samples}` : ""}`,
    };
  }
  return {
    state: { rng: sampler.state(), conditions: state.conditions },
    metrics: {
      cost: mean(costs),
      costs,
      distance: mean(distances),
      distances,
      meanVelocity: mean(velocities),
      meanVelocities: velocities,
      falls: falls.reduce((a, b) => a + b, 0),
      fallsPerCondition: falls,
      firstFallStep: fallSteps,
    },
  };
};
