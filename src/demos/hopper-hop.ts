/**
 * A hand-crafted, Raibert-style hopping controller for the planar hopper
 * (src/tasks/hopper.ts), used as a demonstration: iLQG from scratch does not
 * find a hopping gait on this model (docs/results.md), so a trajectory
 * recorded with this controller can seed trajectory optimization.
 *
 * A finite-state machine over four phases:
 *
 *  - CROUCH (once, when started on the ground at |forward speed| < 0.5 m/s,
 *    e.g. from the straight standing pose): the knee bends to `crouchKnee`
 *    while the stance laws below run; then THRUST. Started mid-gait, the
 *    controller joins in FLIGHT, COMPRESSION or THRUST instead.
 *  - FLIGHT: Raibert foot placement. The hip aims the leg (hip → ankle, held at
 *    `flightLegLength`) so that a point of the foot lands
 *    x_f = v·T_s/2 + k_v (v − v*) ahead of the centre of mass (v: its forward
 *    speed, T_s: the last stance duration), plus joint-space corrections for
 *    speed and torso pitch; the knee holds the leg length, the ankle holds the
 *    foot at `flightFootAngle`.
 *  - COMPRESSION (stance while the torso falls) and THRUST (stance while it
 *    rises): the hip servos the torso pitch (Raibert's attitude control);
 *    a virtual force on the torso — vertical: a spring-damper toward
 *    `stanceHeight` in compression, a constant `thrustForce` in thrust;
 *    horizontal: `stanceSpeedGain`·(v* − v), plus `thrustFx` in thrust — is mapped to hip,
 *    knee and ankle torques through the leg's Jacobian transpose with the foot
 *    as the fixed base (virtual model control). The ankle torque is bounded by
 *    [−ankleMin, ankleMax] so the foot pushes off with its toes without
 *    tipping the other way.
 *
 * The defaults were tuned with CMA-ES (seeded, deterministic rollouts from the
 * rest pose and from perturbed starts; docs/demonstrations-hopper.md). With this
 * model's mass distribution (the leg and its heavy foot have ~28× the torso's
 * inertia about the hip) swinging the leg in flight mostly rotates the torso,
 * so foot placement acts weakly; the tuned gait is a stiff-legged hop on the
 * toes driven by the ankle push-off, ~2.5 hops/s at ~1.5 m/s.
 *
 * Every quantity the controller needs (foot clearance, centre of mass and its
 * velocity, leg geometry) comes from x by planar forward kinematics with the
 * link lengths of HOPPER_DIMENSIONS, so the controller is deterministic: its
 * output is a pure function of x and the FSM state (phase, steps in phase,
 * last stance duration). The FSM state lives in the closure made by
 * `hopperController`, so every rollout needs a fresh controller.
 */
import { HOPPER_CTRL_RANGE, HOPPER_DIMENSIONS as D, HOPPER_GEAR, HOPPER_STANDING_HEIGHT } from "../tasks/hopper.js";
import type { Task } from "../tasks/types.js";
import type { Controller } from "../trajopt/types.js";
import type { Simulator } from "../sim/mujoco.js";

/** Gains and targets of the hopping controller (u in actuator units: 1 = 10 N·m; forces in N). */
export interface HopperParams {
  /** Desired forward speed v* (m/s). */
  readonly targetSpeed: number;
  // --- flight: Raibert foot placement ---
  /** k_v in x_f = v·T_s/2 + k_v (v − v*) (s). */
  readonly speedGain: number;
  /** Point along the foot, from the ankle (m; the foot spans −0.12 … +0.24), that is aimed at x_f. */
  readonly footPoint: number;
  /** Stance duration assumed before the first one has been measured (s). */
  readonly initialStanceTime: number;
  /** Largest leg angle from the vertical that the placement asks for (rad). */
  readonly maxLegAngle: number;
  /** Leg length, hip to ankle, held in flight (m; straight is 0.90). */
  readonly flightLegLength: number;
  /** Joint-space terms added to the flight hip target: constant (rad), per m/s of speed error, per rad of pitch error. */
  readonly flightHip: number;
  readonly flightHipSpeedGain: number;
  readonly flightPitchGain: number;
  /** Flight joint PD gains (u per rad, u per rad/s). */
  readonly flightHipKp: number;
  readonly flightHipKd: number;
  readonly flightKneeKp: number;
  readonly flightKneeKd: number;
  readonly ankleKp: number;
  readonly ankleKd: number;
  /** Foot pitch held in flight (rad, + = toes up). */
  readonly flightFootAngle: number;
  // --- stance ---
  /** Torso pitch target (rad, + = leaning forward); also the reference of flightPitchGain. */
  readonly pitchTarget: number;
  /** Stance hip servo of the torso pitch (u per rad, u per rad/s). */
  readonly hipPitchKp: number;
  readonly hipPitchKd: number;
  /** Horizontal virtual force per m/s of speed error (N·s/m), and a constant added in thrust (N). */
  readonly stanceSpeedGain: number;
  readonly thrustFx: number;
  /** Vertical virtual force: stanceWeight + stanceKz (stanceHeight − z) − stanceDz ż in compression, thrustForce in thrust (stanceWeight alone while crouching). */
  readonly stanceWeight: number;
  readonly stanceHeight: number;
  readonly stanceKz: number;
  readonly stanceDz: number;
  readonly thrustForce: number;
  /** Ankle torque bounds in stance (u): down to −ankleMin (toes push down), up to ankleMax. */
  readonly ankleMin: number;
  readonly ankleMax: number;
  // --- start from the straight standing pose ---
  /** Initial crouch: knee target (rad), PD gains, longest duration (steps). */
  readonly crouchKnee: number;
  readonly crouchKp: number;
  readonly crouchKd: number;
  readonly crouchSteps: number;
  // --- contact detection ---
  /** Foot clearance (m) above which the foot has left the ground, and below which it has touched down. */
  readonly liftoffHeight: number;
  readonly touchdownHeight: number;
  /** Fewest control steps in flight before a touchdown counts (debounce). */
  readonly minFlightSteps: number;
}

/** Tuned defaults (CMA-ES; see the module comment). */
export const defaultHopperParams: HopperParams = {
  targetSpeed: 1.5,
  speedGain: 0.804,
  footPoint: 0.4894,
  initialStanceTime: 0.2,
  maxLegAngle: 0.6,
  flightLegLength: 0.9,
  flightHip: 2.313,
  flightHipSpeedGain: 1.241,
  flightPitchGain: -7.999,
  flightHipKp: 9.029,
  flightHipKd: 1.2,
  flightKneeKp: 23.25,
  flightKneeKd: 0.8113,
  ankleKp: 3.151,
  ankleKd: 0.3767,
  flightFootAngle: -0.7926,
  pitchTarget: -0.3837,
  hipPitchKp: 46.98,
  hipPitchKd: 1.213,
  stanceSpeedGain: 308.7,
  thrustFx: -8.474,
  stanceWeight: -196.8,
  stanceHeight: 1.56,
  stanceKz: 1905,
  stanceDz: 7.075,
  thrustForce: 338.4,
  ankleMin: 20.13,
  ankleMax: 1.629,
  crouchKnee: -0.3239,
  crouchKp: 20,
  crouchKd: 2,
  crouchSteps: 30,
  liftoffHeight: 0.01,
  touchdownHeight: 0.004,
  minFlightSteps: 2,
};

/**
 * The same FSM retuned for robustness (the "hopper-hop-robust" demonstration):
 * CMA-ES (`bench/tune-hopper.ts --seed 1 --minutes 22`, 491 generations) on
 * 18 rollouts with the papers' 10% motor noise (12 from rest, 6 from perturbed
 * starts) besides the noise-free speed, hop and 500-step survival terms. On
 * fresh seeds it falls in 10 of 400 noisy rollouts (the defaults: 148), hops
 * for 30 s without falling at 1.52 m/s, and costs 131.4 over 5 s (157.8).
 * docs/trajectory-optimization.md has the numbers.
 */
export const robustHopperParams: HopperParams = {
  ...defaultHopperParams,
  speedGain: 0.4956,
  footPoint: 0.4042,
  flightHip: 2.406,
  flightHipSpeedGain: 1.443,
  flightPitchGain: -7.615,
  flightHipKp: 10.94,
  flightHipKd: 1.126,
  flightKneeKp: 20.25,
  flightKneeKd: 1.207,
  ankleKp: 3.893,
  ankleKd: 0.3993,
  flightFootAngle: -0.7718,
  pitchTarget: -0.3303,
  hipPitchKp: 40.46,
  hipPitchKd: 1.264,
  stanceSpeedGain: 273.4,
  thrustFx: -4.268,
  stanceWeight: -217.4,
  stanceHeight: 1.452,
  stanceKz: 1900,
  stanceDz: 3.481,
  thrustForce: 349.7,
  ankleMin: 18.53,
  ankleMax: 1.649,
  crouchKnee: -0.2718,
};

/** Phases of the hopping FSM. */
export type HopperPhase = "crouch" | "flight" | "compression" | "thrust";

const THIGH = D.thighLength;
const SHIN = D.shinLength;
const HALF_TORSO = D.torsoLength / 2;

/** Capsule mass from its length and radius at the model's density (1000 kg/m³), as MuJoCo's inertiafromgeom. */
function capsuleMass(length: number, radius: number): number {
  return 1000 * (Math.PI * radius * radius * length + (4 / 3) * Math.PI * radius ** 3);
}
const M_TORSO = capsuleMass(D.torsoLength, D.torsoRadius);
const M_THIGH = capsuleMass(D.thighLength, D.thighRadius);
const M_SHIN = capsuleMass(D.shinLength, D.shinRadius);
const M_FOOT = capsuleMass(D.footHeel + D.footToe, D.footRadius);
const M_TOTAL = M_TORSO + M_THIGH + M_SHIN + M_FOOT;
/** Foot capsule centre along the foot axis, from the ankle. */
const FOOT_CENTRE = (D.footToe - D.footHeel) / 2;

/** Planar forward kinematics of the hopper at x (offset xOff). */
export interface HopperKinematics {
  readonly hipX: number;
  readonly hipZ: number;
  readonly kneeX: number;
  readonly kneeZ: number;
  readonly ankleX: number;
  readonly ankleZ: number;
  /** Absolute foot pitch (rad, + = toes up) and the lowest point of the foot capsule (m). */
  readonly footAngle: number;
  readonly footLowest: number;
  /** Lowest point of the whole body (every capsule), m above the floor. */
  readonly lowest: number;
  /** Centre of mass and its velocity. */
  readonly comX: number;
  readonly comZ: number;
  readonly comVX: number;
  /** Hip → ankle distance and its angle from the downward vertical (+ = ankle ahead of the hip). */
  readonly legLength: number;
  readonly legAngle: number;
}

/**
 * Forward kinematics from x = [rootx, rootz, rooty, hip, knee, ankle, velocities].
 * A link's downward direction at absolute angle a (about +y) is (−sin a, −cos a);
 * the torso is at a = pitch, the thigh at pitch − hip, the shin at that − knee,
 * and the foot axis (heel → toe) at that − ankle is (cos a, −sin a).
 */
export function hopperKinematics(x: Float64Array, xOff = 0): HopperKinematics {
  const rx = x[xOff], rz = x[xOff + 1], th = x[xOff + 2];
  const qh = x[xOff + 3], qk = x[xOff + 4], qa = x[xOff + 5];
  const vx = x[xOff + 6], wth = x[xOff + 8];
  const wh = x[xOff + 9], wk = x[xOff + 10], wa = x[xOff + 11];
  const a0 = th, a1 = th - qh, a2 = a1 - qk, a3 = a2 - qa;
  const w0 = wth, w1 = w0 - wh, w2 = w1 - wk, w3 = w2 - wa;
  const s0 = Math.sin(a0), c0 = Math.cos(a0);
  const s1 = Math.sin(a1), c1 = Math.cos(a1);
  const s2 = Math.sin(a2), c2 = Math.cos(a2);
  const s3 = Math.sin(a3), c3 = Math.cos(a3);
  const hipX = rx - HALF_TORSO * s0, hipZ = rz - HALF_TORSO * c0;
  const kneeX = hipX - THIGH * s1, kneeZ = hipZ - THIGH * c1;
  const ankleX = kneeX - SHIN * s2, ankleZ = kneeZ - SHIN * c2;
  const toeZ = ankleZ - D.footToe * s3, heelZ = ankleZ + D.footHeel * s3;
  const footLowest = Math.min(toeZ, heelZ) - D.footRadius;
  const lowest = Math.min(
    footLowest,
    ankleZ - D.shinRadius,
    kneeZ - Math.max(D.thighRadius, D.shinRadius),
    hipZ - Math.max(D.thighRadius, D.torsoRadius),
    rz + HALF_TORSO * c0 - D.torsoRadius,
  );
  // Link centres and their horizontal velocities (d/dt of −L sin a is −L cos a · ȧ).
  const tX = rx, tVX = vx;
  const hipVX = vx - HALF_TORSO * c0 * w0;
  const thX = hipX - (THIGH / 2) * s1, thVX = hipVX - (THIGH / 2) * c1 * w1;
  const kneeVX = hipVX - THIGH * c1 * w1;
  const shX = kneeX - (SHIN / 2) * s2, shVX = kneeVX - (SHIN / 2) * c2 * w2;
  const ankleVX = kneeVX - SHIN * c2 * w2;
  const ftX = ankleX + FOOT_CENTRE * c3, ftVX = ankleVX - FOOT_CENTRE * s3 * w3;
  const comX = (M_TORSO * tX + M_THIGH * thX + M_SHIN * shX + M_FOOT * ftX) / M_TOTAL;
  const comVX = (M_TORSO * tVX + M_THIGH * thVX + M_SHIN * shVX + M_FOOT * ftVX) / M_TOTAL;
  const comZ =
    (M_TORSO * rz + M_THIGH * (hipZ - (THIGH / 2) * c1) + M_SHIN * (kneeZ - (SHIN / 2) * c2) + M_FOOT * (ankleZ - FOOT_CENTRE * s3)) / M_TOTAL;
  const dx = ankleX - hipX, dz = ankleZ - hipZ;
  return {
    hipX,
    hipZ,
    kneeX,
    kneeZ,
    ankleX,
    ankleZ,
    footAngle: -a3,
    footLowest,
    lowest,
    comX,
    comZ,
    comVX,
    legLength: Math.hypot(dx, dz),
    legAngle: Math.atan2(dx, -dz),
  };
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** Knee angle (≤ 0, flexed) giving a hip → ankle distance l. */
function kneeForLength(l: number): number {
  const c = (l * l - THIGH * THIGH - SHIN * SHIN) / (2 * THIGH * SHIN);
  return -Math.acos(clamp(c, -1, 1));
}

/** Angle between the thigh and the hip → ankle line at leg length l (the thigh is ahead of the line). */
function thighOffset(l: number): number {
  const c = (THIGH * THIGH + l * l - SHIN * SHIN) / (2 * THIGH * l);
  return Math.acos(clamp(c, -1, 1));
}

/** Optional observer of the FSM, for diagnostics. */
export type HopperPhaseListener = (t: number, phase: HopperPhase) => void;

/**
 * A fresh hopping controller. It keeps an FSM (phase, steps in phase, last
 * stance duration) in its closure and assumes it is called once per control
 * step with consecutive states of one rollout, so **every rollout needs a
 * fresh controller**. The first call picks the starting phase from x: on the
 * ground with |forward speed| < 0.5 m/s it crouches (the start from rest);
 * otherwise it joins the gait in flight, compression or thrust. Actions are
 * clamped to the task's ctrlrange (±HOPPER_CTRL_RANGE).
 */
export function hopperController(task: Task, params: Partial<HopperParams> = {}, onPhase?: HopperPhaseListener): Controller {
  if (task.nx !== 12 || task.nu !== 3) throw new Error(`hopperController: expected the hopper (nx 12, nu 3), got nx ${task.nx}, nu ${task.nu}`);
  const p: HopperParams = { ...defaultHopperParams, ...params };
  const dt = task.dt;
  const lim = HOPPER_CTRL_RANGE;
  let phase: HopperPhase = "crouch";
  let steps = 0;
  let stanceSteps = 0;
  let stanceTime = p.initialStanceTime;
  let started = false;

  const enter = (t: number, next: HopperPhase): void => {
    phase = next;
    steps = 0;
    if (onPhase) onPhase(t, next);
  };

  return (t, x, xOff, u, uOff) => {
    const k = hopperKinematics(x, xOff);
    const th = x[xOff + 2], qh = x[xOff + 3], qk = x[xOff + 4], qa = x[xOff + 5];
    const vz = x[xOff + 7], wth = x[xOff + 8], wh = x[xOff + 9], wk = x[xOff + 10], wa = x[xOff + 11];

    // The first call picks the phase from the state: a start near rest on the
    // ground crouches first; a mid-gait state (forward speed ≥ 0.5 m/s, or
    // airborne) joins the gait in flight, compression or thrust.
    if (!started) {
      started = true;
      if (k.footLowest > p.liftoffHeight) phase = "flight";
      else if (Math.abs(x[xOff + 6]) >= 0.5) phase = vz < 0 ? "compression" : "thrust";
      if (onPhase) onPhase(t, phase);
    }

    // Phase transitions.
    if (phase === "flight") {
      if (steps >= p.minFlightSteps && k.footLowest < p.touchdownHeight && vz <= 0) {
        stanceSteps = 0;
        enter(t, "compression");
      }
    } else if (phase === "crouch") {
      if (qk < p.crouchKnee + 0.05 || steps >= p.crouchSteps) enter(t, "thrust");
    } else if (phase === "compression") {
      if (steps >= 1 && vz >= 0) enter(t, "thrust");
    } else if (k.footLowest > p.liftoffHeight) {
      if (stanceSteps > 0) stanceTime = stanceSteps * dt;
      enter(t, "flight");
    }

    let uh: number, uk: number, ua: number;
    if (phase === "flight") {
      const l = p.flightLegLength;
      const v = k.comVX;
      const xf = (v * stanceTime) / 2 + p.speedGain * (v - p.targetSpeed);
      // Where the ankle must be so that the chosen foot point lands at com + xf.
      const ankleX = k.comX + xf - p.footPoint;
      const sMax = Math.sin(p.maxLegAngle);
      const psi = Math.asin(clamp((ankleX - k.hipX) / l, -sMax, sMax));
      // Hip angle that puts the leg at absolute angle psi, plus the joint-space terms.
      const qhDes = th + psi + thighOffset(l) + p.flightHip + p.flightHipSpeedGain * (v - p.targetSpeed) + p.flightPitchGain * (th - p.pitchTarget);
      uh = p.flightHipKp * (qhDes - qh) - p.flightHipKd * wh;
      uk = p.flightKneeKp * (kneeForLength(l) - qk) - p.flightKneeKd * wk;
      // Foot pitch −(th − qh − qk − qa) held at flightFootAngle.
      ua = p.ankleKp * (th - qh - qk + p.flightFootAngle - qa) - p.ankleKd * wa;
      u[uOff] = clamp(uh, -lim, lim);
      u[uOff + 1] = clamp(uk, -lim, lim);
      u[uOff + 2] = clamp(ua, -lim, lim);
    } else {
      stanceSteps++;
      // Virtual model control with the foot as the fixed base: a force
      // (Fx, Fz) on the torso maps to joint torques τ = Jᵀ F with
      // J = ∂(root x, root z)/∂(ankle, knee, hip); hip and knee are scaled
      // down together when one would leave the control range.
      const a0 = th, a1 = th - qh, a2 = a1 - qk;
      const cx0 = HALF_TORSO * Math.cos(a0), cz0 = -HALF_TORSO * Math.sin(a0);
      const cx1 = THIGH * Math.cos(a1), cz1 = -THIGH * Math.sin(a1);
      const cx2 = SHIN * Math.cos(a2), cz2 = -SHIN * Math.sin(a2);
      const vx = x[xOff + 6], z = x[xOff + 1];
      let fx = p.stanceSpeedGain * (p.targetSpeed - vx);
      let fz: number;
      if (phase === "crouch") fz = p.stanceWeight;
      else if (phase === "compression") fz = p.stanceWeight + p.stanceKz * (p.stanceHeight - z) - p.stanceDz * vz;
      else {
        fz = p.thrustForce;
        fx += p.thrustFx;
      }
      uh = (cx0 * fx + cz0 * fz) / HOPPER_GEAR;
      uk = ((cx0 + cx1) * fx + (cz0 + cz1) * fz) / HOPPER_GEAR;
      ua = ((cx0 + cx1 + cx2) * fx + (cz0 + cz1 + cz2) * fz) / HOPPER_GEAR;
      // Raibert's attitude control: the hip servos the torso pitch.
      uh += -p.hipPitchKp * (th - p.pitchTarget) - p.hipPitchKd * wth;
      if (phase === "crouch") uk = p.crouchKp * (p.crouchKnee - qk) - p.crouchKd * wk;
      const scale = Math.max(1, Math.abs(uh) / lim, Math.abs(uk) / lim);
      u[uOff] = uh / scale;
      u[uOff + 1] = uk / scale;
      u[uOff + 2] = clamp(ua / scale, -Math.min(p.ankleMin, lim), Math.min(p.ankleMax, lim));
    }
    steps++;
  };
}

/** A recorded demonstration and its gait statistics. */
export interface HopperDemonstration {
  /** T+1 states and T actions. */
  readonly states: number[][];
  readonly actions: number[][];
  /** Whether the torso fell: height below 0.6 × standing height or |pitch| ≥ 1 rad, and the first step it did. */
  readonly fell: boolean;
  readonly fallStep: number | null;
  /** Forward distance of the root (m) and distance / (T·dt) (m/s). */
  readonly distance: number;
  readonly meanSpeed: number;
  /** Flight phases in which the whole body cleared the floor by more than HOP_CLEARANCE. */
  readonly hops: number;
}

/** Clearance (m) of the body's lowest point above the floor for a step to count as airborne. */
export const HOP_CLEARANCE = 0.02;
/** Fall thresholds: root height below this fraction of the standing height, or |pitch| at least this (rad). */
export const FALL_HEIGHT_FRACTION = 0.6;
export const FALL_PITCH = 1;

/** Whether x is fallen by the thresholds above. */
export function hopperFallen(x: Float64Array, xOff = 0): boolean {
  return x[xOff + 1] < FALL_HEIGHT_FRACTION * HOPPER_STANDING_HEIGHT || Math.abs(x[xOff + 2]) >= FALL_PITCH;
}

/**
 * Hops in states x_0 … x_T (stacked, nx each): each time the body's lowest
 * point rises above HOP_CLEARANCE after having been on the ground (below a
 * quarter of it).
 */
export function countHops(xs: Float64Array, nx: number, T: number): number {
  let hops = 0;
  let airborne = hopperKinematics(xs, 0).lowest > HOP_CLEARANCE;
  for (let t = 0; t <= T; t++) {
    const low = hopperKinematics(xs, t * nx).lowest;
    if (!airborne && low > HOP_CLEARANCE) {
      airborne = true;
      hops++;
    } else if (airborne && low < HOP_CLEARANCE / 4) airborne = false;
  }
  return hops;
}

/**
 * Roll out a fresh hopping controller from x0 for T control steps on `sim`
 * (built from task.mjcf with task.substeps) and measure the gait. A hop is
 * counted as in `countHops`.
 */
export function recordHopperDemonstration(sim: Simulator, task: Task, x0: Float64Array, T: number, params: Partial<HopperParams> = {}): HopperDemonstration {
  const nx = task.nx, nu = task.nu;
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  sim.rollout(x0, hopperController(task, params), T, xs, us);
  let fallStep: number | null = null;
  for (let t = 0; t <= T && fallStep === null; t++) if (hopperFallen(xs, t * nx)) fallStep = t;
  const hops = countHops(xs, nx, T);
  const states = Array.from({ length: T + 1 }, (_, t) => Array.from(xs.subarray(t * nx, (t + 1) * nx)));
  const actions = Array.from({ length: T }, (_, t) => Array.from(us.subarray(t * nu, (t + 1) * nu)));
  const distance = xs[T * nx] - xs[0];
  return { states, actions, fell: fallStep !== null, fallStep, distance, meanSpeed: distance / (T * task.dt), hops };
}
