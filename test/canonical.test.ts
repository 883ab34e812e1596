import { describe, expect, it } from "vitest";
import {
  CanonicalError,
  canonicalJson,
  decodeValue,
  diffValues,
  digestOf,
  DeferredTag,
  digestOfEncoded,
  encodeValue,
  sha256Hex,
  tagObjectDigest,
  type JsonObject,
  type JsonValue,
} from "../src/runtime/canonical.js";

function bitsOf(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

describe("encodeValue / decodeValue", () => {
  it("round-trips Float64Array bit-exactly, including -0, NaN, ±Inf and subnormals", () => {
    const values = [0, -0, NaN, Infinity, -Infinity, 1e-310, -5e-324, Number.MIN_VALUE, Number.MAX_VALUE, 0.1, -1 / 3, 2 ** 53 + 2];
    const a = new Float64Array(values);
    // A NaN with a non-default payload survives too.
    new DataView(a.buffer).setUint32(2 * 8 + 0, 0xdeadbeef, true);
    const enc = encodeValue({ a });
    expect(enc).toEqual({ a: { $f64: expect.any(String) } });
    const text = canonicalJson(enc);
    const back = decodeValue(JSON.parse(text) as JsonValue) as { a: Float64Array };
    expect(back.a).toBeInstanceOf(Float64Array);
    expect(back.a).not.toBe(a);
    expect(back.a.length).toBe(values.length);
    expect(bitsOf(back.a)).toBe(bitsOf(a));
    expect(Object.is(back.a[1], -0)).toBe(true);
    expect(Number.isNaN(back.a[2])).toBe(true);
    expect(back.a[5]).toBe(1e-310);
    expect(back.a[6]).toBe(-5e-324);
  });

  it("encodes little-endian bytes as base64", () => {
    expect(encodeValue(new Float64Array([1]))).toEqual({ $f64: Buffer.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]).toString("base64") });
    expect(encodeValue(new Int32Array([-2]))).toEqual({ $i32: Buffer.from([0xfe, 0xff, 0xff, 0xff]).toString("base64") });
    expect(encodeValue(new Uint32Array([1]))).toEqual({ $u32: Buffer.from([1, 0, 0, 0]).toString("base64") });
    expect(encodeValue(new Float64Array(0))).toEqual({ $f64: "" });
  });

  it("handles subarray views (only the viewed bytes) and returns fresh, aligned arrays", () => {
    const big = new Float64Array([1, 2, 3, 4, 5]);
    const view = big.subarray(1, 3);
    const back = decodeValue(encodeValue(view)) as Float64Array;
    expect([...back]).toEqual([2, 3]);
    expect(back.byteOffset).toBe(0);
    expect(back.buffer.byteLength).toBe(16);
  });

  it("round-trips Int32Array, Uint32Array and nested plain structures", () => {
    const v = {
      name: "swimmer",
      n: -0,
      flags: [true, false, null],
      nested: { i: new Int32Array([-1, 2 ** 31 - 1, -(2 ** 31)]), u: new Uint32Array([0, 2 ** 32 - 1]) },
      list: [{ x: new Float64Array([1.5]) }, []],
      scalars: [NaN, Infinity, -Infinity],
      skipped: undefined,
    };
    const enc = encodeValue(v);
    const back = decodeValue(JSON.parse(canonicalJson(enc)) as JsonValue) as typeof v;
    expect(back.name).toBe("swimmer");
    expect(Object.is(back.n, -0)).toBe(true);
    expect(back.flags).toEqual([true, false, null]);
    expect(back.nested.i).toBeInstanceOf(Int32Array);
    expect([...back.nested.i]).toEqual([-1, 2 ** 31 - 1, -(2 ** 31)]);
    expect(back.nested.u).toBeInstanceOf(Uint32Array);
    expect([...back.nested.u]).toEqual([0, 2 ** 32 - 1]);
    expect([...(back.list[0] as { x: Float64Array }).x]).toEqual([1.5]);
    expect(back.scalars).toEqual([NaN, Infinity, -Infinity]);
    expect("skipped" in back).toBe(false);
  });

  it("is idempotent, so a value and its encoding have the same digest", () => {
    const v = { a: new Float64Array([1, -0, NaN]), b: [Infinity] };
    expect(encodeValue(encodeValue(v))).toEqual(encodeValue(v));
    expect(digestOf(encodeValue(v))).toBe(digestOf(v));
  });

  it("rejects class instances, unsupported typed arrays and other non-values with the path", () => {
    class Matrix {
      rows = 2;
    }
    expect(() => encodeValue({ task: { m: new Matrix() } })).toThrow(/instance of Matrix at task\.m/);
    expect(() => encodeValue([new Map()])).toThrow(/Map at \[0\]/);
    expect(() => encodeValue({ d: new Date(0) })).toThrow(CanonicalError);
    expect(() => encodeValue({ f: new Float32Array(2) })).toThrow(/unsupported typed array Float32Array at f/);
    expect(() => encodeValue({ f: () => 1 })).toThrow(/function at f/);
    expect(() => encodeValue([undefined])).toThrow(/undefined at \[0\]/);
    expect(() => encodeValue(10n)).toThrow(CanonicalError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(() => encodeValue(cyc)).toThrow(/cycle at self/);
    // A user object that looks like a tag but is not a valid one.
    expect(() => encodeValue({ x: { $f64: 3 } })).toThrow(/reserved/);
  });

  it("rejects malformed tags on decode", () => {
    expect(() => decodeValue({ $f64: "AAAA" })).toThrow(/not a multiple of 8/);
    expect(() => decodeValue({ a: [{ $i32: "!!!!" }] })).toThrow(/a\[0\].*not valid base64/);
    expect(() => decodeValue({ $num: "nan" })).toThrow(CanonicalError);
  });

  it("keeps shared (non-cyclic) references", () => {
    const shared = new Float64Array([1, 2]);
    const back = decodeValue(encodeValue({ a: shared, b: shared })) as { a: Float64Array; b: Float64Array };
    expect([...back.a]).toEqual([1, 2]);
    expect([...back.b]).toEqual([1, 2]);
  });
});

describe("canonicalJson", () => {
  it("sorts keys recursively and has no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x y" } })).toBe('{"a":{"c":"x y","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it("gives the same text and hash regardless of key insertion order", () => {
    const a = { task: { horizon: 100, name: "swimmer" }, seed: 7, pipeline: [{ kind: "x", times: 3 }] };
    const b = { pipeline: [{ times: 3, kind: "x" }], seed: 7, task: { name: "swimmer", horizon: 100 } };
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(digestOf(b)).toBe(digestOf(a));
    expect(digestOf({ ...a, seed: 8 })).not.toBe(digestOf(a));
  });

  it("round-trips numbers exactly, including -0 and subnormals", () => {
    const nums = [0, -0, 1e-310, 5e-324, 0.1, 1 / 3, -1e300, 2 ** 53 + 2, 123456789.125];
    const back = JSON.parse(canonicalJson(nums)) as number[];
    nums.forEach((n, i) => expect(Object.is(back[i], n)).toBe(true));
    expect(canonicalJson(-0)).toBe("-0");
  });

  it("throws on non-finite numbers naming the path", () => {
    expect(() => canonicalJson({ task: { costs: [1, NaN] } })).toThrow(/NaN at task\.costs\[1\]/);
    expect(() => canonicalJson({ x: Infinity })).toThrow(/Infinity at x/);
    expect(() => canonicalJson({ "odd key": [-Infinity] })).toThrow(/\["odd key"\]\[0\]/);
  });

  it("rejects non-JSON values (typed arrays must be encoded first)", () => {
    expect(() => canonicalJson({ a: new Float64Array(1) } as unknown as JsonValue)).toThrow(/encodeValue/);
    expect(() => canonicalJson({ a: undefined } as unknown as JsonValue)).toThrow(/undefined at a/);
  });

  it("escapes strings like JSON and handles a __proto__ key", () => {
    const v = JSON.parse('{"__proto__":{"x":1},"s":"q\\"\\n\\u2028é"}') as JsonValue;
    const text = canonicalJson(v);
    expect(JSON.parse(text)).toEqual(v);
    expect(canonicalJson(encodeValue(v))).toBe(text);
    expect(Object.getPrototypeOf(encodeValue(v))).toBe(Object.prototype);
  });
});

describe("sha256Hex / digestOf", () => {
  it("hashes strings as UTF-8 and bytes as given", () => {
    expect(sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(sha256Hex("abc"));
  });

  it("distinguishes 0 from -0 and typed arrays from plain arrays", () => {
    expect(digestOf(new Float64Array([0]))).not.toBe(digestOf(new Float64Array([-0])));
    expect(digestOf([1, 2])).not.toBe(digestOf(new Float64Array([1, 2])));
    expect(digestOf({ a: new Float64Array([1, 2]) })).toBe(digestOf({ a: new Float64Array([1, 2]) }));
  });
});

describe("diffValues", () => {
  it("returns [] for identical values", () => {
    const v = encodeValue({ a: [1, { b: new Float64Array([NaN, -0]) }], c: null });
    expect(diffValues(v, JSON.parse(canonicalJson(v)) as JsonValue)).toEqual([]);
  });

  it("names nested paths", () => {
    const a: JsonValue = { task: { horizon: 100, name: "swimmer" }, pipeline: [{ kind: "a" }, { kind: "b" }, { kind: "repeat", times: 10 }] };
    const b: JsonValue = { task: { horizon: 120, name: "swimmer" }, pipeline: [{ kind: "a" }, { kind: "b" }, { kind: "repeat", times: 20 }] };
    expect(diffValues(a, b)).toEqual([
      { path: "pipeline[2].times", from: 10, to: 20 },
      { path: "task.horizon", from: 100, to: 120 },
    ]);
  });

  it("compares encoded typed arrays element-wise", () => {
    const a = encodeValue({ conditions: [{ qpos: new Float64Array([0, 1, 2, 3]) }] });
    const b = encodeValue({ conditions: [{ qpos: new Float64Array([0, 1, 2, 3.5]) }] });
    expect(diffValues(a, b)).toEqual([{ path: "conditions[0].qpos[3]", from: 3, to: 3.5 }]);
    const c = encodeValue({ q: new Float64Array([1, NaN]) });
    const d = encodeValue({ q: new Float64Array([1, Infinity, 4]) });
    expect(diffValues(c, d)).toEqual([
      { path: "q[1]", from: { $num: "NaN" }, to: { $num: "Infinity" } },
      { path: "q[2]", from: undefined, to: 4 },
    ]);
  });

  it("reports array length changes as added/removed elements", () => {
    expect(diffValues([1, 2, 3], [1, 2])).toEqual([{ path: "[2]", from: 3, to: undefined }]);
    expect(diffValues({ xs: [1] }, { xs: [1, { y: 2 }, 3] })).toEqual([
      { path: "xs[1]", from: undefined, to: { y: 2 } },
      { path: "xs[2]", from: undefined, to: 3 },
    ]);
  });

  it("reports added/removed keys and kind changes once", () => {
    expect(diffValues({ a: 1, b: { c: 1 } }, { b: [1], d: "x" })).toEqual([
      { path: "a", from: 1, to: undefined },
      { path: "b", from: { c: 1 }, to: [1] },
      { path: "d", from: undefined, to: "x" },
    ]);
    expect(diffValues(0, -0)).toEqual([{ path: "", from: 0, to: -0 }]);
    expect(diffValues({ "a b": 1 }, { "a b": 2 })).toEqual([{ path: '["a b"]', from: 1, to: 2 }]);
    const f = encodeValue(new Float64Array([1]));
    const i = encodeValue(new Int32Array([1]));
    expect(diffValues({ v: f }, { v: i })).toEqual([{ path: "v", from: f, to: i }]);
  });
});

describe("digests of large states", () => {
  it("the streamed digest, the fast path for encoded typed arrays and a blob's digest equal the plain canonical JSON's", () => {
    const big = new Float64Array(300_000).map((_, i) => Math.sin(i) * 1e3);
    const state = { pool: [{ xs: big, us: new Int32Array([1, -2, 3]), label: "λ \"quoted\"" }], n: -0, w: [Infinity, 1e-300] };
    const encoded = encodeValue(state);
    // A copy is not an object encodeValue made: it goes the general way.
    const copy = structuredClone(encoded);
    const text = canonicalJson(encoded);
    expect(canonicalJson(copy)).toBe(text);
    expect(digestOfEncoded(encoded)).toBe(sha256Hex(text));
    expect(digestOf(state)).toBe(sha256Hex(text));
    const tagged = (encoded as { pool: { xs: JsonObject }[] }).pool[0].xs;
    const fast = tagObjectDigest(tagged);
    const slow = tagObjectDigest((copy as { pool: { xs: JsonObject }[] }).pool[0].xs);
    expect(fast.hash).toBe(sha256Hex(canonicalJson(tagged)));
    expect(slow.hash).toBe(fast.hash);
    expect(fast.bytes).toBe(Buffer.byteLength(canonicalJson(tagged)));
    expect(fast.text()).toBe(canonicalJson(tagged));
    // Deferred: the large arrays' base64 made a piece at a time while printing and hashing.
    const deferred = encodeValue(state, { deferFromBytes: 1000 });
    expect((deferred as { pool: unknown[] }).pool[0]).toMatchObject({ xs: expect.any(DeferredTag) });
    expect(canonicalJson(deferred)).toBe(text);
    expect(digestOfEncoded(deferred)).toBe(sha256Hex(text));
    const d = tagObjectDigest((deferred as unknown as { pool: { xs: DeferredTag }[] }).pool[0].xs);
    expect([d.hash, d.bytes, d.text()]).toEqual([fast.hash, fast.bytes, fast.text()]);
  });
});
