// Constrained GPS on the swimmer (2014 paper, Figure 1): a neural network with
// 10 softplus hidden units learns to swim from iLQG's trajectory distribution.
// 100 iterations of [optimize q, fit θ, update λ]; the cost magnitude ramps
// ×10 over the first 50. Each fitTheta stage records the noise-free cost of
// the policy alone; compare it with the initial iLQG trajectory's. The last
// stage swims the policy for 4× the horizon (20 s): does it keep swimming?
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "swimmer-cgps-10",
  seed: 1,
  task: task.swimmer({ horizon: 100 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 10 }),
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 60 }),
    stage.evaluate({ noise: false }),
    repeat(100, [
      stage.optimizeQ({ iterations: 2 }),
      stage.fitTheta({ maxIterations: 100, samples: 10 }),
      stage.updateLambda({ stepSize: 1 }),
    ]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 400 }), // 20 s: does it keep swimming?
  ],
});
