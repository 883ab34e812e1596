/**
 * A nearest-neighbour controller in the manner of trajectory-based dynamic
 * programming (TBDP; the simple nearest-neighbour variant of Atkeson & Stephens
 * 2008 that the paper uses), the third method of the 2013
 * paper's generalization figures: a library of every (x̄_t, ū_t + k_t, K_t) of
 * the training conditions' DDP solutions; at each state, the nearest library
 * point's local linear feedback,
 *
 *     u = ū_j + k_j + K_j (o(x) − o(x̄_j)),   j = argmin_j ‖(o(x) − o(x̄_j)) / s‖,
 *
 * where o is what the policy network sees (its observer: the ground-relative
 * root height in the generalization experiments), inputs the policy ignores
 * (the root's absolute x) are left out of both the distance and the feedback,
 * and s is the per-input std of the library's points. Unlike the time-indexed
 * DDP controller it does not follow the clock, so it can pick up the gait
 * wherever the state says it is, but it knows nothing away from the trajectories.
 */
import type { Controller, LinearGaussianController } from "../trajopt/types.js";
import type { Observer } from "./observation.js";

/** One condition's DDP solution and what its policy would see there. */
export interface TbdpSource {
  readonly trajectory: LinearGaussianController;
  readonly observe: Observer | null;
}

export interface TbdpLibrary {
  readonly nx: number;
  readonly nu: number;
  /** Points, observed (count·nx); feedforward ū + k (count·nu); gains K (count·nu·nx). */
  readonly points: Float64Array;
  readonly u0: Float64Array;
  readonly K: Float64Array;
  readonly count: number;
  /** 1/s per input, 0 for ignored inputs (and inputs constant over the library). */
  readonly invScale: Float64Array;
}

/** The library of every step of every source (T points each). `ignore`: state indices left out. */
export function tbdpLibrary(sources: readonly TbdpSource[], ignore: readonly number[]): TbdpLibrary {
  if (sources.length === 0) throw new Error("tbdp: no DDP solutions to build the library from");
  const { nx, nu } = sources[0].trajectory;
  const count = sources.reduce((s, src) => s + src.trajectory.T, 0);
  const points = new Float64Array(count * nx);
  const u0 = new Float64Array(count * nu);
  const K = new Float64Array(count * nu * nx);
  let row = 0;
  for (const { trajectory: q, observe } of sources) {
    if (q.nx !== nx || q.nu !== nu) throw new Error("tbdp: the conditions' trajectories differ in shape");
    for (let t = 0; t < q.T; t++, row++) {
      if (observe) observe(q.xbar, t * nx, points, row * nx);
      else points.set(q.xbar.subarray(t * nx, (t + 1) * nx), row * nx);
      for (let j = 0; j < nu; j++) u0[row * nu + j] = q.ubar[t * nu + j] + q.k[t * nu + j];
      K.set(q.K.subarray(t * nu * nx, (t + 1) * nu * nx), row * nu * nx);
    }
  }
  const invScale = new Float64Array(nx);
  for (let i = 0; i < nx; i++) {
    if (ignore.includes(i)) continue;
    let m = 0;
    for (let r = 0; r < count; r++) m += points[r * nx + i];
    m /= count;
    let v = 0;
    for (let r = 0; r < count; r++) v += (points[r * nx + i] - m) ** 2;
    const s = Math.sqrt(v / count);
    invScale[i] = s > 1e-12 ? 1 / s : 0;
  }
  return { nx, nu, points, u0, K, count, invScale };
}

/** Index of the library point nearest to the observation o (scaled Euclidean distance). */
export function nearestPoint(lib: TbdpLibrary, o: Float64Array): number {
  const { nx, points, invScale } = lib;
  let best = 0;
  let bestD = Infinity;
  for (let r = 0; r < lib.count; r++) {
    let d = 0;
    for (let i = 0; i < nx && d < bestD; i++) {
      const e = (o[i] - points[r * nx + i]) * invScale[i];
      d += e * e;
    }
    if (d < bestD) {
      bestD = d;
      best = r;
    }
  }
  return best;
}

/** The nearest-neighbour controller of a library, in a world whose policy sees `observe`. */
export function tbdpController(lib: TbdpLibrary, observe: Observer | null): Controller {
  const { nx, nu } = lib;
  const o = new Float64Array(nx);
  const d = new Float64Array(nx);
  return (_t, x, xOff, u, uOff) => {
    if (observe) observe(x, xOff, o, 0);
    else o.set(x.subarray(xOff, xOff + nx));
    const j = nearestPoint(lib, o);
    // Feedback only on the inputs the distance uses.
    for (let i = 0; i < nx; i++) d[i] = lib.invScale[i] === 0 ? 0 : o[i] - lib.points[j * nx + i];
    for (let a = 0; a < nu; a++) {
      let s = lib.u0[j * nu + a];
      const row = (j * nu + a) * nx;
      for (let i = 0; i < nx; i++) s += lib.K[row + i] * d[i];
      u[uOff + a] = s;
    }
  };
}
