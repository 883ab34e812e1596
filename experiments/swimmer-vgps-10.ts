// Variational GPS (Levine & Koltun, NIPS 2013), the 2014 paper's comparison method
// (Figure 1), on the swimmer: swimmer-cgps-10.ts with constrained GPS's trajectory
// step replaced by the variational E-step (iLQG on ℓ − log π_θ, from the current q)
// and no dual step — fitTheta is the M-step. Derived with the structural map over the
// pipeline; docs/vgps.md.
import { experiment, mapStages, stage } from "../src/index.js";
import base from "./swimmer-cgps-10.js";

export default experiment({
  ...base,
  name: "swimmer-vgps-10",
  pipeline: mapStages(base.pipeline, (s) => (s.kind === "optimizeQ" ? stage.variationalEStep({ iterations: 2 }) : s.kind === "updateLambda" ? [] : s)),
});
