// The 2014 paper's Figure 1: isgps on the walker, 10 hidden units (experiments/fig1/suite.ts;
// 5 units: --set policy.hidden=5; docs/fig1-suite.md).
import { fig1Experiment } from "./suite.js";

export default fig1Experiment("walker", "isgps");
