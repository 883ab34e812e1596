/**
 * The papers' locomotion cost (gps-math §1) and the tracking term used when
 * initializing from a demonstration, with exact gradients and Hessians.
 *
 *   l(x, u) = w_u |u|² + w_v (x[v] − v*)² + w_h (h(x) − p*)²
 *   h(x) = x[h]                      on flat ground
 *   h(x) = x[h] − g(x[rootx])        on terrain with ground height g (2013 paper §6.3:
 *                                    "the root height was only given relative to the ground")
 *   tracking: + w_x |x − x_demo,t|² + w (|u − u_demo,t|²)   (w_x = w unless set)
 *
 * With terrain, ∂h/∂x[rootx] = −g'(x[rootx]) (the ground slope), so
 *   ∂l/∂x[h] = 2 w_h e,  ∂l/∂x[rootx] = −2 w_h e g',  e = h − p*,
 *   ∂²l/∂x[h]² = 2 w_h,  ∂²l/∂x[h]∂x[rootx] = −2 w_h g',  ∂²l/∂x[rootx]² = 2 w_h g'² − 2 w_h e g''.
 * The ground is piecewise linear, so g'' = 0 except at the kinks, where it is
 * undefined (a Dirac impulse); the expansion uses g'' = 0 everywhere and the
 * slope of the segment that starts at a kink. Finite differences therefore
 * agree away from the kinks only.
 */
import type { Cost, CostExpansion } from "../trajopt/types.js";
import { costSum, trackingCost } from "./cost-terms.js";

export interface LocomotionCostWeights {
  readonly wu: number;
  readonly wv: number;
  readonly wh: number;
  readonly targetVelocity: number;
  readonly targetHeight: number;
  /** Index in x of the forward velocity and the root height (-1: no height term). */
  readonly velocityIndex: number;
  readonly heightIndex: number;
  /** Non-flat ground: the height term uses x[heightIndex] − ground.height(x[rootXIndex]). */
  readonly ground?: { height(x: number): number; slope(x: number): number };
  /** Index in x of the root's horizontal position (default 0, qpos.rootx). */
  readonly rootXIndex?: number;
}

export function locomotionCost(nx: number, nu: number, w: LocomotionCostWeights): Cost {
  const { wu, wv, wh, targetVelocity, targetHeight, velocityIndex: vi, heightIndex: hi, ground } = w;
  const xi = w.rootXIndex ?? 0;
  const useHeight = hi >= 0 && wh !== 0;
  const relative = useHeight && ground !== undefined;
  if (relative && xi === hi) throw new Error("locomotionCost: rootXIndex must differ from heightIndex");
  const value = (x: Float64Array, u: Float64Array, _t: number, xOff = 0, uOff = 0): number => {
    let uu = 0;
    for (let i = 0; i < nu; i++) uu += u[uOff + i] * u[uOff + i];
    const dv = x[xOff + vi] - targetVelocity;
    let c = wu * uu + wv * dv * dv;
    if (useHeight) {
      const h = relative ? x[xOff + hi] - ground!.height(x[xOff + xi]) : x[xOff + hi];
      const dh = h - targetHeight;
      c += wh * dh * dh;
    }
    return c;
  };
  const expand = (x: Float64Array, u: Float64Array, t: number, out: CostExpansion, xOff = 0, uOff = 0): number => {
    out.lx.fill(0);
    out.lxx.fill(0);
    out.luu.fill(0);
    out.lux.fill(0);
    for (let i = 0; i < nu; i++) {
      out.lu[i] = 2 * wu * u[uOff + i];
      out.luu[i * nu + i] = 2 * wu;
    }
    out.lx[vi] = 2 * wv * (x[xOff + vi] - targetVelocity);
    out.lxx[vi * nx + vi] = 2 * wv;
    if (relative) {
      const rx = x[xOff + xi];
      const e = x[xOff + hi] - ground!.height(rx) - targetHeight;
      const g1 = ground!.slope(rx); // ∂h/∂rootx = −g1; g'' taken as 0 (piecewise-linear ground)
      out.lx[hi] += 2 * wh * e;
      out.lx[xi] += -2 * wh * e * g1;
      out.lxx[hi * nx + hi] += 2 * wh;
      out.lxx[hi * nx + xi] += -2 * wh * g1;
      out.lxx[xi * nx + hi] += -2 * wh * g1;
      out.lxx[xi * nx + xi] += 2 * wh * g1 * g1;
    } else if (useHeight) {
      out.lx[hi] += 2 * wh * (x[xOff + hi] - targetHeight);
      out.lxx[hi * nx + hi] += 2 * wh;
    }
    return value(x, u, t, xOff, uOff);
  };
  return { nx, nu, value, expand };
}

/**
 * base cost + stateWeight · |x − xs_ref[t]|² + weight · |u − us_ref[t]|²: the
 * tracking term of the initial trajectory optimization from an example (2013
 * paper §6; there one weight for both, stateWeight = weight). xs_ref has
 * (T+1)·nx entries, us_ref T·nu.
 */
export function withTracking(base: Cost, xsRef: Float64Array, usRef: Float64Array, weight: number, stateWeight: number = weight): Cost {
  return costSum(base, trackingCost(base.nx, base.nu, xsRef, usRef, weight, stateWeight));
}

/** Total cost Σ_t l(x_t, u_t) of a stacked trajectory (one definition, in trajopt/types.ts). */
export { trajectoryCost } from "../trajopt/types.js";
