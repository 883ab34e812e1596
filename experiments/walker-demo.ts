// The walker's demonstration: the SIMBICON-style controller (src/demos/simbicon.ts)
// walks 500 steps of 0.01 s (5 s) from rest and from three phases of its gait
// cycle. Its rollouts are recorded in the run (export them with
// `gps export <run> --demonstration --out walk.json`).
import { experiment, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-demo",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest(), ...condition.gaitPhases("simbicon", 3)],
  pipeline: [stage.demonstrate({ controller: "simbicon" }), stage.evaluate({ noise: false, controller: "demonstration" })],
});
