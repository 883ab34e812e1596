// walker-cgps-terrain-1.ts with the root height measured from the ground under
// the root (as the 2013 paper's generalization experiments did): the network
// cannot tell where on the terrain it is, only how high above the ground.
import { experiment, policy } from "../src/index.js";
import base from "./walker-cgps-terrain-1.js";

export default experiment({
  ...base,
  name: "walker-cgps-terrain-1-relative",
  policy: policy.mlp({ hidden: 50, ignoreInputs: ["qpos.rootx"], observation: "groundRelativeHeight" }),
});
