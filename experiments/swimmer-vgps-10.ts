// Variational GPS (Levine & Koltun, NIPS 2013), the 2014 paper's comparison method
// (Figure 1), on the swimmer: swimmer-cgps-10.ts with constrained GPS's trajectory
// step replaced by the variational E-step (2 iLQG iterations on ℓ − log π_θ, from the
// current q) and no dual step — fitTheta is the M-step (experiments/variational.ts;
// docs/vgps.md).
import { experiment } from "../src/index.js";
import base from "./swimmer-cgps-10.js";
import { variationalPipeline } from "./variational.js";

export default experiment({ ...base, name: "swimmer-vgps-10", pipeline: variationalPipeline(base.pipeline) });
