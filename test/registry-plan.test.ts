/**
 * Issue 13, items 1, 2 and 9: resolve (defaults recorded), plan (a misordered
 * pipeline refused before a run directory exists, naming the pipeline place),
 * the run state's codec (old checkpoints migrate on read), and `gps diff`
 * down to the state's slots.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { condition, experiment, ilqg, policy, repeat, stage, task, type Experiment } from "../src/dsl/experiment.js";
import { planExperiment } from "../src/dsl/plan.js";
import { resolveExperiment } from "../src/dsl/resolve.js";
import { decodeExperiment, ExperimentValidationError } from "../src/dsl/validate.js";
import { decodeRunState, RunStateError } from "../src/algorithms/run-state.js";
import { stageRegistry, type MetricsOf } from "../src/algorithms/registry.js";
import { canonicalJson, encodeValue, sha256Hex } from "../src/runtime/canonical.js";
import { diffRuns, formatRunDiff } from "../src/runtime/diff.js";
import { experimentIdentity, formatChanges, resumeRun, startRun } from "../src/runtime/session.js";
import { openRun, readStageLog, replaceExperiment } from "../src/runtime/store.js";

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), "gps-registry-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const base = (pipeline: Experiment["pipeline"], extra: Partial<Experiment> = {}): Experiment =>
  experiment({ name: "plan", seed: 1, task: task.swimmer({ horizon: 10 }), conditions: [condition.rest()], pipeline, ...extra });

/** The plan's problems for an experiment (decoded and resolved first), or [] when it plans. */
function planProblems(value: unknown): string[] {
  try {
    planExperiment(resolveExperiment(decodeExperiment(value)));
    return [];
  } catch (e) {
    if (e instanceof ExperimentValidationError) return [...e.problems];
    throw e;
  }
}

describe("resolve", () => {
  it("fills every default, is idempotent, and hashes an experiment like one that spells its defaults out", () => {
    const e = base([...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.fitTheta({ maxIterations: 5 }), stage.evaluate({ noise: false })], { policy: policy.mlp({ hidden: 4 }) });
    const r = resolveExperiment(e);
    expect(r.pipeline[2]).toEqual({ kind: "fitTheta", maxIterations: 5, samples: 10, regularization: 1e-4, sampleNoise: 1, states: "rollouts", objective: "kl" });
    expect(r.pipeline[3]).toEqual({ kind: "evaluate", noise: false, samples: 10, controller: "trajectory" });
    expect(r.policy).toEqual({ kind: "mlp", hidden: 4, initLogStd: 0, ignoreInputs: [], observation: "state" });
    expect(resolveExperiment(r)).toEqual(r);
    const spelled = base([...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.fitTheta({ maxIterations: 5, samples: 10 }), stage.evaluate({ noise: false, controller: "trajectory" })], { policy: policy.mlp({ hidden: 4 }) });
    expect(experimentIdentity(spelled).hash).toBe(experimentIdentity(e).hash);
  });

  it("treats a field set to undefined as left out", () => {
    const e = decodeExperiment(base([stage.evaluate({ noise: false, samples: undefined })]));
    expect(resolveExperiment(e).pipeline[0]).toMatchObject({ samples: 10 });
  });

  it("has one registry entry per stage kind, each with its contract, implementation and metrics type", () => {
    // Compile-time: a kind's metrics are typed by its implementation.
    const fitLoss: MetricsOf<"fitTheta">["fitLoss"] = 1;
    const costs: MetricsOf<"evaluate">["costs"] = [1];
    expect([fitLoss, costs]).toEqual([1, [1]]);
    for (const [kind, entry] of Object.entries(stageRegistry)) {
      expect(typeof entry.run, kind).toBe("function");
      expect(typeof entry.contract.needs, kind).toBe("function");
      expect(entry.codec.name, kind).toBe(kind);
    }
  });
});

describe("plan", () => {
  const misordered: { name: string; value: Experiment; expected: RegExp }[] = [
    {
      name: "evaluate a policy before any stage trains one",
      value: base([...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.evaluate({ noise: false, controller: "policy" })], { policy: policy.mlp({ hidden: 4 }) }),
      expected: /^pipeline\[2\] evaluate \(stage 2\): controller "policy" needs a policy, and no earlier stage provides it/,
    },
    {
      name: "fitTheta inside a repeat before initializeTrajectories",
      value: base([repeat(3, [stage.optimizeQ({ iterations: 1 }), stage.fitTheta({ maxIterations: 2 })]), ...ilqg({ from: { kind: "zero" }, iterations: 1 })], { policy: policy.mlp({ hidden: 4 }) }),
      expected: /^pipeline\[0\]\.body\[1\] fitTheta \(stage 1, iteration 1\/3\): needs every condition's trajectory distribution, and no earlier stage provides it/,
    },
    {
      name: "initializeTrajectories from recorded without a demonstrate stage",
      value: experiment({ name: "w", seed: 1, task: task.walker({ horizon: 10 }), conditions: [condition.rest()], pipeline: [...ilqg({ from: { kind: "recorded" }, iterations: 1 })] }),
      expected: /^pipeline\[0\] initializeTrajectories \(stage 0\): from "recorded" needs a demonstration, and no earlier stage provides it/,
    },
    {
      name: "adaptWr before any isgpsIteration",
      value: base([...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.guidingSamples({ samples: 2 }), stage.pretrainPolicy({ maxIterations: 2 }), stage.adaptWr()], { policy: policy.mlp({ hidden: 4 }) }),
      expected: /^pipeline\[4\] adaptWr \(stage 4\): needs the outcome of an isgpsIteration, and no earlier stage provides it/,
    },
  ];
  for (const { name, value, expected } of misordered) {
    it(`refuses ${name}, naming the pipeline place`, () => {
      const problems = planProblems(value);
      console.log(`${name}:\n  ${problems.join("\n  ")}`);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.find((p) => expected.test(p))).toBeDefined();
      expect(problems.join("\n")).not.toMatch(/\b(needPolicySpec|contractOf|pipelineProblems|walk)\b/);
    });
  }

  it("refuses evaluate controller demonstration after an inline demonstration replaced the recorded one", () => {
    const T = 10;
    const demonstration = { states: Array.from({ length: T + 1 }, () => new Array(18).fill(0)), actions: Array.from({ length: T }, () => new Array(6).fill(0)) };
    const value = experiment({
      name: "w",
      seed: 1,
      task: task.walker({ horizon: T }),
      conditions: [condition.rest()],
      pipeline: [stage.demonstrate({ controller: "simbicon" }), stage.initializeTrajectories({ from: { kind: "demonstration", demonstration } }), stage.evaluate({ noise: false, controller: "demonstration" })],
    });
    const problems = planProblems(value);
    console.log(`inline demonstration:\n  ${problems.join("\n  ")}`);
    expect(problems[0]).toMatch(/^pipeline\[2\] evaluate \(stage 2\): controller "demonstration" needs a demonstration recorded by a demonstration controller, and no earlier stage provides it; pipeline\[1\] initializeTrajectories/);
    // Without the inline one, the recorded demonstration's controller is there to run.
    expect(planProblems({ ...value, pipeline: [value.pipeline[0], stage.evaluate({ noise: false, controller: "demonstration" })] })).toEqual([]);
  });

  it("writes nothing for a misordered pipeline: no run directory", () => {
    const store = join(tmp(), "runs");
    expect(() => startRun(misordered[0].value, { store })).toThrow(ExperimentValidationError);
    expect(existsSync(store) ? readdirSync(store) : []).toEqual([]);
  });

  it("walks a long repeat at most twice (a million stages plan at once)", () => {
    const e = base([...ilqg({ from: { kind: "zero" }, iterations: 999_000 })]);
    const started = performance.now();
    expect(planExperiment(resolveExperiment(e)).totalStages).toBe(999_001);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("never throws anything but a validation error on generated experiments, valid or not (1000 values)", () => {
    const kinds = Object.keys(stageRegistry);
    const number = fc.oneof(fc.integer({ min: -3, max: 40 }), fc.double(), fc.constantFrom(Number.NaN, -1, 0, 0.5, 1e9), fc.string({ maxLength: 3 }));
    const options = fc.dictionary(
      fc.constantFrom("samples", "maxIterations", "iterations", "stepSize", "controller", "from", "noise", "restart", "weight", "horizon", "conditions", "bogus"),
      fc.oneof(number, fc.boolean(), fc.constantFrom("policy", "trajectory", "demonstration", "tbdp", "guidingSamples", "example", "motor"), fc.constant({ kind: "zero" }), fc.constant({ kind: "recorded" }), fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 2 })),
      { maxKeys: 4 },
    );
    const stageValue = fc.record({ kind: fc.constantFrom(...kinds, "nope"), rest: options }).map(({ kind, rest }) => ({ ...rest, kind }));
    const item: fc.Arbitrary<unknown> = fc.oneof(
      { weight: 5, arbitrary: stageValue },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("repeat"), times: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.constant(2.5)), body: fc.array(stageValue, { maxLength: 3 }) }) },
    );
    // Half the values are valid pipelines in a random order (every kind, default options).
    const validStage = fc.constantFrom<unknown>(
      stage.demonstrate({ controller: "hopper-hop" }),
      stage.initializeTrajectories({ from: { kind: "zero" } }),
      stage.initializeTrajectories({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 } }),
      stage.ilqgIteration(),
      stage.optimizeQ({ iterations: 1 }),
      stage.fitTheta({ maxIterations: 2 }),
      stage.updateLambda({ stepSize: 1 }),
      stage.guidingSamples({ samples: 2 }),
      stage.guidingSamples({ samples: 2, from: "demonstration" }),
      stage.pretrainPolicy({ maxIterations: 2 }),
      stage.pretrainPolicy({ maxIterations: 2, from: "example" }),
      stage.isgpsIteration({ maxIterations: 2 }),
      stage.adaptWr(),
      stage.adaptGuiding({ iterations: 1 }),
      stage.policyGradientIteration({ stepSize: 0.1 }),
      stage.daggerIteration({ maxIterations: 2 }),
      stage.evaluate({ noise: false, controller: "policy" }),
      stage.evaluate({ noise: true, controller: "demonstration" }),
      stage.diagnoseTrajectories(),
    );
    // Valid pipelines of each family, then random orders of every kind.
    const validPipelines = fc.constantFrom<unknown[]>(
      [stage.demonstrate({ controller: "hopper-hop" }), ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 2 }), stage.evaluate({ noise: true, controller: "demonstration" })],
      [...ilqg({ from: { kind: "zero" }, iterations: 1 }), repeat(3, [stage.optimizeQ({ iterations: 1 }), stage.fitTheta({ maxIterations: 2 }), stage.updateLambda({ stepSize: 1 })]), stage.evaluate({ noise: false, controller: "policy" })],
      [...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.guidingSamples({ samples: 2 }), stage.pretrainPolicy({ maxIterations: 2 }), repeat(2, [stage.isgpsIteration({ maxIterations: 2 }), stage.adaptWr()]), stage.daggerIteration({ maxIterations: 2 })],
      [...ilqg({ from: { kind: "zero" }, iterations: 1 }), stage.pretrainPolicy({ maxIterations: 2, from: "example" }), stage.policyGradientIteration({ stepSize: 0.1 }), stage.diagnoseTrajectories()],
    );
    const validExperiment = validPipelines.map((pipeline) => ({ name: "ok", seed: 1, task: { kind: "hopper", horizon: 10 }, conditions: [{ kind: "rest" }], policy: { kind: "mlp", hidden: 4 }, pipeline }));
    const anyExperiment = fc.record({
      name: fc.constantFrom("ok", "bad name", ""),
      seed: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(-1)),
      task: fc.constantFrom<unknown>({ kind: "hopper", horizon: 10 }, { kind: "swimmer", horizon: 10 }, { kind: "swimmer", horizon: 10, terrain: { kind: "flat" }, pushes: [{ force: 1, direction: "forward", onset: 0 }] }, { kind: "walker", horizon: 0 }),
      conditions: fc.constantFrom<unknown>([{ kind: "rest" }], [], [{ kind: "state", qpos: [0], qvel: [0] }], [{ kind: "gaitPhase", controller: "hopper-hop", index: 3, of: 2 }]),
      policy: fc.constantFrom<unknown>(undefined, { kind: "mlp", hidden: 4 }, { kind: "mlp", hidden: 4, ignoreInputs: ["nope"] }),
      pipeline: fc.oneof(fc.array(item, { maxLength: 6 }), fc.array(validStage, { minLength: 1, maxLength: 7 })),
    });
    const experimentValue = fc.oneof(validExperiment, anyExperiment);
    let planned = 0;
    let refused = 0;
    fc.assert(
      fc.property(experimentValue, (value) => {
        try {
          planExperiment(resolveExperiment(decodeExperiment(value)));
          planned++;
        } catch (e) {
          if (!(e instanceof ExperimentValidationError)) throw e;
          refused++;
          // Every problem names where: a field path, or a pipeline place.
          for (const p of e.problems) expect(p).toMatch(/^(\(root\)|[A-Za-z]+(\[\d+\])*([.[]|:| \()|pipeline\[\d+\])/);
        }
      }),
      { numRuns: 1000, seed: 13 },
    );
    expect(planned).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  }, 20_000);
});

describe("runs recorded before defaults were recorded", () => {
  it("resume without 'experiment changed', to the digests of an uninterrupted run", async () => {
    const e = experiment({
      name: "old",
      seed: 4,
      task: task.swimmer({ horizon: 10 }),
      conditions: [condition.rest()],
      pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 2 }), stage.evaluate({ noise: true, samples: 2 })],
    });
    const collect = async (started: { events: ReturnType<typeof startRun>["events"] }) => lastValueFrom(started.events.pipe(toArray()));
    const digests = (events: Awaited<ReturnType<typeof collect>>) => events.flatMap((ev) => (ev.type === "stage-finished" ? [ev.digest] : []));
    const full = digests(await collect(startRun(e, { store: tmp() })));
    const first = startRun(e, { store: tmp(), stopAfterStage: 1 });
    await collect(first);
    // What such a run stored: the experiment as written, its hash over that.
    const unresolved = encodeValue(e);
    replaceExperiment(openRun(first.run.dir), unresolved, sha256Hex(canonicalJson(unresolved)));
    const resumed = resumeRun(first.run.dir, { currentExperiment: e });
    const rest = digests(await collect(resumed));
    expect([...full.slice(0, 2), ...rest]).toEqual(full);
  }, 60_000);
});

describe("the run state's codec", () => {
  const x = Float64Array.of(1, 2);
  const condition0 = { x0: x, trajectory: null, tracking: null, settings: null, motorNoise: null, evaluation: null };
  it("migrates the old sentinel demonstrations on read", () => {
    const old = (controller: string) => encodeValue({ rng: [1, 2, 3, 4], conditions: [{ ...condition0, demonstration: { controller, xs: x, us: x } }] });
    expect(decodeRunState(old("inline")).conditions[0].demonstration).toEqual({ source: "inline", xs: x, us: x });
    expect(decodeRunState(old("simbicon")).conditions[0].demonstration).toEqual({ source: "controller", controller: "simbicon", xs: x, us: x });
  });
  it("refuses a malformed state naming the field", () => {
    const bad = encodeValue({ rng: [1, 2, 3, 4], conditions: [{ ...condition0, x0: [1, 2], demonstration: null }] });
    expect(() => decodeRunState(bad)).toThrow(RunStateError);
    expect(() => decodeRunState(bad)).toThrow(/conditions\[0\]\.x0/);
  });
});

describe("gps diff down to the state", () => {
  const collect = async (started: ReturnType<typeof startRun>) => lastValueFrom(started.events.pipe(toArray()));
  const tiny = (maxIterations: number): Experiment =>
    experiment({
      name: "diff",
      seed: 3,
      task: task.swimmer({ horizon: 10 }),
      conditions: [condition.rest()],
      policy: policy.mlp({ hidden: 4 }),
      pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 1 }), stage.fitTheta({ maxIterations, samples: 2 }), stage.updateLambda({ stepSize: 1, samples: 2 }), stage.optimizeQ({ iterations: 1 })],
    });

  it("names the slot that diverged first, with ‖θ_A − θ_B‖, and the λ and trajectories after it", async () => {
    const store = tmp();
    const a = startRun(tiny(3), { store });
    await collect(a);
    const b = startRun(tiny(6), { store });
    await collect(b);
    expect(readStageLog(openRun(a.run.dir)).entries[0].slots?.policy).toMatch(/^[0-9a-f]{16}$/);
    const d = diffRuns(openRun(a.run.dir), openRun(b.run.dir));
    expect(d.experimentChanges.map((c) => c.path)).toEqual(["pipeline[2].maxIterations"]);
    expect(d.firstDivergentStage).toBe(2);
    expect(d.divergence?.slotsDiffer).toEqual(["policy"]);
    expect(d.divergence?.slotsSame).toEqual(expect.arrayContaining(["rng", "trajectory", "lambda"]));
    expect(d.divergence?.magnitudes?.policyDistance).toBeGreaterThan(0);
    expect(d.stages[2].metricDeltas.fitLoss.delta).not.toBe(0);
    expect(d.stages[3].slotsDiffer).toContain("lambda");
    const text = formatRunDiff(d, formatChanges);
    console.log(text);
    expect(text).toMatch(/stage 2 fitTheta: policy \(‖θ_A − θ_B‖ = [^)]+\) differs; rng, policy-gradient|stage 2 fitTheta: policy \(‖θ_A − θ_B‖ = [^)]+\) differs; .*trajectories.*identical/);
    expect(JSON.parse(JSON.stringify(d)).divergence.slotsDiffer).toEqual(["policy"]);

    // A run recorded before slot digests: the whole-state digests find the stage, the checkpoints the slots.
    for (const dir of [a.run.dir, b.run.dir]) {
      const log = join(dir, "stages.jsonl");
      const lines = readFileSync(log, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
      writeFileSync(log, lines.map(({ slots: _slots, ...rest }) => `${JSON.stringify(rest)}\n`).join(""));
    }
    const old = diffRuns(openRun(a.run.dir), openRun(b.run.dir));
    expect(old.stages.every((s) => s.slotsDiffer.length === 0)).toBe(true);
    expect(old.divergence).toMatchObject({ index: 2, slotsFrom: "checkpoints", slotsDiffer: ["policy"] });
    expect(old.divergence?.magnitudes?.policyDistance).toBe(d.divergence?.magnitudes?.policyDistance);
  }, 60_000);
});
