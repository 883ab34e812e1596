/**
 * The interpreter: turns an experiment and a run in the store into an RxJS
 * stream of typed events, running the unrolled stages one after another and
 * writing a checkpoint after each.
 *
 * Effects live here: the MuJoCo instance, the clock (stage durations, never
 * part of a digest), the file system (through the store). The stages
 * themselves are pure functions of (state, generator state).
 */
import { Observable } from "rxjs";
import { conditionTaskSpec, plainTaskSpec, pushTestTaskSpec, testTaskSpec, unrollPipeline, type Experiment, type StageKind, type TaskSpec } from "../dsl/experiment.js";
import { startStage } from "../algorithms/registry.js";
import type { ResolvedExperiment } from "../dsl/resolve.js";
import { initialRunState, type Metrics, type RunState, type StageEnv, type World } from "../algorithms/state.js";
import type { Task } from "../tasks/types.js";
import { Simulator, mujocoWarnings } from "../sim/mujoco.js";
import { taskFor } from "../tasks/index.js";
import { digestOfEncoded, encodeValue } from "./canonical.js";
import { slotDigests } from "./slots.js";
import { appendStageLog, BLOB_MIN_BYTES, writeCheckpoint, type RunHandle } from "./store.js";
import type { Compute } from "../parallel/compute.js";
import { createPool, WorkerFailure } from "../parallel/pool.js";
import { createKernelMemory } from "../policy/kernels/wasm.js";
import { laneOps, laneOpsUrl, lanePreload } from "../algorithms/lane-ops.js";
import { DEFAULT_NUMERICS, localCompute, type Numerics } from "../algorithms/numerics.js";
import { unbindWorlds } from "../algorithms/rollout-ops.js";
import { checkStageFinite } from "./finite.js";

export type RunEvent =
  | { readonly type: "run-started"; readonly run: string; readonly totalStages: number; readonly startStage: number }
  | { readonly type: "stage-started"; readonly index: number; readonly total: number; readonly kind: StageKind; readonly label: string }
  | {
      readonly type: "progress";
      readonly index: number;
      readonly total: number;
      readonly kind: StageKind;
      readonly label: string;
      readonly fraction: number;
      readonly message: string;
      readonly metrics?: Metrics;
    }
  | {
      readonly type: "stage-finished";
      readonly index: number;
      readonly total: number;
      readonly kind: StageKind;
      readonly label: string;
      readonly digest: string;
      readonly metrics: Metrics;
      readonly durationMs: number;
    }
  | { readonly type: "checkpoint-written"; readonly index: number; readonly path: string }
  | { readonly type: "run-finished"; readonly run: string; readonly lastStage: number; readonly totalStages: number; readonly complete: boolean };

export interface InterpretOptions {
  /** The resolved, planned experiment (src/dsl/resolve.ts, src/dsl/plan.ts). */
  readonly experiment: ResolvedExperiment;
  readonly run: RunHandle;
  /** The state before stage `startStage` (a checkpoint's); absent at stage 0: the initial state is built here. */
  readonly state?: RunState;
  readonly startStage: number;
  /** Stop after this stage index (inclusive), e.g. to test resumption. */
  readonly stopAfterStage?: number;
  /** Monotonic clock in ms, for durations only. */
  readonly now?: () => number;
  /** Lanes for independent work: 1 (default) runs everything on this thread; N > 1 adds N − 1 worker threads. */
  readonly workers?: number;
  /** The policy kernels (default "batched"; a run records its own: run.json). */
  readonly numerics?: Numerics;
  /** Asked after each stage: true ends the run there (an interrupt), with run-finished complete: false. */
  readonly shouldStop?: () => boolean;
}

/**
 * One world per condition (its terrain and pushes), plus the plain world: flat
 * ground, no pushes, where gait-phase initial states are found. Conditions with
 * the same task share a simulator.
 */
export async function createWorlds(experiment: Experiment): Promise<{ worlds: World[]; plain: World; testWorlds: Map<string, World>; dispose: () => void }> {
  const sims = new Map<Task, Simulator>();
  const world = async (spec: TaskSpec): Promise<World> => {
    const task = taskFor(spec);
    let sim = sims.get(task);
    if (!sim) {
      sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps, perturbations: task.perturbations });
      sims.set(task, sim);
    }
    return { task, sim, spec };
  };
  const worlds: World[] = [];
  for (let i = 0; i < experiment.conditions.length; i++) worlds.push(await world(conditionTaskSpec(experiment, i)));
  const plain = await world(plainTaskSpec(experiment.task));
  // Test grounds and test pushes of evaluate stages: every condition on every listed terrain, with every listed push.
  const testWorlds = new Map<string, World>();
  for (const { spec } of unrollPipeline(experiment.pipeline)) {
    if (spec.kind !== "evaluate" || (!spec.terrains && !spec.pushes)) continue;
    for (let i = 0; i < experiment.conditions.length; i++) {
      const tests = [...(spec.terrains ?? []).map((terrain) => testTaskSpec(experiment, i, terrain)), ...(spec.pushes ?? []).map((push) => pushTestTaskSpec(experiment, i, push))];
      for (const test of tests) if (!testWorlds.has(test.key)) testWorlds.set(test.key, await world(test.spec));
    }
  }
  return { worlds, plain, testWorlds, dispose: () => sims.forEach((s) => s.dispose()) };
}

/** The Compute of a run: this thread alone, or a pool of worker threads (closed by the interpreter when the run ends). */
async function computeFor(lanes: number): Promise<Compute> {
  if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`workers must be a positive integer, got ${lanes}`);
  if (lanes === 1) return localCompute();
  return createPool({ lanes, ops: laneOps, opsUrl: laneOpsUrl, preload: lanePreload, memory: createKernelMemory() });
}

function totalWarnings(): number {
  let n = 0;
  for (const c of mujocoWarnings().values()) n += c;
  return n;
}

/**
 * Run stages startStage… as a cold Observable. Unsubscribing stops the run
 * after the stage in progress; everything checkpointed so far is kept.
 */
export function interpret(options: InterpretOptions): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    let cancelled = false;
    const now = options.now ?? (() => performance.now());
    const run = async (): Promise<void> => {
      const { experiment, run } = options;
      const stages = unrollPipeline(experiment.pipeline);
      const total = stages.length;
      const last = Math.min(total - 1, options.stopAfterStage ?? Number.POSITIVE_INFINITY);
      subscriber.next({ type: "run-started", run: run.dir, totalStages: total, startStage: options.startStage });
      const { worlds, plain, testWorlds, dispose } = await createWorlds(experiment);
      let compute: Compute | undefined;
      try {
        compute = await computeFor(options.workers ?? 1);
        const env: StageEnv = { experiment, horizon: experiment.task.horizon, worlds, testWorlds, compute, numerics: options.numerics ?? DEFAULT_NUMERICS };
        let state = options.state ?? initialRunState(experiment, worlds, plain);
        let index = options.startStage;
        const stopRequested = (): boolean => cancelled || (options.shouldStop?.() ?? false);
        for (; index <= last && !stopRequested(); index++) {
          const { spec, label } = stages[index];
          const kind = spec.kind;
          subscriber.next({ type: "stage-started", index, total, kind, label });
          const started = now();
          const warningsBefore = totalWarnings();
          const gen = startStage(env, spec, state);
          let step;
          let breathed = now();
          try {
            step = gen.next();
            while (!step.done) {
              subscriber.next({ type: "progress", index, total, kind, label, ...step.value });
              // A long stage still lets signals in now and then (a second Ctrl-C aborts at once).
              if (now() - breathed > 200) {
                await new Promise<void>((r) => setImmediate(r));
                breathed = now();
              }
              step = gen.next();
            }
          } catch (e) {
            // A worker that failed or died: say which stage it took down (nothing of it was checkpointed).
            if (e instanceof WorkerFailure) throw new WorkerFailure(`stage ${index} (${label}) failed: ${e.message}`, e.lane, e.op);
            throw e;
          }
          state = step.value.state;
          // Unstable simulation steps tried along the way (e.g. by a line search) are
          // counted, not printed; a stage that hit any says how many.
          const simWarnings = totalWarnings() - warningsBefore;
          const metrics = simWarnings > 0 ? { ...step.value.metrics, simWarnings } : step.value.metrics;
          // NaN/∞ where none may be fails the stage before anything of it is written.
          checkStageFinite(index, label, state, metrics, kind);
          const durationMs = now() - started;
          // One encoding of the state serves its digest and its checkpoint; large typed arrays
          // are printed a piece at a time, never all at once.
          const encoded = encodeValue(state, { deferFromBytes: BLOB_MIN_BYTES });
          const digest = digestOfEncoded(encoded);
          const slots = slotDigests(encoded); // before the store takes `encoded` over
          subscriber.next({ type: "stage-finished", index, total, kind, label, digest, metrics, durationMs });
          const record = { index, kind, label, digest, metrics, durationMs };
          const path = writeCheckpoint(run, { ...record, state, encoded });
          appendStageLog(run, { ...record, slots });
          subscriber.next({ type: "checkpoint-written", index, path });
          // Let the event loop breathe (signals, rendering, unsubscription).
          await new Promise<void>((r) => setImmediate(r));
        }
        subscriber.next({ type: "run-finished", run: run.dir, lastStage: index - 1, totalStages: total, complete: index >= total });
        subscriber.complete();
      } finally {
        if (compute) {
          unbindWorlds(compute, [...worlds, plain, ...testWorlds.values()]);
          if (compute !== localCompute()) compute.close();
        }
        dispose();
      }
    };
    run().catch((err) => subscriber.error(err));
    return () => {
      cancelled = true;
    };
  });
}
