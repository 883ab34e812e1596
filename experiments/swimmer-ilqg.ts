// The swimmer learns to swim from rest with max-entropy iLQG (2013 paper §6).
// Horizon 100 steps of 0.05 s (5 s); iLQG starts from small seeded random
// torques, which break the symmetry of the straight resting body.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "swimmer-ilqg",
  seed: 1,
  task: task.swimmer({ horizon: 100 }),
  conditions: [condition.rest()],
  pipeline: [
    ...ilqg({ from: { kind: "random", std: 1 }, iterations: 60 }),
    stage.evaluate({ noise: false }),
    stage.evaluate({ noise: true, samples: 10 }),
  ],
});
