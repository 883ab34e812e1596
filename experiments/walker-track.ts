// The walker's initial trajectory distributions (2013 paper §6, 2014 paper §4):
// record the SIMBICON demonstration from four phases of its gait, then track each
// with iLQG under the task cost plus the 0.05 tracking term, giving one
// linear-Gaussian q(u|x) per condition. Motor noise: 10% of the demonstration's
// per-joint torque std (use fraction 0.01 for the 1% variant).
import { experiment, ilqg, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-track",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: condition.gaitPhases("simbicon", 4),
  pipeline: [
    stage.demonstrate({ controller: "simbicon" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 15 }),
    stage.evaluate({ noise: false }),
    stage.evaluate({ noise: "motor", samples: 5 }), // the mean controller with 10% motor noise
    stage.evaluate({ noise: true, samples: 5 }), // samples of q(u|x) plus motor noise
  ],
});
