// walker-push-light-cgps-4.ts with variational GPS (experiments/variational.ts; one iLQG
// iteration per E-step).
import { experiment } from "../src/index.js";
import base from "./walker-push-light-cgps-4.js";
import { variationalPipeline } from "./variational.js";

export default experiment({ ...base, name: "walker-push-light-vgps-4", pipeline: variationalPipeline(base.pipeline, 1) });
