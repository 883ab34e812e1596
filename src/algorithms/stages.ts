/** Stage kind → implementation. A new stage kind adds one line here. */
import type { StageSpec } from "../dsl/experiment.js";
import { daggerIteration, policyGradientIteration } from "./baselines.js";
import { demonstrate } from "./demonstrate.js";
import { diagnoseTrajectories } from "./diagnose.js";
import { fitTheta, optimizeQ, updateLambda } from "./cgps-stages.js";
import { evaluate } from "./evaluate.js";
import { adaptGuiding } from "./isgps-adaptive.js";
import { adaptWr, guidingSamples, isgpsIteration, pretrainPolicy } from "./isgps-stages.js";
import { ilqgIterationStage, initializeTrajectories } from "./ilqg-stages.js";
import type { Stage } from "./state.js";

export function stageFor(spec: StageSpec): Stage {
  switch (spec.kind) {
    case "demonstrate":
      return demonstrate as Stage;
    case "initializeTrajectories":
      return initializeTrajectories as Stage;
    case "ilqgIteration":
      return ilqgIterationStage;
    case "optimizeQ":
      return optimizeQ as Stage;
    case "fitTheta":
      return fitTheta as Stage;
    case "updateLambda":
      return updateLambda as Stage;
    case "guidingSamples":
      return guidingSamples as Stage;
    case "pretrainPolicy":
      return pretrainPolicy as Stage;
    case "isgpsIteration":
      return isgpsIteration as Stage;
    case "adaptWr":
      return adaptWr as Stage;
    case "adaptGuiding":
      return adaptGuiding as Stage;
    case "policyGradientIteration":
      return policyGradientIteration as Stage;
    case "daggerIteration":
      return daggerIteration as Stage;
    case "evaluate":
      return evaluate as Stage;
    case "diagnoseTrajectories":
      return diagnoseTrajectories as Stage;
  }
}
