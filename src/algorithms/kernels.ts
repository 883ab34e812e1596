/**
 * The policy network's kernels, per-row and batched (see ./numerics.ts for
 * which a run uses). No Compute is created here, so the modules the lanes
 * run (./lane-ops.ts) can import it without a cycle.
 */
import type { Compute } from "../parallel/compute.js";
import { batchedFitLoss, batchedForward, batchedStepLogProbs, ScoreSession, type RowsLoss } from "../policy/kernels/batched.js";
import { createWorkspace, forward, meanJacobian, weightedFitLoss, type MlpPolicy } from "../policy/mlp.js";
import {
  isObjective,
  isObjectiveBatched,
  maxLikelihoodObjective,
  maxLikelihoodObjectiveBatched,
  policyStepLogProbs,
  scoreFunctionGradient,
  type HeldObjective,
  type IsObjective,
  type IsObjectiveOptions,
  type IsSampleSet,
  type MaxLikelihoodOptions,
  type SampleKernels,
} from "./isgps-objective.js";

export type Numerics = "per-row" | "batched";
export const NUMERICS: readonly Numerics[] = ["per-row", "batched"];
export const DEFAULT_NUMERICS: Numerics = "batched";

/**
 * The policy network's many-row computations, in the run's numerics. The
 * per-row ones are the reference code of src/policy/mlp.ts and
 * ./isgps-objective.ts, unchanged; the batched ones run chunked on the
 * run's Compute. Objectives hold memory until `release()`.
 */
export interface PolicyKernels extends SampleKernels {
  readonly numerics: Numerics;
  /** The §4 weighted least-squares loss over fixed rows (constrained GPS's fit of θ). */
  fitLoss(policy: MlpPolicy, X: Float64Array, targets: Float64Array, precisions: Float64Array, weights: Float64Array): RowsLoss;
  /** μ(x_r) for `rows` raw states (row stride n) into meanOut (rows·m), and ∂μ/∂x into jacOut (rows·m·n) when given. */
  forward(policy: MlpPolicy, theta: Float64Array, X: Float64Array, rows: number, meanOut: Float64Array, jacOut?: Float64Array): void;
  /** log π_θ(u_t | x_t) for every sample and step of a set (count·T). */
  stepLogProbs(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet): Float64Array;
  isObjective(policy: MlpPolicy, set: IsSampleSet, options: IsObjectiveOptions): IsObjective;
  maxLikelihood(policy: MlpPolicy, set: IsSampleSet, sampleIndices: readonly number[], options?: MaxLikelihoodOptions): HeldObjective;
  /** Σ_i Σ_t c_it ∇_θ log π_θ(u_it | x_it) into gradOut (overwritten; logStd block included). */
  scoreGradient(policy: MlpPolicy, theta: Float64Array, set: IsSampleSet, coefficients: Float64Array, gradOut: Float64Array): void;
}

const FIT_CHUNK = 256;

/** The reference: src/policy/mlp.ts's per-row passes, on the calling thread. */
export const perRowKernels: PolicyKernels = {
  numerics: "per-row",
  fitLoss(policy, X, targets, precisions, weights) {
    const ws = createWorkspace(policy, Math.max(1, Math.min(weights.length, FIT_CHUNK)));
    return {
      evaluate: (theta, gradOut) => (weights.length > 0 ? weightedFitLoss(policy, theta, X, targets, precisions, weights, gradOut, ws) : (gradOut?.fill(0), 0)),
      release: () => {},
    };
  },
  forward(policy, theta, X, rows, meanOut, jacOut) {
    const n = policy.nIn;
    const m = policy.nOut;
    if (!jacOut) {
      const ws = createWorkspace(policy, Math.max(1, rows));
      if (rows > 0) forward(policy, theta, X, rows, meanOut, ws);
      return;
    }
    const ws = createWorkspace(policy, 1);
    const J = new Float64Array(m * n);
    const mean = new Float64Array(m);
    for (let r = 0; r < rows; r++) {
      meanJacobian(policy, theta, X, J, ws, mean, r * n);
      meanOut.set(mean, r * m);
      jacOut.set(J, r * m * n);
    }
  },
  stepLogProbs: (policy, theta, set) => policyStepLogProbs(policy, theta, set),
  isObjective: (policy, set, options) => isObjective(policy, set, options),
  maxLikelihood: (policy, set, indices, options) => ({ objective: maxLikelihoodObjective(policy, set, indices, options), release: () => {} }),
  scoreGradient: (policy, theta, set, coefficients, gradOut) => scoreFunctionGradient(policy, theta, set, coefficients, gradOut),
};

/** The batched kernels on `compute`'s lanes. */
export function batchedKernels(compute: Compute): PolicyKernels {
  return {
    numerics: "batched",
    fitLoss: (policy, X, targets, precisions, weights) => batchedFitLoss(compute, policy, X, targets, precisions, weights),
    forward: (policy, theta, X, rows, meanOut, jacOut) => batchedForward(compute, policy, theta, X, rows, meanOut, jacOut),
    stepLogProbs: (policy, theta, set) => batchedStepLogProbs(compute, policy, theta, set.xs, set.us, set.count, set.T),
    isObjective: (policy, set, options) => isObjectiveBatched(compute, policy, set, options),
    maxLikelihood: (policy, set, indices, options) => maxLikelihoodObjectiveBatched(compute, policy, set, indices, options),
    scoreGradient(policy, theta, set, coefficients, gradOut) {
      const s = new ScoreSession(compute, policy, set.xs, set.us, Array.from({ length: set.count }, (_, i) => i), set.T, { perRowCoefficients: true });
      try {
        s.setCoefficients(coefficients);
        s.gradient(theta, gradOut, { scale: 1, learnStd: true, withValue: false });
      } finally {
        s.release();
      }
    },
  };
}

