/**
 * Running experiments in tests: the finished stages of a run, a run stopped and
 * resumed, the run state a checkpoint holds, and the small experiments the
 * ISGPS and prior-method tests share.
 */
import { decodeRunState } from "../../src/algorithms/run-state.js";
import { lastValueFrom, toArray, type Observable } from "rxjs";
import { condition, experiment, ilqg, policy, repeat, stage, task } from "../../src/index.js";
import type { Experiment, PipelineItem } from "../../src/dsl/experiment.js";
import type { RunState } from "../../src/algorithms/state.js";
import type { RunEvent } from "../../src/runtime/interpreter.js";
import { resumeRun, startRun } from "../../src/runtime/session.js";
import { readCheckpoint } from "../../src/runtime/store.js";

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

/** The run state checkpointed after stage `index`. */
export function stateAt(run: Parameters<typeof readCheckpoint>[0], index: number): RunState {
  return decodeRunState(readCheckpoint(run, index).state);
}

/**
 * A small importance-sampled GPS run on a 30-step swimmer, two conditions: iLQG
 * (stages 0–5), 20 guiding samples each (6), pretraining (7), 3 × [isgpsIteration,
 * adaptWr] (8–13), the policy alone (14).
 */
export function smallIsgps(name: string, seed: number): Experiment {
  return experiment({
    name,
    seed,
    task: task.swimmer({ horizon: 30 }),
    conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
    policy: policy.mlp({ hidden: 5, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }),
    pipeline: [
      ...ilqg({ from: { kind: "random", std: 1 }, iterations: 5 }),
      stage.guidingSamples({ samples: 20 }),
      stage.pretrainPolicy({ maxIterations: 30, samples: 4 }),
      repeat(3, [stage.isgpsIteration({ maxIterations: 5, samples: 4, activeSamples: 48 }), stage.adaptWr()]),
      stage.evaluate({ noise: false, controller: "policy" }),
    ],
  });
}

/**
 * A pretrained policy on a 20-step swimmer, two conditions, then `loop`: iLQG
 * (stages 0–3), 10 guiding samples per condition (4), pretraining (5), the loop
 * from stage 6. The prior-method tests (cost-weighted regression, weighted DAgger)
 * put their own stage in the loop.
 */
export function smallPretrained(name: string, seed: number, loop: PipelineItem): Experiment {
  return experiment({
    name,
    seed,
    task: task.swimmer({ horizon: 20 }),
    conditions: [condition.rest(), condition.state([0, 0, 0.3, 0.2, -0.2], [0, 0, 0, 0, 0])],
    policy: policy.mlp({ hidden: 5, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }),
    pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 3 }), stage.guidingSamples({ samples: 10 }), stage.pretrainPolicy({ maxIterations: 20, samples: 4 }), loop],
  });
}
