// walker-isgps-demo.ts, variant "unregularized" of the 2013 paper's §6.1 (experiments/isgps-variants.ts).
import base from "./walker-isgps-demo.js";
import { unregularized } from "./isgps-variants.js";

export default unregularized(base);
