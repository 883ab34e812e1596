// A model that is not one of the papers' tasks, declared as data: the cart-pole
// of experiments/models/cartpole.xml swings its pole up from hanging at rest and
// holds it, by max-entropy iLQG. The cost is built from named terms: the hinge
// angle to π (upright), the cart back to the middle, small pushes. 200 steps of
// 0.02 s (4 s); iLQG starts from seeded random pushes (std 3 N).
import { condition, cost, experiment, ilqg, stage, task } from "../src/index.js";

export const cartpole = task.mjcf({
  name: "cartpole",
  path: "./models/cartpole.xml",
  horizon: 200,
  substeps: 2,
  forward: "slider",
  cost: cost.sum(
    cost.position({ joint: "hinge", target: Math.PI, weight: 1 }),
    cost.position({ joint: "slider", target: 0, weight: 0.1 }),
    cost.action({ weight: 1e-2 }),
  ),
});

export default experiment({
  name: "cartpole-ilqg",
  seed: 1,
  task: cartpole,
  conditions: [condition.rest()],
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 3 }, iterations: 150 }),
    stage.evaluate({ noise: false }),
    stage.evaluate({ noise: true, samples: 10 }),
  ],
});
