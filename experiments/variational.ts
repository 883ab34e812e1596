// Variational GPS (Levine & Koltun, NIPS 2013) from a constrained-GPS pipeline, by the
// structural map over it: the trajectory step (optimizeQ) becomes the variational
// E-step (iLQG on ℓ − log π_θ from the current q) and the dual step (updateLambda) goes
// — fitTheta, with λ_t = 1, is the M-step. Everything else (task, conditions, policy,
// the fits, the tests) stays, so `gps diff` of the two runs lists only the loop.
import { mapStages, stage, type PipelineItem } from "../src/index.js";

export function variationalPipeline(pipeline: readonly PipelineItem[], eStepIterations = 2): PipelineItem[] {
  return mapStages(pipeline, (s) => (s.kind === "optimizeQ" ? stage.variationalEStep({ iterations: eStepIterations }) : s.kind === "updateLambda" ? [] : s));
}
