// Three training terrains (2013 paper §6.3, 2014 paper §4): piecewise-planar
// ground of 1 m and 2 m segments with random slopes up to ±10°, one seed per
// condition. On each, the SIMBICON demonstration is recorded and tracked by
// iLQG, giving one trajectory distribution per terrain.
import { experiment, ilqg, stage, task, condition } from "../src/index.js";

const terrain = (seed: number) => ({ kind: "uneven" as const, seed });

export default experiment({
  name: "walker-terrain-3",
  seed: 1,
  task: task.walker({ horizon: 500 }),
  conditions: [1, 2, 3].map((seed) => condition.rest({ terrain: terrain(seed) })),
  pipeline: [
    stage.demonstrate({ controller: "simbicon" }),
    stage.evaluate({ noise: false, controller: "demonstration" }),
    ...ilqg({ from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 }, iterations: 15 }),
    stage.evaluate({ noise: false }),
  ],
});
