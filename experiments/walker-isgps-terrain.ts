// Generalization to unseen ground (2013 paper §6.3, Figure 4): a 50-unit network
// is trained by importance-sampled GPS on one uneven terrain (1 m and 2 m
// segments, slopes within ±10°, seed 1), seeing the root height relative to the
// ground, and tested on four terrains it has not seen (seeds 11–14), beside the
// iLQG solution around the training demonstration. Guiding samples come from the
// smoothed SIMBICON demonstration. 20 iterations (the paper ran 80).
import { experiment, policy, task, condition } from "../src/index.js";
import { generalizationPipeline } from "./isgps-variants.js";

const uneven = (seed: number) => ({ kind: "uneven" as const, seed });
export const tests = [11, 12, 13, 14].map(uneven);

export default experiment({
  name: "walker-isgps-terrain",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest({ terrain: uneven(1) })],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
  pipeline: generalizationPipeline(tests, 20),
});
