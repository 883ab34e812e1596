// Ablation: dynamics fitted to 40 noisy rollouts per iLQG iteration (prior pooled over
// ±5 steps) instead of finite differences, with q's gains at μ = 100.
import plain from "./walker-track-plain.js";
import { fittedDynamics, gainsAtMu } from "./trajectory-variants.js";

export default gainsAtMu(fittedDynamics(plain, 40, { window: 5 }), 100);
