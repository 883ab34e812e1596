/**
 * Small test problems for trajectory optimization:
 *  - a time-invariant linear system x' = A x + B u with random, well-conditioned
 *    A, B drawn from the seeded Sampler,
 *  - a quadratic cost l = ½xᵀQx + ½uᵀRu + uᵀNx + qᵀx + rᵀu,
 *  - a damped pendulum (mildly nonlinear) with analytic Jacobians.
 * Matrices are row-major Float64Array (r×c: entry (i, j) at [i·c + j]).
 */
import { Sampler, seedGenerator } from "../../src/random/generator.js";
import type { Controller, Cost, CostExpansion, TrajectoryDynamics } from "../../src/trajopt/types.js";

export function randomMatrix(sampler: Sampler, r: number, c: number, scale = 1): Float64Array {
  const m = new Float64Array(r * c);
  for (let i = 0; i < m.length; i++) m[i] = scale * sampler.normal();
  return m;
}

/** MᵀM / n + shift·I for a random n×n M: symmetric, eigenvalues ≥ shift. */
export function randomSpd(sampler: Sampler, n: number, shift = 0.5): Float64Array {
  const M = randomMatrix(sampler, n, n);
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < n; p++) s += M[p * n + i] * M[p * n + j];
      S[i * n + j] = s / n + (i === j ? shift : 0);
    }
  }
  return S;
}

/** x_{t+1} = A x_t + B u_t (A nx×nx, B nx×nu). */
export function linearDynamics(A: Float64Array, B: Float64Array, nx: number, nu: number): TrajectoryDynamics {
  const step = (xs: Float64Array, us: Float64Array, t: number): void => {
    for (let i = 0; i < nx; i++) {
      let s = 0;
      for (let j = 0; j < nx; j++) s += A[i * nx + j] * xs[t * nx + j];
      for (let j = 0; j < nu; j++) s += B[i * nu + j] * us[t * nu + j];
      xs[(t + 1) * nx + i] = s;
    }
  };
  return {
    nx,
    nu,
    rollout(x0: Float64Array, controller: Controller, T: number, xs: Float64Array, us: Float64Array): void {
      for (let i = 0; i < nx; i++) xs[i] = x0[i];
      for (let t = 0; t < T; t++) {
        controller(t, xs, t * nx, us, t * nu);
        step(xs, us, t);
      }
    },
    linearize(_xs: Float64Array, _us: Float64Array, T: number, fx: Float64Array, fu: Float64Array): void {
      for (let t = 0; t < T; t++) {
        fx.set(A, t * nx * nx);
        fu.set(B, t * nx * nu);
      }
    },
  };
}

export interface LinearSystem {
  readonly nx: number;
  readonly nu: number;
  readonly A: Float64Array;
  readonly B: Float64Array;
  readonly dyn: TrajectoryDynamics;
}

/** A = 0.95·I + 0.15·G/√nx (spectral radius near 1), B = 0.5·G': well-conditioned and controllable in practice. */
export function randomLinearSystem(seed: number, nx: number, nu: number): LinearSystem {
  const sampler = new Sampler(seedGenerator(seed));
  const A = randomMatrix(sampler, nx, nx, 0.15 / Math.sqrt(nx));
  for (let i = 0; i < nx; i++) A[i * nx + i] += 0.95;
  const B = randomMatrix(sampler, nx, nu, 0.5);
  return { nx, nu, A, B, dyn: linearDynamics(A, B, nx, nu) };
}

export interface QuadraticCostTerms {
  readonly Q: Float64Array; // nx·nx, symmetric
  readonly R: Float64Array; // nu·nu, symmetric
  readonly N: Float64Array; // nu·nx cross term uᵀNx
  readonly q: Float64Array; // nx
  readonly r: Float64Array; // nu
}

/** l(x, u) = ½xᵀQx + ½uᵀRu + uᵀNx + qᵀx + rᵀu, the same at every t. */
export function quadraticCost(nx: number, nu: number, c: QuadraticCostTerms): Cost {
  const { Q, R, N, q, r } = c;
  const value = (x: Float64Array, u: Float64Array, _t: number, xOff = 0, uOff = 0): number => {
    let s = 0;
    for (let i = 0; i < nx; i++) {
      let qx = 0;
      for (let j = 0; j < nx; j++) qx += Q[i * nx + j] * x[xOff + j];
      s += x[xOff + i] * (0.5 * qx + q[i]);
    }
    for (let a = 0; a < nu; a++) {
      let ru = 0;
      for (let b = 0; b < nu; b++) ru += R[a * nu + b] * u[uOff + b];
      let nxa = 0;
      for (let j = 0; j < nx; j++) nxa += N[a * nx + j] * x[xOff + j];
      s += u[uOff + a] * (0.5 * ru + nxa + r[a]);
    }
    return s;
  };
  const expand = (x: Float64Array, u: Float64Array, t: number, out: CostExpansion, xOff = 0, uOff = 0): number => {
    out.lxx.set(Q);
    out.luu.set(R);
    out.lux.set(N);
    for (let i = 0; i < nx; i++) {
      let s = q[i];
      for (let j = 0; j < nx; j++) s += Q[i * nx + j] * x[xOff + j];
      for (let a = 0; a < nu; a++) s += N[a * nx + i] * u[uOff + a];
      out.lx[i] = s;
    }
    for (let a = 0; a < nu; a++) {
      let s = r[a];
      for (let b = 0; b < nu; b++) s += R[a * nu + b] * u[uOff + b];
      for (let j = 0; j < nx; j++) s += N[a * nx + j] * x[xOff + j];
      out.lu[a] = s;
    }
    return value(x, u, t, xOff, uOff);
  };
  return { nx, nu, value, expand };
}

/** Random convex terms (Q, R ≥ 0.5·I, small N); `negativeR` flips R to −R (non-convex in u). */
export function randomQuadraticCostTerms(seed: number, nx: number, nu: number, opts: { negativeR?: boolean } = {}): QuadraticCostTerms {
  const sampler = new Sampler(seedGenerator(seed));
  const Q = randomSpd(sampler, nx);
  const R = randomSpd(sampler, nu);
  if (opts.negativeR) for (let i = 0; i < R.length; i++) R[i] = -R[i];
  const N = randomMatrix(sampler, nu, nx, 0.05);
  const q = randomMatrix(sampler, nx, 1, 0.5);
  const r = randomMatrix(sampler, nu, 1, 0.5);
  return { Q, R, N, q, r };
}

export interface PendulumParams {
  readonly dt: number;
  readonly gravity: number; // g / l
  readonly damping: number;
  readonly gain: number; // 1 / (m l²)
}

export const defaultPendulum: PendulumParams = { dt: 0.05, gravity: 9.81, damping: 0.1, gain: 1 };

/** A seeded LQ problem: a random linear system, a random quadratic cost and a start x0 (seeds: seed, seed + 100, seed + 200). */
export function lqProblem(nx: number, nu: number, seed = 1, opts: { negativeR?: boolean } = {}) {
  const sys = randomLinearSystem(seed, nx, nu);
  const terms = randomQuadraticCostTerms(seed + 100, nx, nu, opts);
  const cost = quadraticCost(nx, nu, terms);
  const x0 = randomMatrix(new Sampler(seedGenerator(seed + 200)), nx, 1);
  return { sys, terms, cost, x0 };
}

/**
 * Damped pendulum, x = [θ, ω], u = [torque], semi-implicit Euler:
 *   ω' = ω + dt (−g sin θ − b ω + c u),   θ' = θ + dt ω'.
 */
export function pendulumDynamics(p: PendulumParams = defaultPendulum): TrajectoryDynamics {
  const { dt, gravity: g, damping: b, gain: c } = p;
  return {
    nx: 2,
    nu: 1,
    rollout(x0, controller, T, xs, us) {
      xs[0] = x0[0];
      xs[1] = x0[1];
      for (let t = 0; t < T; t++) {
        controller(t, xs, 2 * t, us, t);
        const th = xs[2 * t];
        const w = xs[2 * t + 1];
        const w1 = w + dt * (-g * Math.sin(th) - b * w + c * us[t]);
        xs[2 * t + 2] = th + dt * w1;
        xs[2 * t + 3] = w1;
      }
    },
    linearize(xs, _us, T, fx, fu) {
      for (let t = 0; t < T; t++) {
        const dwdth = -dt * g * Math.cos(xs[2 * t]);
        const dwdw = 1 - dt * b;
        const dwdu = dt * c;
        fx[4 * t] = 1 + dt * dwdth;
        fx[4 * t + 1] = dt * dwdw;
        fx[4 * t + 2] = dwdth;
        fx[4 * t + 3] = dwdw;
        fu[2 * t] = dt * dwdu;
        fu[2 * t + 1] = dwdu;
      }
    },
  };
}

/** Swing toward θ = target: l = ½ wθ (θ − target)² + ½ wω ω² + ½ wu u². */
export function pendulumCost(target = Math.PI, wth = 1, ww = 0.1, wu = 0.01): Cost {
  const value = (x: Float64Array, u: Float64Array, _t: number, xOff = 0, uOff = 0): number => {
    const d = x[xOff] - target;
    return 0.5 * (wth * d * d + ww * x[xOff + 1] * x[xOff + 1] + wu * u[uOff] * u[uOff]);
  };
  return {
    nx: 2,
    nu: 1,
    value,
    expand(x, u, t, out, xOff = 0, uOff = 0) {
      out.lx[0] = wth * (x[xOff] - target);
      out.lx[1] = ww * x[xOff + 1];
      out.lu[0] = wu * u[uOff];
      out.lxx[0] = wth;
      out.lxx[1] = 0;
      out.lxx[2] = 0;
      out.lxx[3] = ww;
      out.luu[0] = wu;
      out.lux[0] = 0;
      out.lux[1] = 0;
      return value(x, u, t, xOff, uOff);
    },
  };
}
