// walker-track.ts with iLQG as it was before docs/trajectory-optimization.md:
// finite differences in the true model and q's gains from the last step's μ.
// The "without" of both ablations: 25 of 80 motor-noise rollouts fall.
import base from "./walker-track.js";
import { plainTrajectoryOptimizer } from "./trajectory-variants.js";

export default plainTrajectoryOptimizer(base);
