import { describe, it, expect } from "vitest";
import { EigenvalueDecomposition, Matrix, determinant, inverse } from "ml-matrix";
import { cholesky } from "../src/linalg/dense.js";
import { eigenWorkspace, symmetricEigen } from "../src/linalg/eigen.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import {
  conditionalCovarianceRoot,
  conditionalCovarianceTarget,
  conditionalCovarianceWorkspace,
  gaussianKl,
  gaussianKlWorkspace,
  logDetSpd,
  solveConditionalCovariance,
} from "../src/trajopt/cgps-math.js";
import { randomMatrix, randomSpd } from "./helpers/linear-system.js";

const toMatrix = (a: Float64Array, r: number, c: number): Matrix => Matrix.from1DArray(r, c, Array.from(a.subarray(0, r * c)));
const fromMatrix = (A: Matrix): Float64Array => Float64Array.from(A.to1DArray());
const frob = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
};
const diffFrob = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
};

/** Random symmetric n×n with entries ~ N(0, 1). */
function randomSymmetric(s: Sampler, n: number): Float64Array {
  const a = randomMatrix(s, n, n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[j * n + i] = a[i * n + j];
  return a;
}

/** G Gᵀ / r with G m×r: symmetric PSD of rank min(m, r). */
function randomPsd(s: Sampler, m: number, r: number, scale = 1): Float64Array {
  const G = randomMatrix(s, m, r);
  const M = new Float64Array(m * m);
  for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    let v = 0;
    for (let p = 0; p < r; p++) v += G[i * r + p] * G[j * r + p];
    M[i * m + j] = (scale * v) / Math.max(r, 1);
  }
  return M;
}

function isPd(a: Float64Array, n: number): boolean {
  const c = Float64Array.from(a);
  return cholesky(c, n);
}

function asymmetry(a: Float64Array, n: number): number {
  let e = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) e = Math.max(e, Math.abs(a[i * n + j] - a[j * n + i]));
  return e;
}

/** ‖A Q A + (λ − 1) A − λ M‖_F and the scale ‖A‖‖Q‖‖A‖ + |λ − 1|‖A‖ + λ‖M‖ it is measured against. */
function residual(A: Float64Array, Q: Float64Array, M: Float64Array, lambda: number, m: number): { res: number; scale: number } {
  const Am = toMatrix(A, m, m);
  const R = Am.mmul(toMatrix(Q, m, m)).mmul(Am).add(Am.clone().mul(lambda - 1)).sub(toMatrix(M, m, m).mul(lambda));
  const nA = frob(A);
  return { res: frob(R.to1DArray()), scale: nA * frob(Q) * nA + Math.abs(lambda - 1) * nA + lambda * frob(M) };
}

describe("symmetricEigen (cyclic Jacobi)", () => {
  const check = (a: Float64Array, n: number): { rec: number; orth: number } => {
    const vals = new Float64Array(n);
    const V = new Float64Array(n * n);
    const copy = Float64Array.from(a);
    symmetricEigen(a, n, vals, V, eigenWorkspace(n));
    expect(Array.from(a)).toEqual(Array.from(copy)); // input untouched
    for (let i = 1; i < n; i++) expect(vals[i]).toBeGreaterThanOrEqual(vals[i - 1]);
    const Vm = toMatrix(V, n, n);
    const rec = Vm.mmul(Matrix.diag(Array.from(vals))).mmul(Vm.transpose());
    const scale = Math.max(frob(a), Number.MIN_VALUE);
    const recErr = diffFrob(rec.to1DArray(), a) / scale;
    const orthErr = diffFrob(Vm.transpose().mmul(Vm).to1DArray(), Matrix.eye(n).to1DArray());
    expect(recErr).toBeLessThanOrEqual(1e-12);
    expect(orthErr).toBeLessThanOrEqual(1e-12);
    return { rec: recErr, orth: orthErr };
  };

  it("reconstructs random symmetric matrices with an orthonormal V, eigenvalues sorted and matching ml-matrix", () => {
    const s = new Sampler(seedGenerator(11));
    for (const n of [1, 2, 3, 4, 6, 10, 20]) {
      for (let rep = 0; rep < 5; rep++) {
        const a = randomSymmetric(s, n);
        check(a, n);
        const vals = new Float64Array(n);
        symmetricEigen(a, n, vals, new Float64Array(n * n));
        const ref = new EigenvalueDecomposition(toMatrix(a, n, n), { assumeSymmetric: true }).realEigenvalues.slice().sort((x, y) => x - y);
        for (let i = 0; i < n; i++) expect(Math.abs(vals[i] - ref[i])).toBeLessThanOrEqual(1e-12 * Math.max(1, frob(a)));
      }
    }
  });

  it("handles diagonal, zero, repeated, rank-deficient and badly scaled matrices", () => {
    const s = new Sampler(seedGenerator(12));
    check(new Float64Array([3, 0, 0, 0, -1, 0, 0, 0, 2]), 3);
    check(new Float64Array(16), 4);
    check(new Float64Array([0, 1, 1, 0]), 2);
    // Q diag(d) Qᵀ for a random orthogonal Q (from the Jacobi vectors of a random matrix).
    for (const d of [
      [1, 1, 2, 2, 2],
      [0, 0, 0, 1, 5],
      [1e-8, 1e-4, 1, 1e4, 1e8],
      [-3, 0, 0, 3, 3],
    ]) {
      const n = d.length;
      const Q = new Float64Array(n * n);
      symmetricEigen(randomSymmetric(s, n), n, new Float64Array(n), Q);
      const Qm = toMatrix(Q, n, n);
      const a = fromMatrix(Qm.mmul(Matrix.diag(d)).mmul(Qm.transpose()));
      const vals = new Float64Array(n);
      const V = new Float64Array(n * n);
      symmetricEigen(a, n, vals, V);
      const sorted = d.slice().sort((x, y) => x - y);
      for (let i = 0; i < n; i++) expect(Math.abs(vals[i] - sorted[i])).toBeLessThanOrEqual(1e-12 * Math.max(...d.map(Math.abs)));
      check(a, n);
    }
  });

  it("uses only the symmetric part and may overwrite its input when passed as work", () => {
    const s = new Sampler(seedGenerator(13));
    const n = 5;
    const a = randomMatrix(s, n, n);
    const sym = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sym[i * n + j] = 0.5 * (a[i * n + j] + a[j * n + i]);
    const v1 = new Float64Array(n);
    const v2 = new Float64Array(n);
    symmetricEigen(sym, n, v1, new Float64Array(n * n));
    symmetricEigen(a, n, v2, new Float64Array(n * n), a);
    expect(Array.from(v2)).toEqual(Array.from(v1));
  });
});

describe("conditionalCovarianceRoot", () => {
  it("is the positive root of b² + (λ − 1) b − λ n = 0, without cancellation for large λ", () => {
    for (const lambda of [0, 1e-3, 0.5, 1, 2, 100, 1e8])
      for (const n of [0, 1e-12, 1e-3, 1, 7, 1e6]) {
        const b = conditionalCovarianceRoot(n, lambda);
        expect(b).toBeGreaterThanOrEqual(0);
        const r = b * b + (lambda - 1) * b - lambda * n;
        expect(Math.abs(r)).toBeLessThanOrEqual(1e-14 * (b * b + Math.abs(lambda - 1) * b + lambda * n + 1e-300));
      }
    // λ ≫ 1, tiny n: b = λn/(λ−1) − b²/(λ−1) ≈ n (1 + 1/λ).
    const lambda = 1e8;
    const n = 1e-10;
    expect(Math.abs(conditionalCovarianceRoot(n, lambda) / (n * (1 + 1 / lambda)) - 1)).toBeLessThanOrEqual(1e-14);
    expect(conditionalCovarianceRoot(0, 0)).toBe(1);
    expect(conditionalCovarianceRoot(0, 3)).toBe(0);
    expect(conditionalCovarianceRoot(4, 1)).toBe(2); // λ = 1: b = sqrt(n)
  });
});

describe("solveConditionalCovariance (equation 8)", () => {
  const lambdas = [0, 0.1, 1, 3, 100];

  it("solves A Q A + (λ − 1) A − λ M = 0 with A symmetric positive definite", () => {
    const s = new Sampler(seedGenerator(21));
    let worst = 0;
    for (const m of [1, 2, 3, 6]) {
      const ws = conditionalCovarianceWorkspace(m);
      for (let rep = 0; rep < 10; rep++) {
        const Q = randomSpd(s, m, 0.1 + rep * 0.3);
        const M = randomPsd(s, m, m + 2, 0.5 + rep);
        const Qc = Float64Array.from(Q);
        const Mc = Float64Array.from(M);
        for (const lambda of lambdas) {
          const A = new Float64Array(m * m);
          expect(solveConditionalCovariance(Q, M, lambda, A, ws)).toBe(true);
          const { res, scale } = residual(A, Q, M, lambda, m);
          worst = Math.max(worst, res / scale);
          expect(res).toBeLessThanOrEqual(1e-9 * scale);
          expect(asymmetry(A, m)).toBe(0);
          expect(isPd(A, m)).toBe(true);
        }
        expect(Array.from(Q)).toEqual(Array.from(Qc));
        expect(Array.from(M)).toEqual(Array.from(Mc));
      }
    }
    expect(worst).toBeLessThanOrEqual(1e-13);
  });

  it("λ = 0 gives the max-entropy covariance Q_uu⁻¹", () => {
    const s = new Sampler(seedGenerator(22));
    for (const m of [1, 2, 3, 6]) {
      const ws = conditionalCovarianceWorkspace(m);
      const Q = randomSpd(s, m, 0.3);
      const M = randomPsd(s, m, m);
      const Qinv = fromMatrix(inverse(toMatrix(Q, m, m)));
      for (const lambda of [0, 1e-14]) {
        const A = new Float64Array(m * m);
        solveConditionalCovariance(Q, M, lambda, A, ws);
        expect(diffFrob(A, Qinv) / frob(Qinv)).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it("A → M as λ → ∞ when M is positive definite", () => {
    const s = new Sampler(seedGenerator(23));
    for (const m of [1, 2, 3, 6]) {
      const ws = conditionalCovarianceWorkspace(m);
      const Q = randomSpd(s, m, 0.5);
      const M = randomPsd(s, m, m + 3);
      const errs: number[] = [];
      for (const lambda of [1e1, 1e2, 1e3, 1e4, 1e6, 1e8]) {
        const A = new Float64Array(m * m);
        solveConditionalCovariance(Q, M, lambda, A, ws);
        errs.push(diffFrob(A, M) / frob(M));
      }
      for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
      expect(errs[3] / errs[2]).toBeLessThan(0.2); // error ~ 1/λ
      expect(errs[errs.length - 1]).toBeLessThanOrEqual(1e-7);
    }
  });

  it("is a stationary point of ½tr(Q A) − ½log|A| + (λ/2)(tr(A⁻¹M) + log|A|), the Lagrangian terms in A", () => {
    const s = new Sampler(seedGenerator(24));
    const m = 3;
    const Q = randomSpd(s, m, 0.5);
    const M = randomPsd(s, m, m + 1);
    const g = (A: Matrix, lambda: number): number =>
      0.5 * Q.reduce((acc, q, i) => acc + q * A.get(Math.floor(i / m), i % m), 0) -
      0.5 * Math.log(determinant(A)) +
      0.5 * lambda * (inverse(A).mmul(toMatrix(M, m, m)).trace() + Math.log(determinant(A)));
    for (const lambda of [0.1, 1, 3, 100]) {
      const A = new Float64Array(m * m);
      solveConditionalCovariance(Q, M, lambda, A, conditionalCovarianceWorkspace(m));
      const E = toMatrix(randomSymmetric(s, m), m, m);
      const h = 1e-5;
      const dd = (A0: Matrix): number => (g(A0.clone().add(E.clone().mul(h)), lambda) - g(A0.clone().sub(E.clone().mul(h)), lambda)) / (2 * h);
      const Am = toMatrix(A, m, m);
      const atSolution = Math.abs(dd(Am));
      const elsewhere = Math.abs(dd(Am.clone().mul(1.5)));
      expect(atSolution).toBeLessThanOrEqual(1e-6 * Math.max(1, elsewhere));
      expect(elsewhere).toBeGreaterThan(1e-3);
    }
  });

  it("floors b_i when M is singular and λ ≥ 1, keeping A positive definite", () => {
    const s = new Sampler(seedGenerator(25));
    for (const m of [2, 3, 6]) {
      const ws = conditionalCovarianceWorkspace(m);
      for (const rank of [0, 1, m - 1]) {
        const Q = randomSpd(s, m, 0.5);
        const M = randomPsd(s, m, rank);
        for (const lambda of [0.1, 0.5, 1, 3, 100]) {
          const A = new Float64Array(m * m);
          solveConditionalCovariance(Q, M, lambda, A, ws);
          expect(isPd(A, m)).toBe(true);
          // The floored directions leave a residual of about (λ − 1)·floor·max b (b² at λ = 1);
          // when M = 0 the exact root is A = 0, so measure against ‖Q⁻¹‖ (A at λ = 0) as well.
          const { res, scale } = residual(A, Q, M, lambda, m);
          const QinvNorm = frob(inverse(toMatrix(Q, m, m)).to1DArray());
          expect(res).toBeLessThanOrEqual(1e-9 * (scale + QinvNorm));
          if (rank === 0 && lambda >= 1) expect(frob(A)).toBeLessThanOrEqual(1e-11 * QinvNorm);
        }
      }
    }
  });

  it("returns false when Q_uu is not positive definite and rejects a bad λ", () => {
    const ws = conditionalCovarianceWorkspace(2);
    const A = new Float64Array([7, 7, 7, 7]);
    expect(solveConditionalCovariance(new Float64Array([1, 2, 2, 1]), new Float64Array([1, 0, 0, 1]), 1, A, ws)).toBe(false);
    expect(Array.from(A)).toEqual([7, 7, 7, 7]);
    const Q = new Float64Array([1, 0, 0, 1]);
    expect(() => solveConditionalCovariance(Q, Q, -1, A, ws)).toThrow(RangeError);
    expect(() => solveConditionalCovariance(Q, Q, Number.NaN, A, ws)).toThrow(RangeError);
    expect(() => solveConditionalCovariance(Q, Q, Infinity, A, ws)).toThrow(RangeError);
  });

  it("matches the scalar closed form when Q_uu = q I and M = μ I", () => {
    const m = 3;
    const q = 2.5;
    const mu = 0.7;
    const Q = fromMatrix(Matrix.eye(m).mul(q));
    const M = fromMatrix(Matrix.eye(m).mul(mu));
    for (const lambda of [0.1, 1, 3]) {
      const A = new Float64Array(m * m);
      solveConditionalCovariance(Q, M, lambda, A, conditionalCovarianceWorkspace(m));
      // q a² + (λ − 1) a − λ μ = 0.
      const a = ((1 - lambda) + Math.sqrt((lambda - 1) ** 2 + 4 * q * lambda * mu)) / (2 * q);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) expect(A[i * m + j]).toBeCloseTo(i === j ? a : 0, 14);
    }
  });
});

describe("conditionalCovarianceTarget", () => {
  it("matches Σ^π + (û − μ^π)(û − μ^π)ᵀ + (K − μ^π_x) S (K − μ^π_x)ᵀ", () => {
    const s = new Sampler(seedGenerator(31));
    for (const [m, n] of [[1, 1], [2, 10], [3, 12], [6, 18]] as const) {
      const SigmaPi = randomSpd(s, m, 0.1);
      const uHat = randomMatrix(s, m, 1);
      const muPi = randomMatrix(s, m, 1);
      const K = randomMatrix(s, m, n);
      const muPiX = randomMatrix(s, m, n);
      const S = randomSpd(s, n, 0.1);
      const Mout = new Float64Array(m * m);
      conditionalCovarianceTarget(SigmaPi, uHat, muPi, K, muPiX, S, m, n, Mout);
      const d = toMatrix(uHat, m, 1).sub(toMatrix(muPi, m, 1));
      const D = toMatrix(K, m, n).sub(toMatrix(muPiX, m, n));
      const ref = toMatrix(SigmaPi, m, m).add(d.mmul(d.transpose())).add(D.mmul(toMatrix(S, n, n)).mmul(D.transpose()));
      expect(diffFrob(Mout, ref.to1DArray()) / frob(ref.to1DArray())).toBeLessThanOrEqual(1e-14);
      expect(asymmetry(Mout, m)).toBe(0);
    }
  });
});

describe("gaussianKl", () => {
  const referenceKl = (mu1: Float64Array, S1: Float64Array, mu2: Float64Array, S2: Float64Array, m: number): number => {
    const S2inv = inverse(toMatrix(S2, m, m));
    const d = toMatrix(mu2, m, 1).sub(toMatrix(mu1, m, 1));
    return 0.5 * (S2inv.mmul(toMatrix(S1, m, m)).trace() + d.transpose().mmul(S2inv).mmul(d).get(0, 0) - m + Math.log(determinant(toMatrix(S2, m, m))) - Math.log(determinant(toMatrix(S1, m, m))));
  };

  it("is zero for identical Gaussians", () => {
    const s = new Sampler(seedGenerator(41));
    for (const m of [1, 2, 3, 6]) {
      const mu = randomMatrix(s, m, 1);
      const S = randomSpd(s, m, 0.2);
      expect(Math.abs(gaussianKl(mu, S, mu, S, m))).toBeLessThanOrEqual(1e-14);
    }
  });

  it("matches the ml-matrix reference formula (inverse, determinant)", () => {
    const s = new Sampler(seedGenerator(42));
    for (const m of [1, 2, 3, 6]) {
      const work = gaussianKlWorkspace(m);
      for (let rep = 0; rep < 10; rep++) {
        const mu1 = randomMatrix(s, m, 1);
        const mu2 = randomMatrix(s, m, 1, 0.5);
        const S1 = randomSpd(s, m, 0.1 + 0.2 * rep);
        const S2 = randomSpd(s, m, 0.1 + 0.1 * rep);
        const kl = gaussianKl(mu1, S1, mu2, S2, m, work);
        const ref = referenceKl(mu1, S1, mu2, S2, m);
        expect(kl).toBeGreaterThan(0);
        expect(Math.abs(kl - ref)).toBeLessThanOrEqual(1e-11 * Math.max(1, ref));
        expect(gaussianKl(mu1, S1, mu2, S2, m)).toBe(kl); // same with a fresh workspace
      }
    }
  });

  it("matches a Monte Carlo estimate E_{x∼N1}[log N1(x) − log N2(x)] for m = 2", () => {
    const s = new Sampler(seedGenerator(43));
    const m = 2;
    const mu1 = new Float64Array([0.3, -0.2]);
    const S1 = new Float64Array([1.0, 0.4, 0.4, 0.5]);
    const mu2 = new Float64Array([-0.1, 0.4]);
    const S2 = new Float64Array([0.8, -0.2, -0.2, 1.2]);
    const kl = gaussianKl(mu1, S1, mu2, S2, m);
    const logpdf = (x: [number, number], mu: Float64Array, S: Float64Array): number => {
      const det = S[0] * S[3] - S[1] * S[2];
      const d0 = x[0] - mu[0];
      const d1 = x[1] - mu[1];
      const q = (S[3] * d0 * d0 - 2 * S[1] * d0 * d1 + S[0] * d1 * d1) / det;
      return -0.5 * (q + Math.log(det) + 2 * Math.log(2 * Math.PI));
    };
    const l11 = Math.sqrt(S1[0]);
    const l21 = S1[2] / l11;
    const l22 = Math.sqrt(S1[3] - l21 * l21);
    const N = 200_000;
    let sum = 0;
    let sum2 = 0;
    for (let i = 0; i < N; i++) {
      const z0 = s.normal();
      const z1 = s.normal();
      const x: [number, number] = [mu1[0] + l11 * z0, mu1[1] + l21 * z0 + l22 * z1];
      const r = logpdf(x, mu1, S1) - logpdf(x, mu2, S2);
      sum += r;
      sum2 += r * r;
    }
    const mean = sum / N;
    const se = Math.sqrt((sum2 / N - mean * mean) / N);
    expect(Math.abs(mean - kl)).toBeLessThanOrEqual(4 * se);
    expect(se).toBeLessThan(0.01);
  });

  it("throws for a covariance that is not positive definite; logDetSpd matches ml-matrix", () => {
    const mu = new Float64Array(2);
    const good = new Float64Array([1, 0, 0, 1]);
    const bad = new Float64Array([1, 2, 2, 1]);
    expect(() => gaussianKl(mu, bad, mu, good, 2)).toThrow(RangeError);
    expect(() => gaussianKl(mu, good, mu, bad, 2)).toThrow(RangeError);
    expect(() => logDetSpd(bad, 2)).toThrow(RangeError);
    const s = new Sampler(seedGenerator(44));
    for (const n of [1, 3, 6]) {
      const a = randomSpd(s, n, 0.3);
      expect(Math.abs(logDetSpd(a, n) - Math.log(determinant(toMatrix(a, n, n))))).toBeLessThanOrEqual(1e-12);
    }
  });
});
