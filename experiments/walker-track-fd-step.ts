// Ablation: finite differences with step 1e-8 instead of 1e-6 in the true model (a
// straddled contact activation shows up as ∝ 1/ε: a smaller step meets fewer), with
// q's gains at μ = 100.
import plain from "./walker-track-plain.js";
import { fdStep, gainsAtMu } from "./trajectory-variants.js";

export default gainsAtMu(fdStep(plain, 1e-8), 100);
