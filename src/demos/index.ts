/**
 * Demonstration controllers by name, and what the pipeline needs from them:
 * a fresh controller per rollout (they are finite-state machines with memory),
 * and initial states spread over one cycle of their gait.
 */
import { DemoControllerCodec, type DemoController } from "../dsl/experiment.js";
import type { Simulator } from "../sim/mujoco.js";
import type { Task } from "../tasks/types.js";
import type { Controller } from "../trajopt/types.js";
import { hopperController, robustHopperParams } from "./hopper-hop.js";
import { simbiconController } from "./simbicon.js";

/**
 * SIMBICON with its torques cross-faded over 0.06 s after every state switch
 * (src/demos/simbicon.ts `blendDuration`): the same gait without the ±200 N·m
 * torque jumps, so that a smooth policy network can reproduce it.
 */
export const SMOOTH_SIMBICON = { blendDuration: 0.06 } as const;

/**
 * The second gait of "simbicon-switch": a crouched walk (stance knee bent
 * 0.3 rad, torso leaning 0.1 rad forward). The 2013 paper's §6.2 example
 * switches to another gait after 2.5 s, so that no stationary policy can
 * reproduce it: the same states call for different actions before and after.
 */
export const CROUCH_SIMBICON = { swing: { stanceKnee: -0.3 }, landing: { stanceKnee: -0.3 }, torsoPitch: 0.1 } as const;
export const SWITCH_SECONDS = 2.5;

/** `first` until control step `at`, then `second`, restarted (t = 0) from the state reached. */
function switchAt(first: Controller, second: Controller, at: number): Controller {
  return (t, x, xOff, u, uOff) => {
    if (t < at) first(t, x, xOff, u, uOff);
    else second(t - at, x, xOff, u, uOff);
  };
}

/** Whether a recorded demonstration's controller name is a demonstration controller (not an inline demonstration). */
export function isDemoController(name: string): name is DemoController {
  return DemoControllerCodec.is(name);
}

/** A new controller (with fresh internal state) for one rollout on `task`. */
export function demoController(name: DemoController, task: Task): Controller {
  switch (name) {
    case "hopper-hop":
      if (task.name !== "hopper") throw new Error(`the hopper-hop controller drives the hopper, not the ${task.name}`);
      return hopperController(task);
    case "hopper-hop-robust":
      if (task.name !== "hopper") throw new Error(`the hopper-hop-robust controller drives the hopper, not the ${task.name}`);
      return hopperController(task, robustHopperParams);
    case "simbicon":
      if (task.name !== "walker") throw new Error(`the simbicon controller drives the walker, not the ${task.name}`);
      return simbiconController(task);
    case "simbicon-smooth":
      if (task.name !== "walker") throw new Error(`the simbicon-smooth controller drives the walker, not the ${task.name}`);
      return simbiconController(task, SMOOTH_SIMBICON);
    case "simbicon-switch": {
      if (task.name !== "walker") throw new Error(`the simbicon-switch controller drives the walker, not the ${task.name}`);
      return switchAt(simbiconController(task, SMOOTH_SIMBICON), simbiconController(task, { ...SMOOTH_SIMBICON, ...CROUCH_SIMBICON }), Math.round(SWITCH_SECONDS / task.dt));
    }
  }
}

/** Steps of warm-up from rest before a gait counts as steady, and the span sampled. */
const SETTLE_SECONDS = 1.0;
const CYCLE_SECONDS = 1.0;

/**
 * `k` states spread evenly over one gait cycle: the controller walks (or hops)
 * from rest for SETTLE_SECONDS, then states are taken every CYCLE_SECONDS / k.
 */
export function gaitPhaseStates(name: DemoController, task: Task, sim: Simulator, k: number): Float64Array[] {
  const settle = Math.round(SETTLE_SECONDS / task.dt);
  const span = Math.round(CYCLE_SECONDS / task.dt);
  const T = settle + span;
  const xs = new Float64Array((T + 1) * task.nx);
  const us = new Float64Array(T * task.nu);
  sim.rollout(task.restState, demoController(name, task), T, xs, us);
  return Array.from({ length: k }, (_, j) => {
    const t = settle + Math.floor((j * span) / k);
    return xs.slice(t * task.nx, (t + 1) * task.nx);
  });
}
