/**
 * A task from any MuJoCo model, declared as data: the MJCF (inline text, or a
 * file the experiment's loader reads into the value, so the hash covers the
 * model), the control period, a cost built from named terms, and optionally
 * the coordinate that measures distance and the fall criteria.
 *
 *   task.mjcf({
 *     name: "cartpole", path: "./cartpole.xml", horizon: 100, substeps: 2,
 *     cost: cost.sum(cost.position({ joint: "hinge", target: Math.PI, weight: 1 }), cost.action({ weight: 1e-3 })),
 *   })
 *
 * The state x is every joint's qpos then every joint's qvel (hinge and slide
 * joints only: the Simulator needs nq = nv); the actions are the model's
 * actuators in order. Cost terms name joints; src/tasks/mjcf.ts checks the
 * names against the model and compiles the terms with exact derivatives
 * (src/tasks/cost-terms.ts).
 */
import * as t from "io-ts";
import { Finite, Horizon, NonEmptyString, NonNegative, Positive, PositiveInt, strict, strictPartial } from "./codecs.js";

/** A cost as data: terms on named joints and the actions, and their sums and multiples. */
export type CostSpec =
  | { readonly kind: "action"; readonly weight: number; readonly target?: number[] }
  | { readonly kind: "velocity"; readonly joint: string; readonly target: number; readonly weight: number }
  | { readonly kind: "position"; readonly joint: string; readonly target: number; readonly weight: number }
  | { readonly kind: "sum"; readonly terms: CostSpec[] }
  | { readonly kind: "scale"; readonly factor: number; readonly term: CostSpec };

export const CostSpecCodec: t.Type<CostSpec> = t.recursion("Cost", () =>
  t.union([
    t.intersection([strict({ kind: t.literal("action"), weight: NonNegative }), strictPartial({ target: t.array(Finite) })], "action"),
    strict({ kind: t.literal("velocity"), joint: NonEmptyString, target: Finite, weight: NonNegative }, "velocity"),
    strict({ kind: t.literal("position"), joint: NonEmptyString, target: Finite, weight: NonNegative }, "position"),
    strict({ kind: t.literal("sum"), terms: t.refinement(t.array(CostSpecCodec), (a) => a.length > 0, "NonEmptyTerms") }, "sum"),
    strict({ kind: t.literal("scale"), factor: Finite, term: CostSpecCodec }, "scale"),
  ]),
);

/** Built-in task names a model may not take (demonstration controllers and reports key on them). */
const BUILT_IN_TASKS = ["swimmer", "hopper", "walker"];
const TaskName = t.refinement(
  t.string,
  (s) => /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s) && !BUILT_IN_TASKS.includes(s),
  "TaskName (letters, digits, . _ -; not swimmer, hopper or walker)",
);

/**
 * When a rollout of the model counts as fallen: qpos[joint] (a height: a slide
 * joint along z) below `below`, or |qpos[pitchJoint]| above `maxAbsPitch`.
 */
export const MjcfFallCodec = t.intersection(
  [strict({ joint: NonEmptyString, below: Finite }), strictPartial({ pitchJoint: NonEmptyString, maxAbsPitch: Positive })],
  "Fall",
);

export const MjcfTaskSpecCodec = t.intersection(
  [
    strict({ kind: t.literal("mjcf"), name: TaskName, horizon: Horizon, cost: CostSpecCodec }),
    strictPartial({
      /** The MJCF text. The resolved experiment always has it (a `path` is read into it). */
      xml: NonEmptyString,
      /** An MJCF file, relative to the experiment file; read into `xml` when the experiment is loaded. */
      path: NonEmptyString,
      /** MuJoCo steps per control step (default 1): dt = substeps × the model's timestep. */
      substeps: PositiveInt,
      /** The joint whose qpos displacement is the rollout's distance (and whose qvel is the forward speed). */
      forward: NonEmptyString,
      fall: MjcfFallCodec,
      /** Not for a declared model (its ground is in its MJCF): refused when the task is built. */
      terrain: t.unknown,
      pushes: t.unknown,
    }),
  ],
  "MjcfTask",
);
export type MjcfTaskSpec = t.TypeOf<typeof MjcfTaskSpecCodec>;

/** An MJCF task whose model text is in the value (what `taskFor` builds from). */
export type ResolvedMjcfTaskSpec = MjcfTaskSpec & { readonly xml: string };

export const MJCF_DEFAULT_SUBSTEPS = 1;

/** Cost builders for `task.mjcf({ cost })`. */
export const cost = {
  /** Σ of the terms. */
  sum: (...terms: CostSpec[]): CostSpec => ({ kind: "sum", terms }),
  /** factor × the term. */
  scale: (factor: number, term: CostSpec): CostSpec => ({ kind: "scale", factor, term }),
  /** weight · |u − target|² (target: zero). */
  action: (o: { weight: number; target?: number[] }): CostSpec => ({ kind: "action", ...o }),
  /** weight · (qvel[joint] − target)². */
  velocity: (o: { joint: string; target: number; weight: number }): CostSpec => ({ kind: "velocity", ...o }),
  /** weight · (qpos[joint] − target)²: a height, a position or an angle. */
  position: (o: { joint: string; target: number; weight: number }): CostSpec => ({ kind: "position", ...o }),
};
