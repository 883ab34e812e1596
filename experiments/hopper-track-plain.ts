// Ablation: hopper-track.ts with iLQG's default linearization and gains (finite
// differences in the true model, q's gains from the last step's μ).
import base from "./hopper-track.js";
import { plainTrajectoryOptimizer } from "./trajectory-variants.js";

export default plainTrajectoryOptimizer(base);
