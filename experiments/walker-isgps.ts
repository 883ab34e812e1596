// Importance-sampled guided policy search on the walker (2013 paper, Figure 2):
// a 50-unit network learns to walk from 40 guiding samples around the smoothed
// SIMBICON demonstration (iLQG tracking weight 0.05, motor noise 10% of the
// demonstration's torque std; iLQG linearizes with a 5 mm contact margin and
// takes q's gains at μ = 100, as walker-track.ts). The network sees joint angles, velocities and
// the root's height and pitch, not its absolute x.
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";
import { survivesContact } from "./trajectory-variants.js";

export default experiment({
  name: "walker-isgps",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"] }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...ilqg({
      from: { kind: "recorded" },
      track: { weight: 0.05 },
      motorNoise: { fraction: 0.1 },
      ...survivesContact,
      iterations: 5,
    }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    // θ* ← argmax Σ log π_θ(u|x) on the guiding samples, run to convergence (2000 LBFGS
    // iterations; 500 leave a θ* that falls), with σ fixed at the guiding noise.
    stage.pretrainPolicy({ maxIterations: 2000, samples: 10, std: "guiding" }),
    repeat(80, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 3000 }), // 30 s: does it keep walking?
  ],
});
