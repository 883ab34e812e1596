/**
 * Finite-difference linearizers: the world's own simulator, or a fresh one
 * with another step or softened contacts. A leaf module (the lanes' condition
 * step imports it; ./linearization.ts adds the fitted variant on top).
 */
import type { Linearization } from "../dsl/experiment.js";
import { loadedMujoco, Simulator } from "../sim/mujoco.js";
import type { Linearizer } from "../trajopt/types.js";
import type { Task } from "../tasks/types.js";

/** A fresh simulator of the task's model with the option's finite-difference step and contact override (dispose it after). */
export function finiteDifferenceSimulator(task: Task, spec: Extract<Linearization, { kind: "finiteDifference" }>): Simulator {
  return Simulator.fromMjcfWith(loadedMujoco(), task.mjcf, { substeps: task.substeps, perturbations: task.perturbations, fdEpsilon: spec.epsilon, contactOverride: spec.contact });
}

/**
 * The linearizer of a finite-difference option (or none): `dynamics` itself when
 * the option changes nothing, else a fresh simulator with its step and contact
 * override. Call `dispose` after.
 */
export function finiteDifferenceLinearizer(
  task: Task,
  spec: Extract<Linearization, { kind: "finiteDifference" }> | null | undefined,
  dynamics: Linearizer,
): { linearizer: Linearizer; dispose: () => void } {
  if (!spec || (spec.epsilon === undefined && spec.contact === undefined)) return { linearizer: dynamics, dispose: () => {} };
  const sim = finiteDifferenceSimulator(task, spec);
  return { linearizer: sim, dispose: () => sim.dispose() };
}
