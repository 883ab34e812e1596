// swimmer-isgps.ts with the DAgger prior method (2013 paper §6.1): the iLQG guiding distribution is the expert that labels every visited state.
import base from "./swimmer-isgps.js";
import { dagger } from "./isgps-variants.js";

export default dagger(base);
