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
import type { StageSpec } from "../dsl/experiment.js";
import type { MlpPolicy } from "../policy/mlp.js";
import { Sampler } from "../random/generator.js";
import { trajectoryCost } from "../tasks/cost.js";
import { defaultIlqgSettings } from "../trajopt/ilqg.js";
import { initialCgpsTrajectory, trajectoryStep, type CgpsTrajectory } from "../trajopt/cgps-trajectory.js";
import { allocPolicyLinearization, linearizePolicyMonteCarlo, writeSigma, type PolicyLinearization } from "../trajopt/policy-linearization.js";
import type { Cost } from "../trajopt/types.js";
import { costRamp, dualStep, expectedKl, fitPolicy, policyFitBatch, sampleTrainingStates, type PolicyFitBatch } from "./cgps-policy.js";
import { kernelsOf, type PolicyKernels } from "./numerics.js";
import { dynamicsOf, policyRows, runRollouts, type RolloutGroup } from "./rollouts.js";
import { linearGaussianPart } from "../trajopt/linear-gaussian.js";
import { observationChainFor, observeRows, observerFor, type Observer } from "./observation.js";
import { rolloutSummary } from "./evaluate.js";
import { mean, objectiveFor, summarize } from "./ilqg-stages.js";
import { initialPolicyState, mlpOf, type ConditionState, type PolicyState, type RunState, type Stage, type StageEnv } from "./state.js";

type OptimizeQSpec = Extract<StageSpec, { kind: "optimizeQ" }>;
type FitThetaSpec = Extract<StageSpec, { kind: "fitTheta" }>;
type UpdateLambdaSpec = Extract<StageSpec, { kind: "updateLambda" }>;

/** cost × s (the cost-magnitude ramp), derivatives included. */
function scaled(cost: Cost, s: number): Cost {
  if (s === 1) return cost;
  return {
    nx: cost.nx,
    nu: cost.nu,
    value: (x, u, t, xo, uo) => s * cost.value(x, u, t, xo, uo),
    expand: (x, u, t, out, xo, uo) => {
      const v = cost.expand(x, u, t, out, xo, uo);
      for (const a of [out.lx, out.lu, out.lxx, out.luu, out.lux]) for (let i = 0; i < a.length; i++) a[i] *= s;
      return s * v;
    },
  };
}

/**
 * linearizePolicy (src/trajopt/policy-linearization.ts) on the run's kernels:
 * μ^π and ∂μ^π/∂x at the first T states of xs, in one pass over the rows.
 */
function linearizePolicyWith(kernels: PolicyKernels, policy: MlpPolicy, theta: Float64Array, xs: Float64Array, T: number, out: PolicyLinearization): PolicyLinearization {
  kernels.forward(policy, theta, xs, T, out.mu, out.muX);
  for (let t = 0; t < T; t++) writeSigma(policy, theta, out.sigma, t * policy.nOut * policy.nOut);
  return out;
}

/** A placeholder model for "no policy yet": only ever used with λ = 0, where it drops out. */
function noPolicy(T: number, n: number, m: number): PolicyLinearization {
  const lin = allocPolicyLinearization(T, n, m);
  for (let t = 0; t < T; t++) for (let j = 0; j < m; j++) lin.sigma[t * m * m + j * m + j] = 1;
  return lin;
}

function requireTrajectory(c: ConditionState, stage: string) {
  if (!c.trajectory || !c.settings) throw new Error(`${stage} needs initializeTrajectories before it`);
  return c.trajectory;
}

export const optimizeQ: Stage<OptimizeQSpec> = function* (env, spec, state) {
  const T = env.horizon;
  const sampler = new Sampler(state.rng);
  const iteration = state.gpsIteration ?? 0;
  const ramp = costRamp(iteration, spec.costRamp?.iterations ?? 50, spec.costRamp?.factor ?? 10);
  const policy = state.policy ? mlpOf(state.policy) : null;
  const kernels = kernelsOf(env);
  const conditions: ConditionState[] = [];
  const rows = [];
  const kls: number[] = [];
  const accepted: number[] = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { task } = env.worlds[i];
    const sim = dynamicsOf(env, env.worlds[i]);
    const q0 = requireTrajectory(c, "optimizeQ");
    const settings = c.settings ?? defaultIlqgSettings;
    const objective = objectiveFor(task, c);
    const cost = scaled(objective, ramp);
    const lambda = policy && c.lambda ? c.lambda : new Float64Array(T);
    let traj: CgpsTrajectory = c.stateCovariance
      ? { ...q0, k: new Float64Array(T * task.nu), S: c.stateCovariance }
      : initialCgpsTrajectory(sim, cost, q0, settings);
    const observer = observerFor(env.experiment.policy, task);
    const chain = observationChainFor(env.experiment.policy, task);
    const linearize = (xs: Float64Array): PolicyLinearization => {
      if (!policy || !state.policy) return noPolicy(T, task.nx, task.nu);
      const out = allocPolicyLinearization(T, task.nx, task.nu);
      if (spec.linearizePolicy === "monte-carlo") {
        if (observer) throw new Error('optimizeQ linearizePolicy: "monte-carlo" needs policy.observation "state"');
        const count = spec.samples ?? 10;
        const states = sampleTrainingStates(sim, { ...traj, xbar: xs }, c.x0, count, sampler);
        return linearizePolicyMonteCarlo(policy, state.policy.theta, states, count, out);
      }
      // Linearize in what the network sees, then back to the state by the chain rule.
      linearizePolicyWith(kernels, policy, state.policy.theta, observeRows(observer, xs, T + 1, task.nx), T, out);
      if (chain) for (let t = 0; t < T; t++) chain(xs, t * task.nx, out.muX.subarray(t * task.nu * task.nx, (t + 1) * task.nu * task.nx), task.nu);
      return out;
    };
    let lin = linearize(traj.xbar);
    let acceptedHere = 0;
    let kl = 0;
    for (let it = 0; it < spec.iterations; it++) {
      const r = trajectoryStep(sim, cost, traj, lin, lambda, settings, { relinearizePolicy: linearize });
      traj = r.trajectory;
      lin = r.info.policy;
      if (r.info.accepted) acceptedHere++;
      kl = mean(Array.from(r.info.terms.kl));
      yield {
        fraction: (i + (it + 1) / spec.iterations) / state.conditions.length,
        message: `condition ${i + 1}/${state.conditions.length} step ${it + 1}/${spec.iterations} Lagrangian ${r.info.lagrangian.toFixed(2)}${r.info.accepted ? "" : " (rejected)"}`,
      };
    }
    const { S, ...controller } = traj;
    const trajectory = { ...controller, cost: trajectoryCost(objective, traj.xbar, traj.ubar, T) };
    conditions.push({ ...c, trajectory, stateCovariance: S });
    rows.push(rolloutSummary(task, T, traj.xbar, traj.ubar));
    kls.push(kl);
    accepted.push(acceptedHere);
  }
  return {
    state: { ...state, rng: sampler.state(), conditions },
    metrics: {
      cost: mean(rows.map((r) => r.cost)),
      costs: rows.map((r) => r.cost),
      distance: mean(rows.map((r) => r.distance)),
      meanVelocity: mean(rows.map((r) => r.meanVelocity)),
      costScale: ramp,
      kl: mean(kls),
      accepted,
    },
  };
};

/**
 * `count` states trajectories sampled from every q_i (seeded: all of the
 * noise is drawn first, condition by condition), with the weights the policy
 * step uses.
 */
function sampleAll(env: StageEnv, state: RunState, count: number, sampler: Sampler, noiseScale: number) {
  const T = env.horizon;
  const qs = state.conditions.map((c) => requireTrajectory(c, "fitTheta/updateLambda"));
  const groups: RolloutGroup[] = state.conditions.map((c, i) => ({
    world: env.worlds[i],
    T: qs[i].T,
    count,
    start: c.x0,
    controller: { kind: "linearGaussian", controller: linearGaussianPart(qs[i]), noisy: true, noiseScale },
    motorNoise: null,
  }));
  const rollouts = runRollouts(env, groups, sampler);
  return state.conditions.map((c, i) => {
    const n = env.worlds[i].task.nx;
    const states = new Float64Array(count * (qs[i].T + 1) * n);
    rollouts[i].forEach((r, k) => states.set(r.xs, k * (qs[i].T + 1) * n));
    return { q: qs[i], states, count, lambda: c.lambda ?? new Float64Array(T).fill(1) };
  });
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
  const count = spec.samples ?? 10;
  const sets = sampleAll(env, state, count, sampler, spec.sampleNoise ?? 1);
  const observers = env.worlds.map((w) => observerFor(env.experiment.policy, w.task));
  // q's targets come from the states; the network is fitted on what it sees of them.
  const batch = observedBatch(policyFitBatch(sets), sets, observers, env.horizon);
  const p = state.policy ?? initialPolicyState(env.experiment.policy, env.worlds[0].task, batch.X, batch.m, sampler);
  return { sets, observers, batch, start: p };
}

export const fitTheta: Stage<FitThetaSpec> = function* (env, spec, state) {
  const sampler = new Sampler(state.rng);
  const { sets, observers, batch, start: p } = fitThetaProblem(env, spec, state, sampler);
  yield { fraction: 0.1, message: `fitting θ to ${batch.N} states from ${sets.length} trajectory distributions` };
  const policy = mlpOf(p);
  const kernels = kernelsOf(env);
  const fit = fitPolicy(policy, p.theta, batch, { maxIterations: spec.maxIterations, regularization: spec.regularization, kernels });
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
    },
  };
};

export const updateLambda: Stage<UpdateLambdaSpec> = function* (env, spec, state) {
  if (!state.policy) throw new Error("updateLambda needs a policy: run fitTheta before it");
  const sampler = new Sampler(state.rng);
  const policy = mlpOf(state.policy);
  const count = spec.samples ?? 10;
  const conditions: ConditionState[] = [];
  const kls: number[] = [];
  const lambdas: number[] = [];
  const kernels = kernelsOf(env);
  const sets = sampleAll(env, state, count, sampler, spec.sampleNoise ?? 1);
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { q, states } = sets[i];
    const kl = expectedKl(policy, state.policy.theta, q, states, count, q.T, observerFor(env.experiment.policy, env.worlds[i].task), kernels);
    const lambda = dualStep(c.lambda ?? new Float64Array(env.horizon).fill(spec.initial ?? 0), kl.perStep, spec.stepSize);
    conditions.push({ ...c, lambda });
    kls.push(kl.mean);
    lambdas.push(mean(Array.from(lambda)));
    yield { fraction: (i + 1) / state.conditions.length, message: `condition ${i + 1}/${state.conditions.length} KL ${kl.mean.toFixed(3)} mean λ ${lambdas[i].toFixed(3)}` };
  }
  return {
    state: { ...state, rng: sampler.state(), conditions, gpsIteration: (state.gpsIteration ?? 0) + 1 },
    metrics: { kl: mean(kls), kls, meanLambda: mean(lambdas), meanLambdas: lambdas },
  };
};
