/**
 * src/trajopt/diagnostics.ts against closed forms: singular values and
 * eigenvalues from ml-matrix, powers of a known closed loop, the scalar and
 * matrix covariance recursions written out here, tabulated normal CDF values
 * and hand-made stacks.
 */
import { describe, expect, it } from "vitest";
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix, SingularValueDecomposition } from "ml-matrix";
import {
  closedLoop,
  jacobianJumps,
  median,
  normalCdf,
  outsideRangeShare,
  relativeDifferences,
  spectralNorm,
  spectralRadius,
  stateCovariances,
  windowAmplification,
} from "../src/trajopt/diagnostics.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { maxAbsDiff } from "./helpers/compare.js";

const mat = (a: ArrayLike<number>, r: number, c: number, off = 0): Matrix => Matrix.from1DArray(r, c, Array.from(a).slice(off, off + r * c));

function randomArray(s: Sampler, n: number, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => scale * s.normal());
}


/** Largest singular value by ml-matrix's SVD. */
function sigmaMax(M: Matrix): number {
  return Math.max(...new SingularValueDecomposition(M).diagonal);
}

/** max |λ| by ml-matrix's general eigen-decomposition. */
function radiusOf(M: Matrix): number {
  const e = new EigenvalueDecomposition(M, { assumeSymmetric: false });
  return Math.max(...e.realEigenvalues.map((re, i) => Math.hypot(re, e.imaginaryEigenvalues[i])));
}

describe("spectralNorm", () => {
  it("equals the largest singular value of random rectangular blocks, read at an offset", () => {
    const s = new Sampler(seedGenerator(11));
    for (const [r, c] of [
      [3, 5],
      [6, 18],
      [4, 4],
      [5, 2],
    ] as const) {
      const off = 7;
      const stack = randomArray(s, off + r * c + 3);
      const expected = sigmaMax(mat(stack, r, c, off));
      expect(Math.abs(spectralNorm(stack, r, c, off) - expected) / expected).toBeLessThan(1e-8);
    }
  });

  it("of diag(3, −5, 2) is 5, of a rank-one u vᵀ is |u||v|, of 0 is 0", () => {
    expect(spectralNorm(Float64Array.from([3, 0, 0, 0, -5, 0, 0, 0, 2]), 3, 3)).toBeCloseTo(5, 10);
    const u = [1, 2, 2]; // |u| = 3
    const v = [3, 4]; // |v| = 5
    const uv = Float64Array.from(u.flatMap((ui) => v.map((vj) => ui * vj)));
    expect(spectralNorm(uv, 3, 2)).toBeCloseTo(15, 10);
    expect(spectralNorm(new Float64Array(6), 2, 3)).toBe(0);
  });

  // A power iteration from (1, …, 1) would miss these: their top right singular vector is orthogonal to it.
  it("does not depend on the top singular vector being non-orthogonal to (1, …, 1)", () => {
    expect(spectralNorm(Float64Array.from([2, -2, 1, 1]), 2, 2)).toBeCloseTo(Math.sqrt(8), 8);
    expect(spectralNorm(Float64Array.from([1, -1]), 1, 2)).toBeCloseTo(Math.SQRT2, 8);
  });
});

describe("spectralRadius", () => {
  it("of a scaled rotation (complex pair) is the scale", () => {
    for (const [scale, theta] of [
      [1.3, 0.7],
      [0.45, 2.9],
    ]) {
      const c = Math.cos(theta);
      const sn = Math.sin(theta);
      const stack = Float64Array.from([9, 9, 9, scale * c, -scale * sn, scale * sn, scale * c]);
      expect(spectralRadius(stack, 2, 3)).toBeCloseTo(scale, 12);
    }
  });

  it("of a nonsymmetric triangular matrix is max |diagonal|", () => {
    const U = Float64Array.from([0.5, 3, 1, 7, 0, -1.5, 2, -4, 0, 0, 1.2, 5, 0, 0, 0, 0.3]);
    expect(spectralRadius(U, 4)).toBeCloseTo(1.5, 10);
    const L = Float64Array.from([0.2, 0, 0, 10, -0.9, 0, -3, 6, 0.6]);
    expect(spectralRadius(L, 3)).toBeCloseTo(0.9, 10);
  });

  it("agrees with ml-matrix on a random nonsymmetric block", () => {
    const s = new Sampler(seedGenerator(12));
    const M = randomArray(s, 25);
    expect(spectralRadius(M, 5)).toBeCloseTo(radiusOf(mat(M, 5, 5)), 10);
  });
});

describe("closedLoop and windowAmplification", () => {
  const nx = 3;
  const nu = 2;

  /** A_t = M − B_t K_t for random B_t, K_t, so that A_t + B_t K_t = M at every step. */
  function constantLoop(M: Float64Array, T: number, seed: number) {
    const s = new Sampler(seedGenerator(seed));
    const fx = new Float64Array(T * nx * nx);
    const fu = randomArray(s, T * nx * nu);
    const K = randomArray(s, T * nu * nx);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < nx; i++) {
        for (let j = 0; j < nx; j++) {
          let bk = 0;
          for (let a = 0; a < nu; a++) bk += fu[t * nx * nu + i * nu + a] * K[t * nu * nx + a * nx + j];
          fx[t * nx * nx + i * nx + j] = M[i * nx + j] - bk;
        }
      }
    }
    return { fx, fu, K };
  }

  it("closedLoop(t) is A_t + B_t K_t", () => {
    const s = new Sampler(seedGenerator(13));
    const T = 4;
    const fx = randomArray(s, T * nx * nx);
    const fu = randomArray(s, T * nx * nu);
    const K = randomArray(s, T * nu * nx);
    const out = new Float64Array(nx * nx);
    for (const t of [0, 2, 3]) {
      closedLoop(fx, fu, K, t, nx, nu, out);
      const expected = mat(fx, nx, nx, t * nx * nx).add(mat(fu, nx, nu, t * nx * nu).mmul(mat(K, nu, nx, t * nu * nx)));
      expect(maxAbsDiff(out, expected.to1DArray())).toBeLessThan(1e-13);
    }
  });

  it("of a constant expanding loop (radius 1.2) over 200 steps is 1.2^200, one value per window", () => {
    // Upper triangular with distinct diagonal: diagonalizable, radius 1.2, a contracting mode too.
    const M = Float64Array.from([1.2, 0.7, -0.4, 0, 0.9, 1.5, 0, 0, -0.5]);
    const T = 450; // two whole windows of 200; the last 50 steps are no window
    const { fx, fu, K } = constantLoop(M, T, 14);
    const amp = windowAmplification(fx, fu, K, T, nx, nu, 200);
    expect(amp).toHaveLength(2);
    for (const a of amp) expect(Math.abs(Math.log(a) - 200 * Math.log(1.2))).toBeLessThan(1e-9);
  });

  it("stays exact far beyond what an unscaled product would hold (3000 steps: 1.2^3000 ≈ 1.5e237)", () => {
    const M = Float64Array.from([1.2, 3, 2, 0, 1.1, -4, 0, 0, -0.7]);
    const T = 3000;
    const { fx, fu, K } = constantLoop(M, T, 15);
    const [a] = windowAmplification(fx, fu, K, T, nx, nu, T);
    expect(Number.isFinite(a)).toBe(true);
    expect(Math.abs(Math.log(a) - T * Math.log(1.2))).toBeLessThan(1e-9);
  });

  it("of a contracting loop (radius 0.9) over 200 steps is 0.9^200", () => {
    const M = Float64Array.from([0.9, -2, 0.3, 0, 0.5, 1, 0, 0, -0.3]);
    const T = 200;
    const { fx, fu, K } = constantLoop(M, T, 16);
    const [a] = windowAmplification(fx, fu, K, T, nx, nu, 200);
    expect(Math.abs(Math.log(a) - 200 * Math.log(0.9))).toBeLessThan(1e-8);
  });

  it("of a time-varying loop is the radius of the ordered product of the steps' closed loops", () => {
    const s = new Sampler(seedGenerator(17));
    const T = 6;
    const fx = randomArray(s, T * nx * nx, 0.6);
    const fu = randomArray(s, T * nx * nu, 0.4);
    const K = randomArray(s, T * nu * nx, 0.4);
    const window = 3;
    const amp = windowAmplification(fx, fu, K, T, nx, nu, window);
    expect(amp).toHaveLength(2);
    for (let w = 0; w < 2; w++) {
      let P = Matrix.eye(nx);
      for (let t = w * window; t < (w + 1) * window; t++) {
        const Mt = mat(fx, nx, nx, t * nx * nx).add(mat(fu, nx, nu, t * nx * nu).mmul(mat(K, nu, nx, t * nu * nx)));
        P = Mt.mmul(P);
      }
      const expected = radiusOf(P);
      expect(Math.abs(amp[w] - expected) / expected).toBeLessThan(1e-10);
    }
  });
});

describe("stateCovariances", () => {
  it("scalar x' = a x + b u, u = k x + ε: Σ' = (a+bk)²Σ + b²(s·c + m²) from Σ₀ = 0, time-varying", () => {
    const T = 7;
    const a = [1.1, 0.9, -0.4, 1.5, 0.2, 0.7, -1.2];
    const b = [0.5, -1, 2, 0.3, 1.2, -0.7, 0.9];
    const k = [-0.8, 0.1, 0.3, -2, 0.5, 0.4, 0.6];
    const c = [0.3, 1.2, 0.05, 2, 0.7, 0.01, 0.4];
    const m = 0.25;
    const args = (covScale: number, motor: Float64Array | null) =>
      stateCovariances(Float64Array.from(a), Float64Array.from(b), Float64Array.from(k), Float64Array.from(c), motor, T, 1, 1, covScale);
    for (const [covScale, motor] of [
      [1, m],
      [2.5, m],
      [0, m],
      [1, 0],
    ] as const) {
      const S = args(covScale, motor === 0 ? null : Float64Array.of(motor));
      expect(S).toHaveLength(T + 1);
      expect(S[0]).toBe(0);
      let sigma = 0;
      for (let t = 0; t < T; t++) {
        sigma = (a[t] + b[t] * k[t]) ** 2 * sigma + b[t] ** 2 * (covScale * c[t] + motor ** 2);
        expect(Math.abs(S[t + 1] - sigma)).toBeLessThan(1e-12 * Math.max(1, sigma));
      }
    }
  });

  it("scalar, constant stable loop: converges to the fixed point b²(c+m²)/(1 − (a+bk)²); covScale 0 leaves b²m²/(1 − (a+bk)²)", () => {
    const T = 400;
    const [a, b, k, c, m] = [1.3, 0.8, -1.1, 0.6, 0.3]; // a + bk = 0.42
    const fill = (v: number) => new Float64Array(T).fill(v);
    const rho2 = (a + b * k) ** 2;
    const S = stateCovariances(fill(a), fill(b), fill(k), fill(c), Float64Array.of(m), T, 1, 1);
    expect(S[T]).toBeCloseTo((b * b * (c + m * m)) / (1 - rho2), 12);
    const S0 = stateCovariances(fill(a), fill(b), fill(k), fill(c), Float64Array.of(m), T, 1, 1, 0);
    expect(S0[T]).toBeCloseTo((b * b * m * m) / (1 - rho2), 12);
    const Snone = stateCovariances(fill(a), fill(b), fill(k), fill(c), null, T, 1, 1, 0);
    expect(Array.from(Snone).every((v) => v === 0)).toBe(true);
  });

  const nx = 2;
  const nu = 2;
  const T = 12;
  function problem2d(seed: number) {
    const s = new Sampler(seedGenerator(seed));
    const fx = randomArray(s, T * nx * nx, 0.6);
    const fu = randomArray(s, T * nx * nu, 0.5);
    const K = randomArray(s, T * nu * nx, 0.4);
    const cov = new Float64Array(T * nu * nu);
    for (let t = 0; t < T; t++) {
      // Random SPD, with correlation between the two actions.
      const G = mat(randomArray(s, nu * nu), nu, nu);
      const C = G.mmul(G.transpose()).add(Matrix.eye(nu).mul(0.1));
      cov.set(C.to1DArray(), t * nu * nu);
    }
    const motor = Float64Array.of(0.3, 0.7);
    return { fx, fu, K, cov, motor };
  }

  it("2-D: the discrete Lyapunov recursion Σ' = MΣMᵀ + B(s·C + diag m²)Bᵀ, written out on ml-matrix", () => {
    const { fx, fu, K, cov, motor } = problem2d(21);
    for (const covScale of [1, 0, 3]) {
      const S = stateCovariances(fx, fu, K, cov, motor, T, nx, nu, covScale);
      expect(S).toHaveLength((T + 1) * nx * nx);
      let sigma = Matrix.zeros(nx, nx);
      expect(Array.from(S.subarray(0, nx * nx))).toEqual([0, 0, 0, 0]);
      for (let t = 0; t < T; t++) {
        const B = mat(fu, nx, nu, t * nx * nu);
        const M = mat(fx, nx, nx, t * nx * nx).add(B.mmul(mat(K, nu, nx, t * nu * nx)));
        const N = mat(cov, nu, nu, t * nu * nu).mul(covScale).add(Matrix.diag(Array.from(motor, (v) => v * v)));
        sigma = M.mmul(sigma).mmul(M.transpose()).add(B.mmul(N).mmul(B.transpose()));
        const got = S.subarray((t + 1) * nx * nx, (t + 2) * nx * nx);
        expect(maxAbsDiff(got, sigma.to1DArray())).toBeLessThan(1e-11 * Math.max(1, sigma.norm()));
        expect(got[1]).toBe(got[2]); // exactly symmetric
      }
    }
  });

  it("2-D: matches a seeded Monte Carlo estimate of the closed-loop state covariance", () => {
    const { fx, fu, K, cov, motor } = problem2d(22);
    const S = stateCovariances(fx, fu, K, cov, motor, T, nx, nu);
    const s = new Sampler(seedGenerator(23));
    const n = 20000;
    const chol = Array.from({ length: T }, (_, t) => new CholeskyDecomposition(mat(cov, nu, nu, t * nu * nu)).lowerTriangularMatrix);
    const acc = new Float64Array(nx * nx);
    const x = new Float64Array(nx);
    const u = new Float64Array(nu);
    for (let i = 0; i < n; i++) {
      x.fill(0);
      for (let t = 0; t < T; t++) {
        const z = [s.normal(), s.normal()];
        const L = chol[t];
        for (let a = 0; a < nu; a++) {
          let v = 0;
          for (let j = 0; j < nx; j++) v += K[t * nu * nx + a * nx + j] * x[j];
          for (let b = 0; b <= a; b++) v += L.get(a, b) * z[b];
          u[a] = v + motor[a] * s.normal();
        }
        const next = new Float64Array(nx);
        for (let r = 0; r < nx; r++) {
          let v = 0;
          for (let j = 0; j < nx; j++) v += fx[t * nx * nx + r * nx + j] * x[j];
          for (let a = 0; a < nu; a++) v += fu[t * nx * nu + r * nu + a] * u[a];
          next[r] = v;
        }
        x.set(next);
      }
      for (let r = 0; r < nx; r++) for (let c = 0; c < nx; c++) acc[r * nx + c] += (x[r] * x[c]) / n;
    }
    const last = S.subarray(T * nx * nx);
    // Sampling error of a covariance entry ~ √2·σ²/√n ≈ 1% here; allow 5% of the largest entry.
    const scale = Math.max(...Array.from(last, Math.abs));
    expect(maxAbsDiff(last, acc)).toBeLessThan(0.05 * scale);
  });
});

describe("normalCdf", () => {
  it("matches tabulated Φ within 2e-7 and is antisymmetric about ½", () => {
    const table: [number, number][] = [
      [0, 0.5],
      [1.96, 0.9750021048517795],
      [-1.96, 0.0249978951482205],
      [3, 0.9986501019683699],
      [-3, 0.0013498980316301],
      [1, 0.8413447460685429],
      [-0.5, 0.3085375387259869],
    ];
    for (const [z, p] of table) expect(Math.abs(normalCdf(z) - p)).toBeLessThan(2e-7);
    for (const z of [0.1, 0.8, 2.2, 4.5]) expect(normalCdf(z) + normalCdf(-z)).toBeCloseTo(1, 14);
    expect(normalCdf(40)).toBe(1);
    expect(normalCdf(-40)).toBe(0);
  });
});

describe("outsideRangeShare", () => {
  const one = (ubar: number, variance: number, lo: number, hi: number): number =>
    outsideRangeShare(Float64Array.of(ubar), Float64Array.of(variance), Float64Array.of(lo), Float64Array.of(hi), 1, 1);

  it("is ½ at a limit, ≈ 0 far inside, 1 for a point mass outside, 0 with infinite limits", () => {
    expect(one(200, 25, -200, 200)).toBeCloseTo(0.5, 7);
    expect(one(-200, 25, -200, 200)).toBeCloseTo(0.5, 7);
    expect(one(0, 25, -200, 200)).toBeLessThan(1e-12);
    expect(one(250, 0, -200, 200)).toBe(1);
    expect(one(-250, 0, -200, 200)).toBe(1);
    expect(one(200, 0, -200, 200)).toBe(0); // a point mass exactly at the limit is inside
    expect(one(0, 0, -200, 200)).toBe(0);
    expect(one(1e6, 25, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(0);
    expect(Math.abs(one(0, 1, -1.96, 1.96) - 2 * 0.0249978951482205)).toBeLessThan(5e-7); // two tails of Φ(−1.96)
  });

  it("averages P(outside) over steps and joints, with the diagonal of each step's covariance", () => {
    const T = 2;
    const nu = 3;
    const lo = Float64Array.of(-1, -2, Number.NEGATIVE_INFINITY);
    const hi = Float64Array.of(1, 2, 0);
    const ubar = Float64Array.of(1, 0, 0, 5, 2, -3);
    const cov = new Float64Array(T * nu * nu);
    const diag = [4, 1, 9, 0, 0.25, 1];
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < nu; j++) {
        cov[t * nu * nu + j * nu + j] = diag[t * nu + j];
        for (let i = 0; i < nu; i++) if (i !== j) cov[t * nu * nu + i * nu + j] = 0.1; // off-diagonals do not matter
      }
    }
    // Φ at −1, −2, 3 and −8 (tabulated; normalCdf may be off by 1.5e-7 in each).
    const [phiM1, phiM2, phi3, phiM8] = [0.15865525393145707, 0.022750131948179195, 0.9986501019683699, 6.22e-16];
    const perEntry = [
      phiM1 + 0.5, // step 0, joint 0: mean 1 at hi, sd 2: lo is 1 sd below
      2 * phiM2, // joint 1: limits at ±2 sd
      0.5, // joint 2: mean at hi = 0, no lower limit
      1, // step 1, joint 0: zero variance and 5 > 1
      phiM8 + 0.5, // joint 1: mean 2 at hi, sd 0.5: lo is 8 sd below
      1 - phi3, // joint 2: mean −3, sd 1: hi is 3 sd above
    ];
    const expected = perEntry.reduce((x, y) => x + y, 0) / (T * nu);
    expect(Math.abs(outsideRangeShare(ubar, cov, lo, hi, T, nu) - expected)).toBeLessThan(5e-7);
  });
});

describe("jacobianJumps, relativeDifferences, median", () => {
  it("jacobianJumps is ‖A_{t+1} − A_t‖_F / ‖A_t‖_F", () => {
    expect(Array.from(jacobianJumps(Float64Array.of(2, 3, 3), 3, 1))).toEqual([0.5, 0]);
    // A0 = I, A1 = I + [[0, 0.3], [0.4, 0]] (‖Δ‖ = 0.5), A2 = 2·A1.
    const A1 = [1, 0.3, 0.4, 1];
    const fx = Float64Array.from([1, 0, 0, 1, ...A1, ...A1.map((v) => 2 * v)]);
    const j = jacobianJumps(fx, 3, 2);
    expect(j).toHaveLength(2);
    expect(j[0]).toBeCloseTo(0.5 / Math.SQRT2, 14);
    expect(j[1]).toBeCloseTo(1, 14); // ‖2A − A‖ / ‖A‖
    expect(jacobianJumps(Float64Array.of(1, 0, 0, 1), 1, 2)).toHaveLength(0);
  });

  it("relativeDifferences is ‖X_t − Y_t‖_F / ‖Y_t‖_F per step", () => {
    const X = Float64Array.of(1, 1, 2, 0, 0, 0);
    const Y = Float64Array.of(1, 0, 2, 0, 3, 4);
    expect(Array.from(relativeDifferences(X, Y, 3, 2))).toEqual([1, 0, 1]);
  });

  it("median of the finite entries, NaN when there are none", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median(Float64Array.of(4, 1, 3, 2))).toBe(2.5);
    expect(median([Number.NaN, 5, Number.POSITIVE_INFINITY, 1, Number.NEGATIVE_INFINITY])).toBe(3);
    expect(median([Number.NaN])).toBeNaN();
    expect(median([])).toBeNaN();
  });
});
