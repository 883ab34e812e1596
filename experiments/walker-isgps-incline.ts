// Generalization (2013 paper §6.3, Figure 3): a 100-unit network is trained by
// importance-sampled GPS to walk 4 m on flat ground and then up a 10° incline;
// it sees the root height relative to the ground and cannot perceive the slope.
// It is then tested with the incline moved. Guiding samples come from the
// smoothed SIMBICON demonstration (as in walker-isgps-demo.ts); the iLQG
// solution around the same demonstration (the paper's "DDP policy") is tested
// on the same grounds for comparison. 20 iterations (the paper ran 80).
import { experiment, policy, task, condition } from "../src/index.js";
import { generalizationPipeline } from "./isgps-variants.js";

const incline = (start: number) => ({ kind: "incline" as const, start, angleDeg: 10 });
export const tests = [incline(1), incline(2), incline(3), incline(5), { kind: "flat" as const }];

export default experiment({
  name: "walker-isgps-incline",
  seed: 1,
  task: task.walker({ horizon: 500, terrain: incline(4) }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 100, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
  pipeline: generalizationPipeline(tests, 20),
});
