// Figure 3 suite: isgps-adapted on 1 training terrain(s) (experiments/fig3/suite.ts).
import { fig3Experiment } from "./suite.js";

export default fig3Experiment(1, "isgps-adapted");
