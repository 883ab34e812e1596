// Importance-sampled GPS on a declared model (experiments/cartpole-ilqg.ts): a
// 20-unit network learns the cart-pole swing-up from 40 guiding samples of
// iLQG's trajectory distribution (Algorithm 1 of the 2013 paper, as
// swimmer-isgps does for the swimmer), then is tested alone and for twice
// the horizon.
import { experiment, policy, repeat, stage } from "../src/index.js";
import base from "./cartpole-ilqg.js";

export default experiment({
  ...base,
  name: "cartpole-isgps",
  policy: policy.mlp({ hidden: 20 }),
  pipeline: [
    ...base.pipeline.filter((item) => item.kind !== "evaluate"),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    stage.pretrainPolicy({ maxIterations: 200, samples: 10 }),
    repeat(40, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 400 }),
  ],
});
