// walker-isgps-gait-switch.ts WITH adaptive guiding samples (2013 paper, §4.2 and
// §6.2): in the first 40 iterations the DDP solution is re-optimized with the
// reward r + log π_θ*(u|x) from the previous solution (10 iLQG iterations; the
// paper used 50), and 10 samples of the adapted distribution join the pool each time.
import { experiment, repeat, stage } from "../src/index.js";
import base from "./walker-isgps-gait-switch.js";

const iterate = [stage.isgpsIteration({ maxIterations: 10, samples: 10, activeSamples: 100 }), stage.adaptWr()];

export default experiment({
  ...base,
  name: "walker-isgps-gait-switch-adaptive",
  pipeline: base.pipeline.flatMap((p) =>
    p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
      ? [repeat(40, [...iterate, stage.adaptGuiding({ iterations: 10 }), stage.guidingSamples({ samples: 10 })]), repeat(40, iterate)]
      : [p],
  ),
});
