/**
 * The public surface for experiment files: builders for experiments, stages,
 * tasks and conditions. Importing this module does no work.
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
  type Condition,
  type Demonstration,
  type Linearization,
} from "./dsl/experiment.js";
