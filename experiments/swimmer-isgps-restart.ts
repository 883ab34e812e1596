// swimmer-isgps.ts, variant "restart distribution" of the 2013 paper's §6.1 (experiments/isgps-variants.ts).
import base from "./swimmer-isgps.js";
import { restartDistribution } from "./isgps-variants.js";

export default restartDistribution(base);
