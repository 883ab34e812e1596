// walker-isgps.ts as it was before issue 12 (docs/trajectory-optimization.md):
// iLQG linearized by plain finite differences with gains from the last step's μ,
// 500 pretraining iterations with σ fitted. Its guiding samples fall (20 of 40)
// and so does every policy. The variants measured before issue 12 (walker-isgps-
// demo*, -dagger, -switch*) derive from this value, so their runs stay the same.
//
// Importance-sampled guided policy search on the walker (2013 paper, Figure 2):
// a 50-unit network learns to walk from 40 guiding samples around the smoothed
// SIMBICON demonstration (iLQG tracking weight 0.05, motor noise 10% of the
// demonstration's torque std). The network sees joint angles, velocities and
// the root's height and pitch, not its absolute x.
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

export default experiment({
  name: "walker-isgps-original",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"] }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(80, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: true, samples: 10, controller: "policy" }),
  ],
});
