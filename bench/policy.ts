/**
 * The bench's policy and whole-iteration measurements (bench/README.md,
 * sections 5–7):
 *
 *   kernels     the batched kernels against the per-row reference, in the same
 *               run, on one thread: the fit of constrained GPS (10,000 rows),
 *               Φ(θ) of importance-sampled GPS (100 samples × 500 steps) and
 *               the maximum-likelihood objective, 50 hidden units, the
 *               walker's sizes (nx 18, nu 6); and the memory over 1000
 *               evaluations of a kernel
 *   iterations  one walker iteration of constrained GPS (walker-cgps-50) and of
 *               importance-sampled GPS (walker-isgps-demo-fixed-std), run
 *               through the interpreter on 1 and on 2 lanes from the same
 *               checkpoint, against the same iteration's physics
 *               (every rollout and linearization it made, replayed alone with
 *               the recorded actions)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { lastValueFrom, tap, toArray } from "rxjs";
import { localCompute } from "../src/algorithms/numerics.js";
import { isObjective, isObjectiveBatched, maxLikelihoodObjective, maxLikelihoodObjectiveBatched, type IsSampleSet } from "../src/algorithms/isgps-objective.js";
import type { Experiment } from "../src/dsl/experiment.js";
import { batchedFitLoss } from "../src/policy/kernels/batched.js";
import { createPolicy, createWorkspace, initParameters, mlpShape, weightedFitLoss } from "../src/policy/mlp.js";
import { Sampler } from "../src/random/generator.js";
import type { RunEvent } from "../src/runtime/interpreter.js";
import { resumeRun, startRun, type StartedRun } from "../src/runtime/session.js";
import { Simulator, type SimulatorOptions } from "../src/sim/mujoco.js";
import type { Controller } from "../src/trajopt/types.js";
import walkerCgps from "../experiments/walker-cgps-50.js";
import walkerIsgps from "../experiments/walker-isgps-demo-fixed-std.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const now = (): number => performance.now();
const MiB = 1024 * 1024;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Median times of two functions run alternately (so load elsewhere hits both alike), after a warm-up of each. */
function paired(a: () => void, b: () => void, reps: number): { a: number; b: number; ratio: number } {
  a();
  b();
  const ta: number[] = [];
  const tb: number[] = [];
  const ratios: number[] = [];
  for (let k = 0; k < reps; k++) {
    let t0 = now();
    a();
    const x = now() - t0;
    t0 = now();
    b();
    const y = now() - t0;
    ta.push(x);
    tb.push(y);
    ratios.push(x / y);
  }
  return { a: median(ta), b: median(tb), ratio: median(ratios) };
}

// ---------------------------------------------------------------------------
// Kernels

export interface KernelResult {
  readonly policyKernels: { rows: number; hidden: number; referenceMs: number; batchedMs: number; speedupOverReference: number };
  readonly phi: { samples: number; T: number; hidden: number; referenceMs: number; batchedMs: number; rowsPerSecond: number; referenceRowsPerSecond: number; speedupOverReference: number; valueOnlyMs: number };
  readonly maxLikelihood: { rows: number; referenceMs: number; batchedMs: number; speedupOverReference: number };
  readonly memory: { evaluations: number; rssMiB: number[]; heapUsedMiB: number[]; kernelMemoryMiB: number[]; rssGrowthMiB: number };
}

export function measureKernels(sampler: Sampler): KernelResult {
  const nx = 18;
  const nu = 6;
  const H = 50;
  const shape = mlpShape(nx, H, nu);
  const policy = createPolicy(shape);
  const theta = initParameters(shape, sampler, { initLogStd: Math.log(10) });
  const grad = new Float64Array(theta.length);
  const compute = localCompute();

  // The fit of constrained GPS: 10,000 rows (10 conditions × 10 samples × 100 steps).
  const N = 10_000;
  const X = new Float64Array(N * nx);
  sampler.fillNormal(X);
  const targets = new Float64Array(N * nu);
  sampler.fillNormal(targets);
  const precisions = new Float64Array(N * nu * nu);
  for (let r = 0; r < N; r++) for (let a = 0; a < nu; a++) for (let b = 0; b < nu; b++) precisions[r * nu * nu + a * nu + b] = a === b ? 1 + sampler.uniform() : 0.05;
  const weights = new Float64Array(N);
  for (let r = 0; r < N; r++) weights[r] = sampler.uniform();
  const ws = createWorkspace(policy, 256);
  const fit = batchedFitLoss(compute, policy, X, targets, precisions, weights);
  const f = paired(
    () => void weightedFitLoss(policy, theta, X, targets, precisions, weights, grad, ws),
    () => void fit.evaluate(theta, grad),
    7,
  );

  // Φ(θ): 100 samples × 500 steps, logQ as peaked as a real run's.
  const m = 100;
  const T = 500;
  const xs = new Float64Array(m * (T + 1) * nx);
  sampler.fillNormal(xs);
  const us = new Float64Array(m * T * nu);
  for (let k = 0; k < us.length; k++) us[k] = 10 * sampler.normal();
  const rewards = new Float64Array(m * T);
  const logQ = new Float64Array(m * T);
  for (let i = 0; i < m; i++) {
    let cum = 0;
    for (let t = 0; t < T; t++) {
      rewards[i * T + t] = -1 - sampler.uniform();
      cum += -20 + sampler.normal();
      logQ[i * T + t] = cum;
    }
  }
  const set: IsSampleSet = { T, nx, nu, count: m, xs, us, rewards, logQ };
  const ref = isObjective(policy, set, { wr: 1e-2 });
  const bat = isObjectiveBatched(compute, policy, set, { wr: 1e-2 });
  const p = paired(
    () => void ref.objective(theta, grad),
    () => void bat.objective(theta, grad),
    5,
  );
  const valueTimes: number[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = now();
    bat.value(theta.map((v, i) => (i === 0 ? v + k * 1e-9 : v))); // a new θ each time (no cached value)
    valueTimes.push(now() - t0);
  }

  // Maximum likelihood over all 100 samples.
  const all = Array.from({ length: m }, (_, i) => i);
  const mlRef = maxLikelihoodObjective(policy, set, all, { learnStd: true });
  const mlBat = maxLikelihoodObjectiveBatched(compute, policy, set, all, { learnStd: true });
  const ml = paired(
    () => void mlRef(theta, grad),
    () => void mlBat.objective(theta, grad),
    5,
  );
  mlBat.release();
  bat.release();

  // Memory over 1000 evaluations of the fit kernel.
  const rssMiB: number[] = [];
  const heapUsedMiB: number[] = [];
  const kernelMemoryMiB: number[] = [];
  const snap = (): void => {
    gc();
    const mu = process.memoryUsage();
    rssMiB.push(mu.rss / MiB);
    heapUsedMiB.push(mu.heapUsed / MiB);
    kernelMemoryMiB.push(compute.arena.memory.buffer.byteLength / MiB);
  };
  snap();
  for (let k = 1; k <= 1000; k++) {
    fit.evaluate(theta, grad);
    if (k % 250 === 0) snap();
  }
  fit.release();
  return {
    policyKernels: { rows: N, hidden: H, referenceMs: f.a, batchedMs: f.b, speedupOverReference: f.ratio },
    phi: {
      samples: m,
      T,
      hidden: H,
      referenceMs: p.a,
      batchedMs: p.b,
      rowsPerSecond: (m * T) / (p.b / 1000),
      referenceRowsPerSecond: (m * T) / (p.a / 1000),
      speedupOverReference: p.ratio,
      valueOnlyMs: median(valueTimes),
    },
    maxLikelihood: { rows: m * T, referenceMs: ml.a, batchedMs: ml.b, speedupOverReference: ml.ratio },
    memory: { evaluations: 1000, rssMiB, heapUsedMiB, kernelMemoryMiB, rssGrowthMiB: rssMiB[rssMiB.length - 1] - rssMiB[0] },
  };
}

// ---------------------------------------------------------------------------
// Physics of an iteration, recorded and replayed alone

interface RecordedRollout {
  readonly sim: Simulator;
  readonly x0: Float64Array;
  readonly us: Float64Array;
  readonly T: number;
}
interface RecordedLinearization {
  readonly sim: Simulator;
  readonly x: Float64Array;
  readonly u: Float64Array;
  readonly t: number | undefined;
}

const built = new WeakMap<Simulator, { mjcf: string; options: SimulatorOptions }>();
let recording = false;
/** Milliseconds spent inside the recorded rollouts and linearizations, where they ran. */
let inSituMs = 0;
const rollouts: RecordedRollout[] = [];
const linearizations: RecordedLinearization[] = [];

/** Record every simulator's model, and (while `recording`) every rollout and linearization on this thread. */
function instrumentSimulator(): void {
  const fromMjcfWith = Simulator.fromMjcfWith;
  Simulator.fromMjcfWith = (mj, mjcf, options) => {
    const sim = fromMjcfWith(mj, mjcf, options);
    built.set(sim, { mjcf, options });
    return sim;
  };
  const rollout = Simulator.prototype.rollout;
  Simulator.prototype.rollout = function (this: Simulator, x0, controller, T, xs, us) {
    const t0 = now();
    rollout.call(this, x0, controller, T, xs, us);
    if (recording) inSituMs += now() - t0;
    if (recording) rollouts.push({ sim: this, x0: Float64Array.from(x0.subarray(0, this.nx)), us: us.slice(0, T * this.nu), T });
  };
  const linearizeAt = Simulator.prototype.linearizeAt;
  Simulator.prototype.linearizeAt = function (this: Simulator, x, u, fx, fu, xOff = 0, uOff = 0, fxOff = 0, fuOff = 0, t?: number) {
    const t0 = now();
    linearizeAt.call(this, x, u, fx, fu, xOff, uOff, fxOff, fuOff, t);
    if (recording) inSituMs += now() - t0;
    if (recording) linearizations.push({ sim: this, x: x.slice(xOff, xOff + this.nx), u: u.slice(uOff, uOff + this.nu), t });
  };
}

/** The recorded physics replayed alone (open loop, recorded actions) on fresh simulators of the same models: ms. */
async function replayPhysics(): Promise<{ ms: number; rollouts: number; steps: number; linearizations: number }> {
  const fresh = new Map<Simulator, Simulator>();
  const twin = async (s: Simulator): Promise<Simulator> => {
    let t = fresh.get(s);
    if (!t) {
      const b = built.get(s);
      if (!b) throw new Error("bench: a simulator the instrumentation did not see being built");
      t = await Simulator.fromMjcf(b.mjcf, b.options);
      fresh.set(s, t);
    }
    return t;
  };
  for (const r of rollouts) await twin(r.sim);
  for (const l of linearizations) await twin(l.sim);
  const run = (): number => {
    const t0 = now();
    let steps = 0;
    for (const r of rollouts) {
      const sim = fresh.get(r.sim)!;
      const xs = new Float64Array((r.T + 1) * sim.nx);
      const us = new Float64Array(r.T * sim.nu);
      const replay: Controller = (t, _x, _o, u, uo) => {
        for (let j = 0; j < sim.nu; j++) u[uo + j] = r.us[t * sim.nu + j];
      };
      sim.rollout(r.x0, replay, r.T, xs, us);
      steps += r.T;
    }
    for (const l of linearizations) {
      const sim = fresh.get(l.sim)!;
      sim.linearizeAt(l.x, l.u, new Float64Array(sim.nx * sim.nx), new Float64Array(sim.nx * sim.nu), 0, 0, 0, 0, l.t);
    }
    return now() - t0;
  };
  run(); // warm-up
  const ms = median([run(), run(), run(), run(), run()]);
  const steps = rollouts.reduce((s, r) => s + r.T, 0);
  for (const s of fresh.values()) s.dispose();
  return { ms, rollouts: rollouts.length, steps, linearizations: linearizations.length };
}

// ---------------------------------------------------------------------------
// Iterations

type Finished = Extract<RunEvent, { type: "stage-finished" }>;

/** Timed repetitions of an iteration on each lane count. */
const REPEATS = 3;
async function finished(s: StartedRun): Promise<Finished[]> {
  return (await lastValueFrom(s.events.pipe(toArray()))).filter((e): e is Finished => e.type === "stage-finished");
}

export interface IterationResult {
  readonly experiment: string;
  /** Stages timed (one iteration), by kind. */
  readonly stages: readonly { index: number; kind: string; ms1: number; ms2: number }[];
  /** Σ stage durations on 1 lane (compute, without writing checkpoints), and the wall time with them. */
  readonly iterationMs: number;
  readonly wallMs: number;
  readonly iterationMs2: number;
  readonly wallMs2: number;
  /** The iteration's rollouts and linearizations, timed where they ran (median of three recorded 1-lane runs). */
  readonly physicsMs: number;
  /** The same physics replayed alone, open loop, on fresh simulators (warm caches: a lower bound). */
  readonly replayedPhysicsMs: number;
  readonly iterationOverPhysics: number;
  readonly iterationOverReplayedPhysics: number;
  readonly speedup2: number;
  readonly identical: boolean;
  readonly physics: { rollouts: number; steps: number; linearizations: number };
}

/**
 * Run `experiment` on 1 lane up to stage `before`, then time stages
 * before+1 … before+count (one iteration) from that checkpoint on 1 lane
 * (recording its physics) and again on 2 lanes.
 */
async function measureIteration(experiment: Experiment, before: number, count: number, progress: (m: string) => void): Promise<IterationResult> {
  const store = mkdtempSync(join(tmpdir(), "gps-bench-"));
  try {
    progress(`${experiment.name}: stages 0…${before} (setting up the state)`);
    const setup = startRun(experiment, { store, workers: 1, stopAfterStage: before });
    await finished(setup);
    // Each timed run does two iterations from the checkpoint and keeps the second: by then
    // a new pool's worker has built its simulators and V8 has compiled its code, as in a
    // run of many iterations.
    const first = before + count + 1;
    const timed = async (workers: number, record: boolean) => {
      recording = false;
      rollouts.length = 0;
      linearizations.length = 0;
      inSituMs = 0;
      const started = resumeRun(setup.run.dir, { fromStage: before + 1, stopAfterStage: before + 2 * count, workers });
      const t0 = now();
      let wallFrom = t0;
      const events = await lastValueFrom(
        started.events.pipe(
          tap((e) => {
            // Record the second iteration only (the flag is read inside the simulators' methods).
            if (e.type === "stage-started" && e.index === first) {
              recording = record;
              wallFrom = now();
            }
          }),
          toArray(),
        ),
      );
      const wall = now() - wallFrom;
      recording = false;
      const f = events.filter((e): e is Finished => e.type === "stage-finished");
      return { f: f.filter((e) => e.index >= first), all: f, wall };
    };
    progress(`${experiment.name}: iterations ${before + 1}…${before + 2 * count}, recording the second one's physics`);
    // The physics is timed where it runs, in each of three recorded 1-lane runs (median), and replayed alone.
    const inSitu: number[] = [];
    for (let k = 0; k < REPEATS; k++) {
      await timed(1, true);
      inSitu.push(inSituMs);
    }
    progress(`${experiment.name}: the iteration's physics replayed alone`);
    const physics = await replayPhysics();
    // 1 and 2 lanes alternately, REPEATS times each: medians, and the median of the paired ratios.
    const ones: Awaited<ReturnType<typeof timed>>[] = [];
    const twos: Awaited<ReturnType<typeof timed>>[] = [];
    for (let k = 0; k < REPEATS; k++) {
      progress(`${experiment.name}: on 1 lane, then on 2 (${k + 1}/${REPEATS})`);
      ones.push(await timed(1, false));
      twos.push(await timed(2, false));
    }
    const sum = (f: Finished[]): number => f.reduce((s, e) => s + e.durationMs, 0);
    const iterationMs = median(ones.map((r) => sum(r.f)));
    const iterationMs2 = median(twos.map((r) => sum(r.f)));
    const ref = ones[0].all;
    const identical = [...ones, ...twos].every((r) => r.all.length === ref.length && r.all.every((e, i) => e.digest === ref[i].digest));
    return {
      experiment: experiment.name,
      stages: ones[0].f.map((e, i) => ({ index: e.index, kind: e.kind, ms1: median(ones.map((r) => r.f[i].durationMs)), ms2: median(twos.map((r) => r.f[i]?.durationMs ?? NaN)) })),
      iterationMs,
      wallMs: median(ones.map((r) => r.wall)),
      iterationMs2,
      wallMs2: median(twos.map((r) => r.wall)),
      physicsMs: median(inSitu),
      replayedPhysicsMs: physics.ms,
      iterationOverPhysics: iterationMs / median(inSitu),
      iterationOverReplayedPhysics: iterationMs / physics.ms,
      speedup2: median(ones.map((r, k) => sum(r.f) / sum(twos[k].f))),
      identical,
      physics: { rollouts: physics.rollouts, steps: physics.steps, linearizations: physics.linearizations },
    };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

/**
 * constrained GPS: walker-cgps-50's third iteration (stages 14–17:
 * optimizeQ, fitTheta, updateLambda, the 500-step test; the first one also
 * builds every q's state covariances, one more linearization per step);
 * importance-sampled GPS: walker-isgps-demo-fixed-std's 8th iteration
 * (isgpsIteration and adaptWr), when the active set has its full 100 samples.
 */
export async function measureIterations(progress: (m: string) => void): Promise<{ cgps: IterationResult; isgps: IterationResult }> {
  instrumentSimulator();
  const cgps = await measureIteration(walkerCgps, 9, 4, progress);
  // walker-isgps-demo-fixed-std: 0 demonstrate, 1–6 iLQG, 7 evaluate, 8 guidingSamples, 9 pretrainPolicy, then pairs.
  const isgpsStart = 9 + 2 * 6;
  const isgps = await measureIteration(walkerIsgps, isgpsStart, 2, progress);
  return { cgps, isgps };
}
