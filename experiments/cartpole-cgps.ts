// Constrained GPS on a declared model (experiments/cartpole-ilqg.ts): a network
// with 20 softplus hidden units learns the cart-pole swing-up from iLQG's
// trajectory distribution, as swimmer-cgps-10 does for the swimmer. The policy
// is then tested alone, and for twice the horizon (does it keep the pole up?).
import { experiment, policy, repeat, stage } from "../src/index.js";
import base from "./cartpole-ilqg.js";

export default experiment({
  ...base,
  name: "cartpole-cgps",
  policy: policy.mlp({ hidden: 20 }),
  pipeline: [
    ...base.pipeline.filter((item) => item.kind !== "evaluate"),
    stage.evaluate({ noise: false }),
    repeat(50, [
      stage.optimizeQ({ iterations: 2 }),
      stage.fitTheta({ maxIterations: 100, samples: 10 }),
      stage.updateLambda({ stepSize: 1 }),
    ]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 400 }),
  ],
});
