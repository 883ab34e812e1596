// swimmer-vgps-10.ts with 5 hidden units (2014 paper, Figure 1).
import { experiment, policy } from "../src/index.js";
import base from "./swimmer-vgps-10.js";

export default experiment({ ...base, name: "swimmer-vgps-5", policy: policy.mlp({ hidden: 5 }) });
