/**
 * The library's entry to running an experiment from code: `run(experiment,
 * { store })` is a cold stream of the interpreter's events — an RxJS
 * Observable that is also an async iterable. Nothing happens until it is
 * subscribed to or iterated: then the value is checked (the same codecs and
 * plan as `gps run`), a declared model's file is read, the run directory is
 * created and the stages run, checkpointed one by one. Unsubscribing (or
 * leaving a `for await` loop) stops after the stage in progress; `gps resume`
 * continues from there.
 */
import { Observable, type Subscription } from "rxjs";
import type { Experiment } from "../dsl/experiment.js";
import type { RunEvent } from "./interpreter.js";
import type { Override } from "./overrides.js";

export interface RunOptions {
  /** The store: a folder of run directories (created if missing). */
  readonly store: string;
  /** Lanes for independent work (1, the default: this thread alone). Results do not depend on it. */
  readonly workers?: number;
  /** Run with this seed instead of the experiment's (recorded in run.json, as `gps run --seed`). */
  readonly seed?: number;
  /**
   * Changes to fields of the resolved experiment, applied in order after `seed`
   * and recorded in run.json, as `gps run --set path=value` (docs/sweeps.md).
   */
  readonly overrides?: readonly Override[];
  /** Stop after this stage index (inclusive); the run stays resumable. */
  readonly stopAfterStage?: number;
  /** Where a declared model's relative `path` is read from (default: the working directory). */
  readonly baseDir?: string;
}

/** The event stream of a run: subscribe to it, or `for await` over it. */
export class RunStream extends Observable<RunEvent> implements AsyncIterable<RunEvent> {
  [Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    const queue: RunEvent[] = [];
    let failure: { error: unknown } | null = null;
    let done = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    let subscription: Subscription | null = this.subscribe({
      next: (e) => {
        queue.push(e);
        notify();
      },
      error: (error: unknown) => {
        failure = { error };
        notify();
      },
      complete: () => {
        done = true;
        notify();
      },
    });
    const stop = () => {
      subscription?.unsubscribe();
      subscription = null;
    };
    return {
      next: async (): Promise<IteratorResult<RunEvent>> => {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          if (failure) {
            stop();
            throw failure.error;
          }
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
        }
      },
      return: async (): Promise<IteratorResult<RunEvent>> => {
        stop();
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * Run an experiment value into a store. The value is decoded and planned as
 * `gps run` does it (bad input throws an ExperimentValidationError naming the
 * field, before anything is written).
 */
export function run(experiment: Experiment, options: RunOptions): RunStream {
  return new RunStream((subscriber) => {
    let inner: Subscription | null = null;
    let cancelled = false;
    const start = async (): Promise<void> => {
      // The runtime is imported here, so importing the library stays free of work.
      const [{ decodeExperiment }, { withModelFiles }, { startRun }, { applyOverrides, seedOverride }] = await Promise.all([
        import("../dsl/validate.js"),
        import("./model-files.js"),
        import("./session.js"),
        import("./overrides.js"),
      ]);
      let value = await withModelFiles(decodeExperiment(experiment), options.baseDir ?? process.cwd());
      if (options.seed !== undefined) value = decodeExperiment({ ...value, seed: options.seed });
      const overrides = options.overrides ?? [];
      value = applyOverrides(value, overrides);
      if (cancelled) return;
      const recorded = overrides.length > 0 ? [...(options.seed !== undefined ? [seedOverride(options.seed)] : []), ...overrides] : undefined;
      const started = startRun(value, { store: options.store, workers: options.workers, stopAfterStage: options.stopAfterStage, seedOverride: options.seed, overrides: recorded });
      inner = started.events.subscribe(subscriber);
    };
    start().catch((e) => subscriber.error(e));
    return () => {
      cancelled = true;
      inner?.unsubscribe();
    };
  });
}
