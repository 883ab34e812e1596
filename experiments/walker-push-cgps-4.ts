// Constrained GPS on push recovery (2014 paper §4.3, Figs. 4–5): 50 hidden units, the
// walking starts plus four pushed gait-phase starts (experiments/walker-push.ts), the
// constrained-GPS walker recipe's loop (experiments/cgps-walker.ts) for 30 iterations,
// then the push tests (walker-push.ts withPushTests).
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";
import { pushConditions, pushPolicy, pushTask, withPushTests } from "./walker-push.js";

export default experiment({
  name: "walker-push-cgps-4",
  seed: 1,
  task: pushTask,
  conditions: pushConditions(4),
  policy: pushPolicy,
  pipeline: withPushTests(walkerCgpsPipeline(30), 4),
});
