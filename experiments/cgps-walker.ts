// The constrained-GPS walker recipe shared by walker-cgps-*.ts (docs/reproduction.md
// says why it differs from the paper's single 500-step trajectory):
//
// - Conditions: starts every 0.5 s along the smoothed SIMBICON demonstration from
//   rest, each a 1 s trajectory (horizon 100 × 0.01 s). Together they cover the
//   5 s walk, but each q only has to hold the gait for one second.
// - q_i starts as the demonstration with SIMBICON's own feedback, linearized
//   along it (initializeTrajectories method "linearizeDemonstration"), and the
//   motor noise (10% of the torque std) as its covariance.
// - θ is fitted first (1000 LBFGS iterations), λ starts at 1, η = 0.01.
// - Every iteration the policy alone walks 500 steps from rest (`evaluate`
//   with horizon 500): the curve of report/long-horizon.svg.
import { condition, ilqg, policy, repeat, stage, type Condition, type PipelineItem, type TerrainSpec } from "../src/index.js";
import { survivesContact } from "./trajectory-variants.js";

/** Every 50 steps (0.5 s) along the first 5 s of the demonstration from rest. */
export const DEMONSTRATION_STEPS = [0, 50, 100, 150, 200, 250, 300, 350, 400, 450];

export function alongWalk(steps: readonly number[] = DEMONSTRATION_STEPS, terrain?: TerrainSpec): Condition[] {
  return condition.alongDemonstration("simbicon-smooth", steps, terrain ? { terrain } : {});
}

export function walkerPolicy(hidden: number) {
  return policy.mlp({ hidden, ignoreInputs: ["qpos.rootx"] });
}

/**
 * The papers' q instead of SIMBICON's feedback: iLQG tracking the demonstration
 * (weight 0.05), linearized with a 5 mm contact margin, q's gains at μ = 100
 * (docs/trajectory-optimization.md), 5 iterations.
 */
export function iLqgQ(): PipelineItem[] {
  return ilqg({
    from: { kind: "recorded" },
    track: { weight: 0.05 },
    motorNoise: { fraction: 0.1 },
    ...survivesContact,
    iterations: 5,
  });
}

/**
 * demonstrate → q from SIMBICON's feedback (or, with q "ilqg", from iLQG) → fit θ → λ → K × [optimizeQ, fitTheta,
 * updateLambda, the 500-step test from rest] → final tests (500 steps from every
 * start; on `tests` grounds from rest if given).
 */
export function walkerCgpsPipeline(iterations: number, tests: TerrainSpec[] = [], q: "demonstration-feedback" | "ilqg" = "demonstration-feedback"): PipelineItem[] {
  const longTest = stage.evaluate({ noise: false, controller: "policy", horizon: 500, conditions: [0] });
  return [
    stage.demonstrate({ controller: "simbicon-smooth" }),
    ...(q === "ilqg" ? iLqgQ() : [stage.initializeTrajectories({ method: "linearizeDemonstration", from: { kind: "recorded" }, track: { weight: 0.05 }, motorNoise: { fraction: 0.1 } })]),
    stage.evaluate({ noise: false }),
    stage.fitTheta({ maxIterations: 1000, samples: 10 }),
    stage.updateLambda({ stepSize: 0.01, samples: 10, initial: 1 }),
    longTest,
    repeat(iterations, [
      stage.optimizeQ({ iterations: 1 }),
      stage.fitTheta({ maxIterations: 100, samples: 10 }),
      stage.updateLambda({ stepSize: 0.01, samples: 10 }),
      longTest,
    ]),
    stage.evaluate({ noise: false, controller: "policy" }),
    stage.evaluate({ noise: false, controller: "policy", horizon: 500 }),
    ...(tests.length
      ? [
          stage.evaluate({ noise: false, controller: "policy", horizon: 500, conditions: [0], terrains: tests }),
          stage.evaluate({ noise: false, controller: "demonstration", horizon: 500, conditions: [0], terrains: tests }),
        ]
      : []),
  ];
}
