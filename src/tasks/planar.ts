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
import type { StateLayout } from "./types.js";

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

/** The floor: a plane through z = 0 that collides with every link. */
export const PLANAR_FLOOR = `<geom name="floor" type="plane" size="40 2 0.1" pos="0 0 0" contype="1" conaffinity="1" condim="3" friction="0.9 0.005 0.0001" solref="${SOFT_CONTACT_SOLREF}" solimp="${SOFT_CONTACT_SOLIMP}" rgba="0.3 0.35 0.4 1"/>`;

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
