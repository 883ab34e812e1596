// hopper-isgps.ts, variant "restart distribution" of the 2013 paper's §6.1 (experiments/isgps-variants.ts).
import base from "./hopper-isgps.js";
import { restartDistribution } from "./isgps-variants.js";

export default restartDistribution(base);
