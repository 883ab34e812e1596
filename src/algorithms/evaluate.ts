/**
 * The evaluate stage: roll out each condition's current controller in MuJoCo
 * and record like-for-like metrics: total task cost, forward distance (root x
 * displacement; qpos[0] is rootx in every task) and mean forward speed.
 * Noise-free by default; with noise, `samples` seeded rollouts per condition.
 */
import type { StageSpec } from "../dsl/experiment.js";
import { Sampler } from "../random/generator.js";
import { trajectoryCost } from "../tasks/cost.js";
import { linearGaussianController } from "../trajopt/linear-gaussian.js";
import type { Stage, StageEnv } from "./state.js";
import { mean } from "./ilqg-stages.js";

type EvaluateSpec = Extract<StageSpec, { kind: "evaluate" }>;

export function rolloutSummary(env: StageEnv, xs: Float64Array, us: Float64Array) {
  const { nx } = env.task;
  const T = env.horizon;
  const distance = xs[T * nx] - xs[0];
  return { distance, meanVelocity: distance / (T * env.task.dt), cost: trajectoryCost(env.task.cost, xs, us, T) };
}

export const evaluate: Stage<EvaluateSpec> = function* (env, spec, state) {
  const { nx, nu } = env.task;
  const T = env.horizon;
  const sampler = new Sampler(state.rng);
  const samples = spec.noise ? (spec.samples ?? 10) : 1;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const costs: number[] = [];
  const distances: number[] = [];
  const velocities: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    if (!c.trajectory) throw new Error("evaluate needs a controller: run initializeTrajectories first");
    const controller = linearGaussianController(c.trajectory, { noise: spec.noise, sampler });
    const perSample = { cost: 0, distance: 0, velocity: 0 };
    for (let s = 0; s < samples; s++) {
      env.sim.rollout(c.x0, controller, T, xs, us);
      const r = rolloutSummary(env, xs, us);
      perSample.cost += r.cost / samples;
      perSample.distance += r.distance / samples;
      perSample.velocity += r.meanVelocity / samples;
    }
    costs.push(perSample.cost);
    distances.push(perSample.distance);
    velocities.push(perSample.velocity);
    yield { fraction: (i + 1) / state.conditions.length, message: `condition ${i + 1}/${state.conditions.length} cost ${perSample.cost.toFixed(2)} distance ${perSample.distance.toFixed(2)} m` };
  }
  return {
    state: { rng: sampler.state(), conditions: state.conditions },
    metrics: { cost: mean(costs), costs, distance: mean(distances), distances, meanVelocity: mean(velocities), meanVelocities: velocities },
  };
};
