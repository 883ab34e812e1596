// Importance-sampled guided policy search on the hopper (2013 paper, Figure 2):
// a 50-unit network learns to hop from 40 guiding samples of the hopping
// demonstration tracked by iLQG (tracking weight 0.05, motor noise 10% of the
// demonstration's torque std, as in the paper). The demonstration is the hopping
// controller retuned under noise, and iLQG linearizes with a 5 mm contact margin
// and takes q's gains at μ = 100 (docs/trajectory-optimization.md). The tracking term shapes the
// guiding distribution only; the policy search optimizes the task's reward.
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";
import { survivesContact } from "./trajectory-variants.js";

export default experiment({
  name: "hopper-isgps",
  seed: 1,
  task: task.hopper({ horizon: 250 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"] }),
  pipeline: [
    stage.demonstrate({ controller: "hopper-hop-robust" }),
    ...ilqg({
      from: { kind: "recorded" },
      track: { weight: 0.05 },
      motorNoise: { fraction: 0.1 },
      ...survivesContact,
      iterations: 20,
    }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    stage.pretrainPolicy({ maxIterations: 300, samples: 10 }),
    repeat(80, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 1500 }), // 30 s: does it keep hopping?
  ],
});
