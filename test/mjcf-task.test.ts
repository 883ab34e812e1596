/**
 * Any MuJoCo model as a task (src/dsl/mjcf-task.ts, src/tasks/mjcf.ts): the
 * cart-pole of experiments/models/cartpole.xml, declared as data, runs iLQG
 * through the interpreter with the same digests on any number of workers; its
 * export replays in plain MuJoCo; and every bad declaration is refused before
 * anything is written, naming the field.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { condition, cost, experiment, ilqg, stage, task, type Experiment } from "../src/index.js";
import { preload, Simulator } from "../src/sim/mujoco.js";
import { taskFor, TaskSpecError } from "../src/tasks/index.js";
import { loadExperimentFile, startRun } from "../src/runtime/session.js";
import { withModelFiles } from "../src/runtime/model-files.js";
import { exportRun } from "../src/runtime/export.js";
import { openRun } from "../src/runtime/store.js";
import { gpsSync, REPO } from "./helpers/cli.js";

const XML = readFileSync(join(REPO, "experiments/models/cartpole.xml"), "utf8");
const swingUp = cost.sum(cost.position({ joint: "hinge", target: Math.PI, weight: 1 }), cost.position({ joint: "slider", target: 0, weight: 0.1 }), cost.action({ weight: 1e-2 }));

function cartpole(overrides: Record<string, unknown> = {}, horizon = 60): Experiment {
  return experiment({
    name: "cartpole-test",
    seed: 3,
    task: task.mjcf({ name: "cartpole", xml: XML, horizon, substeps: 2, forward: "slider", cost: swingUp, ...overrides }),
    conditions: [condition.rest()],
    pipeline: [...ilqg({ from: { kind: "random", std: 3 }, iterations: 8 }), stage.evaluate({ noise: false }), stage.evaluate({ noise: true, samples: 4 })],
  });
}

const tmp = (tag: string) => mkdtempSync(join(tmpdir(), `gps-mjcf-${tag}-`));

beforeAll(async () => {
  await preload();
});

describe("a declared MuJoCo model", () => {
  it("is a task: state from its joints, actions from its actuators, the cost compiled from named terms", () => {
    const t = taskFor(cartpole().task);
    expect(t.name).toBe("cartpole");
    expect(t.nx).toBe(4);
    expect(t.nu).toBe(1);
    expect(t.stateNames).toEqual(["qpos.slider", "qpos.hinge", "qvel.slider", "qvel.hinge"]);
    expect(t.actionNames).toEqual(["push"]);
    expect(t.dt).toBeCloseTo(0.02, 12);
    // Hanging at rest: (0 − π)² from the hinge, nothing else.
    expect(t.cost.value(new Float64Array(4), new Float64Array(1), 0)).toBeCloseTo(Math.PI ** 2, 12);
    // Equal declarations share one task; the horizon is not part of it.
    expect(taskFor(cartpole({}, 30).task)).toBe(t);
  });

  it("runs iLQG through the interpreter, the cost falls, and 2 workers give the digests of 1", async () => {
    const digests: string[][] = [];
    for (const workers of [1, 2]) {
      const started = startRun(cartpole(), { store: tmp("run"), workers });
      const events = await lastValueFrom(started.events.pipe(toArray()));
      const finished = events.filter((e) => e.type === "stage-finished");
      digests.push(finished.map((e) => (e.type === "stage-finished" ? e.digest : "")));
      const costs = finished.slice(0, 9).map((e) => (e.type === "stage-finished" ? (e.metrics.cost as number) : NaN));
      expect(costs[8]).toBeLessThan(0.8 * costs[0]);
      const evaluation = finished[9];
      expect(evaluation.type === "stage-finished" && Number.isFinite(evaluation.metrics.cost as number)).toBe(true);
    }
    expect(digests[1]).toEqual(digests[0]);
  });

  it("exports a controller that replays in plain MuJoCo to the run's own nominal", async () => {
    const store = tmp("export");
    const started = startRun(cartpole(), { store });
    await lastValueFrom(started.events);
    const { controller } = exportRun(openRun(started.run.dir), { condition: 0 });
    if (controller.kind !== "linear-gaussian") throw new Error("expected the trajectory distribution");
    const { xbar, ubar } = controller;
    const sim = await Simulator.fromMjcf(XML, { substeps: 2 });
    const T = ubar.length;
    const xs = new Float64Array((T + 1) * 4);
    sim.rollout(Float64Array.from(xbar[0]), (t, _x, _o, u, uo) => (u[uo] = ubar[t][0]), T, xs, new Float64Array(T));
    let err = 0;
    for (let t = 0; t <= T; t++) for (let i = 0; i < 4; i++) err = Math.max(err, Math.abs(xs[t * 4 + i] - xbar[t][i]));
    sim.dispose();
    expect(err).toBeLessThan(1e-9);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a joint that does not exist", { cost: cost.sum(cost.position({ joint: "hinj", target: 1, weight: 1 })) }, /task\.cost\.terms\[0\]\.joint: the model has no joint named "hinj" \(its joints: slider, hinge\)/],
    ["a forward joint that does not exist", { forward: "rootx" }, /task\.forward: the model has no joint named "rootx"/],
    ["a fall joint that does not exist", { fall: { joint: "rootz", below: 0.5 } }, /task\.fall\.joint: the model has no joint named "rootz"/],
    ["an action target of the wrong size", { cost: cost.action({ weight: 1, target: [0, 0] }) }, /task\.cost\.target: the model has 1 actuators, the target 2 entries/],
    ["a model MuJoCo cannot parse", { xml: "<mujoco><worldbody><geom typ='sphere' size='1'/></worldbody></mujoco>", forward: undefined }, /task\.xml: MuJoCo cannot load the model: mjXError/],
    ["a free joint", { xml: "<mujoco><worldbody><body><freejoint/><geom size='0.1'/></body></worldbody><actuator><motor joint='x'/></actuator></mujoco>".replace("<actuator><motor joint='x'/></actuator>", "") }, /task\.xml: .*hinge\/slide joints only/],
    [
      "a model without actuators",
      { xml: "<mujoco><worldbody><body><joint name='a' type='hinge'/><geom size='0.1'/></body></worldbody></mujoco>", cost: cost.action({ weight: 1 }) },
      /task\.xml: the model has no actuators/,
    ],
    [
      "a state that is not finite one step after rest",
      {
        xml: "<mujoco><option timestep='1' gravity='0 0 -1e308'/><worldbody><body><joint name='z' type='slide' axis='0 0 1'/><geom size='0.1' mass='1'/></body></worldbody><actuator><motor joint='z'/></actuator></mujoco>",
        cost: cost.action({ weight: 1 }),
        forward: undefined,
      },
      /task\.xml: the state is not finite one control step after rest/,
    ],
  ];
  it.each(bad)("refuses %s, naming the field", (_what, overrides, message) => {
    const e = cartpole(overrides);
    let thrown: unknown;
    try {
      taskFor(e.task);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TaskSpecError);
    expect((thrown as Error).message).toMatch(message);
  });

  it("reads task.path relative to the experiment file into the value (the hash covers the model)", async () => {
    const dir = tmp("path");
    writeFileSync(join(dir, "model.xml"), XML);
    const { xml: _xml, ...spec } = cartpole().task as { xml: string };
    const e = await withModelFiles({ ...cartpole(), task: { ...(spec as Experiment["task"]), path: "model.xml" } as Experiment["task"] }, dir);
    expect(e.task.kind === "mjcf" && e.task.xml).toBe(XML);
    expect(e.task.kind === "mjcf" && e.task.path).toBeUndefined();
    await expect(withModelFiles({ ...cartpole(), task: { ...(spec as Experiment["task"]), path: "missing.xml" } as Experiment["task"] }, dir)).rejects.toThrow(/task\.path: cannot read the model file .*missing\.xml: ENOENT/);
    await expect(withModelFiles({ ...cartpole(), task: { ...(spec as Experiment["task"]) } as Experiment["task"] }, dir)).rejects.toThrow(/task: a declared model needs its MJCF/);
  });

  it("loads experiments/cartpole-ilqg.ts with its model file read in", async () => {
    const e = await loadExperimentFile(join(REPO, "experiments/cartpole-ilqg.ts"));
    expect(e.task.kind === "mjcf" && e.task.xml).toBe(XML);
  });

  it("gps run with a misspelled joint exits 2 naming the field, and writes nothing", () => {
    const dir = tmp("cli");
    const file = join(dir, "typo.ts");
    const src = readFileSync(join(REPO, "experiments/cartpole-ilqg.ts"), "utf8")
      .replace('"../src/index.js"', JSON.stringify(join(REPO, "src/index.js")))
      .replace('"./models/cartpole.xml"', JSON.stringify(join(REPO, "experiments/models/cartpole.xml")))
      .replace('joint: "slider", target: 0', 'joint: "slidr", target: 0');
    writeFileSync(file, src);
    const store = join(dir, "runs");
    const r = gpsSync(["run", file, "--store", store]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/task\.cost\.terms\[1\]\.joint: the model has no joint named "slidr"/);
    expect(existsSync(store) ? readdirSync(store) : []).toEqual([]);
  });

  it("gps run stores the resolved experiment: gps show --experiment prints the model text and the filled-in defaults", () => {
    const dir = tmp("show");
    const file = join(dir, "small.ts");
    const src = readFileSync(join(REPO, "experiments/cartpole-ilqg.ts"), "utf8")
      .replace('"../src/index.js"', JSON.stringify(join(REPO, "src/index.js")))
      .replace('"./models/cartpole.xml"', JSON.stringify(join(REPO, "experiments/models/cartpole.xml")))
      .replace("  substeps: 2,\n", "")
      .replace("horizon: 200", "horizon: 20")
      .replace("iterations: 150", "iterations: 2");
    writeFileSync(file, src);
    const store = join(dir, "runs");
    const r = gpsSync(["run", file, "--store", store, "--no-report"]);
    expect(r.status, r.stderr).toBe(0);
    const run = r.stdout.split("\n")[0];
    const shown = gpsSync(["show", run, "--experiment"]);
    expect(shown.status).toBe(0);
    const e = JSON.parse(shown.stdout) as { task: { substeps: number; xml: string; path?: string }; pipeline: { kind: string; samples?: number }[] };
    expect(e.task.substeps).toBe(1);
    expect(e.task.xml).toBe(XML);
    expect(e.task.path).toBeUndefined();
    // evaluate's default sample count, filled in though the file leaves it out of the noise-free evaluation.
    expect(e.pipeline.find((s) => s.kind === "evaluate")?.samples).toBeGreaterThan(0);
  });
});
