// walker-cgps-50.ts with the papers' q: iLQG tracking the demonstration (contact
// margin and fixed-μ gains, docs/trajectory-optimization.md) instead of SIMBICON's
// own linearized feedback. The 1 s conditions along the walk remain.
import { experiment } from "../src/index.js";
import { walkerCgpsPipeline, walkerPolicy } from "./cgps-walker.js";
import base from "./walker-cgps-10.js";

export default experiment({ ...base, name: "walker-cgps-ilqg-50", policy: walkerPolicy(50), pipeline: walkerCgpsPipeline(40, [], "ilqg") });
