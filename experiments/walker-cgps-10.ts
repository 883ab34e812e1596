// Constrained GPS on the walker (2014 paper, Figure 1): a neural network with
// 10 softplus hidden units learns to walk from the smoothed SIMBICON
// demonstration. Ten 1 s conditions along the demonstration's 5 s walk from
// rest; q starts from SIMBICON's own feedback (experiments/cgps-walker.ts).
// 100 iterations of [optimize q, fit θ, update λ, the policy alone for 500
// steps from rest].
import { experiment, task } from "../src/index.js";
import { alongWalk, walkerCgpsPipeline, walkerPolicy } from "./cgps-walker.js";

export default experiment({
  name: "walker-cgps-10",
  seed: 1,
  task: task.walker({ horizon: 100 }),
  conditions: alongWalk(),
  policy: walkerPolicy(10),
  pipeline: walkerCgpsPipeline(100),
});
