// swimmer-isgps.ts without the regularizer (2013 paper §6.1, "unregularized").
import base from "./swimmer-isgps.js";
import { unregularized } from "./isgps-variants.js";

export default unregularized(base);
