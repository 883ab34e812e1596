/**
 * Adaptive guiding distributions (Levine & Koltun 2013, §4.2): re-run DDP
 * from the previous solution with the reward r(x, u) + log π_θ(u|x), i.e. the
 * cost ℓ(x, u) − log π_θ(u|x), so the new guiding distribution is an
 * approximate I-projection of ρ_θ(ζ) ∝ exp(r(ζ)) π_θ(ζ): it keeps to
 * high-reward regions while acting as the current policy would, which makes
 * examples that no stationary policy can reproduce (different actions in
 * similar states) reproducible.
 *
 * The policy term, with μ = μ_θ(x), D = diag(1/σ²):
 *
 *     −log π_θ(u|x) = ½ (u − μ)ᵀ D (u − μ) + Σ_j log σ_j + (m/2) log 2π
 *
 * expanded to second order in (x, u) with μ linearized (Gauss–Newton, the
 * curvature of μ dropped, so the Hessian stays positive semi-definite):
 *
 *     l_u += D (u − μ),         l_uu += D,
 *     l_x += −μ_xᵀ D (u − μ),   l_xx += μ_xᵀ D μ_x,   l_ux += −D μ_x.
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { createWorkspace, forward, meanJacobian, parameterLayout, type MlpPolicy } from "../policy/mlp.js";
import { trajectoryCost } from "../tasks/cost.js";
import { ilqgIteration } from "../trajopt/ilqg.js";
import { Sampler } from "../random/generator.js";
import { rngAfterLinearizing, withConditionLinearizer } from "./linearization.js";
import type { Cost } from "../trajopt/types.js";
import { costSum, costTerm, type CostTerm } from "../tasks/cost-terms.js";
import { rolloutSummary, summarize } from "./summaries.js";
import { internalError, mlpOf, type ConditionState, type RunState, type StageEnv } from "./state.js";
import type { ObservationChain, Observer } from "./observation.js";

type AdaptGuidingSpec = ResolvedStageSpec<"adaptGuiding">;

const LOG_2PI = Math.log(2 * Math.PI);

/** base(x, u) − weight · log π_θ(u|x), with the Gauss–Newton expansion of the module comment. */
export function withPolicyPrior(base: Cost, policy: MlpPolicy, theta: Float64Array, weight = 1): Cost {
  if (policy.nIn !== base.nx || policy.nOut !== base.nu) throw new RangeError(`withPolicyPrior: policy is ${policy.nIn}→${policy.nOut}, cost is ${base.nx}, ${base.nu}`);
  return costSum(base, policyPriorTerm(policy, theta, weight));
}

/**
 * −weight · log π_θ(u|x) as a cost term: its exact gradient in u, Gauss–Newton in x.
 * With an observer (the policy sees o(x), e.g. the root height above the ground) the
 * network is evaluated at o(x) and its Jacobian carried back to x by `chain`.
 */
export function policyPriorTerm(policy: MlpPolicy, theta: Float64Array, weight = 1, observation: { observer: Observer; chain: ObservationChain | null } | null = null): CostTerm {
  const nx = policy.nIn;
  const nu = policy.nOut;
  const ws = createWorkspace(policy, 1);
  const J = new Float64Array(nu * nx);
  const mean = new Float64Array(nu);
  const d = new Float64Array(nu); // D (u − μ)
  const prec = new Float64Array(nu);
  const ls = parameterLayout(policy).logStd;
  let constant = 0;
  for (let j = 0; j < nu; j++) {
    prec[j] = weight * Math.exp(-2 * theta[ls + j]);
    constant += weight * (theta[ls + j] + 0.5 * LOG_2PI);
  }
  const xRow = new Float64Array(nx);
  /** −log π_θ(u|x); with the Jacobian, also μ_x into J. Leaves D (u − μ) in d. */
  const negLogPi = (x: Float64Array, u: Float64Array, xOff: number, uOff: number, withJacobian: boolean): number => {
    if (observation) observation.observer(x, xOff, xRow, 0);
    else for (let i = 0; i < nx; i++) xRow[i] = x[xOff + i];
    if (withJacobian) {
      meanJacobian(policy, theta, xRow, J, ws, mean, 0);
      observation?.chain?.(x, xOff, J, nu);
    } else forward(policy, theta, xRow, 1, mean, ws);
    let s = constant;
    for (let j = 0; j < nu; j++) {
      const e = u[uOff + j] - mean[j];
      d[j] = prec[j] * e;
      s += 0.5 * prec[j] * e * e;
    }
    return s;
  };
  return costTerm(
    nx,
    nu,
    (x, u, _t, xOff, uOff) => negLogPi(x, u, xOff, uOff, false),
    (x, u, _t, out, xOff, uOff) => {
      const p = negLogPi(x, u, xOff, uOff, true);
      for (let j = 0; j < nu; j++) {
        out.lu[j] += d[j];
        out.luu[j * nu + j] += prec[j];
        for (let i = 0; i < nx; i++) {
          out.lx[i] -= J[j * nx + i] * d[j];
          out.lux[j * nx + i] -= prec[j] * J[j * nx + i];
        }
      }
      for (let a = 0; a < nx; a++) {
        for (let b = 0; b < nx; b++) {
          let s = 0;
          for (let j = 0; j < nu; j++) s += J[j * nx + a] * prec[j] * J[j * nx + b];
          out.lxx[a * nx + b] += s;
        }
      }
      return p;
    },
  );
}

/** §4.2: `iterations` iLQG iterations per condition on ℓ − log π_θ* from the current guiding solution. */
export const adaptGuiding = function* (env: StageEnv, spec: AdaptGuidingSpec, state: RunState) {
  if (!state.policy) throw internalError("adaptGuiding needs a policy: run pretrainPolicy before it");
  const policy = mlpOf(state.policy);
  const sampler = new Sampler(state.rng);
  const conditions: ConditionState[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    if (!c.trajectory || !c.settings) throw internalError("adaptGuiding needs initializeTrajectories before it");
    const { task, sim } = env.worlds[i];
    const cost = withPolicyPrior(task.cost, policy, state.policy.theta, spec.weight);
    // Re-price the current solution under the new objective: the line search compares against it.
    let trajectory = { ...c.trajectory, cost: trajectoryCost(cost, c.trajectory.xbar, c.trajectory.ubar, env.horizon) };
    for (let k = 0; k < spec.iterations; k++) {
      // The condition's linearization option, as in ilqgIteration.
      const from = trajectory;
      trajectory = withConditionLinearizer(env, env.worlds[i], c, from.K, sampler, (l) => ilqgIteration(sim, cost, from, c.settings!, l).trajectory);
      yield { fraction: (i + (k + 1) / spec.iterations) / state.conditions.length, message: `condition ${i + 1}: DDP iteration ${k + 1}/${spec.iterations}` };
    }
    conditions.push({ ...c, trajectory });
  }
  const rows = conditions.map((c, i) => rolloutSummary(env.worlds[i].task, env.horizon, c.trajectory!.xbar, c.trajectory!.ubar));
  return { state: { ...state, rng: rngAfterLinearizing(state, sampler), conditions }, metrics: { ...summarize(rows), objective: conditions.reduce((s, c) => s + c.trajectory!.cost, 0) / conditions.length } };
};
