// Constrained GPS on uneven terrain (2014 paper, Figure 3): 50 hidden units,
// trained on one terrain (1 m and 2 m segments, slopes within ±10°, seed 1),
// tested from rest on four terrains it has not seen (seeds 11–14). The network
// sees the state as it is (absolute root height, root x hidden), as in the
// paper. Ten 1 s conditions along the demonstration on the training terrain;
// 20 iterations (experiments/cgps-walker.ts).
import { experiment, task } from "../src/index.js";
import { alongWalk, walkerCgpsPipeline, walkerPolicy } from "./cgps-walker.js";

export const uneven = (seed: number) => ({ kind: "uneven" as const, seed });
export const TEST_TERRAINS = [11, 12, 13, 14].map(uneven);

export default experiment({
  name: "walker-cgps-terrain-1",
  seed: 1,
  task: task.walker({ horizon: 100 }),
  conditions: alongWalk(undefined, uneven(1)),
  policy: walkerPolicy(50),
  pipeline: walkerCgpsPipeline(20, TEST_TERRAINS),
});
