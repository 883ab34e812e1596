// swimmer-isgps.ts with the guiding samples used only for pretraining (2013 paper §6.1, "non-guided").
import base from "./swimmer-isgps.js";
import { nonGuided } from "./isgps-variants.js";

export default nonGuided(base);
