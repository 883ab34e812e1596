// The walker's initial trajectory distributions (2013 paper §6, 2014 paper §4):
// record the SIMBICON demonstration from four phases of its gait, then track each
// with iLQG under the task cost plus the 0.05 tracking term, giving one
// linear-Gaussian q(u|x) per condition over the papers' 500 steps. Motor noise:
// 10% of the demonstration's per-joint torque std (use fraction 0.01 for the 1%
// variant).
//
// Two options make q's samples survive contact (docs/trajectory-optimization.md):
// iLQG linearizes in the model whose contacts act from 5 mm (MuJoCo's contact
// margin; the rollouts stay in the true model), so no finite difference
// straddles a contact's activation, and q's gains come from a backward pass at
// one fixed μ = 100 rather than whatever μ the last step needed. Without them
// (walker-track-plain.ts) 25 of 80 rollouts fell; with them, none.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";
import { survivesContact } from "./trajectory-variants.js";

export default experiment({
  name: "walker-track",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: condition.gaitPhases("simbicon", 4),
  pipeline: [
    stage.demonstrate({ controller: "simbicon" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({
      from: { kind: "recorded" },
      track: { weight: 0.05 },
      motorNoise: { fraction: 0.1 },
      ...survivesContact,
      iterations: 15,
    }),
    stage.evaluate({ noise: false }),
    stage.diagnoseTrajectories(),
    stage.evaluate({ noise: "motor", samples: 20 }), // the mean controller with 10% motor noise
    stage.evaluate({ noise: true, samples: 20 }), // samples of q(u|x) plus motor noise
  ],
});
