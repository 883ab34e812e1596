import { describe, expect, it } from "vitest";
import { Matrix, solve } from "ml-matrix";
import { minimizeLbfgs, type LbfgsResult, type Objective } from "../src/optim/lbfgs.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

function bitsOf(a: Float64Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Extended Rosenbrock (Moré, Garbow & Hillstrom): independent 2-D pairs; minimum 0 at all ones. */
const rosenbrock: Objective = (x, g) => {
  let f = 0;
  for (let i = 0; i < x.length; i += 2) {
    const a = x[i], b = x[i + 1];
    const t = b - a * a, u = 1 - a;
    f += 100 * t * t + u * u;
    g[i] = -400 * a * t - 2 * u;
    g[i + 1] = 200 * t;
  }
  return f;
};

function rosenbrockStart(n: number): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    x[i] = -1.2;
    x[i + 1] = 1;
  }
  return x;
}

/** A deterministic SPD matrix MᵀM/n + shift·I (row-major). */
function spd(sampler: Sampler, n: number, shift: number): Float64Array {
  const M = new Float64Array(n * n);
  for (let i = 0; i < M.length; i++) M[i] = sampler.normal();
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += M[p * n + i] * M[p * n + j];
      A[i * n + j] = s / n + (i === j ? shift : 0);
    }
  }
  return A;
}

describe("minimizeLbfgs", () => {
  it("minimizes 2-D Rosenbrock from (−1.2, 1) to (1, 1) within 1e-6 in < 100 iterations", () => {
    const x0 = new Float64Array([-1.2, 1]);
    const x0Copy = Float64Array.from(x0);
    const r = minimizeLbfgs(rosenbrock, x0, { maxIterations: 200, gradientTolerance: 1e-9 });
    expect(r.converged).toBe(true);
    expect(r.reason).toBe("gradient");
    expect(r.iterations).toBeLessThan(100);
    expect(maxAbsDiff(r.x, [1, 1])).toBeLessThan(1e-6);
    expect(r.f).toBeLessThan(1e-12);
    expect(r.gradientNorm).toBeLessThanOrEqual(1e-9);
    expect(bitsOf(x0)).toBe(bitsOf(x0Copy)); // x0 untouched
    expect(r.x).not.toBe(x0);
    console.log(`rosenbrock-2d: iterations=${r.iterations} evaluations=${r.evaluations} |x-1|∞=${maxAbsDiff(r.x, [1, 1]).toExponential(2)} f=${r.f.toExponential(2)}`);
  });

  it("minimizes 10-D extended Rosenbrock", () => {
    const n = 10;
    const r = minimizeLbfgs(rosenbrock, rosenbrockStart(n), { maxIterations: 500, gradientTolerance: 1e-9 });
    expect(r.converged).toBe(true);
    expect(maxAbsDiff(r.x, new Float64Array(n).fill(1))).toBeLessThan(1e-6);
    expect(r.iterations).toBeLessThan(200);
    console.log(`rosenbrock-10d: iterations=${r.iterations} evaluations=${r.evaluations} |x-1|∞=${maxAbsDiff(r.x, new Float64Array(n).fill(1)).toExponential(2)}`);
  });

  it("minimizes a 100-D extended Rosenbrock with a small memory", () => {
    const n = 100;
    const r = minimizeLbfgs(rosenbrock, rosenbrockStart(n), { maxIterations: 1000, memory: 5, gradientTolerance: 1e-9 });
    expect(r.converged).toBe(true);
    expect(maxAbsDiff(r.x, new Float64Array(n).fill(1))).toBeLessThan(1e-6);
    console.log(`rosenbrock-100d m=5: iterations=${r.iterations} evaluations=${r.evaluations}`);
  });

  it("solves a convex quadratic in ≤ n + 2 iterations with a near-exact line search", () => {
    const n = 8;
    const sampler = new Sampler(seedGenerator(7));
    const A = spd(sampler, n, 0.2);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) b[i] = sampler.normal();
    const quad: Objective = (x, g) => {
      let f = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
        g[i] = s - b[i];
        f += x[i] * (0.5 * s - b[i]);
      }
      return f;
    };
    const r = minimizeLbfgs(quad, new Float64Array(n), { maxIterations: 100, gradientTolerance: 1e-10, c2: 1e-3 });
    const xStar = solve(new Matrix(Array.from({ length: n }, (_, i) => Array.from(A.subarray(i * n, i * n + n)))), Matrix.columnVector(Array.from(b))).getColumn(0);
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThanOrEqual(n + 2);
    expect(maxAbsDiff(r.x, xStar)).toBeLessThan(1e-8);
    console.log(`quadratic n=${n}: iterations=${r.iterations} evaluations=${r.evaluations} err=${maxAbsDiff(r.x, xStar).toExponential(2)}`);
  });

  it("matches the closed-form weighted least-squares solution (AᵀWA)⁻¹AᵀWb to 1e-8", () => {
    const rows = 40, n = 6;
    const sampler = new Sampler(seedGenerator(2013));
    const A = new Float64Array(rows * n);
    for (let i = 0; i < A.length; i++) A[i] = sampler.normal();
    const w = new Float64Array(rows);
    const b = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      w[i] = 0.1 + 2 * sampler.uniform();
      b[i] = 3 * sampler.normal();
    }
    const res = new Float64Array(rows); // allocated once, outside the objective
    const wls: Objective = (x, g) => {
      let f = 0;
      for (let i = 0; i < rows; i++) {
        let s = -b[i];
        for (let j = 0; j < n; j++) s += A[i * n + j] * x[j];
        res[i] = w[i] * s;
        f += 0.5 * w[i] * s * s;
      }
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += A[i * n + j] * res[i];
        g[j] = s;
      }
      return f;
    };
    // ‖g‖∞ ≤ 1e-10 is reachable here (round-off floor ≈ 5e-12) and ample for 1e-8 in x.
    const r = minimizeLbfgs(wls, new Float64Array(n), { maxIterations: 200, gradientTolerance: 1e-10 });

    const Am = new Matrix(Array.from({ length: rows }, (_, i) => Array.from(A.subarray(i * n, i * n + n))));
    const W = Matrix.diag(Array.from(w));
    const AtW = Am.transpose().mmul(W);
    const xStar = solve(AtW.mmul(Am), AtW.mmul(Matrix.columnVector(Array.from(b)))).getColumn(0);
    expect(r.converged).toBe(true);
    expect(maxAbsDiff(r.x, xStar)).toBeLessThan(1e-8);
    console.log(`weighted least squares ${rows}x${n}: iterations=${r.iterations} evaluations=${r.evaluations} err=${maxAbsDiff(r.x, xStar).toExponential(2)}`);
  });

  it("is deterministic: two runs are bit-identical", () => {
    const run = (): LbfgsResult => minimizeLbfgs(rosenbrock, rosenbrockStart(10), { maxIterations: 300, memory: 4, gradientTolerance: 1e-9 });
    const a = run(), b = run();
    expect(bitsOf(a.x)).toBe(bitsOf(b.x));
    expect(Object.is(a.f, b.f)).toBe(true);
    expect(a.gradientNorm).toBe(b.gradientNorm);
    expect(a.iterations).toBe(b.iterations);
    expect(a.evaluations).toBe(b.evaluations);
    expect(bitsOf(a.memory.s)).toBe(bitsOf(b.memory.s));
    expect(bitsOf(a.memory.y)).toBe(bitsOf(b.memory.y));
  });

  describe("non-finite objective values", () => {
    // f = Σ (x_i − 2)² − μ Σ log(1 − x_i²): finite only on the open box (−1, 1)ⁿ,
    // minimizer inside near the boundary. The first trial step (length 1 along −g
    // from 0) leaves the box, so the line search must backtrack.
    const mu = 0.1;
    const n = 3;
    const target = [2, 1.5, -2];
    function barrier(outside: number): { objective: Objective; nonFinite: () => number } {
      let bad = 0;
      const objective: Objective = (x, g) => {
        let f = 0;
        for (let i = 0; i < n; i++) {
          const xi = x[i];
          const q = 1 - xi * xi;
          if (!(q > 0)) {
            bad++;
            g.fill(outside);
            return outside;
          }
          const t = xi - target[i];
          f += t * t - mu * Math.log(q);
          g[i] = 2 * t + (2 * mu * xi) / q;
        }
        return f;
      };
      return { objective, nonFinite: () => bad };
    }
    /** Per-coordinate stationary point, by bisection on the (monotone) derivative in (−1, 1). */
    function exactMinimizer(): number[] {
      return target.map((c) => {
        let lo = -1 + 1e-15, hi = 1 - 1e-15;
        for (let k = 0; k < 200; k++) {
          const mid = 0.5 * (lo + hi);
          const dv = 2 * (mid - c) + (2 * mu * mid) / (1 - mid * mid);
          if (dv > 0) hi = mid;
          else lo = mid;
        }
        return 0.5 * (lo + hi);
      });
    }

    for (const [label, outside] of [["NaN", NaN], ["+Infinity", Infinity]] as const) {
      it(`backtracks from trial steps returning ${label}`, () => {
        const { objective, nonFinite } = barrier(outside);
        const x0 = new Float64Array(n);
        const g0 = new Float64Array(n);
        const f0 = objective(x0, g0);
        const r = minimizeLbfgs(objective, x0, { maxIterations: 200, gradientTolerance: 1e-10 });
        expect(nonFinite()).toBeGreaterThan(0);
        expect(Number.isFinite(r.f)).toBe(true);
        expect(r.f).toBeLessThan(f0);
        expect(r.converged).toBe(true);
        expect(maxAbsDiff(r.x, exactMinimizer())).toBeLessThan(1e-9);
        console.log(`barrier (${label} outside): iterations=${r.iterations} evaluations=${r.evaluations} non-finite trials=${nonFinite()} err=${maxAbsDiff(r.x, exactMinimizer()).toExponential(2)}`);
      });
    }

    it("keeps x0 when every trial point is non-finite", () => {
      // Finite only at exactly x0 = 0: no step can be taken.
      const spike: Objective = (x, g) => {
        if (x[0] !== 0) return NaN;
        g[0] = 1;
        return 5;
      };
      const r = minimizeLbfgs(spike, new Float64Array(1), { maxIterations: 10 });
      expect(r.reason).toBe("lineSearch");
      expect(r.converged).toBe(false);
      expect(r.iterations).toBe(0);
      expect(r.f).toBe(5);
      expect(r.x[0]).toBe(0);
    });
  });

  it("never returns a point worse than x0 (wrong-sign gradient makes every step uphill)", () => {
    const wrong: Objective = (x, g) => {
      const f = rosenbrock(x, g);
      for (let i = 0; i < g.length; i++) g[i] = -g[i];
      return f;
    };
    const x0 = new Float64Array([-1.2, 1]);
    const f0 = rosenbrock(x0, new Float64Array(2));
    const r = minimizeLbfgs(wrong, x0, { maxIterations: 50 });
    expect(r.reason).toBe("lineSearch");
    expect(r.f).toBe(f0);
    expect(bitsOf(r.x)).toBe(bitsOf(x0));
  });

  it("respects maxIterations", () => {
    const x0 = new Float64Array([-1.2, 1]);
    const f0 = rosenbrock(x0, new Float64Array(2));
    const r = minimizeLbfgs(rosenbrock, x0, { maxIterations: 5 });
    expect(r.iterations).toBe(5);
    expect(r.reason).toBe("maxIterations");
    expect(r.converged).toBe(false);
    expect(r.f).toBeLessThan(f0);
    const g = new Float64Array(2);
    expect(rosenbrock(r.x, g)).toBe(r.f); // f reported at the returned x

    const r0 = minimizeLbfgs(rosenbrock, x0, { maxIterations: 0 });
    expect(r0.iterations).toBe(0);
    expect(r0.evaluations).toBe(1);
    expect(r0.reason).toBe("maxIterations");
    expect(bitsOf(r0.x)).toBe(bitsOf(x0));
  });

  it("stops on the relative function tolerance", () => {
    const r = minimizeLbfgs(rosenbrock, rosenbrockStart(10), { maxIterations: 500, gradientTolerance: 0, relativeFunctionTolerance: 1e-8 });
    expect(r.reason).toBe("function");
    expect(r.converged).toBe(true);
    expect(r.f).toBeLessThan(1e-6);
  });

  it("returns immediately when x0 already satisfies the gradient tolerance", () => {
    const r = minimizeLbfgs(rosenbrock, new Float64Array([1, 1]), { maxIterations: 10 });
    expect(r.reason).toBe("gradient");
    expect(r.iterations).toBe(0);
    expect(r.evaluations).toBe(1);
  });

  it("warm-starts from a previous run's curvature memory", () => {
    const n = 10;
    const first = minimizeLbfgs(rosenbrock, rosenbrockStart(n), { maxIterations: 25 });
    expect(first.memory.count).toBe(10);
    expect(first.memory.s.length).toBe(10 * n);
    const resumed = minimizeLbfgs(rosenbrock, first.x, { maxIterations: 500, gradientTolerance: 1e-9, initialMemory: first.memory });
    expect(resumed.converged).toBe(true);
    expect(maxAbsDiff(resumed.x, new Float64Array(n).fill(1))).toBeLessThan(1e-6);
  });

  it("rejects invalid options and a non-finite start", () => {
    const x0 = new Float64Array([0, 0]);
    expect(() => minimizeLbfgs(rosenbrock, x0, { maxIterations: -1 })).toThrow(RangeError);
    expect(() => minimizeLbfgs(rosenbrock, x0, { maxIterations: 10, memory: 0 })).toThrow(RangeError);
    expect(() => minimizeLbfgs(rosenbrock, x0, { maxIterations: 10, c1: 0.5, c2: 0.1 })).toThrow(RangeError);
    expect(() => minimizeLbfgs(() => NaN, x0, { maxIterations: 10 })).toThrow(RangeError);
  });
});

describe("minimizeLbfgs: where the evaluations go, and the backtracking line search", () => {
  it("accounts for every evaluation: 1 at x0, one first trial per accepted step, the extra trials, the failed searches; history holds f per step", () => {
    let calls = 0;
    const counted: Objective = (x, g) => {
      calls++;
      return rosenbrock(x, g);
    };
    const r = minimizeLbfgs(counted, rosenbrockStart(10), { maxIterations: 60 });
    expect(r.evaluations).toBe(calls);
    expect(r.evaluations).toBe(1 + r.iterations + r.extraTrials + r.failedSearchEvaluations);
    expect(r.history).toHaveLength(r.iterations + 1);
    expect(r.history[r.iterations]).toBe(r.f);
    for (let k = 1; k < r.history.length; k++) expect(r.history[k]).toBeLessThan(r.history[k - 1]);
  });

  it("backtracking (sufficient decrease only, no curvature condition) also solves Rosenbrock and lowers f at every step", () => {
    const back = minimizeLbfgs(rosenbrock, rosenbrockStart(10), { maxIterations: 2000, gradientTolerance: 1e-8, lineSearch: "backtracking" });
    expect(back.reason).toBe("gradient");
    expect(maxAbsDiff(back.x, new Float64Array(10).fill(1))).toBeLessThan(1e-6);
    expect(back.evaluations).toBe(1 + back.iterations + back.extraTrials + back.failedSearchEvaluations);
    for (let k = 1; k < back.history.length; k++) expect(back.history[k]).toBeLessThan(back.history[k - 1]);
  });
});
