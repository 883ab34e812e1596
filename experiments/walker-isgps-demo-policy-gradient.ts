// walker-isgps-demo.ts with the "policy gradient" prior method (2013 paper §6.1): GPOMDP with Adam from the same pretrained θ*.
import base from "./walker-isgps-demo.js";
import { policyGradient } from "./isgps-variants.js";

export default policyGradient(base);
