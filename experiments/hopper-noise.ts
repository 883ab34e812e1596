// How much motor noise the hopper's hopping controllers survive: each
// demonstration controller rolled out 40 times per noise level, the noise per joint
// being `fraction` × the std over time of that joint's demonstrated torque (the
// 2013 paper's definition, with its 10% and 1%). "hopper-hop" is the original
// tuning, "hopper-hop-robust" the one retuned under noise (src/demos/hopper-hop.ts).
import { experiment, stage, task, condition, type PipelineItem } from "../src/index.js";

const fractions = [0.01, 0.025, 0.05, 0.1];

export default experiment({
  name: "hopper-noise",
  seed: 1,
  task: task.hopper({ horizon: 250 }),
  conditions: [condition.rest()],
  pipeline: (["hopper-hop", "hopper-hop-robust"] as const).flatMap((controller): PipelineItem[] => [
    stage.demonstrate({ controller }),
    ...fractions.flatMap((fraction): PipelineItem[] => [
      stage.initializeTrajectories({ from: { kind: "recorded" }, motorNoise: { fraction } }),
      stage.evaluate({ noise: "motor", samples: 40, controller: "demonstration" }),
    ]),
  ]),
});
