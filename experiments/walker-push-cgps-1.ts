// walker-push-cgps-4.ts trained on one push only (the first training push; 2014 paper
// §4.3: "trained on one or four pushes").
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";
import { pushConditions, withPushTests } from "./walker-push.js";
import base from "./walker-push-cgps-4.js";

export default experiment({ ...base, name: "walker-push-cgps-1", conditions: pushConditions(1), pipeline: withPushTests(walkerCgpsPipeline(30), 1) });
