/**
 * Shared pieces of the planar legged models (hopper, walker): the MJCF
 * fragments for the planar root (slide x, slide z, hinge y), the floor, the
 * defaults and the softened contact parameters, and a helper that builds the
 * identity state layout x = [qpos, qvel] with readable names.
 *
 * Root convention: the root body (the torso) sits at `pos="0 0 H"` and the
 * `rootz` slide joint has `ref="H"`, so qpos[rootz] is the absolute height of
 * the torso frame above the floor (and qpos0, the model's reference pose, is
 * the nominal standing pose). `rootx` starts at 0; `rooty` is the pitch of the
 * torso (positive = rotation about +y, i.e. leaning forward, since +x is
 * forward and +z is up).
 */
import type { PushSpec, TerrainSpec } from "../dsl/experiment.js";
import type { FallCriteria, LeggedTask, Perturbation, StateLayout } from "./types.js";
import { locomotionCost } from "./cost.js";
import { groundHeight, groundOf, groundProfile, isFlatTerrain, normalizePushes, normalizeTerrain, pushPerturbations, type Ground, type GroundProfile } from "./terrain.js";

/**
 * Softened contacts (Tassa, Erez & Todorov 2012 in spirit): a contact time
 * constant of 0.04 s (MuJoCo's default is 0.02 s) with critical damping, and a
 * wider, lower impedance ramp (solimp 0.8 → 0.95 over 1 cm of penetration
 * instead of 0.9 → 0.95 over 1 mm). Contact forces therefore build up
 * gradually over the first centimetre of penetration, which keeps the
 * finite-difference Jacobians of the control-period map informative.
 */
export const SOFT_CONTACT_SOLREF = "0.04 1";
export const SOFT_CONTACT_SOLIMP = "0.8 0.95 0.01 0.5 2";

/** `<option>` with a non-RK4 integrator (the Simulator linearizes with mjd_transitionFD). */
export function planarOption(timestep: number): string {
  return `<option timestep="${timestep}" integrator="implicitfast" gravity="0 0 -9.81"/>`;
}

/**
 * `<default>` block: link geoms collide with the floor only (contype 1,
 * conaffinity 0; the floor has conaffinity 1), with softened contacts; hinge
 * joints have a little armature and damping; motors are torque sources.
 */
export function planarDefaults(options: { armature: number; damping: number; ctrlRange: number }): string {
  const { armature, damping, ctrlRange } = options;
  return `<default>
    <joint type="hinge" axis="0 -1 0" limited="true" armature="${armature}" damping="${damping}" solreflimit="0.02 1"/>
    <geom type="capsule" contype="1" conaffinity="0" condim="3" friction="0.9 0.005 0.0001" density="1000" solref="${SOFT_CONTACT_SOLREF}" solimp="${SOFT_CONTACT_SOLIMP}" rgba="0.8 0.6 0.4 1"/>
    <motor ctrllimited="true" ctrlrange="${-ctrlRange} ${ctrlRange}"/>
  </default>`;
}

/** Contact attributes shared by every ground geom (the plane or the terrain boxes). */
const GROUND_CONTACT = `contype="1" conaffinity="1" condim="3" friction="0.9 0.005 0.0001" solref="${SOFT_CONTACT_SOLREF}" solimp="${SOFT_CONTACT_SOLIMP}"`;

/** The floor: a plane through z = 0 that collides with every link. */
export const PLANAR_FLOOR = `<geom name="floor" type="plane" size="40 2 0.1" pos="0 0 0" ${GROUND_CONTACT} rgba="0.3 0.35 0.4 1"/>`;

/** Thickness of each terrain box (m): thick enough that no link passes through a slab. */
export const TERRAIN_BOX_THICKNESS = 0.5;
/** Length (m) of the flat boxes that continue the terrain beyond each end of the profile. */
export const TERRAIN_EXTENSION = 20;

/**
 * The ground as MJCF: the plane for flat ground (`points` null), otherwise
 * one box geom per segment of the polyline (x–z plane), rotated about y so its
 * top face lies exactly on the segment, TERRAIN_BOX_THICKNESS thick below it,
 * 4 m wide in y, with the same contact parameters as the plane; plus a flat
 * box of TERRAIN_EXTENSION metres beyond each end. Consecutive top faces share
 * their end points, so the surface is continuous (under a convex kink the two
 * slabs leave a wedge below the surface, which nothing can reach from above).
 * Geoms are named `ground0`, `ground1`, … from the back.
 */
export function planarGround(points: readonly { readonly x: number; readonly z: number }[] | null): string {
  if (points === null) return PLANAR_FLOOR;
  if (points.length < 2) throw new Error("a terrain profile needs at least two points");
  const first = points[0];
  const last = points[points.length - 1];
  const segments: [number, number, number, number][] = [[first.x - TERRAIN_EXTENSION, first.z, first.x, first.z]];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i];
    const b = points[i + 1];
    if (b.x > a.x) segments.push([a.x, a.z, b.x, b.z]);
  }
  segments.push([last.x, last.z, last.x + TERRAIN_EXTENSION, last.z]);
  const h = TERRAIN_BOX_THICKNESS / 2;
  return segments
    .map(([x1, z1, x2, z2], i) => {
      const dx = x2 - x1;
      const dz = z2 - z1;
      const len = Math.hypot(dx, dz);
      const a = Math.atan2(dz, dx);
      // Top-face normal n = (−sin a, 0, cos a); the box centre is h below the segment's midpoint.
      const cx = (x1 + x2) / 2 + h * Math.sin(a);
      const cz = (z1 + z2) / 2 - h * Math.cos(a);
      // Rotation by −a about +y maps the box's local x to (cos a, 0, sin a) and its local z to n.
      const quat = `${fmtFine(Math.cos(a / 2))} 0 ${fmtFine(-Math.sin(a / 2))} 0`;
      const shade = i % 2 === 0 ? "0.3 0.35 0.4 1" : "0.35 0.4 0.45 1";
      return `<geom name="ground${i}" type="box" size="${fmtFine(len / 2)} 2 ${fmtFine(h)}" pos="${fmtFine(cx)} 0 ${fmtFine(cz)}" quat="${quat}" ${GROUND_CONTACT} rgba="${shade}"/>`;
    })
    .join("\n    ");
}

/**
 * The planar root joints, to be placed first inside the root body: slide
 * along x, slide along z (with `ref` = the body's height, so qpos equals the
 * absolute height of the body frame) and a hinge about y. They have no
 * armature, damping or limits.
 */
export function planarRootJoints(rootHeight: number): string {
  return `<joint name="rootx" type="slide" axis="1 0 0" pos="0 0 0" limited="false" armature="0" damping="0"/>
      <joint name="rootz" type="slide" axis="0 0 1" pos="0 0 0" ref="${rootHeight}" limited="false" armature="0" damping="0"/>
      <joint name="rooty" type="hinge" axis="0 1 0" pos="0 0 0" limited="false" armature="0" damping="0"/>`;
}

/** Identity layout over n joints (nq = nv = n): x = [qpos, qvel]. */
export function identityLayout(n: number): StateLayout {
  const idx = Array.from({ length: n }, (_, i) => i);
  return { qpos: idx, qvel: idx };
}

/** "qpos.<joint>" for every joint, then "qvel.<joint>". */
export function stateNamesFor(joints: readonly string[]): string[] {
  return [...joints.map((j) => `qpos.${j}`), ...joints.map((j) => `qvel.${j}`)];
}

/** Fixed-precision number formatting for MJCF attributes (no exponent notation). */
export function fmt(v: number): string {
  return Number(v.toFixed(6)).toString();
}

/** 12 decimals, for terrain geometry that must match the profile to well below a micron. */
export function fmtFine(v: number): string {
  const r = Number(v.toFixed(12));
  return r === 0 ? "0" : r.toFixed(12).replace(/\.?0+$/, "");
}

/** Environment parameters of a legged task (both optional: flat ground, no pushes). */
export interface EnvironmentOptions {
  readonly terrain?: TerrainSpec;
  readonly pushes?: readonly PushSpec[];
}

/** What a legged task derives from its environment parameters. */
export interface LeggedEnvironment {
  readonly terrain: TerrainSpec;
  /** null: the flat plane. */
  readonly ground: GroundProfile | null;
  groundHeight(x: number): number;
  /** The cost's ground (undefined on flat ground: the absolute height term, as before). */
  readonly costGround: Ground | undefined;
  readonly pushes: readonly PushSpec[];
  readonly perturbations: readonly Perturbation[];
}

/** Resolve terrain and pushes for a legged task with control period dt (a push acts on its `body`, the torso by default). */
export function leggedEnvironment(options: EnvironmentOptions, dt: number): LeggedEnvironment {
  const terrain = normalizeTerrain(options.terrain);
  const ground = isFlatTerrain(terrain) ? null : groundProfile(terrain);
  return {
    terrain,
    ground,
    groundHeight: ground ? (x: number) => groundHeight(ground, x) : () => 0,
    costGround: ground ? groundOf(ground) : undefined,
    pushes: normalizePushes(options.pushes),
    perturbations: pushPerturbations(options.pushes, dt),
  };
}

/** Fallen: the torso centre below this fraction of the standing height H above the ground. */
export const FALL_HEIGHT_FRACTION = 0.6;
/** Fallen: |torso pitch| above this many radians (about 57°). */
export const FALL_MAX_PITCH = 1.0;

/** The legged models' fall criteria: root below 0.6·H above the ground, or |qpos.rooty| > 1 rad. */
export function leggedFall(standingHeight: number, pitchIndex = 2): FallCriteria {
  return { minHeightAboveGround: FALL_HEIGHT_FRACTION * standingHeight, maxAbsPitch: FALL_MAX_PITCH, pitchIndex };
}

/** Cost overrides of a legged task (defaults: the papers' weights with the model's own p*). */
export interface LeggedCostOptions {
  readonly wu?: number;
  readonly wv?: number;
  readonly wh?: number;
  readonly targetVelocity?: number;
  readonly targetHeight?: number;
}

/** What distinguishes one planar legged model from another. */
export interface LeggedModel {
  readonly name: "hopper" | "walker";
  readonly joints: readonly string[];
  readonly actuators: readonly string[];
  readonly timestep: number;
  readonly substeps: number;
  readonly standingHeight: number;
  /** The papers' cost weights and targets (gps-math §1), p* aside. */
  readonly weights: { readonly wu: number; readonly wv: number; readonly wh: number; readonly targetVelocity: number };
  /** MJCF of the model on the given ground (null: the flat plane). */
  readonly mjcf: (ground: GroundProfile | null) => string;
  readonly flatMjcf: string;
}

/**
 * A planar legged task: x = [qpos, qvel] (identity layout), forward velocity
 * qvel.rootx, height qpos.rootz (relative to the ground in the cost), the
 * environment (terrain, pushes) and fall criteria.
 */
export function leggedTask(model: LeggedModel, options: EnvironmentOptions & LeggedCostOptions = {}): LeggedTask {
  const nq = model.joints.length;
  const nx = 2 * nq;
  const nu = model.actuators.length;
  const dt = model.timestep * model.substeps;
  const env = leggedEnvironment(options, dt);
  const restState = new Float64Array(nx);
  // rootz; every other entry is 0 in the nominal pose. Generated terrain is flat at x = 0 (height 0).
  restState[1] = model.standingHeight + env.groundHeight(0);
  const forwardVelocityIndex = nq + 0; // qvel.rootx
  const heightIndex = 1; // qpos.rootz
  const w = model.weights;
  const cost = locomotionCost(nx, nu, {
    wu: options.wu ?? w.wu,
    wv: options.wv ?? w.wv,
    wh: options.wh ?? w.wh,
    targetVelocity: options.targetVelocity ?? w.targetVelocity,
    targetHeight: options.targetHeight ?? model.standingHeight,
    velocityIndex: forwardVelocityIndex,
    heightIndex,
    ground: env.costGround,
    rootXIndex: 0, // qpos.rootx
  });
  return {
    name: model.name,
    mjcf: env.ground ? model.mjcf(env.ground) : model.flatMjcf,
    substeps: model.substeps,
    dt,
    nx,
    nu,
    stateLayout: identityLayout(nq),
    stateNames: stateNamesFor(model.joints),
    actionNames: [...model.actuators],
    restState,
    forwardVelocityIndex,
    heightIndex,
    cost,
    terrain: env.terrain,
    ground: env.ground,
    groundHeight: env.groundHeight,
    pushes: env.pushes,
    perturbations: env.perturbations,
    fall: leggedFall(model.standingHeight, 2), // qpos.rooty
  };
}
