/**
 * Canonical serialization, hashing and structural diffs of state values.
 *
 * Pure: no I/O, no clock. `node:crypto` is the only import.
 *
 * A *state value* is what stages pass along and checkpoints store: `null`,
 * booleans, strings, numbers, plain arrays, plain objects, and the typed
 * arrays `Float64Array`, `Int32Array`, `Uint32Array`. `encodeValue` turns it
 * into plain JSON (`JsonValue`) using single-key *tag objects*:
 *
 *   Float64Array → { "$f64": "<base64 of little-endian bytes>" }
 *   Int32Array   → { "$i32": "<base64 of little-endian bytes>" }
 *   Uint32Array  → { "$u32": "<base64 of little-endian bytes>" }
 *   NaN / ±Infinity as a plain number → { "$num": "NaN" | "Infinity" | "-Infinity" }
 *
 * The byte encoding is exact: -0, NaN (with its payload), ±Infinity and
 * subnormals survive the round trip. A plain object with exactly one key that
 * is one of the tags above is therefore reserved: `encodeValue` accepts it only
 * if it is a well-formed tag (it is treated as already encoded, which makes
 * `encodeValue` idempotent: `encodeValue(encodeValue(v))` equals
 * `encodeValue(v)`, so `digestOf` gives the same hash for a value and for its
 * encoded form).
 *
 * `canonicalJson` prints JSON with object keys sorted (UTF-16 code unit order)
 * at every level and no whitespace. Numbers print as JavaScript's shortest
 * round-trip form, and -0 prints as `-0` (which `JSON.parse` reads back as -0),
 * so `JSON.parse(canonicalJson(v))` reproduces `v` exactly.
 */
import { createHash } from "node:crypto";

export type JsonPrimitive = null | boolean | number | string;
export type JsonArray = JsonValue[];
export interface JsonObject {
  [key: string]: JsonValue;
}
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;

/** Tag keys of the encoding (see the module comment). */
export const TYPED_ARRAY_TAGS = ["$f64", "$i32", "$u32"] as const;
export type TypedArrayTag = (typeof TYPED_ARRAY_TAGS)[number];
export const NUMBER_TAG = "$num";

/** The typed arrays a state value may hold. */
export type SupportedTypedArray = Float64Array | Int32Array | Uint32Array;

/** Raised for values that cannot be encoded, printed or decoded; `path` names the spot. */
export class CanonicalError extends Error {
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.name = "CanonicalError";
    this.path = path;
  }
}

// ---------------------------------------------------------------------------
// Paths: `task.horizon`, `pipeline[2].times`, `conditions[0].qpos[3]`.

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function keyPath(parent: string, key: string): string {
  if (IDENT.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

function showPath(path: string): string {
  return path === "" ? "<root>" : path;
}

// ---------------------------------------------------------------------------
// Byte-level helpers.

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

interface TagInfo {
  readonly bytes: number;
  readonly name: string;
  make(buffer: ArrayBuffer): SupportedTypedArray;
  read(view: DataView, offset: number): number;
  write(view: DataView, offset: number, value: number): void;
}

const TAG_INFO: Record<TypedArrayTag, TagInfo> = {
  $f64: {
    bytes: 8,
    name: "Float64Array",
    make: (b) => new Float64Array(b),
    read: (v, o) => v.getFloat64(o, true),
    write: (v, o, x) => v.setFloat64(o, x, true),
  },
  $i32: {
    bytes: 4,
    name: "Int32Array",
    make: (b) => new Int32Array(b),
    read: (v, o) => v.getInt32(o, true),
    write: (v, o, x) => v.setInt32(o, x, true),
  },
  $u32: {
    bytes: 4,
    name: "Uint32Array",
    make: (b) => new Uint32Array(b),
    read: (v, o) => v.getUint32(o, true),
    write: (v, o, x) => v.setUint32(o, x, true),
  },
};

function tagOfTypedArray(v: object): TypedArrayTag | undefined {
  if (v instanceof Float64Array) return "$f64";
  if (v instanceof Int32Array) return "$i32";
  if (v instanceof Uint32Array) return "$u32";
  return undefined;
}

function typedArrayToBase64(arr: SupportedTypedArray, tag: TypedArrayTag): string {
  const bytes = new Uint8Array(arr.byteLength);
  if (LITTLE_ENDIAN_HOST) {
    // Copy the raw bytes: exact, NaN payloads included.
    bytes.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  } else {
    const info = TAG_INFO[tag];
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < arr.length; i++) info.write(view, i * info.bytes, arr[i]);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function base64ToTypedArray(s: unknown, tag: TypedArrayTag, path: string): SupportedTypedArray {
  const info = TAG_INFO[tag];
  if (typeof s !== "string") {
    throw new CanonicalError(`decodeValue: "${tag}" at ${showPath(path)} must hold a base64 string, got ${describe(s)}`, path);
  }
  if (s.length % 4 !== 0 || !BASE64.test(s)) {
    throw new CanonicalError(`decodeValue: "${tag}" at ${showPath(path)} is not valid base64`, path);
  }
  const raw = Buffer.from(s, "base64");
  if (raw.byteLength % info.bytes !== 0) {
    throw new CanonicalError(
      `decodeValue: "${tag}" at ${showPath(path)} has ${raw.byteLength} bytes, not a multiple of ${info.bytes}`,
      path,
    );
  }
  // Fresh, aligned buffer owned by the result.
  const buffer = new ArrayBuffer(raw.byteLength);
  const bytes = new Uint8Array(buffer);
  if (LITTLE_ENDIAN_HOST) {
    bytes.set(raw);
    return info.make(buffer);
  }
  const src = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = info.make(buffer);
  for (let i = 0; i < out.length; i++) out[i] = info.read(src, i * info.bytes);
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "object") {
    const ctor = (v as { constructor?: { name?: string } }).constructor;
    return ctor && typeof ctor.name === "string" && ctor.name !== "" ? `an instance of ${ctor.name}` : "an object";
  }
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "function") return "a function";
  return `${typeof v} ${String(v)}`;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Assign without triggering the `__proto__` setter. */
function setProp(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

function isTagKey(k: string): k is TypedArrayTag | typeof NUMBER_TAG {
  return k === "$f64" || k === "$i32" || k === "$u32" || k === NUMBER_TAG;
}

/** The tag of a single-key reserved object, if `v` is one. */
function reservedTag(v: object): TypedArrayTag | typeof NUMBER_TAG | undefined {
  const keys = Object.keys(v);
  if (keys.length === 1 && isTagKey(keys[0])) return keys[0];
  return undefined;
}

function encodeNonFinite(n: number): JsonObject {
  return { [NUMBER_TAG]: Number.isNaN(n) ? "NaN" : n > 0 ? "Infinity" : "-Infinity" };
}

function decodeNonFinite(s: unknown, path: string): number {
  if (s === "NaN") return NaN;
  if (s === "Infinity") return Infinity;
  if (s === "-Infinity") return -Infinity;
  throw new CanonicalError(
    `decodeValue: "${NUMBER_TAG}" at ${showPath(path)} must be "NaN", "Infinity" or "-Infinity", got ${describe(s)}`,
    path,
  );
}

// ---------------------------------------------------------------------------
// encode / decode

/**
 * Turn a state value into plain JSON (see the module comment for the tags).
 * Object properties whose value is `undefined` are left out (as in JSON);
 * `undefined` elsewhere, functions, symbols, bigints, cycles, other typed
 * arrays and instances of classes (Map, Date, Matrix, …) are rejected with a
 * `CanonicalError` naming the path.
 */
export function encodeValue(v: unknown, options: { deferFromBytes?: number } = {}): JsonValue {
  return encodeAt(v, "", new Set(), options.deferFromBytes ?? Infinity);
}

/**
 * A typed array's tag object whose base64 is made only while it is printed
 * or hashed, a piece at a time (encodeValue with `deferFromBytes`): encoding
 * a state then never holds the base64 of a whole sample pool at once. It
 * prints exactly as `{ [tag]: typedArrayToBase64(array) }` does.
 */
export class DeferredTag {
  constructor(
    readonly tag: TypedArrayTag,
    readonly array: SupportedTypedArray,
  ) {}
  /** Characters of the base64 payload. */
  get payloadLength(): number {
    return 4 * Math.ceil(this.array.byteLength / 3);
  }
  /** The payload in pieces of 1 MiB of base64 (each a whole number of 3-byte groups, so they join to the whole). */
  *pieces(): Generator<string> {
    const a = this.array;
    if (!LITTLE_ENDIAN_HOST) {
      yield typedArrayToBase64(a, this.tag);
      return;
    }
    const step = 3 << 18;
    for (let off = 0; off < a.byteLength; off += step) {
      yield Buffer.from(a.buffer, a.byteOffset + off, Math.min(step, a.byteLength - off)).toString("base64");
    }
  }
}

function encodeAt(v: unknown, path: string, stack: Set<object>, deferFrom: number): JsonValue {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return Number.isFinite(v) ? v : encodeNonFinite(v);
    case "undefined":
      throw new CanonicalError(`encodeValue: undefined at ${showPath(path)} (only object properties may be undefined; they are left out)`, path);
    case "bigint":
    case "symbol":
    case "function":
      throw new CanonicalError(`encodeValue: cannot encode ${describe(v)} at ${showPath(path)}`, path);
  }
  if (v === null) return null;
  const obj = v as object;
  const tag = tagOfTypedArray(obj);
  if (tag !== undefined) {
    if ((obj as SupportedTypedArray).byteLength >= deferFrom) return new DeferredTag(tag, obj as SupportedTypedArray) as unknown as JsonValue;
    const encoded = { [tag]: typedArrayToBase64(obj as SupportedTypedArray, tag) };
    encodedHere.add(encoded);
    return encoded;
  }
  if (ArrayBuffer.isView(obj)) {
    throw new CanonicalError(
      `encodeValue: unsupported typed array ${describe(obj).replace("an instance of ", "")} at ${showPath(path)}; ` +
        "supported are Float64Array, Int32Array and Uint32Array",
      path,
    );
  }
  if (stack.has(obj)) throw new CanonicalError(`encodeValue: cycle at ${showPath(path)}`, path);
  if (Array.isArray(obj)) {
    stack.add(obj);
    const out: JsonValue[] = new Array(obj.length);
    for (let i = 0; i < obj.length; i++) out[i] = encodeAt(obj[i], indexPath(path, i), stack, deferFrom);
    stack.delete(obj);
    return out;
  }
  if (!isPlainObject(obj)) {
    throw new CanonicalError(
      `encodeValue: cannot encode ${describe(obj)} at ${showPath(path)}; ` +
        "state values may hold only null, booleans, numbers, strings, plain arrays, plain objects, " +
        "Float64Array, Int32Array and Uint32Array",
      path,
    );
  }
  const reserved = reservedTag(obj);
  if (reserved !== undefined) {
    // Already-encoded tag object: check it is well formed, keep it as is.
    const payload = (obj as Record<string, unknown>)[reserved];
    try {
      if (reserved === NUMBER_TAG) decodeNonFinite(payload, path);
      else base64ToTypedArray(payload, reserved, path);
    } catch (e) {
      throw new CanonicalError(
        `encodeValue: the object at ${showPath(path)} has the single key "${reserved}", which is reserved for ` +
          `encoded values, but is not a valid encoding (${(e as Error).message}); rename the key`,
        path,
      );
    }
    return { [reserved]: payload as string };
  }
  stack.add(obj);
  const out: JsonObject = {};
  for (const k of Object.keys(obj)) {
    const x = (obj as Record<string, unknown>)[k];
    if (x === undefined) continue;
    setProp(out, k, encodeAt(x, keyPath(path, k), stack, deferFrom));
  }
  stack.delete(obj);
  return out;
}

/** Inverse of `encodeValue`; typed arrays come back as fresh, unshared arrays. */
export function decodeValue(json: JsonValue): unknown {
  return decodeAt(json, "");
}

function decodeAt(v: unknown, path: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return v;
  if (typeof v !== "object") {
    throw new CanonicalError(`decodeValue: not JSON: ${describe(v)} at ${showPath(path)}`, path);
  }
  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = decodeAt(v[i], indexPath(path, i));
    return out;
  }
  if (!isPlainObject(v)) {
    throw new CanonicalError(`decodeValue: not JSON: ${describe(v)} at ${showPath(path)}`, path);
  }
  const reserved = reservedTag(v);
  if (reserved !== undefined) {
    const payload = (v as Record<string, unknown>)[reserved];
    return reserved === NUMBER_TAG ? decodeNonFinite(payload, path) : base64ToTypedArray(payload, reserved, path);
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) setProp(out, k, decodeAt((v as Record<string, unknown>)[k], keyPath(path, k)));
  return out;
}

// ---------------------------------------------------------------------------
// canonical JSON and hashing

/**
 * JSON with object keys sorted at every level and no whitespace. Throws a
 * `CanonicalError` naming the path for non-finite numbers, `undefined`, and
 * anything that is not plain JSON (run `encodeValue` first).
 */
export function canonicalJson(v: JsonValue): string {
  const parts: string[] = [];
  printAt(v, "", { push: (...s: string[]) => void parts.push(...s), ascii: (s) => void parts.push(s) }, new Set());
  return parts.join("");
}

/** Where canonical JSON is printed to: pieces in order. */
interface Sink {
  push(...pieces: string[]): void;
  /** A piece known to be printable ASCII that JSON needs no escape for (a typed array's base64). */
  ascii(piece: string): void;
}

/** Tag objects encodeValue made from typed arrays: their payload is base64 (no escapes), by construction. */
const encodedHere = new WeakSet<object>();

/**
 * A typed array's tag object whose payload is known to be plain base64 (a
 * DeferredTag, or a tag object encodeValue made): its tag, the payload's
 * length and its pieces (in order; callable more than once). Null otherwise.
 */
function base64TagOf(v: object): { tag: TypedArrayTag; length: number; pieces: () => Iterable<string> } | null {
  if (v instanceof DeferredTag) return { tag: v.tag, length: v.payloadLength, pieces: () => v.pieces() };
  if (!encodedHere.has(v)) return null;
  const tag = reservedTag(v) as TypedArrayTag;
  const payload = (v as Record<string, string>)[tag];
  return { tag, length: payload.length, pieces: () => [payload] };
}

function printAt(v: unknown, path: string, out: Sink, stack: Set<object>): void {
  switch (typeof v) {
    case "string":
      out.push(JSON.stringify(v));
      return;
    case "boolean":
      out.push(v ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(v)) {
        throw new CanonicalError(
          `canonicalJson: non-finite number ${String(v)} at ${showPath(path)} (encode it with encodeValue, which writes {"$num": …})`,
          path,
        );
      }
      out.push(Object.is(v, -0) ? "-0" : String(v));
      return;
    case "object":
      break;
    default:
      throw new CanonicalError(`canonicalJson: not JSON: ${describe(v)} at ${showPath(path)}`, path);
  }
  if (v === null) {
    out.push("null");
    return;
  }
  if (stack.has(v)) throw new CanonicalError(`canonicalJson: cycle at ${showPath(path)}`, path);
  if (Array.isArray(v)) {
    stack.add(v);
    out.push("[");
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.push(",");
      printAt(v[i], indexPath(path, i), out, stack);
    }
    out.push("]");
    stack.delete(v);
    return;
  }
  // A typed array's tag object: its base64 payload goes out as it is (JSON.stringify would copy
  // hundreds of MB of a sample pool only to add the quotes).
  const base64 = base64TagOf(v);
  if (base64) {
    out.push(`{"${base64.tag}":"`);
    for (const piece of base64.pieces()) out.ascii(piece);
    out.push('"}');
    return;
  }
  if (!isPlainObject(v)) {
    throw new CanonicalError(
      `canonicalJson: not JSON: ${describe(v)} at ${showPath(path)} (run encodeValue first)`,
      path,
    );
  }
  stack.add(v);
  const keys = Object.keys(v).sort();
  out.push("{");
  let first = true;
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (!first) out.push(",");
    first = false;
    out.push(JSON.stringify(k), ":");
    printAt(x, keyPath(path, k), out, stack);
  }
  out.push("}");
  stack.delete(v);
}

/**
 * sha256Hex(canonicalJson(tagObject)) and the byte length of that text, for a
 * typed array's tag object, without building the text when encodeValue made
 * the object (its payload is plain base64); other objects go the long way.
 */
export function tagObjectDigest(v: JsonObject | DeferredTag): { hash: string; bytes: number; text: () => string } {
  const base64 = base64TagOf(v);
  if (base64) {
    const head = `{"${base64.tag}":"`;
    const hash = createHash("sha256").update(head);
    for (const piece of base64.pieces()) hash.update(piece, "latin1");
    return { hash: hash.update('"}').digest("hex"), bytes: head.length + base64.length + 2, text: () => head + [...base64.pieces()].join("") + '"}' };
  }
  const text = canonicalJson(v as JsonObject); // a DeferredTag always took the branch above
  return { hash: sha256Hex(text), bytes: Buffer.byteLength(text, "utf8"), text: () => text };
}

/** Hex SHA-256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(s: string | Uint8Array): string {
  return createHash("sha256").update(s).digest("hex");
}

/**
 * sha256Hex(canonicalJson(json)) without building the string: the pieces go
 * to the hash as they are printed, so a large state (a sample pool of
 * hundreds of MB) never exists as one string.
 */
export function digestOfEncoded(json: JsonValue): string {
  const hash = createHash("sha256");
  printAt(json, "", { push: (...s: string[]) => s.forEach((x) => hash.update(x)), ascii: (s) => void hash.update(s, "latin1") }, new Set());
  return hash.digest("hex");
}

/** sha256Hex(canonicalJson(encodeValue(v))): the content digest of a state value. */
export function digestOf(v: unknown): string {
  return digestOfEncoded(encodeValue(v));
}

// ---------------------------------------------------------------------------
// structural diff

export interface ValueChange {
  readonly path: string;
  /** `undefined`: the element or property was added. */
  readonly from: JsonValue | undefined;
  /** `undefined`: the element or property was removed. */
  readonly to: JsonValue | undefined;
}

/**
 * Structural diff of two JSON values, in document order (object keys sorted).
 * Objects are compared key by key and arrays element by element; a longer
 * array reports its extra elements as added (`from: undefined`), a shorter one
 * as removed (`to: undefined`). Encoded typed arrays of the same kind are
 * decoded and compared element-wise too (elements reported as numbers, with
 * non-finite ones as `{"$num": …}`), so a change reads `conditions[0].qpos[3]`.
 * Numbers compare with `Object.is` (so 0 ≠ -0, as in the digest). A change of
 * kind (object ↔ array ↔ number ↔ typed-array tag …) is reported once, at the
 * path where it happens. Identical values give `[]`.
 */
export function diffValues(a: JsonValue, b: JsonValue): ValueChange[] {
  const out: ValueChange[] = [];
  diffAt(a, b, "", out);
  return out;
}

type Kind = "null" | "boolean" | "number" | "string" | "array" | "object" | TypedArrayTag | typeof NUMBER_TAG;

function kindOf(v: JsonValue): Kind {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
      return "number";
    case "string":
      return "string";
  }
  return reservedTag(v as object) ?? "object";
}

function elementJson(n: number): JsonValue {
  return Number.isFinite(n) ? n : encodeNonFinite(n);
}

function diffAt(a: JsonValue, b: JsonValue, path: string, out: ValueChange[]): void {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) {
    out.push({ path, from: a, to: b });
    return;
  }
  switch (ka) {
    case "null":
      return;
    case "boolean":
    case "string":
      if (a !== b) out.push({ path, from: a, to: b });
      return;
    case "number":
      if (!Object.is(a, b)) out.push({ path, from: a, to: b });
      return;
    case NUMBER_TAG:
      if ((a as JsonObject)[NUMBER_TAG] !== (b as JsonObject)[NUMBER_TAG]) out.push({ path, from: a, to: b });
      return;
    case "array": {
      const xa = a as JsonValue[];
      const xb = b as JsonValue[];
      const n = Math.max(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const p = indexPath(path, i);
        if (i >= xa.length) out.push({ path: p, from: undefined, to: xb[i] });
        else if (i >= xb.length) out.push({ path: p, from: xa[i], to: undefined });
        else diffAt(xa[i], xb[i], p, out);
      }
      return;
    }
    case "object": {
      const oa = a as JsonObject;
      const ob = b as JsonObject;
      const keys = [...new Set([...Object.keys(oa), ...Object.keys(ob)])].sort();
      for (const k of keys) {
        const p = keyPath(path, k);
        const ha = Object.prototype.hasOwnProperty.call(oa, k);
        const hb = Object.prototype.hasOwnProperty.call(ob, k);
        if (!hb) out.push({ path: p, from: oa[k], to: undefined });
        else if (!ha) out.push({ path: p, from: undefined, to: ob[k] });
        else diffAt(oa[k], ob[k], p, out);
      }
      return;
    }
    default: {
      // Same typed-array tag.
      const sa = (a as JsonObject)[ka];
      const sb = (b as JsonObject)[ka];
      if (sa === sb) return;
      let ta: SupportedTypedArray;
      let tb: SupportedTypedArray;
      try {
        ta = base64ToTypedArray(sa, ka, path);
        tb = base64ToTypedArray(sb, ka, path);
      } catch {
        out.push({ path, from: a, to: b });
        return;
      }
      const n = Math.max(ta.length, tb.length);
      for (let i = 0; i < n; i++) {
        const p = indexPath(path, i);
        if (i >= ta.length) out.push({ path: p, from: undefined, to: elementJson(tb[i]) });
        else if (i >= tb.length) out.push({ path: p, from: elementJson(ta[i]), to: undefined });
        else if (!sameBits(ta, tb, i, ka)) out.push({ path: p, from: elementJson(ta[i]), to: elementJson(tb[i]) });
      }
    }
  }
}

/** Element equality matching the byte encoding (NaN = NaN, 0 ≠ -0). */
function sameBits(a: SupportedTypedArray, b: SupportedTypedArray, i: number, tag: TypedArrayTag): boolean {
  if (tag !== "$f64") return a[i] === b[i];
  return Object.is(a[i], b[i]);
}
