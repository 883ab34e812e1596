/**
 * The run state's codec: a checkpoint's state is read through `decodeRunState`
 * only (resume, diff, export, report, benches), so a malformed or foreign
 * checkpoint fails with the field path instead of deep inside a stage.
 *
 * The stored form is `encodeValue(state)` (src/runtime/canonical.ts): typed
 * arrays as `{"$f64": base64}` tags, non-finite numbers as `{"$num": …}`.
 * `decodeValue` turns the tags back into Float64Arrays; the io-ts codecs below
 * then check the shape, with `Float64ArrayCodec` for the arrays, so every
 * checkpoint ever written decodes unchanged.
 *
 * Migration on read: checkpoints written before demonstrations were tagged
 * hold `demonstration.controller` as a string, "inline" for a demonstration
 * given in the experiment; they are rewritten to `{ source: "inline" }` /
 * `{ source: "controller", controller }`.
 *
 * The state's family-specific parts stay optional slots of one record (policy,
 * isgps, policyGradient, gpsIteration; per condition lambda and
 * stateCovariance) rather than a tagged family union: pipelines mix families
 * (cgps trajectories seed isgps guiding samples, pretrainPolicy and fitTheta
 * both write `policy`), and the plan (src/dsl/plan.ts) checks which slots each
 * stage finds filled.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { DemoControllerCodec, LinearizationCodec, PushSpecCodec } from "../dsl/experiment.js";
import { formatErrors } from "../dsl/validate.js";
import { decodeValue, type JsonValue } from "../runtime/canonical.js";
import type { ConditionState, RunState } from "./state.js";

/** A Float64Array (as `decodeValue` returns it for a `$f64` tag). */
export const Float64ArrayCodec = new t.Type<Float64Array, Float64Array, unknown>(
  "Float64Array",
  (u): u is Float64Array => u instanceof Float64Array,
  (u, c) => (u instanceof Float64Array ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const nullable = <C extends t.Mixed>(codec: C) => t.union([codec, t.null]);

const GeneratorStateCodec = t.tuple([t.number, t.number, t.number, t.number], "GeneratorState");

const LinearGaussianCodec = t.type({ T: t.number, nx: t.number, nu: t.number, xbar: Float64ArrayCodec, ubar: Float64ArrayCodec, K: Float64ArrayCodec, k: Float64ArrayCodec, cov: Float64ArrayCodec });

const IlqgTrajectoryCodec = t.intersection([LinearGaussianCodec, t.type({ cost: t.number, mu: t.number, muFactor: t.number })], "IlqgTrajectory");

const IlqgSettingsCodec = t.intersection(
  [t.type({ muInit: t.number, muMin: t.number, muMax: t.number, muFactor: t.number, lineSearchAlphas: t.array(t.number), minReductionRatio: t.number }), t.partial({ gainMu: t.number })],
  "IlqgSettings",
);

/** Where a condition's demonstration came from: a demonstration controller (replayable), or the experiment (inline). */
export const DemonstrationRecordCodec = t.union(
  [
    t.type({ source: t.literal("controller"), controller: DemoControllerCodec, xs: Float64ArrayCodec, us: Float64ArrayCodec }),
    t.type({ source: t.literal("inline"), xs: Float64ArrayCodec, us: Float64ArrayCodec }),
  ],
  "Demonstration",
);

const EvaluationRecordCodec = t.type({ controller: t.string, noise: t.boolean, root: Float64ArrayCodec, fallStep: t.number }, "EvaluationRecord");

const PushTestRecordCodec = t.type(
  {
    push: PushSpecCodec,
    controller: t.string,
    noise: t.boolean,
    T: t.number,
    xs: Float64ArrayCodec,
    fromStep: t.number,
    toStep: t.number,
    fallStep: t.number,
    recovered: t.boolean,
    recoveryWindowSteps: t.number,
    cost: t.number,
    distance: t.number,
  },
  "PushTestRecord",
);

export const ConditionStateCodec = t.intersection(
  [
    t.type({
      x0: Float64ArrayCodec,
      trajectory: nullable(IlqgTrajectoryCodec),
      tracking: nullable(t.intersection([t.type({ weight: t.number }), t.partial({ stateWeight: t.number })])),
      settings: nullable(IlqgSettingsCodec),
      demonstration: nullable(DemonstrationRecordCodec),
      motorNoise: nullable(Float64ArrayCodec),
      evaluation: nullable(EvaluationRecordCodec),
    }),
    t.partial({ linearization: nullable(LinearizationCodec), pushTests: nullable(t.array(PushTestRecordCodec)), lambda: nullable(Float64ArrayCodec), stateCovariance: nullable(Float64ArrayCodec) }),
  ],
  "ConditionState",
);

const PolicyStateCodec = t.type({ nIn: t.number, nHidden: t.number, nOut: t.number, inputMean: Float64ArrayCodec, inputStd: Float64ArrayCodec, theta: Float64ArrayCodec }, "PolicyState");

const IsgpsSourceCodec = t.union([
  t.type({ kind: t.literal("guiding"), condition: t.number, controller: LinearGaussianCodec }),
  t.type({ kind: t.literal("demonstration"), condition: t.number, controller: DemoControllerCodec, std: Float64ArrayCodec }),
  t.type({ kind: t.literal("policy"), theta: Float64ArrayCodec }),
]);

const IsgpsBatchCodec = t.intersection([
  t.type({ source: t.number, condition: t.number, count: t.number, xs: Float64ArrayCodec, us: Float64ArrayCodec, rewards: Float64ArrayCodec }),
  t.partial({ restart: t.boolean }),
]);

const IsgpsStateCodec = t.intersection(
  [
    t.type({ wr: t.number, sources: t.array(IsgpsSourceCodec), batches: t.array(IsgpsBatchCodec), iteration: t.number, improved: nullable(t.boolean) }),
    t.partial({ restart: t.boolean }),
  ],
  "IsgpsState",
);

const PolicyGradientStateCodec = t.type({ m: Float64ArrayCodec, v: Float64ArrayCodec, steps: t.number }, "PolicyGradientState");

export const RunStateCodec = t.intersection(
  [
    t.type({ rng: GeneratorStateCodec, conditions: t.array(ConditionStateCodec) }),
    t.partial({ policy: nullable(PolicyStateCodec), gpsIteration: t.number, isgps: nullable(IsgpsStateCodec), policyGradient: nullable(PolicyGradientStateCodec) }),
  ],
  "RunState",
);

/** The codecs' types are the state's: a field added to one and not the other fails to compile. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const conditionsAgree: Same<Readonlyish<t.TypeOf<typeof ConditionStateCodec>>, Readonlyish<ConditionState>> = true;
const statesAgree: Same<Readonlyish<t.TypeOf<typeof RunStateCodec>>, Readonlyish<RunState>> = true;
void conditionsAgree;
void statesAgree;
/** Deep readonly, so mutable io-ts types compare with the readonly interfaces. */
type Readonlyish<T> = T extends Float64Array ? T : T extends readonly (infer E)[] ? readonly Readonlyish<E>[] : T extends object ? { readonly [K in keyof T]: Readonlyish<T[K]> } : T;

export class RunStateError extends Error {
  override name = "RunStateError";
}

/** A stored demonstration as written before the tagged union: `controller` a name or "inline". */
function migrateDemonstration(d: unknown): unknown {
  if (typeof d !== "object" || d === null || "source" in d || !("controller" in d)) return d;
  const { controller, ...arrays } = d;
  return controller === "inline" ? { source: "inline", ...arrays } : { source: "controller", controller, ...arrays };
}

function migrateConditions(conditions: unknown): unknown {
  if (!Array.isArray(conditions)) return conditions;
  return conditions.map((c: unknown) => (typeof c === "object" && c !== null && "demonstration" in c ? { ...c, demonstration: migrateDemonstration(c.demonstration) } : c));
}

function decodeWith<A>(codec: t.Decoder<unknown, A>, value: unknown, what: string): A {
  const r = codec.decode(value);
  if (isLeft(r)) throw new RunStateError(`${what} does not decode:\n  ${formatErrors(r.left).join("\n  ")}`);
  return r.right;
}

/** A checkpoint's state (encoded JSON) as a typed run state, migrating older encodings; throws naming the field. */
export function decodeRunState(json: JsonValue): RunState {
  const raw = decodeValue(json);
  const migrated = typeof raw === "object" && raw !== null && "conditions" in raw ? { ...raw, conditions: migrateConditions(raw.conditions) } : raw;
  return decodeWith(RunStateCodec, migrated, "the checkpoint's run state");
}

/** Only the conditions of a checkpoint's state (the report reads them without the sample pool). */
export function decodeConditionStates(json: JsonValue): readonly ConditionState[] {
  return decodeWith(t.array(ConditionStateCodec), migrateConditions(decodeValue(json)), "the checkpoint's conditions");
}
