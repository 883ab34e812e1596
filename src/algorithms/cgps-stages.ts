/**
 * Constrained guided policy search (Levine & Koltun 2014, Algorithm 1) as
 * three stages, run as `repeat(K, [optimizeQ, fitTheta, updateLambda])`:
 *
 *   optimizeQ     the trajectory step (Algorithm 2) on every condition's q_i,
 *                 under the task cost (× the cost-magnitude ramp) and the
 *                 duals λ_i against the current policy
 *   fitTheta      the policy step: weighted least squares of π's mean on
 *                 states sampled from every q_i (LBFGS), Σ^π in closed form
 *   updateLambda  the dual step of equation (2) with KL(π‖q) from samples
 *
 * Before the first fit there is no policy: optimizeQ then runs with λ = 0,
 * which is max-entropy iLQG. fitTheta weights samples by λ_t, uniformly
 * (λ_t = 1) until the first dual step has set λ.
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { Sampler } from "../random/generator.js";
import { allocPolicyLinearization, linearizePolicyMonteCarlo } from "../trajopt/policy-linearization.js";
import type { MlpPolicy } from "../policy/mlp.js";
import { costRamp, dualStep, expectedKl, fitPolicy, likelihoodBatch, likelihoodLogStd, policyFitBatch, rowCovarianceDiagonals, sampleTrainingStates, type PolicyFitBatch } from "./cgps-policy.js";
import { parameterLayout } from "../policy/mlp.js";
import { DEFAULT_NUMERICS, kernelsOf } from "./numerics.js";
import { computeOf, dynamicsOf, policyRows, runRollouts, type RolloutGroup } from "./rollouts.js";
import { bindWorld } from "./rollout-ops.js";
import { optimizeCondition, optimizeQChunk, type ConditionStep, type ConditionStepResult, type OptimizeQJob, type PolicyLinearizationOverride } from "./cgps-condition.js";
import { laneForwardDoubles } from "../policy/kernels/batched.js";
import { sampleStateMarginals } from "../trajopt/state-marginals.js";
import { addWarnings } from "../sim/mujoco.js";
import type { TrajectoryDynamics } from "../trajopt/types.js";
import { linearGaussianPart } from "../trajopt/linear-gaussian.js";
import { observerFor, type Observer } from "./observation.js";
import { mean, summarize } from "./ilqg-stages.js";
import { internalError, initialPolicyState, mlpOf, type ConditionState, type PolicyState, type RunState, type StageEnv } from "./state.js";

type OptimizeQSpec = ResolvedStageSpec<"optimizeQ">;
type FitThetaSpec = ResolvedStageSpec<"fitTheta">;
type UpdateLambdaSpec = ResolvedStageSpec<"updateLambda">;

function requireTrajectory(c: ConditionState, stage: string) {
  if (!c.trajectory || !c.settings) throw internalError(`${stage} needs initializeTrajectories before it`);
  return c.trajectory;
}

export const optimizeQ = function* (env: StageEnv, spec: OptimizeQSpec, state: RunState) {
  const T = env.horizon;
  const sampler = new Sampler(state.rng);
  const iteration = state.gpsIteration ?? 0;
  const ramp = costRamp(iteration, spec.costRamp.iterations, spec.costRamp.factor);
  const steps: ConditionStep[] = state.conditions.map((c) => {
    requireTrajectory(c, "optimizeQ");
    return { condition: c, policy: state.policy ?? null, policySpec: env.experiment.policy, ramp, T, iterations: spec.iterations };
  });
  const compute = computeOf(env);
  const monteCarlo = spec.linearizePolicy === "monte-carlo" && !!state.policy;
  let results: ConditionStepResult[];
  if (monteCarlo || compute.lanes === 1 || env.worlds.some((w) => !w.spec)) {
    // On this thread, condition by condition (the Monte Carlo linearization draws from the run's generator).
    const kernels = kernelsOf(env);
    results = [];
    for (let i = 0; i < steps.length; i++) {
      const { task } = env.worlds[i];
      const sim = dynamicsOf(env, env.worlds[i]);
      const override = monteCarlo ? monteCarloLinearization(env, spec, state, i, sim, sampler) : undefined;
      results.push(optimizeCondition(steps[i], task, sim, kernels.forward, override));
      yield { fraction: (i + 1) / steps.length, message: progressOf(results[i], i, steps.length) };
    }
  } else {
    // Every condition whole on some lane.
    const numerics = env.numerics ?? DEFAULT_NUMERICS;
    // One 16-byte-aligned region per lane for the policy's passes.
    const regionBytes = Math.ceil((Math.max(2, state.policy ? laneForwardDoubles(mlpOf(state.policy), T) : 0) * 8) / 16) * 16;
    const regions = compute.arena.alloc((regionBytes / 8) * compute.lanes);
    try {
      const job: OptimizeQJob = { worlds: env.worlds.map((w) => bindWorld(compute, w)), steps, numerics, regions, regionBytes };
      const out = compute.run<ReturnType<typeof optimizeQChunk>>("cgps.optimizeQ", job, steps.length);
      for (const r of out) addWarnings(r.warnings);
      results = out;
    } finally {
      compute.arena.release(regions);
    }
    yield { fraction: 1, message: results.map((r, i) => progressOf(r, i, steps.length)).join("; ") };
  }
  return {
    state: { ...state, rng: sampler.state(), conditions: results.map((r) => r.condition) },
    metrics: {
      cost: mean(results.map((r) => r.row.cost)),
      costs: results.map((r) => r.row.cost),
      distance: mean(results.map((r) => r.row.distance)),
      meanVelocity: mean(results.map((r) => r.row.meanVelocity)),
      costScale: ramp,
      kl: mean(results.map((r) => r.kl)),
      accepted: results.map((r) => r.accepted),
      covarianceKept: results.map((r) => r.covarianceKept),
    },
  };
};

function progressOf(r: ConditionStepResult, i: number, n: number): string {
  const last = r.steps[r.steps.length - 1];
  return `condition ${i + 1}/${n}${last ? ` Lagrangian ${last.lagrangian.toFixed(2)}${last.accepted ? "" : " (rejected)"}` : ""}`;
}

/** The Monte Carlo variant of the policy's linearization for condition i: `spec.samples` state trajectories from q (the run's generator). */
function monteCarloLinearization(env: StageEnv, spec: OptimizeQSpec, state: RunState, i: number, sim: TrajectoryDynamics, sampler: Sampler): PolicyLinearizationOverride {
  const { task } = env.worlds[i];
  if (observerFor(env.experiment.policy, task)) throw internalError('optimizeQ linearizePolicy: "monte-carlo" needs policy.observation "state"');
  return monteCarloPolicyLinearization(mlpOf(state.policy!), state.policy!.theta, sim, state.conditions[i].x0, spec.samples, sampler);
}

/**
 * The Monte Carlo variant of the policy's linearization (end of 2014 §3.1) at
 * the nominal of the q it is handed: the averages of μ^π, ∂μ^π/∂x and Σ^π
 * over `count` state trajectories sampled from that q itself (from x0, its
 * action noise × `noiseScale`), so the samples spread around q.xbar, the
 * linearization point. The sampler advances.
 */
export function monteCarloPolicyLinearization(
  policy: MlpPolicy,
  theta: Float64Array,
  sim: TrajectoryDynamics,
  x0: Float64Array,
  count: number,
  sampler: Sampler,
  noiseScale = 1,
): PolicyLinearizationOverride {
  return (q) => {
    const states = sampleTrainingStates(sim, q, x0, count, sampler, noiseScale);
    return linearizePolicyMonteCarlo(policy, theta, states, count, allocPolicyLinearization(q.T, q.nx, q.nu));
  };
}

/**
 * `count` state trajectories from every q_i, with the weights the policy
 * step uses. "rollouts": q's controller run in the simulator (seeded: all of
 * the noise is drawn first, condition by condition). "marginals": x_t ~
 * N(x̄_t, S_t) from the condition's last trajectory step, drawn after the
 * rollouts of the conditions that have no S_t yet (before their first
 * optimizeQ), which are rolled out.
 */
function sampleAll(env: StageEnv, state: RunState, count: number, sampler: Sampler, noiseScale: number, from: "rollouts" | "marginals" = "rollouts") {
  const T = env.horizon;
  const qs = state.conditions.map((c) => requireTrajectory(c, "fitTheta/updateLambda"));
  const marginal = state.conditions.map((c) => from === "marginals" && !!c.stateCovariance);
  const rolled = state.conditions.map((_, i) => i).filter((i) => !marginal[i]);
  const groups: RolloutGroup[] = rolled.map((i) => ({
    world: env.worlds[i],
    T: qs[i].T,
    count,
    start: state.conditions[i].x0,
    controller: { kind: "linearGaussian", controller: linearGaussianPart(qs[i]), noisy: true, noiseScale },
    motorNoise: null,
  }));
  const rollouts = groups.length > 0 ? runRollouts(env, groups, sampler) : [];
  const sets = state.conditions.map((c, i) => {
    const n = env.worlds[i].task.nx;
    const q = qs[i];
    const lambda = c.lambda ?? new Float64Array(T).fill(1);
    if (marginal[i]) return { q, states: sampleStateMarginals(q.xbar, c.stateCovariance!, q.T, n, count, sampler, noiseScale), count, lambda };
    const states = new Float64Array(count * (q.T + 1) * n);
    rollouts[rolled.indexOf(i)].forEach((r, k) => states.set(r.xs, k * (q.T + 1) * n));
    return { q, states, count, lambda };
  });
  return Object.assign(sets, { fromMarginals: marginal.filter(Boolean).length });
}

/** The batch with its rows X replaced by their observations (rows: condition, sample, t < T). */
function observedBatch(batch: PolicyFitBatch, sets: readonly { count: number }[], observers: readonly (Observer | null)[], T: number): PolicyFitBatch {
  if (observers.every((o) => o === null)) return batch;
  const X = Float64Array.from(batch.X);
  let row = 0;
  sets.forEach((s, i) => {
    const o = observers[i];
    for (let r = 0; r < s.count * T; r++, row++) if (o) o(batch.X, row * batch.n, X, row * batch.n);
  });
  return { ...batch, X };
}

/**
 * The policy step's problem as fitTheta poses it: states sampled from every
 * q_i (the sampler advances), the weighted least-squares rows, and the policy
 * to start from (a fresh one before the first fit). Exported for
 * bench/evaluations.ts, which replays a run's fits with other LBFGS settings.
 */
export function fitThetaProblem(env: StageEnv, spec: FitThetaSpec, state: RunState, sampler: Sampler) {
  const count = spec.samples;
  const sets = sampleAll(env, state, count, sampler, spec.sampleNoise, spec.states);
  const observers = env.worlds.map((w) => observerFor(env.experiment.policy, w.task));
  // q's targets come from the states; the network is fitted on what it sees of them.
  const batch = observedBatch(policyFitBatch(sets), sets, observers, env.horizon);
  const p = state.policy ?? initialPolicyState(env.experiment.policy, env.worlds[0].task, batch.X, batch.m, sampler);
  return { sets, observers, batch, start: p };
}

export const fitTheta = function* (env: StageEnv, spec: FitThetaSpec, state: RunState) {
  const sampler = new Sampler(state.rng);
  const { sets, observers, batch, start: p } = fitThetaProblem(env, spec, state, sampler);
  yield { fraction: 0.1, message: `fitting θ to ${batch.N} states from ${sets.length} trajectory distributions` };
  const policy = mlpOf(p);
  const kernels = kernelsOf(env);
  const likelihood = spec.objective === "likelihood";
  const { logStd } = parameterLayout(policy);
  // Variational GPS's M-step: π's own precision on every row (its current σ), then σ from the residuals.
  const problem = likelihood ? likelihoodBatch(batch, Array.from({ length: batch.m }, (_, j) => Math.exp(2 * p.theta[logStd + j]))) : batch;
  const fit = fitPolicy(policy, p.theta, problem, { maxIterations: spec.maxIterations, regularization: spec.regularization, kernels });
  if (likelihood) {
    const means = new Float64Array(batch.N * batch.m);
    kernels.forward(policy, fit.theta, batch.X, batch.N, means);
    likelihoodLogStd(batch, means, rowCovarianceDiagonals(sets, batch.m), fit.theta, logStd);
  }
  const next: PolicyState = { ...p, theta: fit.theta };
  const kl = sets.map((s, i) => expectedKl(policy, fit.theta, s.q, s.states, s.count, s.q.T, observers[i], kernels).mean);
  // The policy alone, noise-free, on every training condition.
  const rows = policyRows(env, state, next);
  return {
    state: { ...state, rng: sampler.state(), policy: next },
    metrics: {
      ...summarize(rows),
      kl: mean(kl),
      kls: kl,
      fitLoss0: fit.loss0,
      fitLoss: fit.loss,
      lbfgsIterations: fit.iterations,
      lbfgsEvaluations: fit.evaluations,
      ...(spec.states === "marginals" ? { conditionsFromMarginals: sets.fromMarginals } : {}),
    },
  };
};

export const updateLambda = function* (env: StageEnv, spec: UpdateLambdaSpec, state: RunState) {
  if (!state.policy) throw internalError("updateLambda needs a policy: run fitTheta before it");
  const sampler = new Sampler(state.rng);
  const policy = mlpOf(state.policy);
  const count = spec.samples;
  const conditions: ConditionState[] = [];
  const kls: number[] = [];
  const lambdas: number[] = [];
  const kernels = kernelsOf(env);
  const sets = sampleAll(env, state, count, sampler, spec.sampleNoise, spec.states);
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { q, states } = sets[i];
    const kl = expectedKl(policy, state.policy.theta, q, states, count, q.T, observerFor(env.experiment.policy, env.worlds[i].task), kernels);
    const lambda = dualStep(c.lambda ?? new Float64Array(env.horizon).fill(spec.initial), kl.perStep, spec.stepSize);
    conditions.push({ ...c, lambda });
    kls.push(kl.mean);
    lambdas.push(mean(Array.from(lambda)));
    yield { fraction: (i + 1) / state.conditions.length, message: `condition ${i + 1}/${state.conditions.length} KL ${kl.mean.toFixed(3)} mean λ ${lambdas[i].toFixed(3)}` };
  }
  return {
    state: { ...state, rng: sampler.state(), conditions, gpsIteration: (state.gpsIteration ?? 0) + 1 },
    metrics: { kl: mean(kls), kls, meanLambda: mean(lambdas), meanLambdas: lambdas, ...(spec.states === "marginals" ? { conditionsFromMarginals: sets.fromMarginals } : {}) },
  };
};
