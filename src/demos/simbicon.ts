/**
 * A SIMBICON-style walking controller (Yin, Loken & van de Panne 2007) for
 * this project's planar walker (src/tasks/walker.ts), used to produce the
 * demonstration that guided policy search starts from (Levine & Koltun 2013
 * §6, 2014 §6 both learn walking from a SIMBICON demonstration).
 *
 * The controller is a finite-state machine with four states per gait cycle:
 *
 *   0: right stance, left swing  (ends after `swingDuration` seconds)
 *   1: right stance, left lands  (ends when the left foot touches the ground,
 *                                  or after `maxLandingDuration`)
 *   2: left stance, right swing  (ends after `swingDuration` seconds)
 *   3: left stance, right lands  (likewise for the right foot)
 *
 * In every state each joint tracks a PD target:
 *
 *   - stance and swing knees and ankles: joint-space targets;
 *   - swing hip: a target for the swing thigh's angle in the WORLD frame
 *     (measured from the downward vertical, + = forward) with SIMBICON's
 *     balance feedback θ_d = θ_d0 + c_d·d + c_v·v, where d is the horizontal
 *     distance from the stance ankle to the centre of mass and v the centre of
 *     mass's horizontal velocity;
 *   - torso: a world-frame pitch target, realised through the stance hip:
 *     τ_stance_hip = τ_torso − τ_swing_hip (the two hip torques are the only
 *     torques acting on the torso);
 *
 * and every torque is clamped to the actuator range (±200 N·m).
 *
 * Everything the controller needs is derived from the state x = [qpos, qvel]
 * alone, by forward kinematics of the planar chain (link lengths and masses
 * from WALKER_DIMENSIONS): foot clearance above the ground for touchdown
 * detection (the task's known ground profile on terrain), the centre of mass
 * and its velocity. It never touches the simulator, so it is
 * deterministic and has no hidden coupling with the MjData being stepped.
 *
 * The returned Controller is stateful (FSM state and timer). It resets itself
 * whenever it is called with t = 0 (inferring the stance leg from x), so one
 * instance may be reused across sequential rollouts, but two rollouts that
 * are interleaved step by step need two instances: call
 * `simbiconController` once per rollout to be safe.
 */
import type { Simulator } from "../sim/mujoco.js";
import type { Task } from "../tasks/types.js";
import { WALKER_CTRL_RANGE, WALKER_DIMENSIONS, WALKER_STANDING_HEIGHT } from "../tasks/walker.js";
import type { Controller } from "../trajopt/types.js";

/** PD targets of one FSM state (angles in rad, the walker's joint conventions). */
export interface SimbiconStateTargets {
  /** Swing thigh angle from the downward vertical in the world frame (+ = forward), before feedback. */
  readonly swingHip: number;
  /** Swing knee angle (− = flexion). */
  readonly swingKnee: number;
  /** Swing ankle angle (+ = toes up). */
  readonly swingAnkle: number;
  readonly stanceKnee: number;
  readonly stanceAnkle: number;
  /** Balance feedback gain on d = x_com − x_stance_ankle (rad/m). */
  readonly cd: number;
  /** Balance feedback gain on the COM horizontal velocity (rad per m/s). */
  readonly cv: number;
}

export interface PdGains {
  readonly kp: number;
  readonly kd: number;
}

export interface SimbiconParams {
  /** Duration of the swing states 0 and 2 (s). */
  readonly swingDuration: number;
  /** The landing states 1 and 3 end at touchdown, or after this long at the latest (s). */
  readonly maxLandingDuration: number;
  /** Targets of states 0/2 (early swing) and 1/3 (landing). */
  readonly swing: SimbiconStateTargets;
  readonly landing: SimbiconStateTargets;
  /** World-frame torso pitch target (rad, + = leaning forward). */
  readonly torsoPitch: number;
  readonly torso: PdGains;
  readonly hip: PdGains;
  readonly knee: PdGains;
  readonly ankle: PdGains;
  /** Touchdown: the swing foot's lowest point is below the ground + this height (m). */
  readonly contactHeight: number;
  /** Torque clamp (N·m); the walker's ctrlrange. */
  readonly torqueLimit: number;
  /**
   * Seconds over which the torques cross-fade from the previous FSM state's
   * control law to the new one after every switch (0: switch at once, the
   * original SIMBICON). Both laws are evaluated on the current x, so the
   * torque is continuous in time; a policy network can follow that, where it
   * cannot follow the ±200 N·m jumps of an instant switch.
   */
  readonly blendDuration: number;
}

/**
 * The defaults, tuned for this walker (docs/demonstrations.md). From rest on
 * flat ground it walks at 1.14 m/s mean over 5 s (≈1.2 m/s once under way),
 * always with a foot on the ground (no flight phase); it also walks every
 * uneven-terrain seed 1–30 (±10° slopes) and survives 0.1-s horizontal torso
 * pushes of ±140 N at any onset tried. The structure is SIMBICON's walk (a
 * timed swing state, then a landing state that ends at touchdown, with
 * c_d ≈ 2.1 at landing); the values came from a cross-entropy search over the
 * state targets, c_d, c_v, the swing duration, the torso target and the ankle
 * gain (rounded to 3 digits). Some targets lie beyond a joint limit on
 * purpose (knee +0.155 / +0.122 rad against the +5° = 0.087 rad limit): the
 * PD then holds that knee straight against its limit.
 */
export const defaultSimbiconParams: SimbiconParams = {
  swingDuration: 0.405,
  maxLandingDuration: 0.6,
  swing: { swingHip: 0.707, swingKnee: -1.072, swingAnkle: 0.47, stanceKnee: 0.155, stanceAnkle: 0.242, cd: -0.176, cv: 0.1 },
  landing: { swingHip: -0.489, swingKnee: 0.122, swingAnkle: 0.385, stanceKnee: -0.014, stanceAnkle: -0.081, cd: 2.117, cv: 0.033 },
  torsoPitch: -0.172,
  torso: { kp: 300, kd: 30 },
  hip: { kp: 300, kd: 30 },
  knee: { kp: 300, kd: 30 },
  ankle: { kp: 123, kd: 12.3 },
  contactHeight: 0.005,
  torqueLimit: WALKER_CTRL_RANGE,
  blendDuration: 0,
};

/** Partial overrides, merged one level deep into `defaultSimbiconParams`. */
export type SimbiconParamsInput = {
  readonly [K in keyof SimbiconParams]?: SimbiconParams[K] extends object ? Partial<SimbiconParams[K]> : SimbiconParams[K];
};

export function resolveSimbiconParams(p: SimbiconParamsInput = {}, base: SimbiconParams = defaultSimbiconParams): SimbiconParams {
  return {
    ...base,
    ...(p as Partial<SimbiconParams>),
    swing: { ...base.swing, ...p.swing },
    landing: { ...base.landing, ...p.landing },
    torso: { ...base.torso, ...p.torso },
    hip: { ...base.hip, ...p.hip },
    knee: { ...base.knee, ...p.knee },
    ankle: { ...base.ankle, ...p.ankle },
  };
}

export interface SimbiconOptions {
  /** Ground height under a horizontal position, for touchdown detection (default: `task.groundHeight` on a terrain task, else the floor z = 0). */
  readonly groundHeight?: (x: number) => number;
}

// ---------------------------------------------------------------------------
// Planar forward kinematics from x (the walker's identity layout).

const D = WALKER_DIMENSIONS;
const RHO = 1000;
function capsuleMass(length: number, radius: number): number {
  return RHO * (Math.PI * radius * radius * length + (4 / 3) * Math.PI * radius ** 3);
}
/** Link masses (kg) as MuJoCo computes them from the capsules (density 1000). */
export const WALKER_LINK_MASSES = {
  torso: capsuleMass(D.torsoLength, D.torsoRadius),
  thigh: capsuleMass(D.thighLength, D.thighRadius),
  shin: capsuleMass(D.shinLength, D.shinRadius),
  foot: capsuleMass(D.footHeel + D.footToe, D.footRadius),
} as const;
const M = WALKER_LINK_MASSES;
const TOTAL_MASS = M.torso + 2 * (M.thigh + M.shin + M.foot);

const NQ = 9;
/** qpos indices of each leg's hip, knee, ankle. */
const LEG = { right: 3, left: 6 } as const;
export type Side = keyof typeof LEG;

/** World-frame kinematics of one leg (x–z plane). */
export interface LegKinematics {
  hipX: number;
  hipZ: number;
  kneeX: number;
  kneeZ: number;
  ankleX: number;
  ankleZ: number;
  /** Foot capsule axis end points (heel, toe) at the capsule's centre line. */
  heelX: number;
  heelZ: number;
  toeX: number;
  toeZ: number;
  /** Lowest point of the foot capsule's surface (z). */
  footBottom: number;
  /** Thigh angle from the downward vertical, + = forward (= hip − pitch), and its rate. */
  thighAngle: number;
  thighRate: number;
  /** Mass-weighted COM contributions (Σ m·x, Σ m·z, Σ m·ẋ) of thigh, shin and foot. */
  mx: number;
  mz: number;
  mvx: number;
}

function allocLeg(): LegKinematics {
  return { hipX: 0, hipZ: 0, kneeX: 0, kneeZ: 0, ankleX: 0, ankleZ: 0, heelX: 0, heelZ: 0, toeX: 0, toeZ: 0, footBottom: 0, thighAngle: 0, thighRate: 0, mx: 0, mz: 0, mvx: 0 };
}

/**
 * Forward kinematics of one leg from x (at xOff). A segment at forward angle a
 * (from the downward vertical) has direction (sin a, −cos a); the thigh's
 * angle is hip − pitch, the shin's hip + knee − pitch; the foot's axis (heel →
 * toe) is (cos f, −sin f) with f = pitch − hip − knee − ankle.
 */
export function legKinematics(x: ArrayLike<number>, xOff: number, side: Side, out: LegKinematics = allocLeg()): LegKinematics {
  const rx = x[xOff], rz = x[xOff + 1], p = x[xOff + 2];
  const vx = x[xOff + NQ], vp = x[xOff + NQ + 2];
  const j = LEG[side];
  const h = x[xOff + j], k = x[xOff + j + 1], a = x[xOff + j + 2];
  const hd = x[xOff + NQ + j], kd = x[xOff + NQ + j + 1], ad = x[xOff + NQ + j + 2];
  const half = D.torsoLength / 2;
  // Hip: root + R(p)·(0, −half).
  const hipX = rx - half * Math.sin(p);
  const hipZ = rz - half * Math.cos(p);
  const hipVx = vx - half * Math.cos(p) * vp;
  const ta = h - p, tad = hd - vp;
  const sa = h + k - p, sad = hd + kd - vp;
  const fa = p - h - k - a, fad = vp - hd - kd - ad;
  const kneeX = hipX + D.thighLength * Math.sin(ta);
  const kneeZ = hipZ - D.thighLength * Math.cos(ta);
  const kneeVx = hipVx + D.thighLength * Math.cos(ta) * tad;
  const ankleX = kneeX + D.shinLength * Math.sin(sa);
  const ankleZ = kneeZ - D.shinLength * Math.cos(sa);
  const ankleVx = kneeVx + D.shinLength * Math.cos(sa) * sad;
  const cf = Math.cos(fa), sf = Math.sin(fa);
  out.hipX = hipX;
  out.hipZ = hipZ;
  out.kneeX = kneeX;
  out.kneeZ = kneeZ;
  out.ankleX = ankleX;
  out.ankleZ = ankleZ;
  out.heelX = ankleX - D.footHeel * cf;
  out.heelZ = ankleZ + D.footHeel * sf;
  out.toeX = ankleX + D.footToe * cf;
  out.toeZ = ankleZ - D.footToe * sf;
  out.footBottom = Math.min(out.heelZ, out.toeZ) - D.footRadius;
  out.thighAngle = ta;
  out.thighRate = tad;
  // Link centres: thigh and shin mid-points, the foot capsule's centre (0.05 m toe-ward of the ankle).
  const fc = (D.footToe - D.footHeel) / 2;
  const thighCx = hipX + 0.5 * D.thighLength * Math.sin(ta);
  const thighCz = hipZ - 0.5 * D.thighLength * Math.cos(ta);
  const thighCvx = hipVx + 0.5 * D.thighLength * Math.cos(ta) * tad;
  const shinCx = kneeX + 0.5 * D.shinLength * Math.sin(sa);
  const shinCz = kneeZ - 0.5 * D.shinLength * Math.cos(sa);
  const shinCvx = kneeVx + 0.5 * D.shinLength * Math.cos(sa) * sad;
  const footCx = ankleX + fc * cf;
  const footCz = ankleZ - fc * sf;
  const footCvx = ankleVx - fc * sf * fad;
  out.mx = M.thigh * thighCx + M.shin * shinCx + M.foot * footCx;
  out.mz = M.thigh * thighCz + M.shin * shinCz + M.foot * footCz;
  out.mvx = M.thigh * thighCvx + M.shin * shinCvx + M.foot * footCvx;
  return out;
}

/** Centre of mass (x, z) and its horizontal velocity, from x alone. */
export function walkerCenterOfMass(x: ArrayLike<number>, xOff = 0): { x: number; z: number; vx: number } {
  const r = legKinematics(x, xOff, "right");
  const l = legKinematics(x, xOff, "left");
  return comFrom(x, xOff, r, l);
}

function comFrom(x: ArrayLike<number>, xOff: number, r: LegKinematics, l: LegKinematics): { x: number; z: number; vx: number } {
  return {
    x: (M.torso * x[xOff] + r.mx + l.mx) / TOTAL_MASS,
    z: (M.torso * x[xOff + 1] + r.mz + l.mz) / TOTAL_MASS,
    vx: (M.torso * x[xOff + NQ] + r.mvx + l.mvx) / TOTAL_MASS,
  };
}

// ---------------------------------------------------------------------------
// The controller.

/** The task's ground height function (terrain tasks carry one), else the plane z = 0. */
function taskGround(task: Task): (x: number) => number {
  const g = (task as { groundHeight?: (x: number) => number }).groundHeight;
  return g ?? (() => 0);
}

/** The FSM's state, exposed for inspection (`SimbiconController.fsm`). */
export interface SimbiconFsm {
  /** 0–3, see the module comment. */
  state: number;
  /** Seconds spent in the current state. */
  timer: number;
  /** Completed steps (touchdowns and landing timeouts). */
  steps: number;
  /** The state before the last switch (−1: none since the start), for `blendDuration`. */
  previous: number;
}

export type SimbiconController = Controller & { readonly fsm: SimbiconFsm };

/** Stance leg of each FSM state. */
function stanceOf(state: number): Side {
  return state < 2 ? "right" : "left";
}

/** Height of a foot capsule's lowest point above the ground (checked under the heel and the toe). */
export function footClearance(leg: LegKinematics, groundHeight: (x: number) => number): number {
  return Math.min(leg.heelZ - groundHeight(leg.heelX), leg.toeZ - groundHeight(leg.toeX)) - D.footRadius;
}

/**
 * The FSM state to start in at x. The stance leg is the foot on the ground
 * (clearance below `contactHeight`); with both feet down (or both up), the
 * leading foot (it has just landed; the trailing one is about to swing). The
 * FSM starts in the swing state of that stance (0 or 2), or in its landing
 * state (1 or 3) when only the stance foot is down and the swing ankle is
 * already ahead of the stance ankle (late swing), so that a start in mid-gait
 * does not hold the swing leg up for another full swing duration.
 */
export function inferSimbiconState(x: ArrayLike<number>, xOff = 0, contactHeight = defaultSimbiconParams.contactHeight, groundHeight: (x: number) => number = () => 0): number {
  const r = legKinematics(x, xOff, "right");
  const l = legKinematics(x, xOff, "left");
  const rDown = footClearance(r, groundHeight) < contactHeight;
  const lDown = footClearance(l, groundHeight) < contactHeight;
  let stance: Side;
  if (rDown !== lDown) stance = rDown ? "right" : "left";
  else stance = r.ankleX >= l.ankleX ? "right" : "left";
  const st = stance === "right" ? r : l;
  const sw = stance === "right" ? l : r;
  const late = rDown !== lDown && sw.ankleX > st.ankleX;
  return (stance === "right" ? 0 : 2) + (late ? 1 : 0);
}

/**
 * A fresh SIMBICON controller for the walker task. `params` are merged into
 * `defaultSimbiconParams`. The `sim` argument is accepted for API symmetry and
 * not used: the controller works from x alone. Each rollout should use a
 * fresh controller (the closure keeps the FSM state); it also resets itself
 * whenever called with t = 0.
 */
export function simbiconController(task: Task, params: SimbiconParamsInput = {}, _sim?: Simulator, options: SimbiconOptions = {}): SimbiconController {
  if (task.nx !== 2 * NQ || task.nu !== 6 || task.stateNames[3] !== "qpos.right_hip") {
    throw new Error(`simbiconController: expects the walker task (nx 18, nu 6), got ${task.name} (nx ${task.nx}, nu ${task.nu})`);
  }
  const P = resolveSimbiconParams(params);
  const ground = options.groundHeight ?? taskGround(task);
  const dt = task.dt;
  const fsm: SimbiconFsm = { state: 0, timer: 0, steps: 0, previous: -1 };
  const right = allocLeg();
  const left = allocLeg();
  const lim = P.torqueLimit;
  const clamp = (v: number) => (v > lim ? lim : v < -lim ? -lim : v);

  const blendBuffer = new Float64Array(6);
  const q = (x: Float64Array, xOff: number, i: number) => x[xOff + i];
  const qd = (x: Float64Array, xOff: number, i: number) => x[xOff + NQ + i];
  const pd = (g: PdGains, target: number, angle: number, rate: number) => g.kp * (target - angle) - g.kd * rate;
  /** The control law of FSM state `state` at x (legs' kinematics already in right/left). */
  const lawTorques = (state: number, x: Float64Array, xOff: number, com: { x: number; vx: number }, u: Float64Array, uOff: number): void => {
    const stance = stanceOf(state);
    const target = state % 2 === 0 ? P.swing : P.landing;
    const st = stance === "right" ? right : left;
    const sw = stance === "right" ? left : right;
    const stJ = LEG[stance];
    const swJ = LEG[stance === "right" ? "left" : "right"];
    const d = com.x - st.ankleX;
    const v = com.vx;

    // Swing hip: world-frame thigh angle with balance feedback.
    const swingHipTarget = target.swingHip + target.cd * d + target.cv * v;
    const tauSwingHip = clamp(pd(P.hip, swingHipTarget, sw.thighAngle, sw.thighRate));
    // Torso: world-frame pitch, through the stance hip. A hip torque τ (+ = flexion)
    // acts on the torso as +τ about +y (the pitch axis), so the torso receives
    // τ_stance + τ_swing and τ_stance = τ_torso − τ_swing.
    const tauTorso = pd(P.torso, P.torsoPitch, q(x, xOff, 2), qd(x, xOff, 2));
    const tauStanceHip = clamp(tauTorso - tauSwingHip);

    u[uOff + swJ - 3] = tauSwingHip;
    u[uOff + swJ - 2] = clamp(pd(P.knee, target.swingKnee, q(x, xOff, swJ + 1), qd(x, xOff, swJ + 1)));
    u[uOff + swJ - 1] = clamp(pd(P.ankle, target.swingAnkle, q(x, xOff, swJ + 2), qd(x, xOff, swJ + 2)));
    u[uOff + stJ - 3] = tauStanceHip;
    u[uOff + stJ - 2] = clamp(pd(P.knee, target.stanceKnee, q(x, xOff, stJ + 1), qd(x, xOff, stJ + 1)));
    u[uOff + stJ - 1] = clamp(pd(P.ankle, target.stanceAnkle, q(x, xOff, stJ + 2), qd(x, xOff, stJ + 2)));
  };

  const controller = ((t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number): void => {
    if (t === 0) {
      fsm.state = inferSimbiconState(x, xOff, P.contactHeight, ground);
      fsm.timer = 0;
      fsm.steps = 0;
      fsm.previous = -1;
    }
    legKinematics(x, xOff, "right", right);
    legKinematics(x, xOff, "left", left);

    // Transitions (checked before acting, on the current x).
    const swingLeg = stanceOf(fsm.state) === "right" ? left : right;
    if (fsm.state === 0 || fsm.state === 2) {
      if (fsm.timer >= P.swingDuration - 1e-9) {
        fsm.previous = fsm.state;
        fsm.state += 1;
        fsm.timer = 0;
      }
    } else {
      const touched = footClearance(swingLeg, ground) < P.contactHeight;
      if (touched || fsm.timer >= P.maxLandingDuration - 1e-9) {
        fsm.previous = fsm.state;
        fsm.state = (fsm.state + 1) % 4;
        fsm.timer = 0;
        fsm.steps += 1;
      }
    }

    const com = comFrom(x, xOff, right, left);
    lawTorques(fsm.state, x, xOff, com, u, uOff);
    if (P.blendDuration > 0 && fsm.previous >= 0 && fsm.timer < P.blendDuration) {
      // Cross-fade from the previous state's law, both evaluated at this x.
      lawTorques(fsm.previous, x, xOff, com, blendBuffer, 0);
      const a = fsm.timer / P.blendDuration;
      for (let j = 0; j < 6; j++) u[uOff + j] = a * u[uOff + j] + (1 - a) * blendBuffer[j];
    }

    fsm.timer += dt;
  }) as SimbiconController;
  Object.defineProperty(controller, "fsm", { value: fsm, enumerable: true });
  return controller;
}

// ---------------------------------------------------------------------------
// Demonstrations.

export interface Demonstration {
  /** T+1 states x_0 … x_T (the rollout always runs the whole horizon, also after a fall). */
  readonly states: number[][];
  /** T actions u_0 … u_{T−1}. */
  readonly actions: number[][];
  /**
   * The FSM state (0–3) in which u_t was computed, for each t < T, when the
   * controller exposes one (a `SimbiconController`); null otherwise.
   */
  readonly phases: number[] | null;
  /** Whether some x_t counts as fallen (`walkerFallen`: torso below 0.6·H above the ground, or |pitch| > 1 rad). */
  readonly fell: boolean;
  /** The first t at which x_t counts as fallen, or null. */
  readonly fallStep: number | null;
  /** Root displacement x_T.rootx − x_0.rootx (m). */
  readonly distance: number;
  /** distance / (T·dt) (m/s). */
  readonly meanSpeed: number;
}

/**
 * Fall criterion for the walker: the torso (root) less than 0.6 × the
 * standing height above the ground under qpos.rootx, or |pitch| > 1 rad (or a
 * non-finite height or pitch). `groundHeight` defaults to the plane z = 0.
 */
export function walkerFallen(x: ArrayLike<number>, xOff = 0, groundHeight: (x: number) => number = () => 0, standingHeight = WALKER_STANDING_HEIGHT): boolean {
  const h = x[xOff + 1] - groundHeight(x[xOff]);
  const p = x[xOff + 2];
  return !(h >= 0.6 * standingHeight) || !(Math.abs(p) <= 1);
}

/**
 * Roll out the controller made by `makeController` (called once, so the
 * rollout gets a fresh FSM) from x0 for T control steps on `sim` (which must
 * be built from `task.mjcf`) and summarise it. On a terrain task the fall test
 * is relative to `task.groundHeight`.
 */
export function recordDemonstration(
  sim: Simulator,
  task: Task,
  makeController: () => Controller,
  x0: ArrayLike<number>,
  T: number,
): Demonstration {
  const nx = task.nx, nu = task.nu;
  if (x0.length !== nx) throw new Error(`recordDemonstration: x0 has length ${x0.length}, expected ${nx}`);
  const xs = new Float64Array((T + 1) * nx);
  const us = new Float64Array(T * nu);
  const controller = makeController();
  const fsm = (controller as Partial<SimbiconController>).fsm;
  const phases: number[] | null = fsm ? [] : null;
  const recorded: Controller = fsm
    ? (t, x, xOff, u, uOff) => {
        controller(t, x, xOff, u, uOff);
        phases![t] = fsm.state;
      }
    : controller;
  sim.rollout(Float64Array.from(x0), recorded, T, xs, us);
  const ground = taskGround(task);
  const states: number[][] = [];
  const actions: number[][] = [];
  let fallStep: number | null = null;
  for (let t = 0; t <= T; t++) {
    states.push(Array.from(xs.subarray(t * nx, (t + 1) * nx)));
    if (t < T) actions.push(Array.from(us.subarray(t * nu, (t + 1) * nu)));
    if (fallStep === null && walkerFallen(xs, t * nx, ground)) fallStep = t;
  }
  const distance = xs[T * nx] - xs[0];
  return { states, actions, phases, fell: fallStep !== null, fallStep, distance, meanSpeed: distance / (T * task.dt) };
}

/**
 * Steps t at which a new step began: the FSM entered a swing state (0 or 2)
 * from a landing state (a touchdown, or a landing timeout). Needs
 * `demo.phases` (a demonstration recorded with a SIMBICON controller).
 */
export function touchdownSteps(demo: Demonstration): number[] {
  const ph = demo.phases;
  if (!ph) throw new Error("touchdownSteps: the demonstration has no FSM phases (record it with simbiconController)");
  const out: number[] = [];
  for (let t = 1; t < ph.length; t++) if (ph[t] % 2 === 0 && ph[t - 1] % 2 === 1) out.push(t);
  return out;
}

/**
 * k initial states from different phases of one steady gait cycle of the
 * demonstration: the stride (two steps: one right, one left) that starts at
 * the first touchdown at or after `settleTime` seconds (default 1 s; dt
 * default 0.01 s, the walker's) is split into k equal parts and the state at
 * the start of each part is returned, as copies (number[] of length nx). The
 * first is the touchdown state itself.
 */
export function gaitPhaseStates(demo: Demonstration, k: number, options: { settleTime?: number; dt?: number } = {}): number[][] {
  if (!Number.isInteger(k) || k < 1) throw new Error(`gaitPhaseStates: k must be a positive integer, got ${k}`);
  const settle = Math.round((options.settleTime ?? 1) / (options.dt ?? 0.01));
  const td = touchdownSteps(demo);
  const i = td.findIndex((t) => t >= settle);
  if (i < 0 || i + 2 >= td.length) throw new Error("gaitPhaseStates: the demonstration has no complete stride after the settle time");
  const start = td[i], end = td[i + 2];
  if (end - start < k) throw new Error(`gaitPhaseStates: the stride has ${end - start} steps, fewer than k = ${k}`);
  const out: number[][] = [];
  for (let j = 0; j < k; j++) {
    const t = start + Math.floor((j * (end - start)) / k);
    out.push([...demo.states[t]]);
  }
  return out;
}
