// The walker with 20 hidden units (2013 paper, Figure 2, fourth panel: a policy
// that is less successful after pretraining, where the guiding samples matter).
import { experiment, policy } from "../src/index.js";
import base from "./walker-isgps.js";

export default experiment({ ...base, name: "walker-isgps-20", policy: policy.mlp({ hidden: 20, ignoreInputs: ["qpos.rootx"] }) });
