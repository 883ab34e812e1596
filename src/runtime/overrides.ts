/**
 * Overrides: `--set <path>=<value>` changes one field of the resolved
 * experiment. Pure (no files, no clock).
 *
 * Paths are dotted fields and `[i]` indices into arrays, as the codec's
 * error messages print them: `seed`, `task.horizon`, `policy.hidden[0]`,
 * `pipeline[1].times`, `pipeline[2].body[0].maxIterations` (a repeat's stages
 * are its `body`). A path whose first name is not a field of the experiment
 * but the kind of a stage in its pipeline is a shorthand for that field of
 * every stage of that kind, repeat bodies included: `fitTheta.maxIterations=50`.
 *
 * Every container on the path must exist (an index within its array, a field
 * the resolved value has); the last field may be new, and the experiment's
 * codec decides whether it is known. The changed value is decoded and
 * resolved again, so a bad value or an unknown field fails as it would in an
 * experiment file, naming the field and the `--set` that caused it.
 *
 * Values are JSON when they parse as JSON (`5`, `true`, `[5,5]`, `"5"`,
 * `{"kind":"rest"}`), else the text itself (`name=walker-b`).
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import type { Experiment } from "../dsl/experiment.js";
import { resolveExperiment } from "../dsl/resolve.js";
import { decodeExperiment, ExperimentValidationError, formatErrors } from "../dsl/validate.js";

/** A JSON value (what an override sets). */
export type OverrideValue = null | boolean | number | string | readonly OverrideValue[] | { readonly [k: string]: OverrideValue };

const OverrideValueC: t.Type<OverrideValue> = t.recursion("OverrideValue", () =>
  t.union([t.null, t.boolean, t.number, t.string, t.readonlyArray(OverrideValueC), t.record(t.string, OverrideValueC)]),
);

export const OverrideC = t.type({ path: t.string, value: OverrideValueC }, "override");
export type Override = { readonly path: string; readonly value: OverrideValue };
export const OverridesC = t.array(OverrideC, "overrides");

/** Decode overrides (a run request's, a manifest's), or throw naming the field. */
export function decodeOverrides(input: unknown): Override[] {
  const r = OverridesC.decode(input);
  if (isLeft(r)) throw new ExperimentValidationError(formatErrors(r.left));
  return r.right;
}

export type PathSegment = string | number;

/** `a.b[2].c` → ["a", "b", 2, "c"]; throws naming the path when it does not parse. */
export function parsePath(path: string): PathSegment[] {
  const bad = (why: string): never => {
    throw new ExperimentValidationError([`--set ${path}: ${why} (paths look like task.horizon, pipeline[2].body[0].samples or fitTheta.maxIterations)`]);
  };
  if (path === "") bad("empty path");
  const out: PathSegment[] = [];
  const re = /([A-Za-z_$][\w$]*)|\[(\d+)\]|(\.)/y;
  let expectName = true; // at the start or after a dot
  let i = 0;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) return bad(`cannot read the path at "${path.slice(i)}"`);
    if (m[1] !== undefined) {
      if (!expectName) bad(`expected "." or "[" before "${m[1]}"`);
      out.push(m[1]);
      expectName = false;
    } else if (m[2] !== undefined) {
      if (expectName) bad(`an index needs a field before it`);
      out.push(Number(m[2]));
    } else {
      if (expectName) bad(`a field name is missing`);
      expectName = true;
    }
    i = re.lastIndex;
  }
  if (expectName) bad("the path ends with a dot");
  return out;
}

export function formatPath(segments: readonly PathSegment[]): string {
  return segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? s : `.${s}`)).join("");
}

/** The value text: JSON when it parses, else the text itself. */
export function parseOverrideValue(text: string): OverrideValue {
  try {
    return JSON.parse(text) as OverrideValue;
  } catch {
    return text;
  }
}

/** `path=value` (the value may contain "="). */
export function parseOverride(text: string): Override {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new ExperimentValidationError([`--set ${text}: expected <path>=<value>, e.g. task.horizon=50`]);
  const path = text.slice(0, eq);
  parsePath(path);
  return { path, value: parseOverrideValue(text.slice(eq + 1)) };
}

/** How an override is written on a command line: `path=value` (JSON, strings bare when they would read back the same). */
export function formatOverride(o: Override): string {
  const json = JSON.stringify(o.value);
  const bare = typeof o.value === "string" && JSON.stringify(parseOverrideValue(o.value)) === json;
  return `${o.path}=${bare ? (o.value as string) : json}`;
}

type Plain = unknown;

function isObject(v: Plain): v is Record<string, Plain> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

function isArrayLike(v: Plain): v is readonly Plain[] | Float64Array {
  return Array.isArray(v) || v instanceof Float64Array;
}

/** Every stage (repeat bodies included) of a pipeline, with its concrete path. */
function stagePaths(pipeline: Plain, prefix: PathSegment[]): { path: PathSegment[]; stage: Record<string, Plain> }[] {
  if (!Array.isArray(pipeline)) return [];
  return pipeline.flatMap((item: Plain, i: number) => {
    if (!isObject(item)) return [];
    const path = [...prefix, i];
    if (item.kind === "repeat") return stagePaths(item.body, [...path, "body"]);
    return [{ path, stage: item }];
  });
}

/**
 * The concrete paths an override's path stands for in `value` (one, or one
 * per stage of a kind for the shorthand), each checked: every container on
 * the way exists. Throws an ExperimentValidationError naming the path.
 */
export function concretePaths(value: Plain, path: string): PathSegment[][] {
  const segments = parsePath(path);
  const head = segments[0] as string;
  if (isObject(value) && !(head in value)) {
    const stages = stagePaths(value.pipeline, ["pipeline"]).filter((s) => s.stage.kind === head);
    if (stages.length === 0) {
      throw new ExperimentValidationError([`--set ${path}: unknown path: "${head}" is not a field of this experiment nor the kind of a stage in its pipeline (an optional field it leaves out is set whole: --set '${head}={…}')`]);
    }
    if (segments.length < 2) throw new ExperimentValidationError([`--set ${path}: a stage kind needs a field (e.g. ${head}.samples)`]);
    return stages.map((s) => {
      const full = [...s.path, ...segments.slice(1)];
      checkPath(value, full, path);
      return full;
    });
  }
  checkPath(value, segments, path);
  return [segments];
}

function checkPath(value: Plain, segments: readonly PathSegment[], given: string): void {
  let v = value;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    const at = formatPath(segments.slice(0, i + 1));
    const unknown = (why: string): never => {
      throw new ExperimentValidationError([`--set ${given}: unknown path: ${at}: ${why}`]);
    };
    if (typeof s === "number") {
      if (!isArrayLike(v)) unknown(`${formatPath(segments.slice(0, i)) || "the experiment"} is not a list`);
      const n = (v as readonly Plain[]).length;
      if (s >= n) unknown(`index out of range (the list has ${n} item${n === 1 ? "" : "s"})`);
      v = (v as readonly Plain[])[s];
    } else {
      if (!isObject(v)) unknown(`${formatPath(segments.slice(0, i)) || "the experiment"} has no fields`);
      const o = v as Record<string, Plain>;
      if (!(s in o)) {
        if (last) return; // a new field: the codec decides
        unknown("no such field in the experiment");
      }
      v = o[s];
    }
  }
}

/** `value` with the field at `segments` replaced (copy on write; `value` is not changed). */
function setAt(value: Plain, segments: readonly PathSegment[], x: Plain): Plain {
  if (segments.length === 0) return x;
  const [s, ...rest] = segments;
  if (typeof s === "number") {
    const arr = Array.from(value as ArrayLike<Plain>);
    arr[s] = setAt(arr[s], rest, x);
    return arr;
  }
  const o = value as Record<string, Plain>;
  return { ...o, [s]: setAt(o[s], rest, x) };
}

/**
 * The experiment with the overrides applied, in order, to its resolved value,
 * decoded and resolved again. Throws an ExperimentValidationError naming the
 * path (unknown) or the field and the `--set` (a value the codec refuses).
 * Planning (the pipeline's order, what only the task can check) is the
 * caller's: `planExperiment(resolveExperiment(result))`.
 */
export function applyOverrides(experiment: Experiment, overrides: readonly Override[]): Experiment {
  if (overrides.length === 0) return experiment;
  let value: Plain = resolveExperiment(experiment);
  for (const o of overrides) for (const p of concretePaths(value, o.path)) value = setAt(value, p, o.value);
  try {
    return resolveExperiment(decodeExperiment(value)) as unknown as Experiment;
  } catch (e) {
    if (!(e instanceof ExperimentValidationError)) throw e;
    throw new ExperimentValidationError(e.problems.map((p) => `${p}${blame(p, overrides, value)}`));
  }
}

/** " (from --set X)" for the override whose path the problem's field lies on. */
function blame(problem: string, overrides: readonly Override[], value: Plain): string {
  const field = problem.split(":")[0];
  const hits = overrides.filter((o) => {
    let paths: string[];
    try {
      paths = concretePaths(value, o.path).map(formatPath);
    } catch {
      paths = [o.path];
    }
    return paths.some((p) => field === p || field.startsWith(`${p}.`) || field.startsWith(`${p}[`) || p.startsWith(`${field}.`) || p.startsWith(`${field}[`));
  });
  // A changed kind makes its siblings wrong: blame the override beside the field.
  const near = hits.length > 0 ? hits : overrides.filter((o) => o.path.includes(".") && field.startsWith(o.path.slice(0, o.path.lastIndexOf(".") + 1)));
  return near.length > 0 ? ` (from --set ${near.map(formatOverride).join(", --set ")})` : "";
}

/** The seed override of `--seed N`. */
export function seedOverride(seed: number): Override {
  return { path: "seed", value: seed };
}

/** A short label for a list of overrides: `seed=3 task.horizon=50`. */
export function overridesLabel(overrides: readonly Override[]): string {
  return overrides.length === 0 ? "-" : overrides.map(formatOverride).join(" ");
}
