// Adaptive resampling (2013 paper, §6.2): the example walks with the smoothed
// SIMBICON gait and switches to a crouched gait after 2.5 s, so its guiding
// samples act differently in similar states and no stationary policy can
// reproduce them. This is the run WITHOUT adaptive guiding samples; compare
// walker-isgps-switch-adaptive.ts.
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-isgps-switch",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"] }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-switch" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(80, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
  ],
});
