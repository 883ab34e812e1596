/**
 * A task from a declared MuJoCo model (src/dsl/mjcf-task.ts): the model is
 * loaded once to read its joints and actuators, every name the spec uses is
 * checked against them, and the cost terms are compiled with exact
 * derivatives. Problems are `TaskSpecError`s naming the field path
 * (`task.cost.terms[1].joint: …`), so a typo fails before a run exists.
 */
import type { MainModule, MjModel } from "mujoco-js";
import type { CostSpec, ResolvedMjcfTaskSpec } from "../dsl/mjcf-task.js";
import { MJCF_DEFAULT_SUBSTEPS } from "../dsl/mjcf-task.js";
import { loadedMujoco, Simulator } from "../sim/mujoco.js";
import type { Cost } from "../trajopt/types.js";
import { actionCost, costScale, costSum, stateCoordinateCost } from "./cost-terms.js";
import type { Task } from "./types.js";

/** A declared task that cannot be built: the message starts with the field path. */
export class TaskSpecError extends Error {
  override name = "TaskSpecError";
}

/** What a cost term can name: joint → its index in qpos (= its index in qvel: hinge and slide joints only). */
interface ModelNames {
  readonly joints: ReadonlyMap<string, number>;
  readonly nq: number;
  readonly nu: number;
}

const JOINT_KIND = ["free", "ball", "slide", "hinge"];

/** Load the MJCF with MuJoCo; a model MuJoCo refuses is a TaskSpecError at `where`. */
function loadSimulator(mj: MainModule, xml: string, substeps: number, where: string): Simulator {
  try {
    // The Simulator's loader, so what loads here loads in every world.
    return Simulator.fromMjcfWith(mj, xml, { substeps });
  } catch (e) {
    // Our own checks throw Errors (e.g. a joint type the Simulator cannot handle); MuJoCo's parser, C++ exceptions.
    const ours = e instanceof Error && !("excPtr" in e) && typeof e.message === "string";
    throw new TaskSpecError(ours ? `${where}: ${e.message}` : `${where}: MuJoCo cannot load the model: ${describeLoadError(mj, e)}`);
  }
}

/**
 * MuJoCo's reason for refusing a model. mujoco-js 0.0.7 throws a C++ exception
 * that carries only its type (e.g. mjXError, an XML element or attribute it does
 * not accept, or a reference to something undefined), not MuJoCo's text.
 */
function describeLoadError(mj: MainModule, e: unknown): string {
  const ptr = (e as { excPtr?: number } | null)?.excPtr;
  const getMessage = (mj as unknown as { getExceptionMessage?: (p: number) => [string, string | undefined] }).getExceptionMessage;
  if (typeof ptr === "number" && getMessage) {
    try {
      const [type, message] = getMessage(ptr);
      const why = type === "mjXError" ? "the XML is malformed or uses an element, attribute or name MuJoCo does not accept" : "a model MuJoCo cannot compile";
      return `${type}${message ? `: ${message}` : ` (${why}; mujoco-js does not pass on MuJoCo's own message)`}`;
    } catch {
      // fall through
    }
  }
  return String(e);
}

function modelNames(mj: MainModule, model: MjModel, where: string): { names: ModelNames; jointNames: string[]; actuatorNames: string[] } {
  const njnt = model.njnt as number;
  const types = model.jnt_type as Int32Array;
  const qposadr = model.jnt_qposadr as Int32Array;
  const joints = new Map<string, number>();
  const jointNames: string[] = new Array(model.nq as number).fill("");
  for (let j = 0; j < njnt; j++) {
    const name = mj.mj_id2name(model, mj.mjtObj.mjOBJ_JOINT.value, j) || `joint${j}`;
    if (types[j] !== 2 && types[j] !== 3) {
      throw new TaskSpecError(`${where}: joint "${name}" is a ${JOINT_KIND[types[j]] ?? `type-${types[j]}`} joint; declared models may have hinge and slide joints only (the state is qpos then qvel, which needs nq = nv)`);
    }
    joints.set(name, qposadr[j]);
    jointNames[qposadr[j]] = name;
  }
  const nu = model.nu as number;
  const actuatorNames = Array.from({ length: nu }, (_, a) => mj.mj_id2name(model, mj.mjtObj.mjOBJ_ACTUATOR.value, a) || `actuator${a}`);
  return { names: { joints, nq: model.nq as number, nu }, jointNames, actuatorNames };
}

function jointIndex(names: ModelNames, joint: string, where: string): number {
  const i = names.joints.get(joint);
  if (i === undefined) throw new TaskSpecError(`${where}: the model has no joint named "${joint}" (its joints: ${[...names.joints.keys()].join(", ") || "none"})`);
  return i;
}

/** The cost of a spec over x = [qpos, qvel] and the actuators, exact derivatives included. */
export function compileCost(spec: CostSpec, names: ModelNames, where = "task.cost"): Cost {
  const nx = 2 * names.nq;
  const { nu } = names;
  switch (spec.kind) {
    case "action":
      if (spec.target && spec.target.length !== nu) throw new TaskSpecError(`${where}.target: the model has ${nu} actuators, the target ${spec.target.length} entries`);
      return actionCost(nx, nu, spec.weight, spec.target);
    case "position":
      return stateCoordinateCost(nx, nu, jointIndex(names, spec.joint, `${where}.joint`), spec.target, spec.weight);
    case "velocity":
      return stateCoordinateCost(nx, nu, names.nq + jointIndex(names, spec.joint, `${where}.joint`), spec.target, spec.weight);
    case "sum":
      return costSum(...spec.terms.map((term, k) => compileCost(term, names, `${where}.terms[${k}]`)));
    case "scale":
      return costScale(spec.factor, compileCost(spec.term, names, `${where}.term`));
  }
}

/**
 * The task of a declared model. Checks, each naming its field: the model loads
 * (`task.xml`), has only hinge and slide joints and at least one actuator, every
 * joint the cost, `forward` and `fall` name exists, and one control step from
 * rest with zero controls stays finite.
 */
export function mjcfTask(spec: ResolvedMjcfTaskSpec, mj: MainModule = loadedMujoco()): Task {
  if (spec.terrain !== undefined || spec.pushes !== undefined) {
    throw new TaskSpecError("task: terrain and pushes apply to the hopper and walker; a declared model has its ground in its MJCF");
  }
  const substeps = spec.substeps ?? MJCF_DEFAULT_SUBSTEPS;
  const sim = loadSimulator(mj, spec.xml, substeps, spec.path ? `task.path (${spec.path})` : "task.xml");
  try {
    return taskOfModel(spec, mj, sim, substeps);
  } finally {
    sim.dispose();
  }
}

function taskOfModel(spec: ResolvedMjcfTaskSpec, mj: MainModule, sim: Simulator, substeps: number): Task {
  const model = sim.model;
  const { names, jointNames, actuatorNames } = modelNames(mj, model, "task.xml");
  if (names.nu === 0) throw new TaskSpecError("task.xml: the model has no actuators, so there is nothing to control");
  const nq = names.nq;
  const nx = 2 * nq;
  const cost = compileCost(spec.cost, names);
  const forward = spec.forward === undefined ? -1 : jointIndex(names, spec.forward, "task.forward");
  const fall = spec.fall
    ? {
        minHeightAboveGround: spec.fall.below,
        maxAbsPitch: spec.fall.maxAbsPitch ?? Number.POSITIVE_INFINITY,
        pitchIndex: spec.fall.pitchJoint === undefined ? -1 : jointIndex(names, spec.fall.pitchJoint, "task.fall.pitchJoint"),
      }
    : null;
  const heightIndex = spec.fall ? jointIndex(names, spec.fall.joint, "task.fall.joint") : -1;
  const restState = new Float64Array(nx);
  restState.set((model.qpos0 as Float64Array).subarray(0, nq));
  checkFiniteAtRest(sim, restState, names.nu);
  const timestep = model.opt.timestep as number;
  const index = Array.from({ length: nq }, (_, i) => i);
  return {
    name: spec.name,
    mjcf: spec.xml,
    substeps,
    dt: timestep * substeps,
    nx,
    nu: names.nu,
    stateLayout: { qpos: index, qvel: index },
    stateNames: [...jointNames.map((n) => `qpos.${n}`), ...jointNames.map((n) => `qvel.${n}`)],
    actionNames: actuatorNames,
    restState,
    forwardVelocityIndex: forward < 0 ? -1 : nq + forward,
    positionIndex: forward,
    heightIndex,
    cost,
    fall,
  };
}

/** One control step from rest with zero controls must stay finite (a model that explodes at once cannot be optimized). */
function checkFiniteAtRest(sim: Simulator, x0: Float64Array, nu: number): void {
  const xs = new Float64Array(2 * x0.length);
  sim.rollout(x0, (_t, _x, _xo, u, uo) => u.fill(0, uo, uo + nu), 1, xs, new Float64Array(nu));
  const bad = xs.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new TaskSpecError(`task.xml: the state is not finite one control step after rest (entry ${bad % x0.length} of x is ${xs[bad]}): check masses, inertias and the timestep`);
}
