// walker-push-cgps-4.ts with the pushes scaled to what our walker's demonstration
// survives (× 0.4: 100–200 N; experiments/walker-push.ts LIGHT), training and test alike.
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";
import { LIGHT, pushConditions, withPushTests } from "./walker-push.js";
import base from "./walker-push-cgps-4.js";

export default experiment({ ...base, name: "walker-push-light-cgps-4", conditions: pushConditions(4, LIGHT), pipeline: withPushTests(walkerCgpsPipeline(30), 4, LIGHT) });
