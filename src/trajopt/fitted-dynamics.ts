/**
 * Time-varying linear dynamics fitted by regression to sampled trajectories
 * (as cbfinn/gps does instead of differentiating the simulator):
 *
 *   x_{t+1} ≈ fx_t x_t + fu_t u_t + c_t
 *
 * For each step t the joint z = [x_t; u_t; x_{t+1}] of the N samples gives a
 * scatter C_t about its own mean. A single step's N samples cannot determine
 * the nx·(nx+nu) coefficients when N < nx+nu, and a contact switch inside one
 * step makes them jumpy, so the fit uses a conjugate (normal-inverse-Wishart
 * style) prior: the mean scatter of the steps t−w … t+w, each about its own
 * mean, with the weight of `prior` × N pseudo-samples:
 *
 *   Σ_t = (C_t + prior · mean_{|s−t|≤w} C_s) / (N (1 + prior))
 *   [fx_t fu_t] = Σ_{x',xu} (Σ_{xu,xu} + ridge · diag(Σ_{xu,xu}))⁻¹
 *
 * (Cholesky solve). The prior averages the local dynamics over the window,
 * so an impact that happens in one step for some samples and the next for
 * others is smoothed rather than differentiated.
 *
 * Shapes: xs N·(T+1)·nx and us N·T·nu sample-major; fx T·nx·nx, fu T·nx·nu.
 */
import { cholesky, choleskySolveMat } from "../linalg/dense.js";

export interface FitOptions {
  /** Half-width w of the prior's window of steps. */
  readonly window: number;
  /** The prior's weight, in multiples of the N samples (0: the step's own data alone). */
  readonly prior: number;
  /** Relative Tikhonov term on Σ_{xu,xu}'s diagonal (keeps unexcited directions finite). */
  readonly ridge: number;
}

/** The per-step scatter matrices (T·nz·nz) of z = [x_t; u_t; x_{t+1}] about each step's mean. */
export function stepScatters(xs: Float64Array, us: Float64Array, N: number, T: number, nx: number, nu: number): Float64Array {
  const nz = 2 * nx + nu;
  const out = new Float64Array(T * nz * nz);
  const z = new Float64Array(N * nz);
  const mean = new Float64Array(nz);
  for (let t = 0; t < T; t++) {
    mean.fill(0);
    for (let i = 0; i < N; i++) {
      const o = i * nz;
      const xo = i * (T + 1) * nx;
      for (let a = 0; a < nx; a++) z[o + a] = xs[xo + t * nx + a];
      for (let a = 0; a < nu; a++) z[o + nx + a] = us[i * T * nu + t * nu + a];
      for (let a = 0; a < nx; a++) z[o + nx + nu + a] = xs[xo + (t + 1) * nx + a];
      for (let a = 0; a < nz; a++) mean[a] += z[o + a] / N;
    }
    const oc = t * nz * nz;
    for (let i = 0; i < N; i++) {
      const o = i * nz;
      for (let a = 0; a < nz; a++) {
        const da = z[o + a] - mean[a];
        for (let b = a; b < nz; b++) out[oc + a * nz + b] += da * (z[o + b] - mean[b]);
      }
    }
    for (let a = 0; a < nz; a++) for (let b = 0; b < a; b++) out[oc + a * nz + b] = out[oc + b * nz + a];
  }
  return out;
}

/** Fit fx, fu at every step (see the module comment). */
export function fitLinearDynamics(xs: Float64Array, us: Float64Array, N: number, T: number, nx: number, nu: number, opts: FitOptions, fx: Float64Array, fu: Float64Array): void {
  if (N < 2) throw new RangeError(`fitLinearDynamics: needs at least 2 samples, got ${N}`);
  const nz = 2 * nx + nu;
  const nxu = nx + nu;
  const C = stepScatters(xs, us, N, T, nx, nu);
  const S = new Float64Array(nz * nz);
  const L = new Float64Array(nxu * nxu);
  const W = new Float64Array(nxu * nx); // Σ_{xu,x'}: columns become [fx fu]ᵀ after the solve
  for (let t = 0; t < T; t++) {
    const from = Math.max(0, t - opts.window);
    const to = Math.min(T - 1, t + opts.window);
    const wPrior = opts.prior / (to - from + 1);
    for (let k = 0; k < nz * nz; k++) {
      let p = 0;
      for (let s = from; s <= to; s++) p += C[s * nz * nz + k];
      S[k] = (C[t * nz * nz + k] + wPrior * p) / (N * (1 + opts.prior));
    }
    for (let a = 0; a < nxu; a++) {
      for (let b = 0; b < nxu; b++) L[a * nxu + b] = S[a * nz + b];
      L[a * nxu + a] += opts.ridge * S[a * nz + a] + 1e-12;
      for (let j = 0; j < nx; j++) W[a * nx + j] = S[a * nz + nxu + j];
    }
    if (!cholesky(L, nxu)) throw new Error(`fitLinearDynamics: the sample covariance at step ${t} is not positive definite (raise ridge or prior)`);
    choleskySolveMat(L, nxu, W, nx);
    // W (nxu × nx) = [fx fu]ᵀ.
    for (let i = 0; i < nx; i++) {
      for (let a = 0; a < nx; a++) fx[t * nx * nx + i * nx + a] = W[a * nx + i];
      for (let a = 0; a < nu; a++) fu[t * nx * nu + i * nu + a] = W[(nx + a) * nx + i];
    }
  }
}
