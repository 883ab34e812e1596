// swimmer-isgps.ts with the "single example" prior method (2013 paper §6.1): θ* fitted to the one iLQG example, then importance sampling without guiding samples or regularizer.
import base from "./swimmer-isgps.js";
import { singleExample } from "./isgps-variants.js";

export default singleExample(base);
