// Ablation: walker-track-plain.ts with q's gains at the fixed μ = 100 alone (finite differences in the true model).
import plain from "./walker-track-plain.js";
import { gainsAtMu } from "./trajectory-variants.js";

export default gainsAtMu(plain, 100);
