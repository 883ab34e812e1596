/**
 * The trajectory step of constrained GPS on one condition (the body of
 * optimizeQ, Algorithm 2 `iterations` times), as a pure function of the
 * condition's state, the policy and the cost ramp, and as a lane op: the
 * conditions of optimizeQ are independent (without the Monte Carlo policy
 * linearization, which draws from the run's generator), so each runs whole
 * on some lane — its linearizations, line-search rollouts, backward and
 * covariance passes and policy linearizations — and the results come back
 * in condition order.
 */
import type { PolicySpec } from "../dsl/experiment.js";
import type { LaneContext } from "../parallel/compute.js";
import { laneForward } from "../policy/kernels/batched.js";
import type { MlpPolicy } from "../policy/mlp.js";
import { mujocoWarnings, warningsSince } from "../sim/mujoco.js";
import { trajectoryCost } from "../tasks/cost.js";
import { costScale } from "../tasks/cost-terms.js";
import type { Task } from "../tasks/types.js";
import { defaultIlqgSettings, type IlqgSettings } from "../trajopt/ilqg.js";
import { finiteDifferenceLinearizer } from "./finite-difference.js";
import { initialCgpsTrajectory, trajectoryStep, type CgpsTrajectory } from "../trajopt/cgps-trajectory.js";
import { allocPolicyLinearization, writeSigma, type PolicyLinearization } from "../trajopt/policy-linearization.js";
import { linearGaussianPart } from "../trajopt/linear-gaussian.js";
import type { Cost, LinearGaussianController, TrajectoryDynamics, Linearizer } from "../trajopt/types.js";
import { mean, rolloutSummary } from "./summaries.js";
import { objectiveFor } from "./objective.js";
import { perRowKernels, type Numerics, type PolicyKernels } from "./kernels.js";
import { observationChainFor, observeRows, observerFor } from "./observation.js";
import { laneWorld, type WorldRef } from "./rollout-ops.js";
import { mlpOf, type ConditionState, type PolicyState } from "./state.js";

/** A placeholder model for "no policy yet": only ever used with λ = 0, where it drops out. */
function noPolicy(T: number, n: number, m: number): PolicyLinearization {
  const lin = allocPolicyLinearization(T, n, m);
  for (let t = 0; t < T; t++) for (let j = 0; j < m; j++) lin.sigma[t * m * m + j * m + j] = 1;
  return lin;
}

/**
 * linearizePolicy (src/trajopt/policy-linearization.ts) on the run's kernels:
 * μ^π and ∂μ^π/∂x at the first T states of xs, in one pass over the rows.
 */
function linearizePolicyWith(forward: PolicyKernels["forward"], policy: MlpPolicy, theta: Float64Array, xs: Float64Array, T: number, out: PolicyLinearization): PolicyLinearization {
  forward(policy, theta, xs, T, out.mu, out.muX);
  for (let t = 0; t < T; t++) writeSigma(policy, theta, out.sigma, t * policy.nOut * policy.nOut);
  return out;
}

/**
 * A replacement for the policy's linearization (the Monte Carlo variant,
 * which samples states from q): it is handed the trajectory distribution q
 * whose nominal q.xbar is the linearization point, so that what it samples
 * from is consistent with that nominal (a noise-free rollout of q from x̄_0
 * reproduces q.xbar).
 */
export type PolicyLinearizationOverride = (q: LinearGaussianController) => PolicyLinearization;

/** What one condition's trajectory step needs besides its world. */
export interface ConditionStep {
  readonly condition: ConditionState;
  readonly policy: PolicyState | null;
  readonly policySpec: PolicySpec | undefined;
  readonly ramp: number;
  readonly T: number;
  readonly iterations: number;
}

export interface ConditionStepResult {
  readonly condition: ConditionState;
  readonly row: ReturnType<typeof rolloutSummary>;
  readonly kl: number;
  readonly accepted: number;
  /** Steps whose covariance pass gave up (ill-conditioned A_t past μ_max) and kept q's previous A. */
  readonly covarianceKept: number;
  /** The Lagrangian after each step and whether it was accepted (progress messages). */
  readonly steps: readonly { readonly lagrangian: number; readonly accepted: boolean }[];
}

/**
 * `iterations` trajectory steps on one condition with the policy linearized
 * by `forward` (or, before the first fit, λ = 0: max-entropy iLQG).
 * `linearizeOverride` replaces the policy's linearization (the Monte Carlo
 * variant). It is handed, at the start, the condition's q, and after an
 * accepted step, when trajectoryStep relinearizes at the new nominal, the
 * q whose nominal that is: the line search's controller around its own
 * rollout (x̄, ū of the new nominal, the mean pass's gains, q's covariance),
 * not the old q's ū and K around the new x̄.
 */
export function optimizeCondition(
  job: ConditionStep,
  task: Task,
  dyn: TrajectoryDynamics,
  forward: PolicyKernels["forward"],
  linearizeOverride?: PolicyLinearizationOverride,
): ConditionStepResult {
  const { condition: c } = job;
  const q0 = c.trajectory;
  if (!q0 || !c.settings) throw new Error("optimizeQ needs initializeTrajectories before it");
  const settings = c.settings ?? defaultIlqgSettings;
  const objective = objectiveFor(task, c);
  const cost = costScale(job.ramp, objective); // the cost-magnitude ramp
  // The condition's linearization option (finite differences only: a fitted one needs the run's generator).
  if (c.linearization?.kind === "fitted") throw new Error('optimizeQ: linearization "fitted" is for the iLQG stages; constrained GPS linearizes by finite differences');
  const { linearizer, dispose } = finiteDifferenceLinearizer(task, c.linearization, dyn);
  try {
    return optimizeWith(job, task, dyn, linearizer, forward, cost, objective, settings, linearizeOverride);
  } finally {
    dispose();
  }
}

function optimizeWith(
  job: ConditionStep,
  task: Task,
  dyn: TrajectoryDynamics,
  linearizer: Linearizer,
  forward: PolicyKernels["forward"],
  cost: Cost,
  objective: Cost,
  settings: IlqgSettings,
  linearizeOverride?: PolicyLinearizationOverride,
): ConditionStepResult {
  const { condition: c, T } = job;
  const q0 = c.trajectory!;
  const p = job.policy;
  const policy = p ? mlpOf(p) : null;
  const lambda = policy && c.lambda ? c.lambda : new Float64Array(T);
  let traj: CgpsTrajectory = c.stateCovariance ? { ...q0, k: new Float64Array(T * task.nu), S: c.stateCovariance } : initialCgpsTrajectory(linearizer, cost, q0, settings);
  const observer = observerFor(job.policySpec, task);
  const chain = observationChainFor(job.policySpec, task);
  // At q's nominal (the start) or, after an accepted step, at the q trajectoryStep hands over.
  const linearize = (q: LinearGaussianController): PolicyLinearization => {
    if (!policy || !p) return noPolicy(T, task.nx, task.nu);
    if (linearizeOverride) return linearizeOverride(q);
    const xs = q.xbar;
    const out = allocPolicyLinearization(T, task.nx, task.nu);
    // Linearize in what the network sees, then back to the state by the chain rule.
    linearizePolicyWith(forward, policy, p.theta, observeRows(observer, xs, T + 1, task.nx), T, out);
    if (chain) for (let t = 0; t < T; t++) chain(xs, t * task.nx, out.muX.subarray(t * task.nu * task.nx, (t + 1) * task.nu * task.nx), task.nu);
    return out;
  };
  let lin = linearize(linearGaussianPart(traj));
  let accepted = 0;
  let covarianceKept = 0;
  let kl = 0;
  const steps: { lagrangian: number; accepted: boolean }[] = [];
  for (let it = 0; it < job.iterations; it++) {
    const r = trajectoryStep(dyn, cost, traj, lin, lambda, settings, { relinearizePolicy: linearize, linearizer });
    traj = r.trajectory;
    lin = r.info.policy;
    if (r.info.accepted) accepted++;
    if (r.info.covariancePassFailed) covarianceKept++;
    kl = mean(Array.from(r.info.terms.kl));
    steps.push({ lagrangian: r.info.lagrangian, accepted: r.info.accepted });
  }
  const { S, ...controller } = traj;
  const trajectory = { ...controller, cost: trajectoryCost(objective, traj.xbar, traj.ubar, T) };
  return { condition: { ...c, trajectory, stateCovariance: S }, row: rolloutSummary(task, T, traj.xbar, traj.ubar), kl, accepted, covarianceKept, steps };
}

// ---------------------------------------------------------------------------
// The lane op

export interface OptimizeQJob {
  readonly worlds: readonly WorldRef[];
  readonly steps: readonly ConditionStep[];
  readonly numerics: Numerics;
  /** Byte offset of lane 0's region for the policy's passes (batched numerics); lane k's is + k·regionBytes. */
  readonly regions: number;
  readonly regionBytes: number;
}

/** Condition `c` of an optimizeQ job, whole, on this lane. */
export function optimizeQChunk(job: OptimizeQJob, c: number, ctx: LaneContext): ConditionStepResult & { warnings: [string, number][] } {
  const { task, sim } = laneWorld(ctx, job.worlds[c]);
  const before = new Map(mujocoWarnings());
  const region = job.regions + ctx.lane * job.regionBytes;
  const forward: PolicyKernels["forward"] =
    job.numerics === "per-row" ? perRowKernels.forward : (policy, theta, X, rows, meanOut, jacOut) => laneForward(ctx, region, policy, theta, X, rows, meanOut, jacOut);
  const result = optimizeCondition(job.steps[c], task, sim, forward);
  return { ...result, warnings: ctx.lane === 0 ? [] : warningsSince(before) };
}

export const cgpsOps = { "cgps.optimizeQ": optimizeQChunk } as const;

