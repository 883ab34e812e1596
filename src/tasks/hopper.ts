/**
 * Planar hopper (2013 paper §6 and appendix B; gps-math §1): four capsule
 * links (torso, thigh, shin, foot), a planar root (rootx, rootz, rooty) and
 * three hinge joints (hip, knee, ankle) driven by torque motors, on a floor
 * with softened contacts. The model is written for this project; docs/tasks.md
 * has the full description and the state layout.
 *
 *   nq = nv = 6, nx = 12, nu = 3, control dt = 0.005 s × 4 substeps = 0.02 s
 *   cost: w_u 1e-3, w_v 1, w_h 10, v* = 1.5 m/s, p* = HOPPER_STANDING_HEIGHT
 */
import type { LeggedTask } from "./types.js";
import type { GroundProfile } from "./terrain.js";
import { fmt, leggedTask, planarDefaults, planarGround, planarOption, planarRootJoints, type EnvironmentOptions, type LeggedCostOptions, type LeggedModel } from "./planar.js";

/** Link lengths and radii in metres. */
export const HOPPER_DIMENSIONS = {
  torsoLength: 0.4,
  torsoRadius: 0.05,
  thighLength: 0.44,
  thighRadius: 0.05,
  shinLength: 0.46,
  shinRadius: 0.04,
  /** The foot is a horizontal capsule through the ankle, from heel (−) to toe (+). */
  footHeel: 0.12,
  footToe: 0.24,
  footRadius: 0.06,
} as const;

const D = HOPPER_DIMENSIONS;

/**
 * Height of the root (the torso's centre, where the root joints act) when the
 * hopper stands straight with the foot resting on the floor: the foot capsule
 * touches z = 0, so the ankle is one foot radius up, and the leg above it is
 * straight. This is p* of the cost (the papers' 1.5 m belongs to their model).
 */
export const HOPPER_STANDING_HEIGHT = D.footRadius + D.shinLength + D.thighLength + D.torsoLength / 2;

export const HOPPER_TIMESTEP = 0.005;
export const HOPPER_SUBSTEPS = 4;
/** Motor gear: one actuator unit of u is HOPPER_GEAR N·m of joint torque. */
export const HOPPER_GEAR = 10;
/** Generous control clamp in actuator units (±200 N·m); the model stays stable under random bang-bang torques of this size. */
export const HOPPER_CTRL_RANGE = 20;

export const HOPPER_JOINTS = ["rootx", "rootz", "rooty", "hip", "knee", "ankle"] as const;
export const HOPPER_ACTUATORS = ["hip", "knee", "ankle"] as const;

/**
 * The hopper MJCF on the given ground: the plane z = 0 when `ground` is null
 * (= HOPPER_MJCF), else the terrain boxes of the profile (planarGround).
 */
export function hopperMjcf(ground: GroundProfile | null = null): string {
  return `<mujoco model="gps-hopper">
  <compiler angle="degree" inertiafromgeom="true"/>
  ${planarOption(HOPPER_TIMESTEP)}
  ${planarDefaults({ armature: 0.1, damping: 0.5, ctrlRange: HOPPER_CTRL_RANGE })}
  <worldbody>
    ${planarGround(ground ? ground.points : null)}
    <body name="torso" pos="0 0 ${fmt(HOPPER_STANDING_HEIGHT)}">
      ${planarRootJoints(HOPPER_STANDING_HEIGHT)}
      <geom name="torso" fromto="0 0 ${fmt(-D.torsoLength / 2)} 0 0 ${fmt(D.torsoLength / 2)}" size="${D.torsoRadius}"/>
      <body name="thigh" pos="0 0 ${fmt(-D.torsoLength / 2)}">
        <joint name="hip" pos="0 0 0" range="-45 150"/>
        <geom name="thigh" fromto="0 0 0 0 0 ${fmt(-D.thighLength)}" size="${D.thighRadius}"/>
        <body name="shin" pos="0 0 ${fmt(-D.thighLength)}">
          <joint name="knee" pos="0 0 0" range="-150 5"/>
          <geom name="shin" fromto="0 0 0 0 0 ${fmt(-D.shinLength)}" size="${D.shinRadius}"/>
          <body name="foot" pos="0 0 ${fmt(-D.shinLength)}">
            <joint name="ankle" pos="0 0 0" range="-45 45"/>
            <geom name="foot" fromto="${fmt(-D.footHeel)} 0 0 ${fmt(D.footToe)} 0 0" size="${D.footRadius}"/>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="hip" joint="hip" gear="${HOPPER_GEAR}"/>
    <motor name="knee" joint="knee" gear="${HOPPER_GEAR}"/>
    <motor name="ankle" joint="ankle" gear="${HOPPER_GEAR}"/>
  </actuator>
</mujoco>
`;
}

export const HOPPER_MJCF = hopperMjcf(null);

export type HopperOptions = EnvironmentOptions & LeggedCostOptions;

const HOPPER_MODEL: LeggedModel = {
  name: "hopper",
  joints: HOPPER_JOINTS,
  actuators: HOPPER_ACTUATORS,
  timestep: HOPPER_TIMESTEP,
  substeps: HOPPER_SUBSTEPS,
  standingHeight: HOPPER_STANDING_HEIGHT,
  weights: { wu: 1e-3, wv: 1, wh: 10, targetVelocity: 1.5 },
  mjcf: hopperMjcf,
  flatMjcf: HOPPER_MJCF,
};

/**
 * The hopper task; options override the cost weights and targets and set the
 * environment: `terrain` (MJCF ground, and the cost's height becomes relative
 * to the ground) and `pushes` (perturbations on the torso).
 */
export function hopperTask(options: HopperOptions = {}): LeggedTask {
  return leggedTask(HOPPER_MODEL, options);
}

/** The hopper with the papers' weights. */
export const hopper: LeggedTask = hopperTask();
