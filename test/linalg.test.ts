import { describe, it, expect } from "vitest";
import { CholeskyDecomposition, Matrix, inverse, solve } from "ml-matrix";
import {
  cholesky,
  choleskyInverse,
  choleskySolveMat,
  choleskySolveVec,
  matMul,
  matTMul,
  matTVec,
  matVec,
  symmetrize,
} from "../src/linalg/dense.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { randomMatrix, randomSpd } from "./helpers/linear-system.js";
import { relErrAtLeastUnit as relErr } from "./helpers/compare.js";

const toMatrix = (a: Float64Array, r: number, c: number, off = 0): Matrix => Matrix.from1DArray(r, c, Array.from(a.subarray(off, off + r * c)));


describe("dense linear algebra vs ml-matrix", () => {
  const sizes = [1, 2, 3, 6, 12, 18];

  it("Cholesky factor matches and is lower triangular", () => {
    const sampler = new Sampler(seedGenerator(11));
    for (const n of sizes) {
      const A = randomSpd(sampler, n, 0.1);
      const L = Float64Array.from(A);
      expect(cholesky(L, n)).toBe(true);
      const ref = new CholeskyDecomposition(toMatrix(A, n, n)).lowerTriangularMatrix.to1DArray();
      expect(relErr(L, ref)).toBeLessThan(1e-12);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(L[i * n + j]).toBe(0);
    }
  });

  it("Cholesky works at an offset and leaves the rest alone", () => {
    const sampler = new Sampler(seedGenerator(12));
    const n = 4;
    const A = randomSpd(sampler, n, 0.1);
    const buf = new Float64Array(3 + n * n + 2).fill(7);
    buf.set(A, 3);
    expect(cholesky(buf, n, 3)).toBe(true);
    const ref = new CholeskyDecomposition(toMatrix(A, n, n)).lowerTriangularMatrix.to1DArray();
    expect(relErr(buf.subarray(3, 3 + n * n), ref)).toBeLessThan(1e-12);
    expect(Array.from(buf.subarray(0, 3))).toEqual([7, 7, 7]);
    expect(Array.from(buf.subarray(3 + n * n))).toEqual([7, 7]);
  });

  it("Cholesky rejects indefinite and semidefinite matrices", () => {
    const indefinite = Float64Array.from([1, 2, 2, 1]);
    expect(cholesky(indefinite, 2)).toBe(false);
    const singular = Float64Array.from([1, 1, 1, 1]);
    expect(cholesky(singular, 2)).toBe(false);
    const negative = Float64Array.from([-1]);
    expect(cholesky(negative, 1)).toBe(false);
    const nan = Float64Array.from([NaN]);
    expect(cholesky(nan, 1)).toBe(false);
  });

  it("solves with one and many right-hand sides, and inverts", () => {
    const sampler = new Sampler(seedGenerator(13));
    for (const n of sizes) {
      const A = randomSpd(sampler, n, 0.1);
      const L = Float64Array.from(A);
      expect(cholesky(L, n)).toBe(true);
      const Am = toMatrix(A, n, n);

      const b = randomMatrix(sampler, n, 1);
      const x = Float64Array.from(b);
      choleskySolveVec(L, n, x);
      expect(relErr(x, solve(Am, toMatrix(b, n, 1)).to1DArray())).toBeLessThan(1e-10);

      const c = 3;
      const Bm = randomMatrix(sampler, n, c);
      const X = Float64Array.from(Bm);
      choleskySolveMat(L, n, X, c);
      expect(relErr(X, solve(Am, toMatrix(Bm, n, c)).to1DArray())).toBeLessThan(1e-10);

      const inv = new Float64Array(n * n);
      choleskyInverse(L, n, inv);
      expect(relErr(inv, inverse(Am).to1DArray())).toBeLessThan(1e-10);
    }
  });

  it("solves at offsets", () => {
    const sampler = new Sampler(seedGenerator(14));
    const n = 3;
    const A = randomSpd(sampler, n, 0.1);
    const Lbuf = new Float64Array(5 + n * n);
    Lbuf.set(A, 5);
    expect(cholesky(Lbuf, n, 5)).toBe(true);
    const b = randomMatrix(sampler, n, 1);
    const bbuf = new Float64Array(2 + n);
    bbuf.set(b, 2);
    choleskySolveVec(Lbuf, n, bbuf, 5, 2);
    expect(relErr(bbuf.subarray(2), solve(toMatrix(A, n, n), toMatrix(b, n, 1)).to1DArray())).toBeLessThan(1e-12);
    const inv = new Float64Array(4 + n * n);
    choleskyInverse(Lbuf, n, inv, 5, 4);
    expect(relErr(inv.subarray(4), inverse(toMatrix(A, n, n)).to1DArray())).toBeLessThan(1e-12);
  });

  it("matrix products match", () => {
    const sampler = new Sampler(seedGenerator(15));
    const [r, k, c] = [3, 5, 4];
    const A = randomMatrix(sampler, r, k);
    const B = randomMatrix(sampler, k, c);
    const out = new Float64Array(r * c);
    matMul(A, B, r, k, c, out);
    expect(relErr(out, toMatrix(A, r, k).mmul(toMatrix(B, k, c)).to1DArray())).toBeLessThan(1e-14);

    const At = randomMatrix(sampler, k, r); // k×r, product Atᵀ·B is r×c
    matTMul(At, B, k, r, c, out);
    expect(relErr(out, toMatrix(At, k, r).transpose().mmul(toMatrix(B, k, c)).to1DArray())).toBeLessThan(1e-14);

    const v = randomMatrix(sampler, k, 1);
    const y = new Float64Array(r);
    matVec(A, v, r, k, y);
    expect(relErr(y, toMatrix(A, r, k).mmul(toMatrix(v, k, 1)).to1DArray())).toBeLessThan(1e-14);

    const w = randomMatrix(sampler, r, 1);
    const z = new Float64Array(k);
    matTVec(A, w, r, k, z);
    expect(relErr(z, toMatrix(A, r, k).transpose().mmul(toMatrix(w, r, 1)).to1DArray())).toBeLessThan(1e-14);
  });

  it("symmetrize averages the two triangles", () => {
    const a = Float64Array.from([1, 2, 3, 4]);
    symmetrize(a, 2);
    expect(Array.from(a)).toEqual([1, 2.5, 2.5, 4]);
  });
});
