/**
 * Costs that compose, each with its exact gradient and Hessian (the pattern of
 * cbfinn/gps's `CostSum`): a sum of terms, a scaled cost, and the terms tasks
 * and stages are built from — action magnitude, a quadratic on one state
 * coordinate, tracking a reference trajectory.
 *
 * A term may implement `addExpansion`, which adds its derivatives into an
 * expansion already holding the terms before it. A sum uses it when present,
 * so a sum of such terms does exactly the arithmetic of a hand-fused loop (the
 * results stay bit-identical to the wrappers these combinators replaced); a
 * term without it is expanded into scratch once allocated here and added.
 */
import { allocCostExpansion, type Cost, type CostExpansion } from "../trajopt/types.js";

/** A cost that can also add its expansion to one already filled by other terms. */
export interface CostTerm extends Cost {
  /** Adds this term's gradient and Hessian into `out` and returns its value. */
  addExpansion(x: Float64Array, u: Float64Array, t: number, out: CostExpansion, xOff: number, uOff: number): number;
}

/**
 * l(x, u) = Σ_k l_k(x, u), summed left to right. The first term's `expand`
 * fills the expansion; each later one adds its own to it.
 */
export function costSum(...terms: readonly Cost[]): Cost {
  if (terms.length === 0) throw new RangeError("costSum needs at least one term");
  const { nx, nu } = terms[0];
  terms.forEach((c, k) => {
    if (c.nx !== nx || c.nu !== nu) throw new RangeError(`costSum: term ${k} is for nx ${c.nx}, nu ${c.nu}; term 0 for nx ${nx}, nu ${nu}`);
  });
  if (terms.length === 1) return terms[0];
  const scratch = allocCostExpansion(nx, nu);
  const add = (term: Cost, x: Float64Array, u: Float64Array, t: number, out: CostExpansion, xOff: number, uOff: number): number => {
    if (isCostTerm(term)) return term.addExpansion(x, u, t, out, xOff, uOff);
    const v = term.expand(x, u, t, scratch, xOff, uOff);
    addInto(out, scratch);
    return v;
  };
  return {
    nx,
    nu,
    value: (x, u, t, xOff = 0, uOff = 0) => {
      let c = terms[0].value(x, u, t, xOff, uOff);
      for (let k = 1; k < terms.length; k++) c += terms[k].value(x, u, t, xOff, uOff);
      return c;
    },
    expand: (x, u, t, out, xOff = 0, uOff = 0) => {
      let c = terms[0].expand(x, u, t, out, xOff, uOff);
      for (let k = 1; k < terms.length; k++) c += add(terms[k], x, u, t, out, xOff, uOff);
      return c;
    },
  };
}

/** l(x, u) = s · c(x, u), derivatives included (the identity for s = 1). */
export function costScale(s: number, cost: Cost): Cost {
  if (s === 1) return cost;
  return {
    nx: cost.nx,
    nu: cost.nu,
    value: (x, u, t, xOff, uOff) => s * cost.value(x, u, t, xOff, uOff),
    expand: (x, u, t, out, xOff, uOff) => {
      const v = cost.expand(x, u, t, out, xOff, uOff);
      for (const a of [out.lx, out.lu, out.lxx, out.luu, out.lux]) for (let i = 0; i < a.length; i++) a[i] *= s;
      return s * v;
    },
  };
}

/** A term from its value and its additive expansion: `expand` zeroes the expansion and adds. */
export function costTerm(
  nx: number,
  nu: number,
  value: (x: Float64Array, u: Float64Array, t: number, xOff: number, uOff: number) => number,
  addExpansion: CostTerm["addExpansion"],
): CostTerm {
  return {
    nx,
    nu,
    value: (x, u, t, xOff = 0, uOff = 0) => value(x, u, t, xOff, uOff),
    addExpansion,
    expand: (x, u, t, out, xOff = 0, uOff = 0) => {
      zero(out);
      return addExpansion(x, u, t, out, xOff, uOff);
    },
  };
}

/** weight · |u − target|² (target: zero when absent). */
export function actionCost(nx: number, nu: number, weight: number, target?: ArrayLike<number>): CostTerm {
  const goal = target ? Float64Array.from(target) : new Float64Array(nu);
  if (goal.length !== nu) throw new RangeError(`actionCost: target has ${goal.length} entries, the task has ${nu} actions`);
  const value = (_x: Float64Array, u: Float64Array, _t: number, _xOff: number, uOff: number): number => {
    let s = 0;
    for (let j = 0; j < nu; j++) {
      const e = u[uOff + j] - goal[j];
      s += e * e;
    }
    return weight * s;
  };
  return costTerm(nx, nu, value, (x, u, t, out, xOff, uOff) => {
    for (let j = 0; j < nu; j++) {
      out.lu[j] += 2 * weight * (u[uOff + j] - goal[j]);
      out.luu[j * nu + j] += 2 * weight;
    }
    return value(x, u, t, xOff, uOff);
  });
}

/** weight · (x[index] − target)²: a velocity, position or angle held near a target. */
export function stateCoordinateCost(nx: number, nu: number, index: number, target: number, weight: number): CostTerm {
  if (!Number.isInteger(index) || index < 0 || index >= nx) throw new RangeError(`stateCoordinateCost: index ${index} is outside the state (nx ${nx})`);
  const value = (x: Float64Array, _u: Float64Array, _t: number, xOff: number, _uOff: number): number => {
    const e = x[xOff + index] - target;
    return weight * e * e;
  };
  return costTerm(nx, nu, value, (x, u, t, out, xOff, uOff) => {
    out.lx[index] += 2 * weight * (x[xOff + index] - target);
    out.lxx[index * nx + index] += 2 * weight;
    return value(x, u, t, xOff, uOff);
  });
}

/**
 * stateWeight · |x − xs_ref[t]|² + weight · |u − us_ref[t]|²: the tracking term
 * of trajectory optimization from an example (2013 paper §6, one weight for
 * both). xs_ref has (T+1)·nx entries, us_ref T·nu; past T − 1 the last
 * reference step is tracked.
 */
export function trackingCost(nx: number, nu: number, xsRef: Float64Array, usRef: Float64Array, weight: number, stateWeight: number = weight): CostTerm {
  const T = usRef.length / nu;
  const value = (x: Float64Array, u: Float64Array, t: number, xOff: number, uOff: number): number => {
    const tt = Math.min(t, T - 1);
    let sx = 0;
    let su = 0;
    for (let i = 0; i < nx; i++) {
      const d = x[xOff + i] - xsRef[tt * nx + i];
      sx += d * d;
    }
    for (let i = 0; i < nu; i++) {
      const d = u[uOff + i] - usRef[tt * nu + i];
      su += d * d;
    }
    // One weight (the papers'): one multiplication of the sum.
    return stateWeight === weight ? weight * (sx + su) : stateWeight * sx + weight * su;
  };
  return costTerm(nx, nu, value, (x, u, t, out, xOff, uOff) => {
    const tt = Math.min(t, T - 1);
    for (let i = 0; i < nx; i++) {
      out.lx[i] += 2 * stateWeight * (x[xOff + i] - xsRef[tt * nx + i]);
      out.lxx[i * nx + i] += 2 * stateWeight;
    }
    for (let i = 0; i < nu; i++) {
      out.lu[i] += 2 * weight * (u[uOff + i] - usRef[tt * nu + i]);
      out.luu[i * nu + i] += 2 * weight;
    }
    return value(x, u, t, xOff, uOff);
  });
}

function isCostTerm(c: Cost): c is CostTerm {
  return typeof (c as Partial<CostTerm>).addExpansion === "function";
}

function zero(e: CostExpansion): void {
  e.lx.fill(0);
  e.lu.fill(0);
  e.lxx.fill(0);
  e.luu.fill(0);
  e.lux.fill(0);
}

function addInto(out: CostExpansion, e: CostExpansion): void {
  for (let i = 0; i < out.lx.length; i++) out.lx[i] += e.lx[i];
  for (let i = 0; i < out.lu.length; i++) out.lu[i] += e.lu[i];
  for (let i = 0; i < out.lxx.length; i++) out.lxx[i] += e.lxx[i];
  for (let i = 0; i < out.luu.length; i++) out.luu[i] += e.luu[i];
  for (let i = 0; i < out.lux.length; i++) out.lux[i] += e.lux[i];
}
