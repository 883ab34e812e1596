/**
 * The dynamics iLQG linearizes, per the condition's `linearization` option
 * (src/dsl/experiment.ts LinearizationCodec):
 *
 *   finiteDifference   the world's own simulator (on the run's lanes), or — with
 *                      another step or softened contacts — a fresh simulator of
 *                      the task's model with those options (this thread)
 *   fitted             regression on noisy rollouts of the current controller
 *                      around the nominal (src/trajopt/fitted-dynamics.ts) —
 *                      once it has feedback gains to sample with; the first
 *                      linearization of a fresh trajectory is by finite
 *                      differences — the
 *                      rollouts draw from the run's generator, so the stage that
 *                      uses it must carry the sampler's state forward
 */
import { fittedLinearizationDefaults, type Linearization } from "../dsl/experiment.js";
import type { Sampler } from "../random/generator.js";
import { fitLinearDynamics } from "../trajopt/fitted-dynamics.js";
import type { LinearGaussianController, Linearizer } from "../trajopt/types.js";
import { dynamicsOf, runRollouts } from "./rollouts.js";
import type { ConditionState, RunState, StageEnv, World } from "./state.js";
import type { GeneratorState } from "../random/generator.js";
import { finiteDifferenceLinearizer } from "./finite-difference.js";

export { finiteDifferenceLinearizer, finiteDifferenceSimulator } from "./finite-difference.js";


/**
 * Defaults of the fitted linearization, declared once beside the option (src/dsl/experiment.ts).
 * Resolved specs carry them; they are read here because a condition keeps the
 * linearization it was initialized with, and checkpoints written before
 * defaults were recorded hold it unresolved.
 */
const fittedDefaults = fittedLinearizationDefaults;

/**
 * Whether a fitted linearization has enough samples for its covariance of
 * dimension nx + nu at every step: each step's data, taken about its own
 * mean, adds rollouts − 1 independent samples, and the prior's window holds
 * window + 1 steps at the ends of the horizon. Returns the count it has at
 * the worst step (to compare with nx + nu).
 */
export function fittedSampleCount(spec: Extract<Linearization, { kind: "fitted" }>): number {
  const prior = spec.prior ?? fittedDefaults.prior;
  const window = spec.window ?? fittedDefaults.window;
  return (prior > 0 ? window + 1 : 1) * (spec.rollouts - 1);
}



/**
 * The linearizer of condition `world` under `spec` (null: the default). `gains`
 * is the current controller's feedback (T·nu·nx) the fitted variant samples
 * with; `motor` the per-action motor-noise std it scales. Call `dispose` after.
 */
export function linearizerFor(
  env: StageEnv,
  world: World,
  spec: Linearization | null | undefined,
  gains: Float64Array,
  motor: Float64Array | null,
  sampler: Sampler,
): { linearizer: Linearizer; dispose: () => void } {
  const { task } = world;
  if (!spec || spec.kind === "finiteDifference") return finiteDifferenceLinearizer(task, spec, dynamicsOf(env, world));
  // A fresh trajectory has no feedback yet: its rollouts under motor noise would
  // drift off the nominal at once, so its first linearization is by finite differences.
  if (gains.every((v) => v === 0)) return { linearizer: dynamicsOf(env, world), dispose: () => {} };
  if (!motor) throw new Error('linearization "fitted" samples with the condition\'s motor noise: set initializeTrajectories motorNoise');
  const { nx, nu } = task;
  const std = motor.map((s) => s * (spec.noise ?? fittedDefaults.noise));
  const stateNoise = spec.stateNoise ?? fittedDefaults.stateNoise;
  const N = spec.rollouts;
  const linearize = (xs: Float64Array, us: Float64Array, T: number, fx: Float64Array, fu: Float64Array): void => {
    const controller: LinearGaussianController = { T, nx, nu, xbar: xs, ubar: us, K: gains, k: new Float64Array(T * nu), cov: new Float64Array(T * nu * nu) };
    const x0 = xs.subarray(0, nx);
    const start = (): Float64Array => {
      const x = Float64Array.from(x0);
      for (let j = 0; j < nx; j++) x[j] += stateNoise * sampler.normal();
      return x;
    };
    const [rollouts] = runRollouts(env, [{ world, T, count: N, start, controller: { kind: "linearGaussian", controller, noisy: false }, motorNoise: std }], sampler);
    const X = new Float64Array(N * (T + 1) * nx);
    const U = new Float64Array(N * T * nu);
    rollouts.forEach((r, i) => {
      X.set(r.xs, i * (T + 1) * nx);
      U.set(r.us, i * T * nu);
    });
    const options = { window: spec.window ?? fittedDefaults.window, prior: spec.prior ?? fittedDefaults.prior, ridge: spec.ridge ?? fittedDefaults.ridge };
    fitLinearDynamics(X, U, N, T, nx, nu, options, fx, fu);
  };
  return { linearizer: { nx, nu, linearize }, dispose: () => {} };
}

/**
 * `f` with condition c's linearizer (its `linearization` option) around the
 * gains K, disposed after: how every iLQG-type stage linearizes a condition.
 */
export function withConditionLinearizer<R>(env: StageEnv, world: World, c: ConditionState, gains: Float64Array, sampler: Sampler, f: (linearizer: Linearizer) => R): R {
  const { linearizer, dispose } = linearizerFor(env, world, c.linearization, gains, c.motorNoise, sampler);
  try {
    return f(linearizer);
  } finally {
    dispose();
  }
}

/** The generator after linearizing the conditions: only a fitted linearization draws from it. */
export function rngAfterLinearizing(state: RunState, sampler: Sampler): GeneratorState {
  return state.conditions.some((c) => c.linearization?.kind === "fitted") ? sampler.state() : state.rng;
}
