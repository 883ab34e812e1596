// Variational GPS on push recovery (2014 paper §4.3, Figs. 4–5): walker-push-cgps-4.ts
// with the variational E-step for constrained GPS's trajectory step and no dual step
// (experiments/variational.ts; one iLQG iteration per E-step, as optimizeQ's one step).
import { experiment } from "../src/index.js";
import base from "./walker-push-cgps-4.js";
import { variationalPipeline } from "./variational.js";

export default experiment({ ...base, name: "walker-push-vgps-4", pipeline: variationalPipeline(base.pipeline, 1) });
