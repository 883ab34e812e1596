/** Tasks by name: the experiment's `task.kind` picks one. */
import type { TaskSpec } from "../dsl/experiment.js";
import { hopper } from "./hopper.js";
import { swimmerTask } from "./swimmer.js";
import type { Task } from "./types.js";
import { walker } from "./walker.js";

export type { Task, StateLayout } from "./types.js";

export function taskFor(spec: TaskSpec): Task {
  switch (spec.kind) {
    case "swimmer":
      return swimmerTask;
    case "hopper":
      return hopper;
    case "walker":
      return walker;
  }
}
