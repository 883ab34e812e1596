/**
 * The trajectory optimizer's options end to end (docs/trajectory-optimization.md):
 * a short walker run with the contact-margin linearization and fixed-μ gains, one
 * with the fitted linearization (which draws from the run's generator), the
 * diagnoseTrajectories stage, and bit-identical resume of each from the middle.
 */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { condition, experiment, ilqg, stage, task, type Linearization } from "../src/index.js";
import { startRun } from "../src/runtime/session.js";
import { ExperimentValidationError } from "../src/dsl/validate.js";
import { readdirSync } from "node:fs";
import { digestsResumedAfter, finishedOf, stateAt } from "./helpers/runs.js";

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
function store(): string {
  const d = mkdtempSync(join(tmpdir(), "gps-trajopt-"));
  roots.push(d);
  return d;
}

const T = 60;
function walk(name: string, linearization: Linearization | undefined, gainMu: number | undefined) {
  return experiment({
    name,
    seed: 3,
    task: task.walker({ horizon: T }),
    conditions: condition.gaitPhases("simbicon", 2),
    pipeline: [
      stage.demonstrate({ controller: "simbicon" }),
      ...ilqg({
        from: { kind: "recorded" },
        track: { weight: 0.05 },
        motorNoise: { fraction: 0.1 },
        ...(linearization ? { linearization } : {}),
        ...(gainMu !== undefined ? { ilqg: { gainMu } } : {}),
        iterations: 3,
      }),
      stage.diagnoseTrajectories({ demonstrationGains: false, fdEpsilons: [1e-4] }),
      stage.evaluate({ noise: "motor", samples: 3 }),
    ],
  });
}

describe("iLQG linearization and gain options in a run", () => {
  it("margin linearization + fixed-μ gains: records the μ of the gains, diagnoses, and resumes bit-identically", async () => {
    const e = walk("walk-margin", { kind: "finiteDifference", contact: { margin: 0.005 } }, 100);
    const s = store();
    const started = startRun(e, { store: s });
    const finished = await finishedOf(started.events);
    expect(finished.map((f) => f.kind)).toEqual(["demonstrate", "initializeTrajectories", "ilqgIteration", "ilqgIteration", "ilqgIteration", "diagnoseTrajectories", "evaluate"]);
    const iterations = finished.filter((f) => f.kind === "ilqgIteration");
    // gainMu is reported per condition: 100 after an accepted step, NaN when the step was rejected.
    for (const it of iterations) {
      const accepted = it.metrics.accepted as number[];
      (it.metrics.gainMu as number[]).forEach((mu, i) => (accepted[i] ? expect(mu).toBe(100) : expect(mu).toBeNaN()));
    }
    const diag = finished[5].metrics;
    expect((diag.mu as number[]).length).toBe(2);
    expect((diag.gainNormByStep as number[]).length).toBe(2 * T);
    expect((diag.contactsByStep as number[]).length).toBe(2 * (T + 1));
    expect((diag.contactsByStep as number[]).some((c) => c > 0)).toBe(true); // the walker stands on something
    expect((diag.fdDifference as number[]).length).toBe(2);
    // The stage only reads: its checkpoint's state is the one before it.
    expect(finished[5].digest).toBe(finished[4].digest);
    // The condition keeps its linearization option (a resumed iteration needs it).
    expect(stateAt(started.run, 4).conditions[0].linearization).toEqual({ kind: "finiteDifference", contact: { margin: 0.005 } });
    for (const stopAfter of [2, 4]) expect(await digestsResumedAfter(e, store(), stopAfter)).toEqual(finished.map((f) => f.digest));
  }, 120_000);

  it("fitted linearization: draws from the run's generator and resumes bit-identically", async () => {
    const e = walk("walk-fitted", { kind: "fitted", rollouts: 9, window: 2 }, 100);
    const s = store();
    const started = startRun(e, { store: s });
    const finished = await finishedOf(started.events);
    // The first iteration linearizes by finite differences (no gains yet): the generator is untouched;
    // later ones sample rollouts: it moves.
    expect(stateAt(started.run, 2).rng).toEqual(stateAt(started.run, 1).rng);
    expect(stateAt(started.run, 3).rng).not.toEqual(stateAt(started.run, 2).rng);
    for (const stopAfter of [3]) expect(await digestsResumedAfter(e, store(), stopAfter)).toEqual(finished.map((f) => f.digest));
  }, 120_000);

  it("without the options, the run is the same as before them (no gainMu metric, rng unchanged by iLQG)", async () => {
    const e = walk("walk-plain", undefined, undefined);
    const started = startRun(e, { store: store() });
    const finished = await finishedOf(started.events);
    for (const it of finished.filter((f) => f.kind === "ilqgIteration")) expect(it.metrics.gainMu).toBeUndefined();
    expect(stateAt(started.run, 4).rng).toEqual(stateAt(started.run, 1).rng);
    expect(stateAt(started.run, 4).conditions[0].linearization).toBeUndefined();
  }, 120_000);

  it("refuses a fitted linearization before optimizeQ at plan time, writing nothing", () => {
    const base = walk("walk-fitted-cgps", { kind: "fitted", rollouts: 9 }, undefined);
    const e = { ...base, policy: { kind: "mlp" as const, hidden: 5 }, pipeline: [...base.pipeline, stage.optimizeQ({ iterations: 1 })] };
    const s = store();
    expect(() => startRun(e, { store: s })).toThrow(ExperimentValidationError);
    expect(() => startRun(e, { store: s })).toThrow(/linearization\.kind: "fitted" is for the iLQG stages/);
    expect(readdirSync(s)).toEqual([]);
  });

  it("diagnoses a task without contacts or demonstration (the swimmer): NaN where a quantity does not exist, no throw", async () => {
    const e = experiment({
      name: "swim-diagnose",
      seed: 1,
      task: task.swimmer({ horizon: 20 }),
      conditions: [condition.rest()],
      pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 3, ilqg: { gainMu: 1 } }), stage.diagnoseTrajectories({ fdEpsilons: [1e-4] })],
    });
    const finished = await finishedOf(startRun(e, { store: store() }).events);
    const m = finished[finished.length - 1].metrics;
    expect(m.contactChanges).toEqual([0]);
    expect((m.jumpAtContact as number[])[0]).toBeNaN();
    expect((m.demonstrationGainNorm as number[])[0]).toBeNaN();
    expect((m.gainNorm as number[])[0]).toBeGreaterThan(0);
    expect((m.outsideRange as number[])[0]).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
