/**
 * The shapes trajectory optimization works with. Everything is row-major
 * Float64Array, stacked over time: a trajectory of horizon T has T+1 states
 * (x_0 … x_T) and T actions (u_0 … u_{T-1}).
 *
 *   xs  : (T+1)·nx     states
 *   us  : T·nu         actions
 *   fx  : T·nx·nx      ∂x_{t+1}/∂x_t
 *   fu  : T·nx·nu      ∂x_{t+1}/∂u_t
 *   K   : T·nu·nx      feedback gains (rows are actions)
 *   k   : T·nu         feedforward terms
 *   cov : T·nu·nu      conditional action covariance of q(u_t|x_t)
 */

/** Second-order expansion of the running cost at one (x, u); filled by `Cost.expand`. */
export interface CostExpansion {
  readonly lx: Float64Array; // nx
  readonly lu: Float64Array; // nu
  readonly lxx: Float64Array; // nx·nx
  readonly luu: Float64Array; // nu·nu
  readonly lux: Float64Array; // nu·nx
}

export function allocCostExpansion(nx: number, nu: number): CostExpansion {
  return {
    lx: new Float64Array(nx),
    lu: new Float64Array(nu),
    lxx: new Float64Array(nx * nx),
    luu: new Float64Array(nu * nu),
    lux: new Float64Array(nu * nx),
  };
}

/**
 * A running cost l_t(x, u), summed over t = 0 … T-1 (the papers use no
 * terminal cost). `x`/`u` are read at the given offsets so callers can pass
 * stacked trajectories without copying.
 */
export interface Cost {
  readonly nx: number;
  readonly nu: number;
  value(x: Float64Array, u: Float64Array, t: number, xOff?: number, uOff?: number): number;
  /** Writes the gradient and Hessian into `out` and returns the value. */
  expand(x: Float64Array, u: Float64Array, t: number, out: CostExpansion, xOff?: number, uOff?: number): number;
}

/** Total cost Σ_{t<T} l_t(x_t, u_t) of stacked xs ((T+1)·nx) and us (T·nu). */
export function trajectoryCost(cost: Cost, xs: Float64Array, us: Float64Array, T: number): number {
  let c = 0;
  for (let t = 0; t < T; t++) c += cost.value(xs, us, t, t * cost.nx, t * cost.nu);
  return c;
}

/** Writes u_t given x_t (at offsets) into `u` at `uOff`. */
export type Controller = (t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number) => void;

/**
 * Discrete-time dynamics over a fixed horizon, as trajectory optimization
 * needs them: deterministic rollouts and per-step Jacobians. MuJoCo tasks and
 * the linear test systems both implement it.
 */
export interface TrajectoryDynamics {
  readonly nx: number;
  readonly nu: number;
  /** Roll out from x0 for T steps: writes xs ((T+1)·nx, xs[0..nx) = x0) and us (T·nu). */
  rollout(x0: Float64Array, controller: Controller, T: number, xs: Float64Array, us: Float64Array): void;
  /** Jacobians of x_{t+1} = f(x_t, u_t) at every (xs[t], us[t]), t < T. */
  linearize(xs: Float64Array, us: Float64Array, T: number, fx: Float64Array, fu: Float64Array): void;
}

/** What trajectory optimization linearizes: the dynamics, or a stand-in for them (a softened model, a fit to samples). */
export type Linearizer = Pick<TrajectoryDynamics, "nx" | "nu" | "linearize">;

/**
 * A linear-Gaussian controller q(u_t|x_t) = N(ū_t + k_t + K_t (x_t − x̄_t), cov_t)
 * around a nominal trajectory (x̄, ū). This is also the exported format.
 */
export interface LinearGaussianController {
  readonly T: number;
  readonly nx: number;
  readonly nu: number;
  readonly xbar: Float64Array; // (T+1)·nx
  readonly ubar: Float64Array; // T·nu
  readonly K: Float64Array; // T·nu·nx
  readonly k: Float64Array; // T·nu
  readonly cov: Float64Array; // T·nu·nu
}
