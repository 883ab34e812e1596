// walker-cgps-terrain-1-relative.ts trained on three terrains (seeds 1, 2, 3),
// five 1 s conditions on each, every second along the demonstration; the same
// four test terrains.
import { experiment } from "../src/index.js";
import { alongWalk, walkerCgpsPipeline } from "./cgps-walker.js";
import { TEST_TERRAINS, uneven } from "./walker-cgps-terrain-1.js";
import base from "./walker-cgps-terrain-1-relative.js";

export default experiment({
  ...base,
  name: "walker-cgps-terrain-3",
  conditions: [1, 2, 3].flatMap((seed) => alongWalk([0, 100, 200, 300, 400], uneven(seed))),
  pipeline: walkerCgpsPipeline(20, TEST_TERRAINS),
});
