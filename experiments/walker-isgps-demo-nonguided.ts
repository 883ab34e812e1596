// walker-isgps-demo.ts, variant "nonguided" of the 2013 paper's §6.1 (experiments/isgps-variants.ts).
import base from "./walker-isgps-demo.js";
import { nonGuided } from "./isgps-variants.js";

export default nonGuided(base);
