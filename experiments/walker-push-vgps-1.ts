// walker-push-vgps-4.ts trained on one push only.
import { experiment } from "../src/index.js";
import base from "./walker-push-cgps-1.js";
import { variationalPipeline } from "./variational.js";

export default experiment({ ...base, name: "walker-push-vgps-1", pipeline: variationalPipeline(base.pipeline, 1) });
