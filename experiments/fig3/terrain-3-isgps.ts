// Figure 3 suite: isgps on 3 training terrain(s) (experiments/fig3/suite.ts).
import { fig3Experiment } from "./suite.js";

export default fig3Experiment(3, "isgps");
