// Generalization to unseen ground (2013 paper §6.3, Figure 4): a 50-unit network
// is trained by importance-sampled GPS on one uneven terrain (1 m and 2 m
// segments, slopes within ±10°, seed 1), seeing the root height relative to the
// ground, and tested on four terrains it has not seen (seeds 11–14), beside the
// iLQG solution around the training demonstration. Guiding samples come from the
// smoothed SIMBICON demonstration. 20 iterations (the paper ran 80).
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

const uneven = (seed: number) => ({ kind: "uneven" as const, seed });
const tests = [11, 12, 13, 14].map(uneven);

export default experiment({
  name: "walker-isgps-terrain",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest({ terrain: uneven(1) })],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(20, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", terrains: tests }),
    stage.evaluate({ noise: false, controller: "trajectory", terrains: tests }),
    stage.evaluate({ noise: false, controller: "demonstration", terrains: tests }),
  ],
});
