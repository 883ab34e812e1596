/**
 * Reading a declared model's MJCF file into the experiment value (an effect,
 * so it lives at the edge): `task.mjcf({ path })` becomes `{ xml }` with the
 * file's text, so the stored, hashed experiment holds the model itself and a
 * run never depends on a file that may change or move.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { Experiment } from "../dsl/experiment.js";
import { ExperimentValidationError } from "../dsl/validate.js";
import { preload } from "../sim/mujoco.js";

/**
 * The experiment with its model file read into `task.xml` (paths relative to
 * `baseDir`, the experiment file's folder), and MuJoCo loaded on this thread
 * when the task is a declared model (building its task reads the model).
 */
export async function withModelFiles(experiment: Experiment, baseDir: string, source?: string): Promise<Experiment> {
  const task = experiment.task;
  if (task.kind !== "mjcf") return experiment;
  const where = source ? `${source}: ` : "";
  if (task.xml !== undefined && task.path !== undefined) throw new ExperimentValidationError([`${where}task: give the model as xml or as path, not both`]);
  if (task.xml === undefined && task.path === undefined) throw new ExperimentValidationError([`${where}task: a declared model needs its MJCF: xml (the text) or path (a file)`]);
  await preload();
  if (task.path === undefined) return experiment;
  const file = isAbsolute(task.path) ? task.path : resolve(baseDir, task.path);
  let xml: string;
  try {
    xml = readFileSync(file, "utf8");
  } catch (e) {
    throw new ExperimentValidationError([`${where}task.path: cannot read the model file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  const { path: _path, ...rest } = task;
  return { ...experiment, task: { ...rest, xml } };
}
