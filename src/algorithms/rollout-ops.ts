/**
 * The physics ops of a run's lanes (src/algorithms/rollouts.ts has the stage
 * side). Independent physics on every lane of a run's Compute: batches of rollouts
 * (samples of a controller from given start states) and the linearization of
 * the dynamics along a trajectory.
 *
 * Determinism. A rollout's noise is drawn on the main thread from the run's
 * Sampler before any rollout runs, in exactly the order the sequential code
 * drew it (group by group, rollout by rollout, step by step: the
 * controller's normals, then the motor noise's), and handed to the rollout
 * as a replay (ReplayedNormals). A lane builds its own simulator of the same
 * MJCF, and every rollout and linearization starts from mj_resetData, so a
 * rollout's result is the same bits on any lane, and the Sampler ends where
 * the sequential code left it.
 *
 * Controllers travel as data (RolloutController), and a lane builds the
 * closure: a linear-Gaussian controller, the policy network, or a
 * demonstration controller, each with optional Gaussian action noise.
 */
import { demoController } from "../demos/index.js";
import type { DemoController, PolicySpec, TaskSpec } from "../dsl/experiment.js";
import type { Compute, LaneContext } from "../parallel/compute.js";
import { policyController } from "../policy/controller.js";
import { ReplayedNormals, type NormalSource } from "../random/generator.js";
import { loadedMujoco, mujocoWarnings, Simulator, warningsSince } from "../sim/mujoco.js";
import { taskFor } from "../tasks/index.js";
import type { Task } from "../tasks/types.js";
import { linearGaussianController } from "../trajopt/linear-gaussian.js";
import type { Controller, LinearGaussianController } from "../trajopt/types.js";
import { observerFor } from "./observation.js";
import { mlpOf, type PolicyState, type World } from "./state.js";

/** A controller as data, rebuilt on whichever lane runs the rollout. */
export type RolloutController =
  /** q(u|x) = N(ū + k + K(x − x̄), noiseScale²·cov) (noise-free: the mean). */
  | { readonly kind: "linearGaussian"; readonly controller: LinearGaussianController; readonly noisy: boolean; readonly noiseScale?: number }
  /** The policy network's mean, plus its own Gaussian noise when noisy. */
  | { readonly kind: "policy"; readonly policy: PolicyState; readonly spec: PolicySpec | undefined; readonly noisy: boolean }
  /** A demonstration controller (fresh per rollout), plus N(0, diag std²) on its action when std is given. */
  | { readonly kind: "demonstration"; readonly name: DemoController; readonly std: Float64Array | null };

/** Rollouts of one controller in one world. */
export interface RolloutGroup {
  readonly world: World;
  readonly T: number;
  readonly count: number;
  /** The start state of every rollout, or a function giving rollout i's (it may draw from the sampler: called in order). */
  readonly start: Float64Array | ((i: number) => Float64Array);
  readonly controller: RolloutController;
  /** Per-action std of motor noise added after the controller (null: none). */
  readonly motorNoise: Float64Array | null;
}

/** One rollout: states (T+1)·nx, the executed (clamped) actions T·nu, the actions as the controller drew them, and r_t = −ℓ(x_t, u_t). */
export interface RolloutResult {
  readonly xs: Float64Array;
  readonly us: Float64Array;
  readonly drawn: Float64Array;
  readonly rewards: Float64Array;
}

/** Normals a controller draws per step. */
export function controllerNormals(c: RolloutController, nu: number): number {
  if (c.kind === "demonstration") return c.std ? nu : 0;
  return c.noisy ? nu : 0;
}

// ---------------------------------------------------------------------------
// Lanes: worlds and controllers

interface LaneWorld {
  readonly task: Task;
  readonly sim: Simulator;
}

/** What a lane needs to know of a world: its key, and the spec to build it from. */
export interface WorldRef {
  readonly key: string;
  readonly spec: TaskSpec | null;
}

const simKeys = new WeakMap<Simulator, string>();
let worldCount = 0;

/** The key of a world: one per simulator (conditions on the same ground share one), unique in this process. */
function keyOf(world: World): string {
  let k = simKeys.get(world.sim);
  if (!k) {
    k = `world-${worldCount++}`;
    simKeys.set(world.sim, k);
  }
  return k;
}

/** A lane's world: from its cache, or built once from the spec. */
export function laneWorld(ctx: LaneContext, ref: WorldRef): LaneWorld {
  const cached = ctx.cache.get(ref.key) as LaneWorld | undefined;
  if (cached) return cached;
  if (!ref.spec) throw new Error(`rollouts: lane ${ctx.lane} has no world ${ref.key} and no spec to build it from`);
  const task = taskFor(ref.spec);
  const sim = Simulator.fromMjcfWith(loadedMujoco(), task.mjcf, { substeps: task.substeps, perturbations: task.perturbations });
  const w = { task, sim };
  ctx.cache.set(ref.key, w);
  return w;
}

/** Forget worlds a finished run bound (their simulators are disposed). */
export function unbindWorlds(compute: Compute, worlds: readonly World[]): void {
  for (const w of worlds) compute.main.cache.delete(keyOf(w));
}

/** Make the main thread's lane use the run's own worlds (no second simulator of the same model). */
export function bindWorld(compute: Compute, world: World): WorldRef {
  const key = keyOf(world);
  if (!compute.main.cache.has(key)) compute.main.cache.set(key, { task: world.task, sim: world.sim } satisfies LaneWorld);
  return { key, spec: world.spec ?? null };
}

function controllerOf(spec: RolloutController, task: Task, noise: NormalSource): Controller {
  switch (spec.kind) {
    case "linearGaussian":
      return linearGaussianController(spec.controller, { noise: spec.noisy, sampler: noise, noiseScale: spec.noiseScale });
    case "policy": {
      return policyController(mlpOf(spec.policy), spec.policy.theta, { noise: spec.noisy, sampler: noise, observe: observerFor(spec.spec, task) });
    }
    case "demonstration": {
      const ctrl = demoController(spec.name, task);
      const std = spec.std;
      if (!std) return ctrl;
      return (t, x, xOff, u, uOff) => {
        ctrl(t, x, xOff, u, uOff);
        for (let j = 0; j < std.length; j++) u[uOff + j] += std[j] * noise.normal();
      };
    }
  }
}

// ---------------------------------------------------------------------------
// The ops

export interface RolloutJobGroup {
  readonly world: WorldRef;
  readonly T: number;
  readonly count: number;
  readonly x0s: Float64Array;
  readonly controller: RolloutController;
  readonly motorNoise: Float64Array | null;
  /** count × T × (controller normals + motor normals), rollout-major. */
  readonly noise: Float64Array;
  readonly perRollout: number;
}

export interface RolloutJob {
  readonly groups: readonly RolloutJobGroup[];
  /** First chunk of each group. */
  readonly firsts: readonly number[];
}

/** One rollout (chunk c of the job). */
export function rolloutChunk(job: RolloutJob, c: number, ctx: LaneContext): RolloutResult & { warnings: [string, number][] } {
  let g = job.groups.length - 1;
  while (job.firsts[g] > c) g--;
  const group = job.groups[g];
  const i = c - job.firsts[g];
  const { task, sim } = laneWorld(ctx, group.world);
  const { nx, nu } = task;
  const T = group.T;
  const before = new Map(mujocoWarnings());
  const noise = new ReplayedNormals(group.noise, i * group.perRollout, (i + 1) * group.perRollout);
  const act = controllerOf(group.controller, task, noise);
  const motor = group.motorNoise;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const drawn = new Float64Array(T * nu);
  const controller: Controller = (t, x, xOff, u, uOff) => {
    act(t, x, xOff, u, uOff);
    for (let j = 0; j < nu; j++) drawn[t * nu + j] = u[uOff + j];
    if (motor) for (let j = 0; j < nu; j++) u[uOff + j] += motor[j] * noise.normal();
  };
  sim.rollout(group.x0s.subarray(i * nx, (i + 1) * nx), controller, T, xs, us);
  const rewards = new Float64Array(T);
  for (let t = 0; t < T; t++) rewards[t] = -task.cost.value(xs, us, t, t * nx, t * nu);
  // The main thread's own warnings are already counted where they happened.
  return { xs, us, drawn, rewards, warnings: ctx.lane === 0 ? [] : warningsSince(before) };
}

export interface LinearizeJob {
  readonly world: WorldRef;
  readonly xs: Float64Array;
  readonly us: Float64Array;
  readonly T: number;
  readonly steps: number;
}

/** Steps per linearization chunk (each step is independent: any cut gives the same bits). */
export const LINEARIZE_STEPS = 10;

export function linearizeChunk(job: LinearizeJob, c: number, ctx: LaneContext): { fx: Float64Array; fu: Float64Array; warnings: [string, number][] } {
  const { sim } = laneWorld(ctx, job.world);
  const { nx, nu } = sim;
  const t0 = c * job.steps;
  const t1 = Math.min(job.T, t0 + job.steps);
  const before = new Map(mujocoWarnings());
  const fx = new Float64Array((t1 - t0) * nx * nx);
  const fu = new Float64Array((t1 - t0) * nx * nu);
  for (let t = t0; t < t1; t++) sim.linearizeAt(job.xs, job.us, fx, fu, t * nx, t * nu, (t - t0) * nx * nx, (t - t0) * nx * nu, t);
  return { fx, fu, warnings: ctx.lane === 0 ? [] : warningsSince(before) };
}

export const physicsOps = {
  "sim.rollout": rolloutChunk,
  "sim.linearize": linearizeChunk,
} as const;

