// walker-isgps-terrain.ts without the policy: the DDP solution, TBDP over it and SIMBICON on the
// same test grounds, from the same training (2013 paper, Figure 4). Seconds, not hours.
import base, { tests } from "./walker-isgps-terrain.js";
import { comparisonsOnly } from "./isgps-variants.js";

export default comparisonsOnly(base, tests);
