/**
 * The one place that talks to MuJoCo (the official `mujoco-js` WebAssembly
 * build). It loads MJCF text, sets and reads the full physics state, steps with
 * controls held over a control period, rolls out controllers and linearizes
 * the control-period map with `mjd_transitionFD`.
 *
 * Every WASM object made here (model, data, buffers) is owned by a
 * `Simulator` and freed by `dispose()`; rollouts and linearizations reuse the
 * same buffers, so thousands of them do not grow the WASM heap.
 *
 * Determinism: every rollout and linearization starts with `mj_resetData`
 * followed by `mj_setState`, so solver warm-starts never carry over from one
 * call to the next and a result depends only on its inputs.
 */
import loadMujoco from "mujoco-js";
import type { MainModule, MjData, MjModel, DoubleBuffer } from "mujoco-js";
import type { Controller, TrajectoryDynamics } from "../trajopt/types.js";
import { matMul } from "../linalg/dense.js";

let modulePromise: Promise<MainModule> | undefined;
let fileCounter = 0;

/**
 * MuJoCo's own warnings (e.g. "Nan, Inf or huge value in QACC … unstable"),
 * counted per message instead of printed: a line search that tries a wild
 * step would otherwise flood the terminal. `mujocoWarnings()` reads them.
 */
const warningCounts = new Map<string, number>();

export function mujocoWarnings(): ReadonlyMap<string, number> {
  return warningCounts;
}

function recordWarning(text: string): void {
  const key = text.replace(/Time = [0-9.]+\.?/, "").trim();
  if (key) warningCounts.set(key, (warningCounts.get(key) ?? 0) + 1);
}

/** Warnings counted since `before` (a copy of mujocoWarnings() taken earlier), as [message, count] pairs. */
export function warningsSince(before: ReadonlyMap<string, number>): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of warningCounts) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out.push([k, d]);
  }
  return out;
}

/** Add warnings counted on another thread (so a stage's count does not depend on where its rollouts ran). */
export function addWarnings(counts: readonly (readonly [string, number])[]): void {
  for (const [k, v] of counts) warningCounts.set(k, (warningCounts.get(k) ?? 0) + v);
}

/** The MuJoCo WASM module, loaded once per process (or worker). */
export function mujoco(): Promise<MainModule> {
  if (!modulePromise) {
    const load = loadMujoco as unknown as (overrides: object) => Promise<MainModule>;
    // mju_warning prints through stdout (printf), other errors through stderr.
    modulePromise = load({ print: recordWarning, printErr: recordWarning }).then((mj) => {
      (mj as unknown as { FS: { mkdir(p: string): void } }).FS.mkdir("/gps");
      return mj;
    });
  }
  return modulePromise;
}

let loaded: MainModule | undefined;

/** Load the module now (a worker thread does this before it takes work, so it can build simulators synchronously). */
export async function preload(): Promise<void> {
  loaded = await mujoco();
}

/** The module if it has been loaded on this thread. */
export function loadedMujoco(): MainModule {
  if (!loaded) throw new Error("MuJoCo is not loaded on this thread (await preload() first)");
  return loaded;
}

/**
 * An external force on a body's centre of mass (through `xfrc_applied`),
 * active during control steps fromStep ≤ t < toStep of every rollout and
 * linearization (t counts control steps from the rollout's x_0).
 */
export interface Perturbation {
  /** Body name in the MJCF. */
  readonly body: string;
  /** World-frame force in newtons. */
  readonly force: readonly [number, number, number];
  readonly fromStep: number;
  readonly toStep: number;
}

export interface SimulatorOptions {
  /** MuJoCo steps per control step (controls are held constant across them). */
  readonly substeps: number;
  /** Finite-difference step for mjd_transitionFD. */
  readonly fdEpsilon?: number;
  /** Time-indexed pushes (none: the dynamics are time-invariant, as before). */
  readonly perturbations?: readonly Perturbation[];
  /**
   * Override every contact's softness with MuJoCo's global override
   * (mjENBL_OVERRIDE: opt.o_solref, opt.o_solimp, opt.o_margin) — a softened
   * model for the optimizer only (Tassa et al. 2012), any MJCF.
   */
  readonly contactOverride?: ContactOverride;
}

/**
 * MuJoCo's contact override: solref (timeconst, dampratio), solimp (5 numbers),
 * margin (m; default 0); solref and solimp default to the model's own (the
 * geoms' value, or their mean if they differ). Friction stays the model's.
 */
export interface ContactOverride {
  readonly solref?: readonly [number, number];
  readonly solimp?: readonly number[];
  readonly margin?: number;
}

export class Simulator implements TrajectoryDynamics {
  readonly nq: number;
  readonly nv: number;
  readonly nx: number;
  readonly nu: number;
  readonly substeps: number;
  readonly timestep: number;
  readonly fdEpsilon: number;
  private readonly fullStateSpec: number;
  private readonly fullState: DoubleBuffer;
  private readonly fdA: DoubleBuffer;
  private readonly fdB: DoubleBuffer;
  // Scratch for chaining substep Jacobians (allocated once).
  private readonly accA: Float64Array;
  private readonly accB: Float64Array;
  private readonly tmpA: Float64Array;
  private readonly tmpB: Float64Array;
  /** The perturbations, resolved: body id, force (3 per entry) and step window. */
  readonly perturbations: readonly Perturbation[];
  private readonly pertBody: Int32Array;
  private readonly pertForce: Float64Array;
  private readonly pertFrom: Int32Array;
  private readonly pertTo: Int32Array;
  /** Distinct perturbed body ids: their xfrc_applied rows are rewritten at every step. */
  private readonly pertBodies: Int32Array;
  private disposed = false;
  private readonly ctrlLow: Float64Array;
  private readonly ctrlHigh: Float64Array;

  private constructor(
    readonly mj: MainModule,
    readonly model: MjModel,
    readonly data: MjData,
    options: SimulatorOptions,
  ) {
    this.nq = model.nq;
    this.nv = model.nv;
    this.nu = model.nu;
    // Actuator limits (±∞ where unlimited), read once from the model.
    const limited = model.actuator_ctrllimited as Uint8Array;
    const range = model.actuator_ctrlrange as Float64Array;
    this.ctrlLow = new Float64Array(this.nu).fill(Number.NEGATIVE_INFINITY);
    this.ctrlHigh = new Float64Array(this.nu).fill(Number.POSITIVE_INFINITY);
    for (let i = 0; i < this.nu; i++) {
      if (limited[i]) {
        this.ctrlLow[i] = range[2 * i];
        this.ctrlHigh[i] = range[2 * i + 1];
      }
    }
    if (this.nq !== this.nv || model.na !== 0) {
      throw new Error(`Simulator supports models with hinge/slide joints only (nq = nv, no actuator state); got nq=${this.nq} nv=${this.nv} na=${model.na}`);
    }
    if (model.opt.integrator === (mj.mjtIntegrator as unknown as { mjINT_RK4: { value: number } }).mjINT_RK4.value) {
      throw new Error("mjd_transitionFD does not support the RK4 integrator: use Euler, implicit or implicitfast in the MJCF");
    }
    // An unstable step must show up as non-finite state (which the line search
    // rejects), not be silently replaced by MuJoCo's automatic reset to qpos0.
    model.opt.disableflags |= mj.mjtDisableBit.mjDSBL_AUTORESET.value;
    if (options.contactOverride) {
      // The override replaces solref, solimp, margin and friction of every contact:
      // what is not given keeps the model's own values (friction: the largest of
      // any geom, MuJoCo's mixing rule; solimp: the geoms' mean, equal for our tasks).
      const o = options.contactOverride;
      const ngeom = model.ngeom as number;
      // The geoms' value of parameter i of a per-geom array with `width` entries (their mean if they differ).
      const geomValue = (values: Float64Array, width: number, i: number): number => {
        let m = 0;
        let same = true;
        for (let g = 0; g < ngeom; g++) {
          m += values[g * width + i];
          same &&= values[g * width + i] === values[i];
        }
        return same ? values[i] : m / ngeom;
      };
      const solref = model.opt.o_solref as Float64Array;
      for (let i = 0; i < 2; i++) {
        if (o.solref) solref[i] = o.solref[i];
        else if (ngeom > 0) solref[i] = geomValue(model.geom_solref as Float64Array, 2, i);
      }
      const solimp = model.opt.o_solimp as Float64Array;
      for (let i = 0; i < 5; i++) {
        if (o.solimp) solimp[i] = o.solimp[i];
        else if (ngeom > 0) solimp[i] = geomValue(model.geom_solimp as Float64Array, 5, i);
      }
      const friction = model.opt.o_friction as Float64Array;
      const geomFriction = model.geom_friction as Float64Array;
      if (ngeom > 0) {
        const f = [0, 0, 0];
        for (let g = 0; g < ngeom; g++) for (let i = 0; i < 3; i++) f[i] = Math.max(f[i], geomFriction[g * 3 + i]);
        // o_friction: tangential ×2, torsional, rolling ×2 (condim 6 layout).
        friction[0] = f[0];
        friction[1] = f[0];
        friction[2] = f[1];
        friction[3] = f[2];
        friction[4] = f[2];
      }
      model.opt.o_margin = o.margin ?? 0;
      model.opt.enableflags |= (mj.mjtEnableBit as unknown as { mjENBL_OVERRIDE: { value: number } }).mjENBL_OVERRIDE.value;
    }
    this.nx = 2 * this.nv;
    this.substeps = options.substeps;
    this.timestep = model.opt.timestep;
    this.fdEpsilon = options.fdEpsilon ?? 1e-6;
    this.fullStateSpec = mj.mjtState.mjSTATE_FULLPHYSICS.value;
    this.fullState = new mj.DoubleBuffer(mj.mj_stateSize(model, this.fullStateSpec));
    this.fdA = new mj.DoubleBuffer(this.nx * this.nx);
    this.fdB = new mj.DoubleBuffer(this.nx * this.nu);
    this.accA = new Float64Array(this.nx * this.nx);
    this.accB = new Float64Array(this.nx * this.nu);
    this.tmpA = new Float64Array(this.nx * this.nx);
    this.tmpB = new Float64Array(this.nx * this.nu);
    const perts = options.perturbations ?? [];
    this.perturbations = perts;
    this.pertBody = new Int32Array(perts.length);
    this.pertForce = new Float64Array(3 * perts.length);
    this.pertFrom = new Int32Array(perts.length);
    this.pertTo = new Int32Array(perts.length);
    perts.forEach((p, k) => {
      const id = mj.mj_name2id(model, mj.mjtObj.mjOBJ_BODY.value, p.body);
      if (id < 0) throw new Error(`perturbation: the model has no body named "${p.body}"`);
      if (!p.force.every(Number.isFinite)) throw new Error(`perturbation on "${p.body}": force must be finite`);
      this.pertBody[k] = id;
      for (let i = 0; i < 3; i++) this.pertForce[3 * k + i] = p.force[i];
      this.pertFrom[k] = p.fromStep;
      this.pertTo[k] = p.toStep;
    });
    this.pertBodies = Int32Array.from(new Set(this.pertBody));
  }

  /** Load an MJCF model from text. */
  static async fromMjcf(mjcf: string, options: SimulatorOptions): Promise<Simulator> {
    const mj = await mujoco();
    loaded = mj;
    return Simulator.fromMjcfWith(mj, mjcf, options);
  }

  /** Load an MJCF model from text with a module already loaded (synchronous). */
  static fromMjcfWith(mj: MainModule, mjcf: string, options: SimulatorOptions): Simulator {
    const fs = (mj as unknown as { FS: { writeFile(p: string, s: string): void; unlink(p: string): void } }).FS;
    const path = `/gps/model-${fileCounter++}.xml`;
    fs.writeFile(path, mjcf);
    let model: MjModel;
    try {
      model = mj.MjModel.loadFromXML(path);
    } finally {
      fs.unlink(path);
    }
    if (!model) throw new Error("MuJoCo could not load the MJCF model");
    const data = new mj.MjData(model);
    return new Simulator(mj, model, data, options);
  }

  /** Control period in seconds. */
  get dt(): number {
    return this.timestep * this.substeps;
  }

  /** Reset the data (warm-starts, time, forces) and set qpos/qvel from x, then mj_forward. */
  setState(x: Float64Array, xOff = 0): void {
    const { mj, model, data } = this;
    mj.mj_resetData(model, data);
    const s = this.fullState.GetView() as Float64Array;
    // FULLPHYSICS layout: time, qpos, qvel, act, (plugin state: none here).
    s.fill(0);
    for (let i = 0; i < this.nq; i++) s[1 + i] = x[xOff + i];
    for (let i = 0; i < this.nv; i++) s[1 + this.nq + i] = x[xOff + this.nq + i];
    mj.mj_setState(model, data, s as unknown as number[], this.fullStateSpec);
    mj.mj_forward(model, data);
  }

  /** Read x = [qpos, qvel] from the current data through mj_getState. */
  getState(out: Float64Array, outOff = 0): void {
    const { mj, model, data } = this;
    mj.mj_getState(model, data, this.fullState, this.fullStateSpec);
    const s = this.fullState.GetView() as Float64Array;
    for (let i = 0; i < this.nx; i++) out[outOff + i] = s[1 + i];
  }

  private setControl(u: Float64Array, uOff: number): void {
    const ctrl = this.data.ctrl as Float64Array;
    for (let i = 0; i < this.nu; i++) ctrl[i] = u[uOff + i];
  }

  /** Advance the current data by one control period with u held constant. */
  stepControl(u: Float64Array, uOff = 0): void {
    this.setControl(u, uOff);
    for (let s = 0; s < this.substeps; s++) this.mj.mj_step(this.model, this.data);
  }

  /** Apply a Cartesian force/torque (6 numbers) to a body, held until cleared. */
  setBodyForce(bodyId: number, wrench: ArrayLike<number>): void {
    const xfrc = this.data.xfrc_applied as Float64Array;
    for (let i = 0; i < 6; i++) xfrc[bodyId * 6 + i] = wrench[i];
  }

  /** World positions of all bodies (nbody·3), for drawing. */
  bodyPositions(out: Float64Array, outOff = 0): void {
    const xpos = this.data.xpos as Float64Array;
    for (let i = 0; i < xpos.length; i++) out[outOff + i] = xpos[i];
  }

  /** Number of active contacts at state x (after mj_forward; time-invariant models). */
  contactCount(x: Float64Array, xOff = 0): number {
    this.setState(x, xOff);
    return this.data.ncon as number;
  }

  /** The actuators' control limits (±∞ where unlimited), copies. */
  controlLimits(): { low: Float64Array; high: Float64Array } {
    return { low: Float64Array.from(this.ctrlLow), high: Float64Array.from(this.ctrlHigh) };
  }

  get nbody(): number {
    return this.model.nbody;
  }

  /** Whether any perturbation was given (otherwise the dynamics do not depend on t). */
  get hasPerturbations(): boolean {
    return this.pertBody.length > 0;
  }

  /**
   * Write the perturbation forces of control step t into xfrc_applied: the
   * sum of the perturbations active at t on each perturbed body, zero on a
   * perturbed body with none active (other bodies' rows are left alone).
   * Call after `setState` (which clears xfrc_applied) and before stepping.
   */
  applyPerturbations(t: number): void {
    const n = this.pertBody.length;
    if (n === 0) return;
    const xfrc = this.data.xfrc_applied as Float64Array;
    for (let j = 0; j < this.pertBodies.length; j++) {
      const o = 6 * this.pertBodies[j];
      for (let i = 0; i < 6; i++) xfrc[o + i] = 0;
    }
    for (let k = 0; k < n; k++) {
      if (t < this.pertFrom[k] || t >= this.pertTo[k]) continue;
      const o = 6 * this.pertBody[k];
      xfrc[o] += this.pertForce[3 * k];
      xfrc[o + 1] += this.pertForce[3 * k + 1];
      xfrc[o + 2] += this.pertForce[3 * k + 2];
    }
  }

  /**
   * Clip u to the actuators' ctrlrange in place, as MuJoCo would when it
   * applies it, so the recorded actions (and any cost of them) are the torques
   * the model really received, not commands beyond its limits.
   */
  clampControl(u: Float64Array, uOff = 0): void {
    const lo = this.ctrlLow;
    const hi = this.ctrlHigh;
    for (let i = 0; i < this.nu; i++) {
      const v = u[uOff + i];
      if (v < lo[i]) u[uOff + i] = lo[i];
      else if (v > hi[i]) u[uOff + i] = hi[i];
    }
  }

  /** Roll out from x0; the recorded actions are the clipped ones the model applied. */
  rollout(x0: Float64Array, controller: Controller, T: number, xs: Float64Array, us: Float64Array): void {
    const nx = this.nx;
    const nu = this.nu;
    const perturbed = this.pertBody.length > 0;
    for (let i = 0; i < nx; i++) xs[i] = x0[i];
    this.setState(x0);
    for (let t = 0; t < T; t++) {
      controller(t, xs, t * nx, us, t * nu);
      this.clampControl(us, t * nu);
      if (perturbed) this.applyPerturbations(t);
      this.stepControl(us, t * nu);
      this.getState(xs, (t + 1) * nx);
    }
  }

  /**
   * Jacobians of the control-period map at (x, u). With s substeps and
   * per-substep Jacobians (A_j, B_j) from centered finite differences,
   * A = A_s⋯A_1 and B = Σ_j A_s⋯A_{j+1} B_j (u is held across substeps).
   * `t` is the control step, for the perturbations active then (omitted: none).
   */
  linearizeAt(
    x: Float64Array,
    u: Float64Array,
    fx: Float64Array,
    fu: Float64Array,
    xOff = 0,
    uOff = 0,
    fxOff = 0,
    fuOff = 0,
    t?: number,
  ): void {
    const { mj, model, data, nx, nu } = this;
    this.setState(x, xOff);
    if (t !== undefined) this.applyPerturbations(t);
    this.setControl(u, uOff);
    const accA = this.accA;
    const accB = this.accB;
    for (let s = 0; s < this.substeps; s++) {
      mj.mjd_transitionFD(model, data, this.fdEpsilon, 1, this.fdA, this.fdB, null, null);
      const A = this.fdA.GetView() as Float64Array;
      const B = this.fdB.GetView() as Float64Array;
      if (s === 0) {
        accA.set(A);
        accB.set(B);
      } else {
        matMul(A, accA, nx, nx, nx, this.tmpA);
        matMul(A, accB, nx, nx, nu, this.tmpB);
        accA.set(this.tmpA);
        for (let i = 0; i < nx * nu; i++) accB[i] = this.tmpB[i] + B[i];
      }
      if (s + 1 < this.substeps) mj.mj_step(model, data);
    }
    for (let i = 0; i < nx * nx; i++) fx[fxOff + i] = accA[i];
    for (let i = 0; i < nx * nu; i++) fu[fuOff + i] = accB[i];
  }

  linearize(xs: Float64Array, us: Float64Array, T: number, fx: Float64Array, fu: Float64Array): void {
    const { nx, nu } = this;
    for (let t = 0; t < T; t++) this.linearizeAt(xs, us, fx, fu, t * nx, t * nu, t * nx * nx, t * nx * nu, t);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.fullState.delete();
    this.fdA.delete();
    this.fdB.delete();
    this.data.delete();
    this.model.delete();
  }
}

/**
 * The simulator of a task: its MJCF, substeps and (for a task with pushes)
 * perturbations. Typed structurally so sim/ does not import tasks/.
 */
export function createSimulator(task: {
  readonly mjcf: string;
  readonly substeps: number;
  readonly perturbations?: readonly Perturbation[];
}): Promise<Simulator> {
  return Simulator.fromMjcf(task.mjcf, { substeps: task.substeps, perturbations: task.perturbations });
}
