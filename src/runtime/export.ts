/**
 * A self-contained, replayable export of a run's controller: the MJCF, the
 * control period, the horizon, the state layout, the initial state and the
 * controller, as plain JSON anyone with MuJoCo can replay.
 */
import { describeNonFinite, firstNonFiniteInState } from "./finite.js";
import { decodeRunState } from "../algorithms/run-state.js";
import { decodeExperiment } from "../dsl/validate.js";
import { conditionTaskSpec } from "../dsl/experiment.js";
import type { PolicyState, RunState } from "../algorithms/state.js";
import { parameterLayout } from "../policy/mlp.js";
import { taskFor } from "../tasks/index.js";
import { decodeValue } from "./canonical.js";
import { listCheckpointIndices, readCheckpoint, readExperiment, type RunHandle } from "./store.js";

export interface LinearGaussianExport {
  readonly kind: "linear-gaussian";
  /** Per step: xbar has T+1 rows of nx, ubar/k T rows of nu, K T matrices nu×nx (rows), cov T matrices nu×nu. */
  readonly xbar: number[][];
  readonly ubar: number[][];
  readonly K: number[][][];
  readonly k: number[][];
  readonly cov: number[][][];
}

export interface ControllerExport {
  readonly mjcf: string;
  /** Control period in seconds: `substeps` × the MJCF timestep, actions held across the substeps. */
  readonly dt: number;
  readonly substeps: number;
  readonly horizon: number;
  readonly stateLayout: { readonly qpos: readonly number[]; readonly qvel: readonly number[] };
  readonly initialState: { readonly qpos: number[]; readonly qvel: number[] };
  readonly controller: LinearGaussianExport | MlpExport;
  /** External pushes to replay: xfrc_applied force on `body` during control steps [fromStep, toStep). */
  readonly perturbations: readonly { readonly body: string; readonly force: readonly number[]; readonly fromStep: number; readonly toStep: number }[];
  readonly meanAction: string;
  readonly source: { readonly run: string; readonly stage: number; readonly condition: number; readonly digest: string; readonly what: string };
}

/**
 * A recorded demonstration in the linear-Gaussian format: its states as x̄,
 * its actions as ū, no feedback and no noise, so the mean action replays the
 * demonstration open loop (MuJoCo is deterministic).
 */
function demonstrationAsController(c: RunState["conditions"][number], nx: number, nu: number) {
  if (!c.demonstration) return null;
  const T = c.demonstration.us.length / nu;
  return { T, xbar: c.demonstration.xs, ubar: c.demonstration.us, K: new Float64Array(T * nu * nx), k: new Float64Array(T * nu), cov: new Float64Array(T * nu * nu) };
}

function rows(a: Float64Array, n: number, count: number): number[][] {
  return Array.from({ length: count }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
}

/**
 * Export the controller of one condition at a stage (default: the run's last
 * checkpoint). A corrupt checkpoint is refused (CorruptCheckpointError names
 * the file) rather than silently exporting an older stage.
 */
/** A trained MLP policy: μ(x) = W2 softplus(W1 (x − inputMean)/inputStd + b1) + b2, noise N(0, diag(outputStd²)). */
export interface MlpExport {
  readonly kind: "mlp";
  /** W as rows (outputs × inputs). */
  readonly layers: { readonly W: number[][]; readonly b: number[] }[];
  readonly activation: "softplus";
  readonly inputMean: number[];
  readonly inputStd: number[];
  readonly outputStd: number[];
  /** Indices of x the network does not see (their W1 columns are 0; inputMean 0, inputStd 1 here). */
  readonly ignoredInputs: number[];
  /** "state": the input is x; "groundRelativeHeight": x with the root height replaced by its height above the ground under the root. */
  readonly observation: "state" | "groundRelativeHeight";
}

/** An export the run cannot give (a condition it does not have, a policy it has not trained): bad input, not a fault. */
export class ExportRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExportRequestError";
  }
}

function ignoredInputs(p: PolicyState): number[] {
  const L = parameterLayout(p);
  const out: number[] = [];
  for (let i = 0; i < p.nIn; i++) {
    if (Number.isFinite(p.inputStd[i])) continue;
    for (let h = 0; h < p.nHidden; h++) {
      if (p.theta[L.w1 + h * p.nIn + i] !== 0) throw new Error(`export: input ${i} is ignored (inputStd ∞) but W1[${h}][${i}] = ${p.theta[L.w1 + h * p.nIn + i]} ≠ 0`);
    }
    out.push(i);
  }
  return out;
}

function mlpExport(p: PolicyState, observation: "state" | "groundRelativeHeight"): MlpExport {
  const L = parameterLayout(p);
  const th = p.theta;
  const { nIn: n, nHidden: H, nOut: m } = p;
  return {
    kind: "mlp",
    layers: [
      { W: rows(th.subarray(L.w1, L.w1 + H * n), n, H), b: Array.from(th.subarray(L.b1, L.b1 + H)) },
      { W: rows(th.subarray(L.w2, L.w2 + m * H), H, m), b: Array.from(th.subarray(L.b2, L.b2 + m)) },
    ],
    activation: "softplus",
    // An ignored input has inputStd = +∞ in the run (x̃ = 0 exactly) and a zero W1 column, so writing
    // mean 0 / std 1 (JSON has no ∞) gives the same μ(x) for every x.
    inputMean: Array.from(p.inputMean, (v, i) => (Number.isFinite(p.inputStd[i]) ? v : 0)),
    inputStd: Array.from(p.inputStd, (v) => (Number.isFinite(v) ? v : 1)),
    outputStd: Array.from(th.subarray(L.logStd, L.logStd + m), Math.exp),
    ignoredInputs: ignoredInputs(p),
    observation,
  };
}

export function exportRun(run: RunHandle, options: { condition: number; stage?: number; what?: "trajectory" | "demonstration" | "policy" }): ControllerExport {
  const experiment = decodeExperiment(decodeValue(readExperiment(run)));
  if (!Number.isInteger(options.condition) || options.condition < 0 || options.condition >= experiment.conditions.length) {
    throw new ExportRequestError(`--condition ${options.condition} does not exist (the experiment has ${experiment.conditions.length})`);
  }
  const task = taskFor(conditionTaskSpec(experiment, options.condition));
  const indices = listCheckpointIndices(run);
  if (indices.length === 0) throw new ExportRequestError(`${run.dir} has no checkpoint yet: nothing to export`);
  const stage = options.stage ?? indices[indices.length - 1];
  const record = readCheckpoint(run, stage);
  const latest = { index: stage };
  const state = decodeRunState(record.state);
  const c = state.conditions[options.condition];
  if (!c) throw new Error(`condition ${options.condition} does not exist (the run has ${state.conditions.length})`);
  const { nx, nu } = task;
  const what = options.what ?? "trajectory";
  let controller: LinearGaussianExport | MlpExport;
  let T: number;
  if (what === "policy") {
    if (!state.policy) throw new ExportRequestError(`--policy: the run has no policy yet at stage ${latest.index} (fitTheta makes one)`);
    controller = mlpExport(state.policy, experiment.policy?.observation ?? "state");
    T = experiment.task.horizon;
  } else {
    const tr = what === "demonstration" ? demonstrationAsController(c, nx, nu) : c.trajectory;
    if (!tr) throw new ExportRequestError(`condition ${options.condition} has no ${what} yet at stage ${latest.index}`);
    T = tr.T;
    controller = {
      kind: "linear-gaussian",
      xbar: rows(tr.xbar, nx, T + 1),
      ubar: rows(tr.ubar, nu, T),
      K: Array.from({ length: T }, (_, t) => rows(tr.K.subarray(t * nu * nx, (t + 1) * nu * nx), nx, nu)),
      k: rows(tr.k, nu, T),
      cov: Array.from({ length: T }, (_, t) => rows(tr.cov.subarray(t * nu * nu, (t + 1) * nu * nu), nu, nu)),
    };
  }
  // A NaN/∞ in the gains or the nominal would replay as nonsense (JSON would even write it as null).
  const nonFinite = firstNonFiniteInState(controller, "controller");
  if (nonFinite) throw new ExportRequestError(`stage ${latest.index}, condition ${options.condition}: ${describeNonFinite(nonFinite)}; refusing to export a non-finite controller`);
  const nq = task.stateLayout.qpos.length;
  return {
    mjcf: task.mjcf,
    dt: task.dt,
    substeps: task.substeps,
    horizon: T,
    stateLayout: task.stateLayout,
    initialState: { qpos: Array.from(c.x0.subarray(0, nq)), qvel: Array.from(c.x0.subarray(nq, nx)) },
    controller,
    perturbations: task.perturbations ?? [],
    meanAction:
      what === "policy"
        ? "u = W2 softplus(W1 ((x - inputMean) / inputStd) + b1) + b2, x = [qpos[stateLayout.qpos], qvel[stateLayout.qvel]]" +
          (controller.kind === "mlp" && controller.observation === "groundRelativeHeight" ? " with the root height replaced by its height above the ground under the root" : "")
        : "u_t = ubar[t] + k[t] + K[t] (x_t - xbar[t]), x = [qpos[stateLayout.qpos], qvel[stateLayout.qvel]]",
    source: { run: run.dir, stage: latest.index, condition: options.condition, digest: record.digest, what },
  };
}
