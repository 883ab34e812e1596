/**
 * Variational guided policy search (Levine & Koltun, NIPS 2013, "Variational
 * policy search via trajectory optimization"), the comparison method of the
 * 2014 paper, as an E-step stage; the M-step is fitTheta. Run as
 *
 *   initializeTrajectories, …iLQG…, repeat(K, [variationalEStep, fitTheta])
 *
 * With optimality variables p(O_t = 1 | x_t, u_t) ∝ exp(−ℓ(x_t, u_t)), the
 * method maximizes log p(O | θ) = log E_{π_θ}[exp(−Σ_t ℓ)] — the expected
 * exponential reward, the "risk-seeking" objective the 2014 paper contrasts
 * with its own — by expectation-maximization on the bound
 *
 *   L(q, θ) = E_q[ −Σ_t ℓ(x_t, u_t) + Σ_t log π_θ(u_t | x_t) ] + H(q)
 *           = log p(O | θ) − KL(q ‖ p(ζ | O, θ)).
 *
 * E-step (this stage): with θ fixed, the linear-Gaussian q maximizing L is
 * max-entropy iLQG on the augmented cost ℓ(x, u) − log π_θ(u|x) (the policy
 * term to second order, Gauss–Newton in x: isgps-adaptive.ts
 * `policyPriorTerm`), i.e. q ≈ the I-projection of exp(−ℓ)·π_θ. Because π_θ
 * enters the cost, q's covariance (Q_uu + Σ_π⁻¹)⁻¹ is never wider than the
 * policy's, and its mean is pulled toward the policy's actions.
 *
 * M-step (fitTheta): with q fixed, maximize E_q[Σ_t log π_θ(u_t|x_t)] —
 * maximum likelihood of π_θ on states sampled from q with q's conditional
 * means as targets and Σ_π from q's covariance; exactly fitTheta with the
 * weights λ_t = 1 (no updateLambda in the loop). π_θ is thereby the
 * M-projection of q: it must cover everywhere q is likely.
 *
 * Before the first fit there is no policy and the E-step is plain iLQG on ℓ.
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { Sampler } from "../random/generator.js";
import { costSum } from "../tasks/cost-terms.js";
import { trajectoryCost } from "../tasks/cost.js";
import { gainsAt, ilqgIteration, type IlqgTrajectory } from "../trajopt/ilqg.js";
import { policyPriorTerm } from "./isgps-adaptive.js";
import { rngAfterLinearizing, withConditionLinearizer } from "./linearization.js";
import { objectiveFor } from "./objective.js";
import { observationChainFor, observerFor } from "./observation.js";
import { dynamicsOf } from "./rollouts.js";
import { mean, rolloutSummary, summarize } from "./summaries.js";
import { internalError, mlpOf, type ConditionState, type RunState, type StageEnv } from "./state.js";

type VariationalEStepSpec = ResolvedStageSpec<"variationalEStep">;

export const variationalEStep = function* (env: StageEnv, spec: VariationalEStepSpec, state: RunState) {
  const T = env.horizon;
  const sampler = new Sampler(state.rng);
  const policy = state.policy ? mlpOf(state.policy) : null;
  const conditions: ConditionState[] = [];
  const accepted: number[] = [];
  const objectives: number[] = [];
  const policyNll: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    if (!c.trajectory || !c.settings) throw internalError("variationalEStep needs initializeTrajectories before it");
    const settings = c.settings;
    const world = env.worlds[i];
    const sim = dynamicsOf(env, world);
    const objective = objectiveFor(world.task, c);
    // ℓ − w·log π_θ; ℓ alone before the first fit.
    // What the network sees of x (e.g. the root height above the ground), with the chain rule back to x.
    const observer = observerFor(env.experiment.policy, world.task);
    const observation = observer ? { observer, chain: observationChainFor(env.experiment.policy, world.task) } : null;
    const cost = policy ? costSum(objective, policyPriorTerm(policy, state.policy!.theta, spec.policyWeight, observation)) : objective;
    // Re-price q's nominal under this iteration's cost: the line search compares against it.
    let trajectory: IlqgTrajectory = { ...c.trajectory, cost: trajectoryCost(cost, c.trajectory.xbar, c.trajectory.ubar, T) };
    let steps = 0;
    for (let k = 0; k < spec.iterations; k++) {
      const from = trajectory;
      const r = withConditionLinearizer(env, world, c, from.K, sampler, (l) => ilqgIteration(sim, cost, from, settings, l));
      trajectory = r.trajectory;
      if (r.info.accepted) steps++;
      yield {
        fraction: (i + (k + 1) / spec.iterations) / state.conditions.length,
        message: `condition ${i + 1}/${state.conditions.length}: iLQG ${k + 1}/${spec.iterations} on ℓ${policy ? " − log π_θ" : ""}, objective ${trajectory.cost.toFixed(2)}`,
      };
    }
    // q's gains and covariance at the final nominal: iLQG's accepted step carries
    // those of the nominal before it, and a rejected one those of the previous cost,
    // without the policy's precision in Q_uu.
    const last = trajectory;
    const gains = withConditionLinearizer(env, world, c, last.K, sampler, (l) => gainsAt(l, cost, last, settings.gainMu ?? last.mu, settings));
    const augmented = trajectory.cost;
    const taskCost = trajectoryCost(objective, trajectory.xbar, trajectory.ubar, T);
    // The stored cost is q's under the condition's own objective, as every other trajectory stage stores it.
    const q: IlqgTrajectory = { ...trajectory, K: gains.K, cov: gains.cov, cost: taskCost };
    // constrained GPS's state covariance belongs to its own trajectory step: stale here.
    const { stateCovariance: _stale, ...rest } = c;
    conditions.push({ ...rest, trajectory: q });
    accepted.push(steps);
    objectives.push(augmented);
    policyNll.push(policy ? (augmented - taskCost) / (spec.policyWeight * T) : Number.NaN);
  }
  const rows = conditions.map((c, i) => rolloutSummary(env.worlds[i].task, T, c.trajectory!.xbar, c.trajectory!.ubar));
  return {
    state: { ...state, rng: rngAfterLinearizing(state, sampler), conditions },
    metrics: {
      ...summarize(rows),
      /** Σ_t ℓ − w·log π_θ along q's nominal, mean over conditions. */
      objective: mean(objectives),
      /** −log π_θ(ū_t | x̄_t) per step along q's nominal, mean over conditions (absent before the first fit). */
      ...(policy ? { policyNll: mean(policyNll) } : {}),
      accepted,
    },
  };
};
