// Generalization (2013 paper §6.3, Figure 3): a 100-unit network is trained by
// importance-sampled GPS to walk 4 m on flat ground and then up a 10° incline;
// it sees the root height relative to the ground and cannot perceive the slope.
// It is then tested with the incline moved. Guiding samples come from the
// smoothed SIMBICON demonstration (as in walker-isgps-demo.ts); the iLQG
// solution around the same demonstration (the paper's "DDP policy") is tested
// on the same grounds for comparison. 20 iterations (the paper ran 80).
import { experiment, ilqg, policy, repeat, stage, task, condition } from "../src/index.js";

const incline = (start: number) => ({ kind: "incline" as const, start, angleDeg: 10 });
const tests = [incline(1), incline(2), incline(3), incline(5), { kind: "flat" as const }];

export default experiment({
  name: "walker-isgps-incline",
  seed: 1,
  task: task.walker({ horizon: 500, terrain: incline(4) }),
  conditions: [condition.rest()],
  policy: policy.mlp({ hidden: 100, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
  pipeline: [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 5 }),
    stage.evaluate({ noise: false }),
    stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }),
    stage.pretrainPolicy({ maxIterations: 500, samples: 10 }),
    repeat(20, [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", terrains: tests }),
    stage.evaluate({ noise: false, controller: "trajectory", terrains: tests }),
    stage.evaluate({ noise: false, controller: "demonstration", terrains: tests }),
  ],
});
