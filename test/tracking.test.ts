import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask as task } from "../src/tasks/swimmer.js";
import { initialRunState, type RunState, type StageEnv } from "../src/algorithms/state.js";
import { startStage } from "../src/algorithms/registry.js";
import { resolveExperiment, resolveStage } from "../src/dsl/resolve.js";
import type { Experiment, StageSpec } from "../src/dsl/experiment.js";
import { trajectoryCost } from "../src/tasks/cost.js";

function runStage(env: StageEnv, spec: StageSpec, state: RunState) {
  const gen = startStage(env, resolveStage(spec), state);
  let step = gen.next();
  while (!step.done) step = gen.next();
  return step.value;
}

describe("initializing from a demonstration with the tracking term", () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
  });
  afterAll(() => sim.dispose());

  it("tracks a demonstrated gait and keeps the objective = task cost + 0.05·squared deviation", () => {
    const T = 40;
    const experiment: Experiment = { name: "t", seed: 2, task: { kind: "swimmer", horizon: T }, conditions: [{ kind: "rest" }], pipeline: [] };
    const env: StageEnv = { experiment: resolveExperiment(experiment), horizon: T, worlds: [{ task, sim }] };
    // A demonstration: the gait iLQG finds from random torques.
    let state = initialRunState(experiment, [{ task, sim }]);
    state = runStage(env, { kind: "initializeTrajectories", method: "ilqg", from: { kind: "random", std: 1 } }, state).state;
    for (let i = 0; i < 8; i++) state = runStage(env, { kind: "ilqgIteration" }, state).state;
    const demo = state.conditions[0].trajectory!;
    const states = Array.from({ length: T + 1 }, (_, t) => Array.from(demo.xbar.subarray(t * task.nx, (t + 1) * task.nx)));
    const actions = Array.from({ length: T }, (_, t) => Array.from(demo.ubar.subarray(t * task.nu, (t + 1) * task.nu)));

    const demonstration = { states, actions };

    // Replaying the demonstration from its own start: nothing to track, objective = task cost.
    const same = runStage(env, { kind: "initializeTrajectories", method: "ilqg", from: { kind: "demonstration", demonstration }, track: { weight: 0.05 } }, initialRunState(experiment, [{ task, sim }]));
    expect(same.metrics.objective).toBe(same.metrics.cost);

    // From a perturbed start the open-loop replay drifts; iLQG on cost + tracking pulls it back.
    const perturbed: Experiment = { ...experiment, conditions: [{ kind: "state", qpos: [0, 0, 0.3, 0.4, -0.3], qvel: [0, 0, 0, 0, 0] }] };
    let tracked = initialRunState(perturbed, [{ task, sim }]);
    const init = runStage({ ...env, experiment: resolveExperiment(perturbed) }, { kind: "initializeTrajectories", method: "ilqg", from: { kind: "demonstration", demonstration }, track: { weight: 0.05 } }, tracked);
    tracked = init.state;
    const deviation = (xs: Float64Array, us: Float64Array) => {
      let d = 0;
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < task.nx; i++) d += (xs[t * task.nx + i] - demo.xbar[t * task.nx + i]) ** 2;
        for (let i = 0; i < task.nu; i++) d += (us[t * task.nu + i] - demo.ubar[t * task.nu + i]) ** 2;
      }
      return d;
    };
    const tr0 = tracked.conditions[0].trajectory!;
    const dev0 = deviation(tr0.xbar, tr0.ubar);
    expect(dev0).toBeGreaterThan(0);
    // The objective is exactly task cost + 0.05 · squared deviation.
    expect(tr0.cost).toBeCloseTo(trajectoryCost(task.cost, tr0.xbar, tr0.ubar, T) + 0.05 * dev0, 8);
    for (let i = 0; i < 6; i++) tracked = runStage({ ...env, experiment: resolveExperiment(perturbed) }, { kind: "ilqgIteration" }, tracked).state;
    const tr = tracked.conditions[0].trajectory!;
    expect(tr.cost).toBeLessThan(tr0.cost);
    expect(tr.cost).toBeCloseTo(trajectoryCost(task.cost, tr.xbar, tr.ubar, T) + 0.05 * deviation(tr.xbar, tr.ubar), 8);
  });

  it("rejects tracking without a demonstration, and a demonstration of the wrong shape", () => {
    const T = 10;
    const experiment: Experiment = { name: "t", seed: 2, task: { kind: "swimmer", horizon: T }, conditions: [{ kind: "rest" }], pipeline: [] };
    const env: StageEnv = { experiment: resolveExperiment(experiment), horizon: T, worlds: [{ task, sim }] };
    const s0 = initialRunState(experiment, [{ task, sim }]);
    expect(() => runStage(env, { kind: "initializeTrajectories", method: "ilqg", from: { kind: "zero" }, track: { weight: 0.05 } }, s0)).toThrow(/track needs/);
    const short = { states: [[0]], actions: [[0, 0]] };
    expect(() => runStage(env, { kind: "initializeTrajectories", method: "ilqg", from: { kind: "demonstration", demonstration: short } }, s0)).toThrow(/horizon 10 needs/);
  });
});
