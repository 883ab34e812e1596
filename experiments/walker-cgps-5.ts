// The same experiment as walker-cgps-10.ts with 5 hidden units (2014 paper,
// Figure 1): a variant is a new value built from the old one, so `gps diff`
// of the two runs lists exactly name and policy.hidden.
import { experiment } from "../src/index.js";
import { walkerPolicy } from "./cgps-walker.js";
import base from "./walker-cgps-10.js";

export default experiment({ ...base, name: "walker-cgps-5", policy: walkerPolicy(5) });
