/**
 * Helpers on linear-Gaussian controllers
 *   q(u_t | x_t) = N(ū_t + k_t + K_t (x_t − x̄_t), cov_t)
 * (shapes as in ./types.ts: row-major Float64Array stacked over time).
 */
import { cholesky } from "../linalg/dense.js";
import type { NormalSource, Sampler } from "../random/generator.js";
import type { Controller, LinearGaussianController, TrajectoryDynamics } from "./types.js";

/** Writes the mean action ū_t + k_t + K_t (x − x̄_t) into u[uOff .. uOff+nu). */
export function meanAction(ctrl: LinearGaussianController, t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number): void {
  const { nx, nu, xbar, ubar, K, k } = ctrl;
  const xb = t * nx;
  for (let i = 0; i < nu; i++) {
    const row = (t * nu + i) * nx; // K_t row i
    let s = ubar[t * nu + i] + k[t * nu + i];
    for (let j = 0; j < nx; j++) s += K[row + j] * (x[xOff + j] - xbar[xb + j]);
    u[uOff + i] = s;
  }
}

export interface LinearGaussianControllerOptions {
  /** Add Gaussian noise with covariance noiseScale² · cov_t (true) or act with the mean (false). */
  readonly noise: boolean;
  /** Required when `noise` is on; draws nu standard normals per call, in action order. */
  readonly sampler?: NormalSource;
  /** Multiplies the noise standard deviation; default 1. */
  readonly noiseScale?: number;
}

/**
 * Lower Cholesky factors of every cov_t, stacked T·nu·nu. Throws when some
 * cov_t is not positive definite: such a controller cannot be sampled.
 */
export function covarianceFactors(ctrl: LinearGaussianController): Float64Array {
  const { T, nu } = ctrl;
  const L = Float64Array.from(ctrl.cov);
  for (let t = 0; t < T; t++) {
    if (!cholesky(L, nu, t * nu * nu)) throw new Error(`linear-Gaussian controller: cov at t=${t} is not positive definite`);
  }
  return L;
}

/**
 * A `Controller` that acts with q(u|x): the mean action, plus chol(cov_t)·ε
 * (ε ~ N(0, I) from the sampler) when noise is on. The Cholesky factors and the
 * ε buffer are made here once, so a call allocates nothing.
 */
export function linearGaussianController(ctrl: LinearGaussianController, opts: LinearGaussianControllerOptions): Controller {
  if (!opts.noise) {
    return (t, x, xOff, u, uOff) => meanAction(ctrl, t, x, xOff, u, uOff);
  }
  const sampler = opts.sampler;
  if (sampler === undefined) throw new Error("linearGaussianController: noise requires a sampler");
  const scale = opts.noiseScale ?? 1;
  const { nu } = ctrl;
  const L = covarianceFactors(ctrl);
  const eps = new Float64Array(nu);
  return (t, x, xOff, u, uOff) => {
    meanAction(ctrl, t, x, xOff, u, uOff);
    for (let i = 0; i < nu; i++) eps[i] = sampler.normal();
    const lb = t * nu * nu;
    for (let i = 0; i < nu; i++) {
      let s = 0;
      for (let j = 0; j <= i; j++) s += L[lb + i * nu + j] * eps[j]; // L is lower triangular
      u[uOff + i] += scale * s;
    }
  };
}

/** n rollouts stacked: xs is n·(T+1)·nx, us is n·T·nu (sample i starts at i·(T+1)·nx and i·T·nu). */
export interface SampledTrajectories {
  readonly n: number;
  readonly xs: Float64Array;
  readonly us: Float64Array;
}

/**
 * Draw n trajectories from the noisy controller, all from x0 (nx entries).
 * The sampler is advanced; the same sampler state gives the same samples.
 */
export function sampleTrajectories(
  dyn: TrajectoryDynamics,
  ctrl: LinearGaussianController,
  x0: Float64Array,
  n: number,
  sampler: Sampler,
  noiseScale = 1,
): SampledTrajectories {
  const { T, nx, nu } = ctrl;
  const policy = linearGaussianController(ctrl, { noise: true, sampler, noiseScale });
  const xs = new Float64Array(n * (T + 1) * nx);
  const us = new Float64Array(n * T * nu);
  for (let i = 0; i < n; i++) {
    // Views into the stacked storage: rollout writes in place, no copies.
    const xi = xs.subarray(i * (T + 1) * nx, (i + 1) * (T + 1) * nx);
    const ui = us.subarray(i * T * nu, (i + 1) * T * nu);
    dyn.rollout(x0, policy, T, xi, ui);
  }
  return { n, xs, us };
}

/**
 * Zero-filled storage for a controller of horizon T. Note cov is zero too, so
 * it acts (noise off) as u = 0 but cannot be sampled until cov is filled.
 */
export function emptyController(T: number, nx: number, nu: number): LinearGaussianController {
  return {
    T,
    nx,
    nu,
    xbar: new Float64Array((T + 1) * nx),
    ubar: new Float64Array(T * nu),
    K: new Float64Array(T * nu * nx),
    k: new Float64Array(T * nu),
    cov: new Float64Array(T * nu * nu),
  };
}

/** The controller's own fields of a value that carries more (an iLQG trajectory's cost, μ, …), for sending elsewhere. */
export function linearGaussianPart(c: LinearGaussianController): LinearGaussianController {
  const { T, nx, nu, xbar, ubar, K, k, cov } = c;
  return { T, nx, nu, xbar, ubar, K, k, cov };
}
