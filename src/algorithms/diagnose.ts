/**
 * The diagnoseTrajectories stage: measure each condition's trajectory
 * distribution q(u|x) along the dynamics linearized at its nominal, so that
 * "why do samples of q fall?" has numbers (docs/trajectory-optimization.md):
 *
 *   mu                       the regularization the trajectory carries
 *   gainNorm(Max)            median (max) over t of ‖K_t‖₂
 *   demonstrationGainNorm    the same for the demonstration controller's own
 *                            feedback along its demonstration (when it has one)
 *   closedLoopRadius         median over t of the spectral radius of A_t + B_t K_t
 *   windowAmplification      max over windows of `window` steps of the spectral
 *                            radius of the closed-loop product (> 1: a deviation grows)
 *   actionStdOverMotor       max over joints of median_t √cov_jj / motor-noise std
 *   outsideRange             expected share of q's actions outside the control range
 *   positionStd{Mid,End}     √trace of q's linearized position covariance at T/2, T
 *                            (q's noise + motor noise); …MotorOnly: the mean
 *                            controller with motor noise alone
 *   contactChanges           steps where the nominal's contact count changes
 *   jumpAtContact/Elsewhere  median ‖A_{t+1} − A_t‖/‖A_t‖ at those steps / at the others
 *   fdDifference(AtContact)  per finite-difference step in `fdEpsilons`, median
 *                            ‖A_ε − A‖/‖A‖ against the run's step (1e-6)
 *   softDifference(AtContact) the same for the model with softened contacts
 *
 * and per-step series (…ByStep, condition-major) for the plots. Nothing in
 * the state changes: the stage only reads.
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import type { Linearization } from "../dsl/experiment.js";
import { demoController } from "../demos/index.js";
import { demonstrationFeedback } from "../demos/feedback.js";
import { finiteDifferenceSimulator } from "./finite-difference.js";
import type { Task } from "../tasks/types.js";
import {
  closedLoop,
  jacobianJumps,
  median,
  outsideRangeShare,
  relativeDifferences,
  spectralNorm,
  spectralRadius,
  stateCovariances,
  windowAmplification,
} from "../trajopt/diagnostics.js";
import { internalError, type RunState, type StageEnv } from "./state.js";
import { dynamicsOf } from "./rollouts.js";

type DiagnoseSpec = ResolvedStageSpec<"diagnoseTrajectories">;
type FiniteDifference = Extract<Linearization, { kind: "finiteDifference" }>;

/** Defaults, declared once beside the options (recorded with the stage's metrics too). */
export { diagnoseTrajectoriesDefaults as diagnoseDefaults } from "../dsl/experiment.js";

/** The task's ∂x_{t+1}/∂x_t along (xs, us) by finite differences with another step or contact override. */
function linearizeWith(task: Task, xs: Float64Array, us: Float64Array, T: number, options: Omit<FiniteDifference, "kind">) {
  const sim = finiteDifferenceSimulator(task, { kind: "finiteDifference", ...options });
  try {
    const fx = new Float64Array(T * task.nx * task.nx);
    const fu = new Float64Array(T * task.nx * task.nu);
    sim.linearize(xs, us, T, fx, fu);
    return fx;
  } finally {
    sim.dispose();
  }
}

/** √trace of the position block (the first nq state entries) of each Σ_t. */
function positionStds(S: Float64Array, T: number, nx: number, nq: number): Float64Array {
  const out = new Float64Array(T + 1);
  for (let t = 0; t <= T; t++) {
    let s = 0;
    for (let i = 0; i < nq; i++) s += S[t * nx * nx + i * nx + i];
    out[t] = Math.sqrt(Math.max(s, 0));
  }
  return out;
}

export const diagnoseTrajectories = function* (env: StageEnv, spec: DiagnoseSpec, state: RunState) {
  const { window, fdEpsilons, softContact, demonstrationGains: withDemoGains } = spec;
  const m: Record<string, number[]> = {};
  const push = (name: string, ...v: number[]) => (m[name] ??= []).push(...v);
  const C = state.conditions.length;
  for (let i = 0; i < C; i++) {
    const c = state.conditions[i];
    if (!c.trajectory) throw internalError("diagnoseTrajectories needs initializeTrajectories before it");
    const q = c.trajectory;
    const { task, sim } = env.worlds[i];
    const { T, nx, nu } = q;
    const nq = nx / 2;
    const fx = new Float64Array(T * nx * nx);
    const fu = new Float64Array(T * nx * nu);
    dynamicsOf(env, env.worlds[i]).linearize(q.xbar, q.ubar, T, fx, fu);

    const gains = new Float64Array(T);
    const radii = new Float64Array(T);
    const M = new Float64Array(nx * nx);
    for (let t = 0; t < T; t++) {
      gains[t] = spectralNorm(q.K, nu, nx, t * nu * nx);
      closedLoop(fx, fu, q.K, t, nx, nu, M);
      radii[t] = spectralRadius(M, nx);
    }
    const amplification = windowAmplification(fx, fu, q.K, T, nx, nu, Math.min(window, T));
    push("mu", q.mu);
    push("gainNorm", median(gains));
    push("gainNormMax", Math.max(...gains));
    push("closedLoopRadius", median(radii));
    push("windowAmplification", Math.max(...amplification));
    push("windowAmplificationMedian", median(amplification));
    push("gainNormByStep", ...gains);
    push("closedLoopRadiusByStep", ...radii);
    yield { fraction: (i + 0.3) / C, message: `condition ${i + 1}/${C}: ‖K‖ ${median(gains).toFixed(1)}, closed-loop amplification over ${window} steps ≤ ${Math.max(...amplification).toExponential(2)}` };

    if (withDemoGains && c.demonstration?.source === "controller") {
      const name = c.demonstration.controller;
      const Kd = demonstrationFeedback(() => demoController(name, task), c.demonstration.xs, nx, nu, T);
      const dg = new Float64Array(T);
      for (let t = 0; t < T; t++) dg[t] = spectralNorm(Kd, nu, nx, t * nu * nx);
      push("demonstrationGainNorm", median(dg));
      push("demonstrationWindowAmplification", Math.max(...windowAmplification(fx, fu, Kd, T, nx, nu, Math.min(window, T))));
    } else {
      push("demonstrationGainNorm", Number.NaN);
      push("demonstrationWindowAmplification", Number.NaN);
    }

    // Widths: q's actions against the motor noise and the actuators' range; q's states.
    const motor = c.motorNoise;
    const ratios: number[] = [];
    for (let j = 0; j < nu; j++) {
      const r = new Float64Array(T);
      for (let t = 0; t < T; t++) r[t] = Math.sqrt(Math.max(q.cov[t * nu * nu + j * nu + j], 0)) / (motor && motor[j] > 0 ? motor[j] : 1);
      ratios.push(median(r));
    }
    push("actionStdOverMotor", Math.max(...ratios));
    push("actionStdOverMotorByJoint", ...ratios);
    const { low, high } = sim.controlLimits();
    push("outsideRange", outsideRangeShare(q.ubar, q.cov, low, high, T, nu));
    const stds = positionStds(stateCovariances(fx, fu, q.K, q.cov, motor, T, nx, nu), T, nx, nq);
    const motorOnly = positionStds(stateCovariances(fx, fu, q.K, q.cov, motor, T, nx, nu, 0), T, nx, nq);
    push("positionStdMid", stds[T >> 1]);
    push("positionStdEnd", stds[T]);
    push("positionStdEndMotorOnly", motorOnly[T]);
    push("positionStdByStep", ...stds);

    // Contact events and how the finite-difference Jacobians behave across them.
    const contacts = new Float64Array(T + 1);
    for (let t = 0; t <= T; t++) contacts[t] = sim.contactCount(q.xbar, t * nx);
    const jumps = jacobianJumps(fx, T, nx);
    // Value t is "at a contact event" when the contact count changes among the states x_t … x_{t+span}.
    const atContact = (values: Float64Array, span: number) => {
      const at: number[] = [];
      const elsewhere: number[] = [];
      values.forEach((v, t) => {
        let changes = false;
        for (let s = t; s < t + span && s + 1 <= T; s++) changes ||= contacts[s] !== contacts[s + 1];
        (changes ? at : elsewhere).push(v);
      });
      return { at: median(at), elsewhere: median(elsewhere), count: at.length };
    };
    // A_t covers x_t → x_{t+1} and A_{t+1} covers x_{t+1} → x_{t+2}.
    const j = atContact(jumps, 2);
    let changes = 0;
    for (let t = 0; t < T; t++) if (contacts[t] !== contacts[t + 1]) changes++;
    push("contactChanges", changes);
    push("jumpAtContact", j.at);
    push("jumpElsewhere", j.elsewhere);
    push("contactsByStep", ...contacts);
    push("jumpByStep", ...jumps);
    for (const eps of fdEpsilons) {
      const d = relativeDifferences(linearizeWith(task, q.xbar, q.ubar, T, { epsilon: eps }), fx, T, nx * nx);
      push("fdDifference", median(d));
      push("fdDifferenceAtContact", atContact(d, 1).at);
    }
    const soft = relativeDifferences(linearizeWith(task, q.xbar, q.ubar, T, { contact: softContact }), fx, T, nx * nx);
    push("softDifference", median(soft));
    push("softDifferenceAtContact", atContact(soft, 1).at);
    yield { fraction: (i + 1) / C, message: `condition ${i + 1}/${C}: ${changes} contact changes, Jacobian jump ${j.at.toFixed(2)} there vs ${j.elsewhere.toFixed(3)} elsewhere` };
  }
  return { state, metrics: { ...m, window, fdEpsilons: [...fdEpsilons], softSolref: [...(softContact.solref ?? [])], softMargin: softContact.margin ?? 0 } };
};
