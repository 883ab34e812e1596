// Importance-sampled guided policy search on the swimmer (2013 paper, Figure 2,
// first panel): a 50-unit network learns to swim from 40 guiding samples of
// iLQG's max-entropy trajectory distribution. Algorithm 1: pretrain θ* on the
// guiding samples, then 80 × [optimize Φ on the active set, add 10 on-policy
// samples, accept or reject; adapt w_r]. The network sees joint angles and
// velocities, not the head's absolute position (ignoreInputs).
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "swimmer-isgps",
  seed: 1,
  task: task.swimmer({ horizon: 100 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx", "qpos.rooty"] }),
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 60 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    stage.pretrainPolicy({ maxIterations: 200, samples: 10 }),
    repeat(80, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
  ],
});
