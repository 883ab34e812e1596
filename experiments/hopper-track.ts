// The hopper's initial trajectory distribution: a hand-crafted hopping
// controller (src/demos/hopper-hop.ts) hops for 250 steps of 0.02 s (5 s); iLQG
// then tracks it under the task cost plus the 0.05 tracking term.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "hopper-track",
  seed: 1,
  task: task.hopper({ horizon: 250 }),
  conditions: [condition.rest()],
  pipeline: [
    stage.demonstrate({ controller: "hopper-hop" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 20 }),
    stage.evaluate({ noise: false }),
    stage.evaluate({ noise: "motor", samples: 5 }), // the mean controller with 10% motor noise
    stage.evaluate({ noise: true, samples: 5 }), // samples of q(u|x) plus motor noise
  ],
});
