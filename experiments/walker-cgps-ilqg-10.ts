// walker-cgps-10.ts with the papers' q: iLQG tracking the demonstration (with the
// contact margin and fixed-μ gains of docs/trajectory-optimization.md) instead of
// SIMBICON's own linearized feedback. The 1 s conditions along the walk remain.
import { experiment } from "../src/index.js";
import base from "./walker-cgps-10.js";
import { walkerCgpsPipeline } from "./cgps-walker.js";

export default experiment({ ...base, name: "walker-cgps-ilqg-10", pipeline: walkerCgpsPipeline(100, [], "ilqg") });
