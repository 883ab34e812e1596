// Ablation: iLQG linearizes in a model with much softer contacts (solref time constant
// 0.1 s instead of 0.04 s; Tassa et al. 2012's softened model for the optimizer only),
// with q's gains at μ = 100.
import plain from "./walker-track-plain.js";
import { gainsAtMu, softContactModel } from "./trajectory-variants.js";

export default gainsAtMu(softContactModel(plain, [0.1, 1]), 100);
