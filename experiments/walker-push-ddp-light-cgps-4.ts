// walker-push-light-cgps-4.ts with the paper's push responses: iLQG on the pushed
// conditions before the first fit (experiments/walker-push.ts withPushResponses).
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";
import { LIGHT, withPushResponses, withPushTests } from "./walker-push.js";
import base from "./walker-push-light-cgps-4.js";

export default experiment({ ...base, name: "walker-push-ddp-light-cgps-4", pipeline: withPushResponses(withPushTests(walkerCgpsPipeline(30), 4, LIGHT), 4) });
