// walker-push-cgps-1.ts with the pushes scaled to what our walker's demonstration
// survives (× 0.4: 100–200 N; experiments/walker-push.ts LIGHT), training and test alike.
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";
import { LIGHT, pushConditions, withPushTests } from "./walker-push.js";
import base from "./walker-push-cgps-1.js";

export default experiment({ ...base, name: "walker-push-light-cgps-1", conditions: pushConditions(1, LIGHT), pipeline: withPushTests(walkerCgpsPipeline(30), 1, LIGHT) });
