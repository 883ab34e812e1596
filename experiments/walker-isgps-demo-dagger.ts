// walker-isgps-demo.ts with the DAgger prior method (2013 paper §6.1): the demonstration controller is the expert that labels every visited state.
import base from "./walker-isgps-demo.js";
import { dagger } from "./isgps-variants.js";

export default dagger(base);
