/**
 * Decoding experiments at the boundary, with errors that name the field.
 */
import * as t from "io-ts";
import { isLeft } from "fp-ts/lib/Either.js";
import { countStages, ExperimentCodec, MAX_STAGES, type Experiment } from "./experiment.js";

export class ExperimentValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid experiment:\n  ${problems.join("\n  ")}`);
    this.name = "ExperimentValidationError";
  }
}

/** One line per failed field: `pipeline[1].body[0].kind: expected …, got "ilqgIter"`. */
export function formatErrors(errors: t.Errors): string[] {
  const lines = new Set<string>();
  for (const e of errors) {
    const line = describe(e);
    if (line !== null) lines.add(line);
  }
  // Every error was a complaint of a union member the value's kind does not select (cannot happen: one member is selected).
  if (lines.size === 0 && errors.length > 0) lines.add(describeAnyway(errors[0]));
  return [...lines].slice(0, 12);
}

/**
 * One line for one failed field; null for a complaint of a union member whose
 * `kind` is not the value's (a swimmer with a bad horizon is not also told it
 * lacks the fields of a declared model).
 */
function describe(e: t.ValidationError): string | null {
  const ctx = e.context;
  for (let i = 0; i + 1 < ctx.length; i++) {
    const type = unwrap(ctx[i].type);
    const value = ctx[i].actual as { kind?: unknown } | undefined;
    if (!(type instanceof t.UnionType) || typeof value !== "object" || value === null) continue;
    const branchTags = unionTags(ctx[i + 1].type);
    if (unionTags(type).includes(value.kind as string) && branchTags.length > 0 && !branchTags.includes(value.kind as string)) return null;
  }
  return describeAnyway(e);
}

function describeAnyway(e: t.ValidationError): string {
  const ctx = e.context;
  // A tagged value whose `kind` no union member accepts: say so at `.kind`
  // instead of listing every member's complaints.
  for (let i = 0; i < ctx.length; i++) {
    const type = unwrap(ctx[i].type);
    const value = ctx[i].actual as { kind?: unknown } | undefined;
    if (!(type instanceof t.UnionType) || typeof value !== "object" || value === null) continue;
    const tags = unionTags(type);
    if (tags.length > 0 && !tags.includes(value.kind as string)) {
      const p = fieldPath(ctx.slice(0, i + 1));
      return `${p ? `${p}.` : ""}kind: unknown kind ${show(value.kind)}, expected one of ${tags.map((k) => `"${k}"`).join(" | ")}`;
    }
  }
  const expected = ctx[ctx.length - 1]?.type.name ?? "?";
  return `${fieldPath(ctx) || "(root)"}: expected ${expected}, got ${show(e.value)}`;
}

function unwrap(type: t.Decoder<unknown, unknown>): t.Decoder<unknown, unknown> {
  if (type instanceof t.RecursiveType) return unwrap(type.type);
  if (type instanceof t.RefinementType) return unwrap(type.type);
  if (type instanceof t.ExactType) return unwrap(type.type);
  return type;
}

/** The `kind` literals a union accepts (through nested unions and intersections). */
function unionTags(type: t.Decoder<unknown, unknown>): string[] {
  const u = unwrap(type);
  if (u instanceof t.UnionType || u instanceof t.IntersectionType) return (u.types as t.Decoder<unknown, unknown>[]).flatMap(unionTags);
  if (u instanceof t.InterfaceType || u instanceof t.PartialType) {
    const kind = (u.props as Record<string, unknown>).kind;
    if (kind instanceof t.LiteralType) return [String(kind.value)];
    if (kind instanceof t.KeyofType) return Object.keys(kind.keys as Record<string, unknown>);
  }
  return [];
}

function fieldPath(context: t.Context): string {
  let path = "";
  for (let i = 1; i < context.length; i++) {
    const { key } = context[i];
    const parent = unwrap(context[i - 1].type);
    // Union branches and intersection parts are indexed by number, not fields.
    if (parent instanceof t.UnionType || parent instanceof t.IntersectionType) continue;
    if (key === "") continue;
    path += parent instanceof t.ArrayType ? `[${key}]` : path ? `.${key}` : key;
  }
  return path;
}

function show(v: unknown): string {
  if (v === undefined) return "undefined";
  // JSON would print NaN and ±Infinity as null; say what they are.
  if (typeof v === "number" && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Decode an unknown value as an experiment, or throw naming each bad field. */
export function decodeExperiment(input: unknown): Experiment {
  // A field set to undefined is a field left out (as in JSON), so resolving fills its default.
  const value = withoutUndefinedFields(input);
  const r = ExperimentCodec.decode(value);
  if (isLeft(r)) throw new ExperimentValidationError(formatErrors(r.left));
  // The exact codecs dropped any field they do not know: name each one.
  const unknown: string[] = [];
  findDropped(value, r.right, "", unknown);
  if (unknown.length > 0) throw new ExperimentValidationError(unknown.slice(0, 12).map((p) => `${p}: unknown field`));
  // Counted without unrolling: a huge repeat must be refused before anything unrolls it.
  const stages = countStages(r.right.pipeline);
  if (!(stages <= MAX_STAGES)) throw new ExperimentValidationError([`pipeline: ${stages} stages, at most ${MAX_STAGES} (check the repeat counts)`]);
  return r.right;
}

function findDropped(input: unknown, decoded: unknown, path: string, out: string[]): void {
  if (Array.isArray(input) && Array.isArray(decoded)) {
    input.forEach((v, i) => findDropped(v, decoded[i], `${path}[${i}]`, out));
  } else if (isPlainObject(input) && isPlainObject(decoded)) {
    for (const key of Object.keys(input)) {
      const p = path ? `${path}.${key}` : key;
      if (!(key in decoded)) {
        if (input[key] !== undefined) out.push(p);
      } else findDropped(input[key], decoded[key], p, out);
    }
  }
}

/** The value with every object field whose value is undefined left out, at any depth. */
function withoutUndefinedFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUndefinedFields);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [key, x] of Object.entries(v)) if (x !== undefined) out[key] = withoutUndefinedFields(x);
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
