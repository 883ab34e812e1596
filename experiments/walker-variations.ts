// The walker's environment variations as plain task parameters: the SIMBICON
// demonstration on flat ground, up a 10° incline that starts 2 m ahead, and
// under a 150 N push on the torso for 0.1 s at t = 2 s, forward and backward.
import { experiment, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-variations",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [
    condition.rest(),
    condition.rest({ terrain: { kind: "incline", start: 2, angleDeg: 10 } }),
    condition.rest({ pushes: [{ force: 150, direction: "forward", onset: 2, duration: 0.1 }] }),
    condition.rest({ pushes: [{ force: 150, direction: "backward", onset: 2, duration: 0.1 }] }),
  ],
  pipeline: [stage.demonstrate({ controller: "simbicon" })],
});
