// walker-cgps-10.ts with 50 hidden units (the size of the 2014 paper's terrain
// policies), 40 iterations.
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline, walkerPolicy } from "./cgps-walker.js";
import base from "./walker-cgps-10.js";

export default experiment({ ...base, name: "walker-cgps-50", policy: walkerPolicy(50), pipeline: walkerCgpsPipeline(40) });
