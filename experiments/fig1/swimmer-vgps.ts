// The 2014 paper's Figure 1: vgps on the swimmer, 10 hidden units (experiments/fig1/suite.ts;
// 5 units: --set policy.hidden=5; docs/fig1-suite.md).
// Its E-step is a placeholder (suite.ts variationalEStepPlaceholder) until stage.variationalEStep is on main: do not run it yet.
import { fig1Experiment } from "./suite.js";

export default fig1Experiment("swimmer", "vgps");
