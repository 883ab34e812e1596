/**
 * Performance benchmark of the MuJoCo adapter and of iLQG on the swimmer and
 * the walker. Run with `npm run bench` (see bench/README.md for what each
 * number means). Prints fixed-width tables and a final `BENCH_JSON {...}` line.
 *
 * Every random number comes from a seeded Sampler (one stream per task and
 * measurement), so two runs drive the physics through the same states; only
 * the timings, and how many episodes fit in a time-bound loop, vary. The iLQG
 * and memory measurements do a fixed amount of work and are fully repeatable.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import v8 from "node:v8";
import vm from "node:vm";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask } from "../src/tasks/swimmer.js";
import { walker } from "../src/tasks/walker.js";
import type { Task } from "../src/tasks/types.js";
import type { Controller, TrajectoryDynamics } from "../src/trajopt/types.js";
import { backwardPass, defaultIlqgSettings, ilqgIteration, initialTrajectory, lqApproximation } from "../src/trajopt/ilqg.js";
import type { IlqgTrajectory } from "../src/trajopt/ilqg.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { measureIterations, measureKernels, type IterationResult } from "./policy.js";
import { measureSweep } from "./sweep.js";

// ---------------------------------------------------------------- settings

/**
 * Wall-clock budget of each rate measurement, in ms. Loops that are compared
 * run interleaved (episode by episode, batch by batch), each for about this long.
 */
const MEASURE_MS = 1500;
/** Seeded random-action episodes the stepping measurements cycle through. */
const ACTION_BANK = 16;
/** Warm-up budget before each measurement, in ms. */
const WARMUP_MS = 300;
/** Warm-up of every path on each model before anything is timed (lets V8 tier the WASM code up). */
const GLOBAL_WARMUP_MS = 2000;
/** Control steps per episode for the stepping measurements (the iLQG horizon too). */
const EPISODE_T = 500;
/** iLQG horizon, timed iterations (after one warm-up iteration). */
const ILQG_T = 500;
const ILQG_TIMED_ITERATIONS = 5;
/** Memory check: this many rollouts of MEM_T control steps. */
const MEM_ROLLOUTS = 1000;
const MEM_T = 100;
const SEED = 20240611;

interface BenchTask {
  readonly task: Task;
  /** Standard deviation of the random actions of the stepping measurements (N·m). */
  readonly actionScale: number;
  /** Standard deviation of iLQG's initial random actions (N·m). */
  readonly initScale: number;
}

const TASKS: readonly BenchTask[] = [
  { task: swimmerTask, actionScale: 1, initScale: 0.1 },
  { task: walker, actionScale: 10, initScale: 0.1 },
];

// ---------------------------------------------------------------- helpers

// A real GC before each memory snapshot (without --expose-gc on the command line).
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const now = (): number => performance.now();

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Run `work` (which returns how many units it did) until `budgetMs` has elapsed. */
function timeBound(budgetMs: number, work: () => number): { units: number; ms: number } {
  let units = 0;
  const t0 = now();
  let ms = 0;
  do {
    units += work();
    ms = now() - t0;
  } while (ms < budgetMs);
  return { units, ms };
}

function progress(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** Bytes of the MuJoCo WASM linear memory (read through a throwaway buffer's view). */
function wasmMemoryBytes(sim: Simulator): number {
  const b = new sim.mj.DoubleBuffer(1);
  const n = (b.GetView() as Float64Array).buffer.byteLength;
  b.delete();
  return n;
}

const MiB = 1024 * 1024;

/** A controller writing N(0, scale²) actions drawn from the sampler. */
function randomController(sampler: Sampler, nu: number, scale: number): Controller {
  return (_t, _x, _xOff, u, uOff) => {
    for (let i = 0; i < nu; i++) u[uOff + i] = scale * sampler.normal();
  };
}

/** Delegates to a Simulator, counting and timing every rollout and linearization. */
class CountingDynamics implements TrajectoryDynamics {
  readonly nx: number;
  readonly nu: number;
  rollouts = 0;
  rolloutMs = 0;
  linearizations = 0;
  linearizeMs = 0;

  constructor(private readonly inner: Simulator) {
    this.nx = inner.nx;
    this.nu = inner.nu;
  }

  reset(): void {
    this.rollouts = 0;
    this.rolloutMs = 0;
    this.linearizations = 0;
    this.linearizeMs = 0;
  }

  rollout(x0: Float64Array, controller: Controller, T: number, xs: Float64Array, us: Float64Array): void {
    const t0 = now();
    this.inner.rollout(x0, controller, T, xs, us);
    this.rolloutMs += now() - t0;
    this.rollouts++;
  }

  linearize(xs: Float64Array, us: Float64Array, T: number, fx: Float64Array, fu: Float64Array): void {
    const t0 = now();
    this.inner.linearize(xs, us, T, fx, fu);
    this.linearizeMs += now() - t0;
    this.linearizations++;
  }
}

// ---------------------------------------------------------------- measurements

/** A loop's speed: the median over episodes (robust to bursts of load elsewhere on the machine). */
interface StepRate {
  episodes: number;
  mjSteps: number;
  totalMs: number;
  medianEpisodeMs: number;
  mjStepsPerSec: number;
  controlStepsPerSec: number;
}

interface SteppingResult {
  substeps: number;
  timestepMs: number;
  episodeT: number;
  actionScale: number;
  /** sim.rollout, controller writing seeded random actions. */
  rollout: StepRate;
  /** setState once per episode, then one sim.stepControl per control step, same actions. */
  stepControl: StepRate;
  /** Bare mj_step writing the same actions into data.ctrl each control step (same motion as the adapter loops). */
  bareSameActions: StepRate;
  /** Bare mj_step with ctrl set once per episode (a different motion). */
  bareCtrlOnce: StepRate;
  /** Medians over episodes of the paired ratio adapter steps/s ÷ bare steps/s (1 = no overhead). */
  rolloutOverBareSame: number;
  stepControlOverBareSame: number;
  rolloutOverBareOnce: number;
  stepControlOverBareOnce: number;
  /** Extra time per MuJoCo step through sim.rollout, relative to the bare loop with the same actions. */
  rolloutOverheadPct: number;
  stepControlOverheadPct: number;
}

function measureStepping(sim: Simulator, bt: BenchTask, sampler: Sampler): SteppingResult {
  const { task, actionScale } = bt;
  const { nx, nu, substeps, mj, model } = sim;
  const T = EPISODE_T;
  const x0 = task.restState;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const stepsPerEpisode = T * substeps;

  // A bank of seeded random-action episodes, drawn up front. The adapter loops
  // and the bare "same actions" loop play the same episode back to back, so
  // they simulate exactly the same motion and differ only in the adapter.
  const bank = new Float64Array(ACTION_BANK * T * nu);
  for (let i = 0; i < bank.length; i++) bank[i] = actionScale * sampler.normal();
  let bankOff = 0;
  const bankController: Controller = (t, _x, _xOff, u, uOff) => {
    for (let i = 0; i < nu; i++) u[uOff + i] = bank[bankOff + t * nu + i];
  };

  const loops: readonly ((off: number) => void)[] = [
    // sim.rollout: the controller writes the actions, the adapter reads the state back each control step.
    (off) => {
      bankOff = off;
      sim.rollout(x0, bankController, T, xs, us);
    },
    // sim.stepControl: setState once, then one stepControl per control step.
    (off) => {
      sim.setState(x0);
      for (let t = 0; t < T; t++) sim.stepControl(bank, off + t * nu);
    },
    // Bare mj_step writing the same actions into ctrl each control step.
    (off) => {
      sim.setState(x0);
      const data = sim.data;
      const ctrl = data.ctrl as Float64Array;
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < nu; i++) ctrl[i] = bank[off + t * nu + i];
        for (let s = 0; s < substeps; s++) mj.mj_step(model, data);
      }
    },
    // Bare mj_step, ctrl set once (to the episode's first action; mj_resetData inside setState zeroes ctrl).
    (off) => {
      sim.setState(x0);
      const data = sim.data;
      const ctrl = data.ctrl as Float64Array;
      for (let i = 0; i < nu; i++) ctrl[i] = bank[off + i];
      for (let s = 0; s < stepsPerEpisode; s++) mj.mj_step(model, data);
    },
  ];

  // Episode e runs every loop once on bank episode e mod ACTION_BANK, each timed on its own.
  const times: number[][] = loops.map(() => []);
  const runEpisode = (e: number, record: boolean): void => {
    const off = (e % ACTION_BANK) * T * nu;
    loops.forEach((loop, k) => {
      const t0 = now();
      loop(off);
      if (record) times[k].push(now() - t0);
    });
  };
  let e = 0;
  const w0 = now();
  while (now() - w0 < WARMUP_MS * loops.length) runEpisode(e++, false);
  e = 0;
  const t0 = now();
  while (now() - t0 < MEASURE_MS * loops.length) runEpisode(e++, true);

  const stepRate = (ms: readonly number[]): StepRate => {
    const med = median(ms);
    return {
      episodes: ms.length,
      mjSteps: ms.length * stepsPerEpisode,
      totalMs: ms.reduce((a, b) => a + b, 0),
      medianEpisodeMs: med,
      mjStepsPerSec: (stepsPerEpisode / med) * 1000,
      controlStepsPerSec: (T / med) * 1000,
    };
  };
  /** Median over episodes of bare time ÷ adapter time (= adapter speed ÷ bare speed). */
  const pairedRatio = (adapter: number, bare: number): number => median(times[adapter].map((ms, i) => times[bare][i] / ms));
  const [R, SC, SAME, ONCE] = [0, 1, 2, 3];
  return {
    substeps,
    timestepMs: sim.timestep * 1000,
    episodeT: T,
    actionScale,
    rollout: stepRate(times[R]),
    stepControl: stepRate(times[SC]),
    bareSameActions: stepRate(times[SAME]),
    bareCtrlOnce: stepRate(times[ONCE]),
    rolloutOverBareSame: pairedRatio(R, SAME),
    stepControlOverBareSame: pairedRatio(SC, SAME),
    rolloutOverBareOnce: pairedRatio(R, ONCE),
    stepControlOverBareOnce: pairedRatio(SC, ONCE),
    rolloutOverheadPct: (1 / pairedRatio(R, SAME) - 1) * 100,
    stepControlOverheadPct: (1 / pairedRatio(SC, SAME) - 1) * 100,
  };
}

interface LinearizationResult {
  /** Batches of control-step linearizations timed (each batch: LIN_BATCH points). */
  batches: number;
  /** Through sim.linearizeAt: each call makes `substeps` mjd_transitionFD calls (median batch). */
  linearizeAtTransitionFDPerSec: number;
  linearizeAtControlStepsPerSec: number;
  /** Raw mj.mjd_transitionFD calls alone, `substeps` per point, state set outside the timer (median batch). */
  rawTransitionFDPerSec: number;
  rawControlStepsPerSec: number;
  /** Median over batches of raw time ÷ linearizeAt time for the same points. */
  linearizeAtOverRaw: number;
  /** How many bare mj_step calls one transitionFD costs (bare same-actions steps/s ÷ raw calls/s). */
  mjStepsPerTransitionFD: number;
}

const LIN_BATCH = 10;

function measureLinearization(sim: Simulator, bt: BenchTask, sampler: Sampler, bareStepsPerSec: number): LinearizationResult {
  const { nx, nu, substeps, mj, model } = sim;
  const T = EPISODE_T;
  // Linearize along a random-action rollout (contacts and all), not only at rest.
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  sim.rollout(bt.task.restState, randomController(sampler, nu, bt.actionScale), T, xs, us);
  const fx = new Float64Array(nx * nx);
  const fu = new Float64Array(nx * nu);
  const A = new mj.DoubleBuffer(nx * nx);
  const B = new mj.DoubleBuffer(nx * nu);
  const laMs: number[] = [];
  const rawMs: number[] = [];
  try {
    // One batch: LIN_BATCH points through sim.linearizeAt, then the same points
    // with `substeps` raw calls each (setState and ctrl outside the timer).
    const batch = (first: number, record: boolean): void => {
      let t0 = now();
      for (let j = 0; j < LIN_BATCH; j++) {
        const t = (first + j) % T;
        sim.linearizeAt(xs, us, fx, fu, t * nx, t * nu);
      }
      const la = now() - t0;
      let raw = 0;
      for (let j = 0; j < LIN_BATCH; j++) {
        const t = (first + j) % T;
        sim.setState(xs, t * nx);
        const ctrl = sim.data.ctrl as Float64Array;
        for (let i = 0; i < nu; i++) ctrl[i] = us[t * nu + i];
        t0 = now();
        for (let s = 0; s < substeps; s++) mj.mjd_transitionFD(model, sim.data, sim.fdEpsilon, 1, A, B, null, null);
        raw += now() - t0;
      }
      if (record) {
        laMs.push(la);
        rawMs.push(raw);
      }
    };
    let b = 0;
    const w0 = now();
    while (now() - w0 < 2 * WARMUP_MS) batch(LIN_BATCH * b++, false);
    b = 0;
    const t0 = now();
    while (now() - t0 < 2 * MEASURE_MS) batch(LIN_BATCH * b++, true);
  } finally {
    A.delete();
    B.delete();
  }
  const calls = LIN_BATCH * substeps;
  const laMed = median(laMs);
  const rawMed = median(rawMs);
  return {
    batches: laMs.length,
    linearizeAtTransitionFDPerSec: (calls / laMed) * 1000,
    linearizeAtControlStepsPerSec: (LIN_BATCH / laMed) * 1000,
    rawTransitionFDPerSec: (calls / rawMed) * 1000,
    rawControlStepsPerSec: (LIN_BATCH / rawMed) * 1000,
    linearizeAtOverRaw: median(laMs.map((ms, i) => rawMs[i] / ms)),
    mjStepsPerTransitionFD: bareStepsPerSec / ((calls / rawMed) * 1000),
  };
}

interface IlqgResult {
  T: number;
  timedIterations: number;
  /** Medians over the timed iterations. */
  iterationMs: number;
  linearizeMs: number;
  rolloutMs: number;
  rolloutsPerIteration: number;
  physicsMs: number;
  physicsOverIteration: number;
  nonPhysicsMs: number;
  /** Timed alone on the final nominal: sim.linearize over T steps, one sim.rollout, the cost expansion and one backward pass. */
  alone: { linearizeMs: number; rolloutMs: number; costExpansionMs: number; backwardPassMs: number };
  iterations: { ms: number; linearizeMs: number; rolloutMs: number; rollouts: number; accepted: boolean; alpha: number; cost: number }[];
  initialCost: number;
}

function measureIlqg(sim: Simulator, bt: BenchTask, sampler: Sampler): IlqgResult {
  const { task, initScale } = bt;
  const { nu } = sim;
  const T = ILQG_T;
  const dyn = new CountingDynamics(sim);
  const settings = defaultIlqgSettings;
  const usInit = new Float64Array(T * nu);
  for (let i = 0; i < usInit.length; i++) usInit[i] = initScale * sampler.normal();
  let traj: IlqgTrajectory = initialTrajectory(dyn, task.cost, task.restState, usInit, settings);
  const initialCost = traj.cost;

  traj = ilqgIteration(dyn, task.cost, traj, settings).trajectory; // warm-up
  const iterations: IlqgResult["iterations"] = [];
  for (let i = 0; i < ILQG_TIMED_ITERATIONS; i++) {
    dyn.reset();
    const t0 = now();
    const r = ilqgIteration(dyn, task.cost, traj, settings);
    const ms = now() - t0;
    iterations.push({ ms, linearizeMs: dyn.linearizeMs, rolloutMs: dyn.rolloutMs, rollouts: dyn.rollouts, accepted: r.info.accepted, alpha: r.info.alpha, cost: r.info.cost });
    traj = r.trajectory;
  }

  // The same pieces timed alone on the final nominal (median of 3 each).
  const fx = new Float64Array(T * sim.nx * sim.nx);
  const fu = new Float64Array(T * sim.nx * nu);
  const xs = new Float64Array((T + 1) * sim.nx);
  const us = new Float64Array(T * nu);
  const { K, k, xbar, ubar } = traj;
  const policy: Controller = (t, x, xOff, u, uOff) => {
    for (let i = 0; i < nu; i++) {
      const row = (t * nu + i) * sim.nx;
      let v = ubar[t * nu + i] + k[t * nu + i];
      for (let j = 0; j < sim.nx; j++) v += K[row + j] * (x[xOff + j] - xbar[t * sim.nx + j]);
      u[uOff + i] = v;
    }
  };
  const lin: number[] = [];
  const roll: number[] = [];
  const costExp: number[] = [];
  const bpMs: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    let t0 = now();
    sim.linearize(xbar, ubar, T, fx, fu);
    lin.push(now() - t0);
    t0 = now();
    sim.rollout(xbar.subarray(0, sim.nx), policy, T, xs, us);
    roll.push(now() - t0);
    dyn.reset();
    t0 = now();
    const lq = lqApproximation(dyn, task.cost, traj);
    costExp.push(now() - t0 - dyn.linearizeMs);
    t0 = now();
    backwardPass(lq, { mu: traj.mu, muFactor: traj.muFactor }, settings);
    bpMs.push(now() - t0);
  }

  const iterationMs = median(iterations.map((it) => it.ms));
  const linearizeMs = median(iterations.map((it) => it.linearizeMs));
  const rolloutMs = median(iterations.map((it) => it.rolloutMs));
  const physics = iterations.map((it) => it.linearizeMs + it.rolloutMs);
  const physicsMs = median(physics);
  const nonPhysicsMs = median(iterations.map((it) => it.ms - it.linearizeMs - it.rolloutMs));
  return {
    T,
    timedIterations: ILQG_TIMED_ITERATIONS,
    iterationMs,
    linearizeMs,
    rolloutMs,
    rolloutsPerIteration: median(iterations.map((it) => it.rollouts)),
    physicsMs,
    physicsOverIteration: median(iterations.map((it) => (it.linearizeMs + it.rolloutMs) / it.ms)),
    nonPhysicsMs,
    alone: { linearizeMs: median(lin), rolloutMs: median(roll), costExpansionMs: median(costExp), backwardPassMs: median(bpMs) },
    iterations,
    initialCost,
  };
}

interface MemoryResult {
  rollouts: number;
  T: number;
  ms: number;
  checkpoints: { after: number; rssMiB: number; heapUsedMiB: number; wasmMiB: number }[];
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssDeltaMiB: number;
  wasmBeforeMiB: number;
  wasmAfterMiB: number;
}

function measureMemory(sim: Simulator, bt: BenchTask, sampler: Sampler): MemoryResult {
  const { nx, nu } = sim;
  const T = MEM_T;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const controller = randomController(sampler, nu, bt.actionScale);
  for (let i = 0; i < 20; i++) sim.rollout(bt.task.restState, controller, T, xs, us); // warm-up
  const snap = (after: number): MemoryResult["checkpoints"][number] => {
    gc();
    const m = process.memoryUsage();
    return { after, rssMiB: m.rss / MiB, heapUsedMiB: m.heapUsed / MiB, wasmMiB: wasmMemoryBytes(sim) / MiB };
  };
  const checkpoints = [snap(0)];
  const t0 = now();
  for (let i = 1; i <= MEM_ROLLOUTS; i++) {
    sim.rollout(bt.task.restState, controller, T, xs, us);
    if (i % (MEM_ROLLOUTS / 4) === 0) checkpoints.push(snap(i));
  }
  const ms = now() - t0;
  const first = checkpoints[0];
  const last = checkpoints[checkpoints.length - 1];
  return {
    rollouts: MEM_ROLLOUTS,
    T,
    ms,
    checkpoints,
    rssBeforeMiB: first.rssMiB,
    rssAfterMiB: last.rssMiB,
    rssDeltaMiB: last.rssMiB - first.rssMiB,
    wasmBeforeMiB: first.wasmMiB,
    wasmAfterMiB: last.wasmMiB,
  };
}

/** Exercise every timed path for a while so that V8 has tiered the WASM and JS code up. */
function globalWarmup(sim: Simulator, bt: BenchTask, sampler: Sampler): void {
  const { nx, nu } = sim;
  const T = 100;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const fx = new Float64Array(nx * nx);
  const fu = new Float64Array(nx * nu);
  const controller = randomController(sampler, nu, bt.actionScale);
  timeBound(GLOBAL_WARMUP_MS, () => {
    sim.rollout(bt.task.restState, controller, T, xs, us);
    for (let t = 0; t < T; t += 10) sim.linearizeAt(xs, us, fx, fu, t * nx, t * nu);
    return 1;
  });
}

// ---------------------------------------------------------------- printing

function fmtNum(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(title: string, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]): string => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join("   ");
  const rule = "-".repeat(widths.reduce((a, w) => a + w, 0) + 3 * (widths.length - 1));
  console.log(`\n${title}`);
  console.log(rule);
  console.log(line(header));
  console.log(rule);
  for (const r of rows) console.log(line(r));
  console.log(rule);
}

// ---------------------------------------------------------------- main

interface TaskResult {
  task: string;
  nx: number;
  nu: number;
  stepping: SteppingResult;
  linearization: LinearizationResult;
  ilqg: IlqgResult;
  memory: MemoryResult;
}

async function main(): Promise<void> {
  const started = now();
  const mujocoVersion = (JSON.parse(readFileSync(new URL("../node_modules/mujoco-js/package.json", import.meta.url), "utf8")) as { version: string }).version;
  const env = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    mujocoJs: mujocoVersion,
    seed: SEED,
    measureMs: MEASURE_MS,
    loadAvgBefore: os.loadavg().map((l) => Number(l.toFixed(2))),
  };

  const results: TaskResult[] = [];
  for (const [index, bt] of TASKS.entries()) {
    const { task } = bt;
    const sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
    try {
      const sampler = (k: number): Sampler => new Sampler(seedGenerator(SEED + 100 * index + k));
      progress(`${task.name}: warm-up`);
      globalWarmup(sim, bt, sampler(0));
      progress(`${task.name}: stepping`);
      const stepping = measureStepping(sim, bt, sampler(1));
      progress(`${task.name}: linearization`);
      const linearization = measureLinearization(sim, bt, sampler(2), stepping.bareSameActions.mjStepsPerSec);
      progress(`${task.name}: iLQG T=${ILQG_T}`);
      const ilqg = measureIlqg(sim, bt, sampler(3));
      progress(`${task.name}: memory (${MEM_ROLLOUTS} rollouts)`);
      const memory = measureMemory(sim, bt, sampler(4));
      results.push({ task: task.name, nx: sim.nx, nu: sim.nu, stepping, linearization, ilqg, memory });
    } finally {
      sim.dispose();
    }
  }
  progress("policy kernels: batched against the per-row reference");
  const kernels = measureKernels(new Sampler(seedGenerator(SEED + 1000)));
  const iterations = await measureIterations(progress);
  const sweep = measureSweep(progress);
  const totalS = (now() - started) / 1000;
  const loadAvgAfter = os.loadavg().map((l) => Number(l.toFixed(2)));

  console.log(`guided-policy-search bench — node ${env.node}, ${env.platform}, ${env.cpu} (${env.cores} cores), mujoco-js ${env.mujocoJs}`);
  console.log(`rates: compared loops run interleaved, ~${MEASURE_MS} ms each, median episode/batch reported; ${WARMUP_MS} ms warm-ups, ${GLOBAL_WARMUP_MS} ms per model first`);
  console.log(`seeded random actions (seed ${SEED}); load average before ${env.loadAvgBefore.join(" ")}, after ${loadAvgAfter.join(" ")}`);

  const names = results.map((r) => r.task);
  const col = (f: (r: TaskResult) => string): string[] => results.map(f);
  const row = (label: string, f: (r: TaskResult) => string): string[] => [label, ...col(f)];

  table(
    `1. Physics stepping (episodes of ${EPISODE_T} control steps from rest; ${ACTION_BANK} seeded random-action episodes N(0, σ²), cycled)`,
    ["", ...names],
    [
      row("nx / nu", (r) => `${r.nx} / ${r.nu}`),
      row("substeps × timestep", (r) => `${r.stepping.substeps} × ${r.stepping.timestepMs} ms`),
      row("action σ (N·m)", (r) => fmtNum(r.stepping.actionScale, 1)),
      row("sim.rollout       MuJoCo steps/s", (r) => fmtNum(r.stepping.rollout.mjStepsPerSec)),
      row("sim.rollout       control steps/s", (r) => fmtNum(r.stepping.rollout.controlStepsPerSec)),
      row("sim.stepControl   MuJoCo steps/s", (r) => fmtNum(r.stepping.stepControl.mjStepsPerSec)),
      row("sim.stepControl   control steps/s", (r) => fmtNum(r.stepping.stepControl.controlStepsPerSec)),
      row("bare mj_step, same actions   steps/s", (r) => fmtNum(r.stepping.bareSameActions.mjStepsPerSec)),
      row("bare mj_step, ctrl set once  steps/s", (r) => fmtNum(r.stepping.bareCtrlOnce.mjStepsPerSec)),
      row("episodes timed per loop", (r) => `${r.stepping.rollout.episodes} × ${fmtNum(r.stepping.episodeT * r.stepping.substeps)} steps`),
      row("ratio rollout / bare same actions", (r) => fmtNum(r.stepping.rolloutOverBareSame, 3)),
      row("ratio stepControl / bare same actions", (r) => fmtNum(r.stepping.stepControlOverBareSame, 3)),
      row("ratio rollout / bare ctrl set once", (r) => fmtNum(r.stepping.rolloutOverBareOnce, 3)),
      row("ratio stepControl / bare ctrl set once", (r) => fmtNum(r.stepping.stepControlOverBareOnce, 3)),
      row("overhead per MuJoCo step: rollout", (r) => `${fmtNum(r.stepping.rolloutOverheadPct, 1)} %`),
      row("overhead per MuJoCo step: stepControl", (r) => `${fmtNum(r.stepping.stepControlOverheadPct, 1)} %`),
    ],
  );

  table(
    "2. Linearization (mjd_transitionFD, centred differences, at points of a random-action rollout)",
    ["", ...names],
    [
      row("sim.linearizeAt  transitionFD calls/s", (r) => fmtNum(r.linearization.linearizeAtTransitionFDPerSec)),
      row("sim.linearizeAt  control-step lin./s", (r) => fmtNum(r.linearization.linearizeAtControlStepsPerSec)),
      row("raw mjd_transitionFD  calls/s", (r) => fmtNum(r.linearization.rawTransitionFDPerSec)),
      row("raw ÷ substeps  control-step lin./s", (r) => fmtNum(r.linearization.rawControlStepsPerSec)),
      row("ms per control-step linearization", (r) => fmtNum(1000 / r.linearization.linearizeAtControlStepsPerSec, 3)),
      row("ratio linearizeAt / raw (speed)", (r) => fmtNum(r.linearization.linearizeAtOverRaw, 3)),
      row("one transitionFD ≈ bare mj_steps", (r) => fmtNum(r.linearization.mjStepsPerTransitionFD, 1)),
      row("batches timed (10 points each)", (r) => String(r.linearization.batches)),
    ],
  );

  table(
    `3. One iLQG iteration, T = ${ILQG_T} (median of ${ILQG_TIMED_ITERATIONS} after 1 warm-up; init actions N(0, 0.1²) from rest)`,
    ["", ...names],
    [
      row("iteration (ms)", (r) => fmtNum(r.ilqg.iterationMs, 1)),
      row("  linearize T steps (ms)", (r) => fmtNum(r.ilqg.linearizeMs, 1)),
      row("  line-search rollouts (ms)", (r) => fmtNum(r.ilqg.rolloutMs, 1)),
      row("  rollouts per iteration", (r) => fmtNum(r.ilqg.rolloutsPerIteration)),
      row("  physics = linearize + rollouts (ms)", (r) => fmtNum(r.ilqg.physicsMs, 1)),
      row("  non-physics overhead (ms)", (r) => fmtNum(r.ilqg.nonPhysicsMs, 1)),
      row("physics / iteration", (r) => fmtNum(r.ilqg.physicsOverIteration, 3)),
      row("alone: sim.linearize T steps (ms)", (r) => fmtNum(r.ilqg.alone.linearizeMs, 1)),
      row("alone: one sim.rollout T steps (ms)", (r) => fmtNum(r.ilqg.alone.rolloutMs, 1)),
      row("alone: cost expansion T steps (ms)", (r) => fmtNum(r.ilqg.alone.costExpansionMs, 2)),
      row("alone: backward pass (ms)", (r) => fmtNum(r.ilqg.alone.backwardPassMs, 2)),
      row("cost: initial → after timed iters", (r) => `${fmtNum(r.ilqg.initialCost, 1)} → ${fmtNum(r.ilqg.iterations[r.ilqg.iterations.length - 1].cost, 1)}`),
    ],
  );

  for (const r of results) {
    table(
      `   ${r.task}: timed iLQG iterations`,
      ["#", "ms", "linearize ms", "rollout ms", "rollouts", "accepted", "alpha", "cost"],
      r.ilqg.iterations.map((it, i) => [
        String(i + 1),
        fmtNum(it.ms, 1),
        fmtNum(it.linearizeMs, 1),
        fmtNum(it.rolloutMs, 1),
        String(it.rollouts),
        it.accepted ? "yes" : "no",
        it.alpha.toPrecision(3),
        fmtNum(it.cost, 2),
      ]),
    );
  }

  table(
    `4. Memory over ${MEM_ROLLOUTS} rollouts of ${MEM_T} control steps (process.memoryUsage, WASM linear memory)`,
    ["", ...names],
    [
      ...results[0].memory.checkpoints.map((_, c) =>
        row(`rss after ${results[0].memory.checkpoints[c].after} rollouts (MiB)`, (r) => fmtNum(r.memory.checkpoints[c].rssMiB, 1)),
      ),
      row("rss growth (MiB)", (r) => fmtNum(r.memory.rssDeltaMiB, 2)),
      row("JS heapUsed before → after (MiB)", (r) => `${fmtNum(r.memory.checkpoints[0].heapUsedMiB, 1)} → ${fmtNum(r.memory.checkpoints[r.memory.checkpoints.length - 1].heapUsedMiB, 1)}`),
      row("WASM memory before → after (MiB)", (r) => `${fmtNum(r.memory.wasmBeforeMiB, 1)} → ${fmtNum(r.memory.wasmAfterMiB, 1)}`),
      row("time for the rollouts (s)", (r) => fmtNum(r.memory.ms / 1000, 2)),
    ],
  );

  const k = kernels;
  table(
    "5. Policy kernels on one thread, batched (WebAssembly SIMD, chunks of 512 rows) against the per-row reference, same run (median of paired runs)",
    ["", "reference (ms)", "batched (ms)", "speed-up"],
    [
      [`fit of constrained GPS, value + gradient, ${fmtNum(k.policyKernels.rows)} rows, ${k.policyKernels.hidden} hidden`, fmtNum(k.policyKernels.referenceMs, 1), fmtNum(k.policyKernels.batchedMs, 2), fmtNum(k.policyKernels.speedupOverReference, 2)],
      [`Φ(θ) value + gradient, ${k.phi.samples} samples × ${k.phi.T} steps`, fmtNum(k.phi.referenceMs, 1), fmtNum(k.phi.batchedMs, 1), fmtNum(k.phi.speedupOverReference, 2)],
      ["  state rows per second", fmtNum(k.phi.referenceRowsPerSecond), fmtNum(k.phi.rowsPerSecond), ""],
      ["Φ(θ) value only (batched)", "", fmtNum(k.phi.valueOnlyMs, 1), ""],
      [`maximum likelihood, value + gradient, ${fmtNum(k.maxLikelihood.rows)} rows`, fmtNum(k.maxLikelihood.referenceMs, 1), fmtNum(k.maxLikelihood.batchedMs, 1), fmtNum(k.maxLikelihood.speedupOverReference, 2)],
      [`memory over ${k.memory.evaluations} fit evaluations: rss (MiB)`, "", k.memory.rssMiB.map((v) => fmtNum(v, 1)).join(" → "), ""],
      ["  JS heap used (MiB)", "", k.memory.heapUsedMiB.map((v) => fmtNum(v, 1)).join(" → "), ""],
      ["  kernels' memory (MiB)", "", k.memory.kernelMemoryMiB.map((v) => fmtNum(v, 1)).join(" → "), ""],
    ],
  );

  const it = [iterations.cgps, iterations.isgps];
  table(
    "6. One walker iteration through the interpreter (stage compute, checkpoints not included), on 1 and 2 lanes from the same checkpoint (medians of 3); physics = the iteration's rollouts and linearizations",
    ["", "constrained GPS", "importance-sampled GPS"],
    [
      ["experiment (stages timed)", ...it.map((r) => `${r.experiment} (${r.stages.map((s) => s.index).join(", ")})`)],
      ["iteration on 1 lane (ms)", ...it.map((r) => fmtNum(r.iterationMs))],
      ...it[0].stages.map((_, i) => [`  stage ${i + 1}`, ...it.map((r) => (r.stages[i] ? `${r.stages[i].kind} ${fmtNum(r.stages[i].ms1)}` : ""))]),
      ["  with checkpoints (ms)", ...it.map((r) => fmtNum(r.wallMs))],
      ["physics, timed where it ran (ms)", ...it.map((r) => fmtNum(r.physicsMs))],
      ["physics replayed alone (ms)", ...it.map((r) => fmtNum(r.replayedPhysicsMs))],
      ["  rollouts / control steps / linearizations", ...it.map((r) => `${r.physics.rollouts} / ${fmtNum(r.physics.steps)} / ${fmtNum(r.physics.linearizations)}`)],
      ["iteration / physics", ...it.map((r) => fmtNum(r.iterationOverPhysics, 2))],
      ["iteration / replayed physics", ...it.map((r) => fmtNum(r.iterationOverReplayedPhysics, 2))],
      ["iteration on 2 lanes (ms)", ...it.map((r) => fmtNum(r.iterationMs2))],
      ["speed-up, 2 lanes over 1", ...it.map((r) => fmtNum(r.speedup2, 2))],
      ["same digests on 1 and 2 lanes", ...it.map((r) => String(r.identical))],
    ],
  );

  table(
    "7. A sweep of 4 swimmer runs (swimmer-ilqg as written, 60 iterations, seeds 1..4), each its own process with --workers 1",
    ["", "value"],
    [
      ["--jobs 1 (ms)", fmtNum(sweep.jobs1Ms)],
      ["--jobs 2 (ms)", fmtNum(sweep.jobs2Ms)],
      ["sweep.jobs2OverJobs1 (target ≤ 0.6 on 2 cores)", fmtNum(sweep.jobs2OverJobs1, 2)],
      ["same digests under both", String(sweep.identical)],
    ],
  );

  console.log(`\ntotal bench time ${totalS.toFixed(1)} s`);
  const round = (_k: string, v: unknown): unknown => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v);
  const summary = (r: IterationResult) => ({ iterationMs: r.iterationMs, physicsMs: r.physicsMs, iterationOverPhysics: r.iterationOverPhysics, replayedPhysicsMs: r.replayedPhysicsMs, iterationOverReplayedPhysics: r.iterationOverReplayedPhysics, iterationMs2: r.iterationMs2, speedup2: r.speedup2, identical: r.identical, wallMs: r.wallMs, stages: r.stages, physics: r.physics });
  const json = {
    env: { ...env, loadAvgAfter },
    totalSeconds: totalS,
    policyKernels: kernels.policyKernels,
    phi: kernels.phi,
    maxLikelihood: kernels.maxLikelihood,
    kernelMemory: kernels.memory,
    workers: { speedup2: iterations.cgps.speedup2, identical: iterations.cgps.identical && iterations.isgps.identical, isgpsSpeedup2: iterations.isgps.speedup2 },
    cgps: { walker: summary(iterations.cgps) },
    isgps: { walker: summary(iterations.isgps) },
    sweep,
    tasks: results,
  };
  console.log(`BENCH_JSON ${JSON.stringify(json, round)}`);
}

/** `npm run bench -- --only iterations` (or `kernels`, `sweep`): that section alone, printed as a BENCH_JSON line. */
async function only(part: string): Promise<void> {
  const loadAvgBefore = os.loadavg().map((l) => Number(l.toFixed(2)));
  const started = now();
  const result =
    part === "kernels"
      ? { kernels: measureKernels(new Sampler(seedGenerator(SEED + 1000))) }
      : part === "iterations"
        ? await measureIterations(progress)
        : part === "sweep"
          ? { sweep: measureSweep(progress) }
          : null;
  if (!result) throw new Error(`bench: --only takes kernels, iterations or sweep, not ${part}`);
  if (part === "sweep") {
    const s = (result as { sweep: ReturnType<typeof measureSweep> }).sweep;
    console.log(`sweep: --jobs 1 ${fmtNum(s.jobs1Ms)} ms, --jobs 2 ${fmtNum(s.jobs2Ms)} ms, sweep.jobs2OverJobs1 ${fmtNum(s.jobs2OverJobs1, 2)} (target ≤ 0.6 on 2 cores), same digests ${s.identical}`);
  }
  console.log(`BENCH_JSON ${JSON.stringify({ only: part, loadAvgBefore, loadAvgAfter: os.loadavg(), seconds: (now() - started) / 1000, ...result })}`);
}

const onlyArg = process.argv.indexOf("--only");
await (onlyArg >= 0 ? only(process.argv[onlyArg + 1] ?? "") : main());
