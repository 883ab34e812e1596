// The hopper's initial trajectory distribution: the hopping controller retuned
// under noise (src/demos/hopper-hop.ts "hopper-hop-robust") hops for 250 steps of
// 0.02 s (5 s); iLQG then tracks it under the task cost plus the 0.05 tracking
// term, linearized with a 5 mm contact margin and with q's gains at μ = 100
// (docs/trajectory-optimization.md). 20 noisy rollouts of the mean controller and
// 20 samples of q measure whether its samples survive the papers' 10% motor noise.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";
import { survivesContact } from "./trajectory-variants.js";

export default experiment({
  name: "hopper-track",
  seed: 1,
  task: task.hopper({ horizon: 250 }),
  conditions: [condition.rest()],
  pipeline: [
    stage.demonstrate({ controller: "hopper-hop-robust" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({
      from: { kind: "recorded" },
      track: { weight: 0.05 },
      motorNoise: { fraction: 0.1 },
      ...survivesContact,
      iterations: 20,
    }),
    stage.evaluate({ noise: false }),
    stage.diagnoseTrajectories(),
    stage.evaluate({ noise: "motor", samples: 20 }), // the mean controller with 10% motor noise
    stage.evaluate({ noise: true, samples: 20 }), // samples of q(u|x) plus motor noise
  ],
});
