// The hopper from a standing start with max-entropy iLQG, from scratch (no
// demonstration). Horizon 250 steps of 0.02 s (5 s). See docs/results.md for
// how far it gets.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "hopper-ilqg",
  seed: 1,
  task: task.hopper({ horizon: 250 }),
  conditions: [condition.rest()],
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 0.5 }, iterations: 100 }),
    stage.evaluate({ noise: false }),
  ],
});
