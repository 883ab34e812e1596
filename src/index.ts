/**
 * The public surface for experiment files: builders for experiments, stages,
 * tasks, conditions and costs, and `run` to run an experiment from code.
 * Importing this module does no work (the runtime loads when a run starts).
 */
export {
  experiment,
  stage,
  repeat,
  task,
  condition,
  policy,
  ilqg,
  demonstrationFromExport,
  unrollPipeline,
  mapStages,
  countStages,
  type Experiment,
  type StageSpec,
  type PipelineItem,
  type TaskSpec,
  type TerrainSpec,
  type PushSpec,
  type Condition,
  type Demonstration,
  type Linearization,
} from "./dsl/experiment.js";
export { cost, type CostSpec, type MjcfTaskSpec } from "./dsl/mjcf-task.js";
export { run, RunStream, type RunOptions } from "./runtime/api.js";
export { applyOverrides, parseOverride, type Override } from "./runtime/overrides.js";
export { expandSweep, type RunRequest, type SweepRequest } from "./runtime/sweep.js";
export type { RunEvent } from "./runtime/interpreter.js";
