/** Running experiments in tests: the finished stages of a run, and a run stopped and resumed. */
import { lastValueFrom, toArray, type Observable } from "rxjs";
import type { Experiment } from "../../src/dsl/experiment.js";
import type { RunEvent } from "../../src/runtime/interpreter.js";
import { resumeRun, startRun } from "../../src/runtime/session.js";

export type Finished = Extract<RunEvent, { type: "stage-finished" }>;

/** The stage-finished events of a run's event stream, once it completes. */
export async function finishedOf(events: Observable<RunEvent>): Promise<Finished[]> {
  return (await lastValueFrom(events.pipe(toArray()))).filter((e): e is Finished => e.type === "stage-finished");
}

/** The digests of a run stopped after stage `stopAfter` in `store` and then resumed to the end. */
export async function digestsResumedAfter(experiment: Experiment, store: string, stopAfter: number): Promise<string[]> {
  const first = startRun(experiment, { store, stopAfterStage: stopAfter });
  const head = await finishedOf(first.events);
  const tail = await finishedOf(resumeRun(first.run.dir).events);
  return [...head, ...tail].map((e) => e.digest);
}
