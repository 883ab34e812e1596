/**
 * Resolving an experiment: every option that has a default gets it, so the
 * resolved value says what runs. It is what a run stores, hashes, shows and
 * compares (`gps show`, `gps diff`, resume's change check); stages read only
 * resolved specs. The defaults themselves are declared once, beside their
 * options, in ./experiment.ts (`…Defaults`).
 *
 * Options whose absence means something other than a constant stay optional:
 * evaluate's `horizon` (the task's), `conditions` (all), `terrains` (each
 * condition's own ground); initializeTrajectories' `track`, `motorNoise` and
 * `linearization` (none / finite differences in the task's model); iLQG's
 * `gainMu`; a finite-difference linearization's `epsilon` and `contact`.
 *
 * Resolving is idempotent, and a stored run's unresolved experiment (runs
 * recorded before defaults were recorded) resolves to what it ran, as long as
 * the defaults have not changed since.
 */
import { MJCF_DEFAULT_SUBSTEPS } from "./mjcf-task.js";
import {
  adaptGuidingDefaults,
  adaptWrDefaults,
  daggerIterationDefaults,
  costWeightedRegressionDefaults,
  variationalEStepDefaults,
  diagnoseTrajectoriesDefaults,
  evaluateDefaults,
  fitThetaDefaults,
  fittedLinearizationDefaults,
  guidingSamplesDefaults,
  ilqgDefaults,
  isgpsIterationDefaults,
  isRepeat,
  optimizeQDefaults,
  policyDefaults,
  policyGradientIterationDefaults,
  pretrainPolicyDefaults,
  updateLambdaDefaults,
  type Experiment,
  type IlqgOptions,
  type Linearization,
  type PipelineItem,
  type PolicySpec,
  type StageKind,
  type StageSpec,
  type TaskSpec,
} from "./experiment.js";

type Spec<K extends StageKind> = Extract<StageSpec, { kind: K }>;
type FittedLinearization = Extract<Linearization, { kind: "fitted" }>;

export type ResolvedLinearization = Extract<Linearization, { kind: "finiteDifference" }> | (FittedLinearization & typeof fittedLinearizationDefaults);
export type ResolvedIlqgOptions = IlqgOptions & typeof ilqgDefaults;
export type ResolvedPolicySpec = PolicySpec & typeof policyDefaults;

/** Each stage kind with its defaults filled in. */
export interface ResolvedStageSpecs {
  readonly demonstrate: Spec<"demonstrate">;
  readonly initializeTrajectories: Omit<Spec<"initializeTrajectories">, "ilqg" | "linearization"> & { readonly ilqg: ResolvedIlqgOptions; readonly linearization?: ResolvedLinearization };
  readonly ilqgIteration: Spec<"ilqgIteration">;
  readonly optimizeQ: Spec<"optimizeQ"> & typeof optimizeQDefaults;
  readonly fitTheta: Spec<"fitTheta"> & typeof fitThetaDefaults;
  readonly updateLambda: Spec<"updateLambda"> & typeof updateLambdaDefaults;
  readonly guidingSamples: Spec<"guidingSamples"> & typeof guidingSamplesDefaults;
  readonly pretrainPolicy: Spec<"pretrainPolicy"> & typeof pretrainPolicyDefaults;
  readonly isgpsIteration: Spec<"isgpsIteration"> & typeof isgpsIterationDefaults;
  readonly adaptWr: Spec<"adaptWr"> & typeof adaptWrDefaults;
  readonly adaptGuiding: Spec<"adaptGuiding"> & typeof adaptGuidingDefaults;
  readonly policyGradientIteration: Spec<"policyGradientIteration"> & typeof policyGradientIterationDefaults;
  readonly daggerIteration: Spec<"daggerIteration"> & typeof daggerIterationDefaults;
  readonly costWeightedRegression: Spec<"costWeightedRegression"> & typeof costWeightedRegressionDefaults;
  readonly variationalEStep: Spec<"variationalEStep"> & typeof variationalEStepDefaults;
  readonly evaluate: Spec<"evaluate"> & typeof evaluateDefaults;
  readonly diagnoseTrajectories: Spec<"diagnoseTrajectories"> & typeof diagnoseTrajectoriesDefaults;
}

/** A resolved stage of kind K (default: any kind). */
export type ResolvedStageSpec<K extends StageKind = StageKind> = { [P in K]: ResolvedStageSpecs[P] }[K];
export type ResolvedPipelineItem = PipelineItem<ResolvedStageSpec>;

/** An experiment with every default filled in (assignable to Experiment). */
export type ResolvedExperiment = Omit<Experiment, "pipeline" | "policy"> & {
  readonly pipeline: ResolvedPipelineItem[];
  readonly policy?: ResolvedPolicySpec;
};

/**
 * `spec` over `defaults`: a field the spec leaves out takes the default. Decoded
 * specs have no field set to undefined (decodeExperiment drops them).
 */
function over<D extends object, S extends Partial<D>>(defaults: D, spec: S): D & S {
  return { ...defaults, ...spec };
}

function resolveLinearization(l: Linearization): ResolvedLinearization {
  return l.kind === "fitted" ? over(fittedLinearizationDefaults, l) : l;
}

export function resolveStage(spec: StageSpec): ResolvedStageSpec {
  switch (spec.kind) {
    case "demonstrate":
    case "ilqgIteration":
      return spec;
    case "initializeTrajectories": {
      const { linearization, ...rest } = spec;
      return { ...rest, ilqg: over(ilqgDefaults, spec.ilqg ?? {}), ...(linearization ? { linearization: resolveLinearization(linearization) } : {}) };
    }
    case "optimizeQ":
      return over(optimizeQDefaults, spec);
    case "fitTheta":
      return over(fitThetaDefaults, spec);
    case "updateLambda":
      return over(updateLambdaDefaults, spec);
    case "guidingSamples":
      return over(guidingSamplesDefaults, spec);
    case "pretrainPolicy":
      return over(pretrainPolicyDefaults, spec);
    case "isgpsIteration":
      return over(isgpsIterationDefaults, spec);
    case "adaptWr":
      return over(adaptWrDefaults, spec);
    case "adaptGuiding":
      return over(adaptGuidingDefaults, spec);
    case "policyGradientIteration":
      return over(policyGradientIterationDefaults, spec);
    case "daggerIteration":
      return over(daggerIterationDefaults, spec);
    case "costWeightedRegression":
      return over(costWeightedRegressionDefaults, spec);
    case "variationalEStep":
      return over(variationalEStepDefaults, spec);
    case "evaluate":
      return over(evaluateDefaults, spec);
    case "diagnoseTrajectories":
      return over(diagnoseTrajectoriesDefaults, spec);
  }
}

/** The policy spec with its defaults filled in. */
export function resolvePolicy(policy: PolicySpec): ResolvedPolicySpec {
  return over(policyDefaults, policy);
}

function resolveItem(item: PipelineItem): ResolvedPipelineItem {
  return isRepeat(item) ? { kind: "repeat", times: item.times, body: item.body.map(resolveItem) } : resolveStage(item);
}

/** The experiment with every default filled in (idempotent). */
export function resolveExperiment(e: Experiment): ResolvedExperiment {
  const { policy, pipeline, task, ...rest } = e;
  return { ...rest, task: resolveTask(task), pipeline: pipeline.map(resolveItem), ...(policy ? { policy: resolvePolicy(policy) } : {}) };
}

/** A declared model's control period, filled in (the built-in tasks' options are task options, not resolved here). */
function resolveTask(task: TaskSpec): TaskSpec {
  return task.kind === "mjcf" ? { ...task, substeps: task.substeps ?? MJCF_DEFAULT_SUBSTEPS } : task;
}
