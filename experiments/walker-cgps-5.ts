// Constrained GPS on the walker (2014 paper, Figure 1): a neural network with
// 5 softplus hidden units learns to walk from the SIMBICON demonstration,
// tracked by iLQG from two phases of its gait. 100 iterations of
// [optimize q, fit θ, update λ]; the policy alone is evaluated at the end.
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-cgps-5",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: condition.gaitPhases("simbicon", 2),
  policy: policy.mlp({ hidden: 5 }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    repeat(100, [
      stage.optimizeQ({ iterations: 1 }),
      stage.fitTheta({ maxIterations: 100, samples: 5 }),
      stage.updateLambda({ stepSize: 1, samples: 5 }),
    ]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false }),
  ],
});
