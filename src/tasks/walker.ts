/**
 * Planar biped walker (2013 paper §6 and appendix B; gps-math §1): seven
 * capsule links (torso, and thigh, shin and foot for each leg), a planar root
 * (rootx, rootz, rooty) and six hinge joints (hip, knee, ankle per leg) driven
 * by torque motors, on a floor with softened contacts. Roughly human
 * proportions, written for this project; docs/tasks.md has the full
 * description and the state layout.
 *
 *   nq = nv = 9, nx = 18, nu = 6, control dt = 0.005 s × 2 substeps = 0.01 s
 *   cost: w_u 1e-4, w_v 1, w_h 10, v* = 1.2 m/s, p* = WALKER_STANDING_HEIGHT
 */
import type { LeggedTask } from "./types.js";
import type { GroundProfile } from "./terrain.js";
import { fmt, leggedTask, planarDefaults, planarGround, planarOption, planarRootJoints, type EnvironmentOptions, type LeggedCostOptions, type LeggedModel } from "./planar.js";

/** Link lengths and radii in metres (both legs are identical). */
export const WALKER_DIMENSIONS = {
  torsoLength: 0.4,
  torsoRadius: 0.05,
  thighLength: 0.45,
  thighRadius: 0.05,
  shinLength: 0.5,
  shinRadius: 0.04,
  /** The foot is a horizontal capsule through the ankle, from heel (−) to toe (+): 0.2 m long. */
  footHeel: 0.05,
  footToe: 0.15,
  footRadius: 0.06,
} as const;

const D = WALKER_DIMENSIONS;

/**
 * Height of the root (the torso's centre) when the walker stands straight with
 * both feet resting on the floor. This is p* of the cost (the papers' 1.5 m
 * belongs to their model).
 */
export const WALKER_STANDING_HEIGHT = D.footRadius + D.shinLength + D.thighLength + D.torsoLength / 2;

export const WALKER_TIMESTEP = 0.005;
export const WALKER_SUBSTEPS = 2;
/** Motor gear 1: u is the joint torque in N·m. */
export const WALKER_GEAR = 1;
/** Generous control clamp in N·m, well above a walking gait's torques (tens of N·m). */
export const WALKER_CTRL_RANGE = 200;

export const WALKER_JOINTS = [
  "rootx",
  "rootz",
  "rooty",
  "right_hip",
  "right_knee",
  "right_ankle",
  "left_hip",
  "left_knee",
  "left_ankle",
] as const;
export const WALKER_ACTUATORS = ["right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle"] as const;

function leg(side: "right" | "left", rgba: string): string {
  return `<body name="${side}_thigh" pos="0 0 ${fmt(-D.torsoLength / 2)}">
        <joint name="${side}_hip" pos="0 0 0" range="-45 150"/>
        <geom name="${side}_thigh" fromto="0 0 0 0 0 ${fmt(-D.thighLength)}" size="${D.thighRadius}" rgba="${rgba}"/>
        <body name="${side}_shin" pos="0 0 ${fmt(-D.thighLength)}">
          <joint name="${side}_knee" pos="0 0 0" range="-150 5"/>
          <geom name="${side}_shin" fromto="0 0 0 0 0 ${fmt(-D.shinLength)}" size="${D.shinRadius}" rgba="${rgba}"/>
          <body name="${side}_foot" pos="0 0 ${fmt(-D.shinLength)}">
            <joint name="${side}_ankle" pos="0 0 0" range="-45 45"/>
            <geom name="${side}_foot" fromto="${fmt(-D.footHeel)} 0 0 ${fmt(D.footToe)} 0 0" size="${D.footRadius}" rgba="${rgba}"/>
          </body>
        </body>
      </body>`;
}

/**
 * The walker MJCF on the given ground: the plane z = 0 when `ground` is null
 * (= WALKER_MJCF), else the terrain boxes of the profile (planarGround).
 */
export function walkerMjcf(ground: GroundProfile | null = null): string {
  return `<mujoco model="gps-walker">
  <compiler angle="degree" inertiafromgeom="true"/>
  ${planarOption(WALKER_TIMESTEP)}
  ${planarDefaults({ armature: 0.1, damping: 0.5, ctrlRange: WALKER_CTRL_RANGE })}
  <worldbody>
    ${planarGround(ground ? ground.points : null)}
    <body name="torso" pos="0 0 ${fmt(WALKER_STANDING_HEIGHT)}">
      ${planarRootJoints(WALKER_STANDING_HEIGHT)}
      <geom name="torso" fromto="0 0 ${fmt(-D.torsoLength / 2)} 0 0 ${fmt(D.torsoLength / 2)}" size="${D.torsoRadius}"/>
      ${leg("right", "0.8 0.6 0.4 1")}
      ${leg("left", "0.5 0.4 0.7 1")}
    </body>
  </worldbody>
  <actuator>
${WALKER_ACTUATORS.map((j) => `    <motor name="${j}" joint="${j}" gear="${WALKER_GEAR}"/>`).join("\n")}
  </actuator>
</mujoco>
`;
}

export const WALKER_MJCF = walkerMjcf(null);

export type WalkerOptions = EnvironmentOptions & LeggedCostOptions;

const WALKER_MODEL: LeggedModel = {
  name: "walker",
  joints: WALKER_JOINTS,
  actuators: WALKER_ACTUATORS,
  timestep: WALKER_TIMESTEP,
  substeps: WALKER_SUBSTEPS,
  standingHeight: WALKER_STANDING_HEIGHT,
  weights: { wu: 1e-4, wv: 1, wh: 10, targetVelocity: 1.2 },
  mjcf: walkerMjcf,
  flatMjcf: WALKER_MJCF,
};

/**
 * The walker task; options override the cost weights and targets and set the
 * environment: `terrain` (MJCF ground, and the cost's height becomes relative
 * to the ground) and `pushes` (perturbations on the torso).
 */
export function walkerTask(options: WalkerOptions = {}): LeggedTask {
  return leggedTask(WALKER_MODEL, options);
}

/** The walker with the papers' weights. */
export const walker: LeggedTask = walkerTask();
