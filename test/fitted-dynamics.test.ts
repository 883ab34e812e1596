/**
 * src/trajopt/fitted-dynamics.ts: regression of x_{t+1} = A_t x_t + B_t u_t + c_t
 * on sampled trajectories of known linear systems, where the answer is the
 * system itself.
 */
import { describe, expect, it } from "vitest";
import { fitLinearDynamics, stepScatters, type FitOptions } from "../src/trajopt/fitted-dynamics.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

interface System {
  readonly T: number;
  readonly nx: number;
  readonly nu: number;
  readonly A: Float64Array; // T·nx·nx
  readonly B: Float64Array; // T·nx·nu
  readonly c: Float64Array; // T·nx
}

function randomSystem(seed: number, T: number, nx: number, nu: number, timeInvariant: boolean): System {
  const s = new Sampler(seedGenerator(seed));
  const A = new Float64Array(T * nx * nx);
  const B = new Float64Array(T * nx * nu);
  const c = new Float64Array(T * nx);
  for (let t = 0; t < T; t++) {
    if (t === 0 || !timeInvariant) {
      for (let i = 0; i < nx * nx; i++) A[t * nx * nx + i] = (0.5 / Math.sqrt(nx)) * s.normal() + (i % (nx + 1) === 0 ? 0.8 : 0);
      for (let i = 0; i < nx * nu; i++) B[t * nx * nu + i] = s.normal();
    } else {
      A.copyWithin(t * nx * nx, 0, nx * nx);
      B.copyWithin(t * nx * nu, 0, nx * nu);
    }
    // The offset varies with t even for a "time-invariant" A, B: each step's scatter is about its own mean.
    for (let i = 0; i < nx; i++) c[t * nx + i] = 2 * s.normal();
  }
  return { T, nx, nu, A, B, c };
}

/** N rollouts with u ~ N(0, I), x0 ~ N(0, I) and transition noise N(0, noise² I); sample-major xs, us. */
function sample(sys: System, N: number, seed: number, noise = 0): { xs: Float64Array; us: Float64Array } {
  const { T, nx, nu, A, B, c } = sys;
  const s = new Sampler(seedGenerator(seed));
  const xs = new Float64Array(N * (T + 1) * nx);
  const us = new Float64Array(N * T * nu);
  for (let n = 0; n < N; n++) {
    const xo = n * (T + 1) * nx;
    const uo = n * T * nu;
    for (let i = 0; i < nx; i++) xs[xo + i] = s.normal();
    for (let t = 0; t < T; t++) {
      for (let a = 0; a < nu; a++) us[uo + t * nu + a] = s.normal();
      for (let i = 0; i < nx; i++) {
        let v = c[t * nx + i];
        for (let j = 0; j < nx; j++) v += A[t * nx * nx + i * nx + j] * xs[xo + t * nx + j];
        for (let a = 0; a < nu; a++) v += B[t * nx * nu + i * nu + a] * us[uo + t * nu + a];
        xs[xo + (t + 1) * nx + i] = v + noise * s.normal();
      }
    }
  }
  return { xs, us };
}

function fit(sys: System, data: { xs: Float64Array; us: Float64Array }, N: number, opts: FitOptions) {
  const { T, nx, nu } = sys;
  const fx = new Float64Array(T * nx * nx);
  const fu = new Float64Array(T * nx * nu);
  fitLinearDynamics(data.xs, data.us, N, T, nx, nu, opts, fx, fu);
  return { fx, fu };
}

/** Per step max |fitted − true| / max |true| over [A_t B_t], then the worst step. */
function relativeError(sys: System, f: { fx: Float64Array; fu: Float64Array }, steps?: number[]): number {
  const { T, nx, nu } = sys;
  let worst = 0;
  for (const t of steps ?? Array.from({ length: T }, (_, i) => i)) {
    let e = 0;
    let s = 0;
    for (let i = 0; i < nx * nx; i++) {
      e = Math.max(e, Math.abs(f.fx[t * nx * nx + i] - sys.A[t * nx * nx + i]));
      s = Math.max(s, Math.abs(sys.A[t * nx * nx + i]));
    }
    for (let i = 0; i < nx * nu; i++) {
      e = Math.max(e, Math.abs(f.fu[t * nx * nu + i] - sys.B[t * nx * nu + i]));
      s = Math.max(s, Math.abs(sys.B[t * nx * nu + i]));
    }
    worst = Math.max(worst, e / s);
  }
  return worst;
}

/** RMS over every coefficient of every [A_t B_t] of fitted − true. */
function rmsError(sys: System, f: { fx: Float64Array; fu: Float64Array }): number {
  let s = 0;
  for (let i = 0; i < sys.A.length; i++) s += (f.fx[i] - sys.A[i]) ** 2;
  for (let i = 0; i < sys.B.length; i++) s += (f.fu[i] - sys.B[i]) ** 2;
  return Math.sqrt(s / (sys.A.length + sys.B.length));
}

describe("stepScatters", () => {
  it("is Σ_i (z_i − z̄)(z_i − z̄)ᵀ of z = [x_t; u_t; x_{t+1}] per step", () => {
    // nx = nu = 1, T = 1, N = 3: z_i = (x0, u0, x1).
    const xs = Float64Array.of(1, 2, 3, 5, 5, 2); // (x0, x1) per sample: (1,2), (3,5), (5,2)
    const us = Float64Array.of(0, 3, 0);
    const C = stepScatters(xs, us, 3, 1, 1, 1);
    // means (3, 1, 3); deviations (−2,−1,−1), (0,2,2), (2,−1,−1)
    [8, 0, 0, 0, 6, 6, 0, 6, 6].forEach((v, i) => expect(C[i]).toBeCloseTo(v, 12));
  });
});

describe("fitLinearDynamics", () => {
  it("recovers a time-varying A_t, B_t exactly from N > nx + nu noise-free samples (no prior)", () => {
    const sys = randomSystem(1, 8, 4, 2, false);
    const N = 12;
    const f = fit(sys, sample(sys, N, 2), N, { window: 0, prior: 0, ridge: 0 });
    expect(relativeError(sys, f)).toBeLessThan(1e-8);
    // A window without prior weight changes nothing.
    const g = fit(sys, sample(sys, N, 2), N, { window: 3, prior: 0, ridge: 0 });
    expect(Array.from(g.fx)).toEqual(Array.from(f.fx));
  });

  it("cannot determine A_t, B_t from one step's N ≤ nx + nu samples alone (the scatter has rank N − 1)", () => {
    const sys = randomSystem(3, 6, 4, 2, true);
    const N = 4; // rank 3 < nx + nu = 6
    const f = fit(sys, sample(sys, N, 4), N, { window: 0, prior: 0, ridge: 1e-6 });
    expect(relativeError(sys, f)).toBeGreaterThan(1e-2);
  });

  it("recovers a time-invariant A, B from N < nx + nu + 1 samples per step when the prior pools the window", () => {
    // Per step rank N − 1 = 3 < 6; the prior pools at least w + 1 = 3 steps (at the ends), rank 9 ≥ 6.
    const sys = randomSystem(3, 10, 4, 2, true);
    const N = 4;
    const f = fit(sys, sample(sys, N, 4), N, { window: 2, prior: 1, ridge: 0 });
    expect(relativeError(sys, f)).toBeLessThan(1e-8);
    // Any positive prior weight determines it (the answer does not depend on the weight here).
    const g = fit(sys, sample(sys, N, 4), N, { window: 2, prior: 0.05, ridge: 0 });
    expect(relativeError(sys, g)).toBeLessThan(1e-8);
  });

  it("with the prior, needs (steps in the window) × (N − 1) ≥ nx + nu, not N × (2w + 1) (walker sizes)", () => {
    // nx 18 + nu 6 = 24. N = 5, w = 2: N(2w+1) = 25 "samples", but each step's scatter about its
    // own mean has rank N − 1 = 4, so even an interior window pools rank 20 < 24.
    const sys = randomSystem(13, 12, 18, 6, true);
    const under = fit(sys, sample(sys, 5, 14), 5, { window: 2, prior: 1, ridge: 1e-6 });
    expect(relativeError(sys, under, [5])).toBeGreaterThan(1e-2);
    // N = 7: interior windows pool 5 · 6 = 30 ≥ 24 (determined), the end steps only 3 · 6 = 18.
    const mid = fit(sys, sample(sys, 7, 15), 7, { window: 2, prior: 1, ridge: 0 });
    expect(relativeError(sys, mid, [2, 3, 4, 5, 6, 7, 8, 9])).toBeLessThan(1e-6);
    expect(relativeError(sys, mid, [0])).toBeGreaterThan(1e-2);
    // N = 9: every step, the ends included, pools at least 3 · 8 = 24.
    const enough = fit(sys, sample(sys, 9, 16), 9, { window: 2, prior: 1, ridge: 0 });
    expect(relativeError(sys, enough)).toBeLessThan(1e-6);
  });

  it("a time-varying system fitted with the prior is pulled toward the window's average", () => {
    const sys = randomSystem(5, 6, 3, 1, false);
    const N = 40;
    const data = sample(sys, N, 6);
    const exact = fit(sys, data, N, { window: 0, prior: 0, ridge: 0 });
    const pooled = fit(sys, data, N, { window: 2, prior: 10, ridge: 0 });
    expect(relativeError(sys, exact)).toBeLessThan(1e-8);
    expect(relativeError(sys, pooled)).toBeGreaterThan(1e-2);
  });

  it("with transition noise, the error shrinks like 1/√N", () => {
    const sys = randomSystem(7, 5, 3, 2, false);
    const sigma = 0.1;
    const Ns = [20, 200, 2000];
    const rms = Ns.map((N) => rmsError(sys, fit(sys, sample(sys, N, 8 + N, sigma), N, { window: 0, prior: 0, ridge: 0 })));
    expect(rms[1]).toBeLessThan(rms[0]);
    expect(rms[2]).toBeLessThan(rms[1]);
    // 100× the samples: about 10× smaller (OLS standard errors ∝ σ/√N).
    expect(rms[0] / rms[2]).toBeGreaterThan(5);
    expect(rms[0] / rms[2]).toBeLessThan(25); // ≈ 12 with N = 20 against 6 regressors
    // And of the size σ/√N (x and u have variances of order 1 or more): within a factor of 3.
    Ns.forEach((N, i) => expect(rms[i]).toBeLessThan((3 * sigma) / Math.sqrt(N)));
    expect(rms[2]).toBeGreaterThan(0.1 * sigma / Math.sqrt(2000)); // the noise is really there
  });

  it("throws for fewer than 2 samples", () => {
    const sys = randomSystem(9, 3, 2, 1, false);
    const data = sample(sys, 1, 10);
    expect(() => fit(sys, data, 1, { window: 1, prior: 1, ridge: 1e-6 })).toThrow(RangeError);
    expect(() => fit(sys, data, 0, { window: 1, prior: 1, ridge: 1e-6 })).toThrow(/at least 2 samples/);
  });

  it("keeps a step with an unexcited action finite (the 1e-12 jitter), and the other steps exact", () => {
    const sys = randomSystem(11, 3, 2, 1, false);
    const N = 5;
    const { xs, us } = sample(sys, N, 12);
    for (let n = 0; n < N; n++) us[n * 3 + 1] = 7; // u_1 constant over the samples
    // With ridge 0 only the 1e-12 jitter regularizes step 1: the factorization still succeeds.
    const fx = new Float64Array(3 * 4);
    const fu = new Float64Array(3 * 2);
    fitLinearDynamics(xs, us, N, 3, 2, 1, { window: 0, prior: 0, ridge: 0 }, fx, fu);
    expect([...fx, ...fu].every(Number.isFinite)).toBe(true);
    // The steps where u is excited are still exact.
    expect(relativeError(sys, { fx, fu }, [0, 2])).toBeLessThan(1e-8);
  });
});
