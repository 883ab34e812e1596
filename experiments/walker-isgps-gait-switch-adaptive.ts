// walker-isgps-gait-switch.ts WITH adaptive guiding samples (2013 paper, §4.2 and
// §6.2; isgps-variants.ts `adaptiveGuiding`).
import base from "./walker-isgps-gait-switch.js";
import { adaptiveGuiding } from "./isgps-variants.js";

export default adaptiveGuiding(base, "walker-isgps-gait-switch-adaptive");
