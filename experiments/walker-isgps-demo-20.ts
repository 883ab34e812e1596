// walker-isgps-demo.ts with 20 hidden units (the 2013 paper's Figure 2, fourth panel).
import { experiment, policy } from "../src/index.js";
import base from "./walker-isgps-demo.js";

export default experiment({ ...base, name: "walker-isgps-demo-20", policy: policy.mlp({ hidden: 20, ignoreInputs: ["qpos.rootx"] }) });
