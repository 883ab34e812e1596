/**
 * Independent physics of a stage on every lane of the run's Compute: batches
 * of rollouts and the linearization of the dynamics along a trajectory
 * (the lanes' side is ./rollout-ops.ts, which says why results do not depend
 * on where a rollout ran).
 */
import type { Compute } from "../parallel/compute.js";
import type { Sampler } from "../random/generator.js";
import { addWarnings } from "../sim/mujoco.js";
import type { TrajectoryDynamics } from "../trajopt/types.js";
import { localCompute } from "./numerics.js";
import {
  bindWorld,
  controllerNormals,
  LINEARIZE_STEPS,
  linearizeChunk,
  rolloutChunk,
  type LinearizeJob,
  type RolloutGroup,
  type RolloutJob,
  type RolloutJobGroup,
  type RolloutResult,
} from "./rollout-ops.js";
import { rolloutSummary } from "./summaries.js";
import type { PolicyState, RunState, StageEnv, World } from "./state.js";

export type { RolloutController, RolloutGroup, RolloutResult } from "./rollout-ops.js";

/** The run's Compute (the calling thread alone when the environment names none). */
export function computeOf(env: StageEnv): Compute {
  return env.compute ?? localCompute();
}

/**
 * Roll out every group (drawing all noise first, in the sequential order)
 * and return the rollouts group by group. The sampler advances exactly as if
 * the rollouts had run one after another on this thread.
 */
export function runRollouts(env: StageEnv, groups: readonly RolloutGroup[], sampler: Sampler | null): RolloutResult[][] {
  const compute = computeOf(env);
  const jobGroups: RolloutJobGroup[] = [];
  const firsts: number[] = [];
  let chunks = 0;
  for (const g of groups) {
    const { nx, nu } = g.world.task;
    const perRollout = g.T * (controllerNormals(g.controller, nu) + (g.motorNoise ? nu : 0));
    if (perRollout > 0 && !sampler) throw new Error("runRollouts: noisy rollouts need a sampler");
    const x0s = new Float64Array(g.count * nx);
    const noise = new Float64Array(g.count * perRollout);
    for (let i = 0; i < g.count; i++) {
      x0s.set(typeof g.start === "function" ? g.start(i) : g.start, i * nx);
      for (let k = 0; k < perRollout; k++) noise[i * perRollout + k] = sampler!.normal();
    }
    firsts.push(chunks);
    chunks += g.count;
    jobGroups.push({ world: bindWorld(compute, g.world), T: g.T, count: g.count, x0s, controller: g.controller, motorNoise: g.motorNoise, noise, perRollout });
  }
  const job: RolloutJob = { groups: jobGroups, firsts };
  const local = compute.lanes === 1 || jobGroups.some((g) => g.world.spec === null);
  const results = local ? Array.from({ length: chunks }, (_, c) => rolloutChunk(job, c, compute.main)) : compute.run<ReturnType<typeof rolloutChunk>>("sim.rollout", job, chunks);
  if (!local) for (const r of results) addWarnings(r.warnings);
  return groups.map((g, k) => results.slice(firsts[k], firsts[k] + g.count));
}

/**
 * The world's dynamics for trajectory optimization, with the linearization
 * (the expensive part: finite differences at every step) spread over the
 * lanes in chunks of steps. Rollouts stay on this thread: a line search's
 * rollouts depend on one another.
 */
export function dynamicsOf(env: StageEnv, world: World): TrajectoryDynamics {
  const compute = computeOf(env);
  if (compute.lanes === 1 || !world.spec) return world.sim;
  const ref = bindWorld(compute, world);
  const sim = world.sim;
  return {
    nx: sim.nx,
    nu: sim.nu,
    rollout: (x0, controller, T, xs, us) => sim.rollout(x0, controller, T, xs, us),
    linearize: (xs, us, T, fx, fu) => {
      const { nx, nu } = sim;
      const job: LinearizeJob = { world: ref, xs: xs.slice(0, (T + 1) * nx), us: us.slice(0, T * nu), T, steps: LINEARIZE_STEPS };
      const parts = compute.run<ReturnType<typeof linearizeChunk>>("sim.linearize", job, Math.ceil(T / LINEARIZE_STEPS));
      parts.forEach((p, c) => {
        fx.set(p.fx, c * LINEARIZE_STEPS * nx * nx);
        fu.set(p.fu, c * LINEARIZE_STEPS * nx * nu);
        addWarnings(p.warnings);
      });
    },
  };
}

/** The policy alone, noise-free, from every condition's x_0 over the horizon: the learning-curve rows. */
export function policyRows(env: StageEnv, state: RunState, policy: PolicyState) {
  const T = env.horizon;
  const groups: RolloutGroup[] = state.conditions.map((c, i) => ({
    world: env.worlds[i],
    T,
    count: 1,
    start: c.x0,
    controller: { kind: "policy", policy, spec: env.experiment.policy, noisy: false },
    motorNoise: null,
  }));
  return runRollouts(env, groups, null).map(([r], i) => rolloutSummary(env.worlds[i].task, T, r.xs, r.us));
}
