// Variational GPS (Levine & Koltun, NIPS 2013) from a constrained-GPS pipeline, by the
// structural map over it: the trajectory step (optimizeQ) becomes the variational
// E-step (iLQG on ℓ − log π_θ from the current q), the dual step (updateLambda) goes,
// and every fitTheta becomes the M-step (objective "likelihood": max E_q[log π_θ]).
// Everything else (task, conditions, policy, the tests) stays, so `gps diff` of the
// two runs lists only those stages.
import { mapStages, stage, type PipelineItem } from "../src/index.js";

export function variationalPipeline(pipeline: readonly PipelineItem[], eStepIterations = 2): PipelineItem[] {
  return mapStages(pipeline, (s) => {
    if (s.kind === "optimizeQ") return stage.variationalEStep({ iterations: eStepIterations });
    if (s.kind === "updateLambda") return [];
    if (s.kind === "fitTheta") return { ...s, objective: "likelihood" as const };
    return s;
  });
}
