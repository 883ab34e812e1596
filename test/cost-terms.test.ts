/**
 * The cost combinators (src/tasks/cost-terms.ts): every term's gradient and
 * Hessian against central finite differences of its value, sums and scales
 * included, and a sum with a term that has no additive expansion.
 */
import { describe, expect, it } from "vitest";
import { actionCost, costScale, costSum, stateCoordinateCost, trackingCost } from "../src/tasks/cost-terms.js";
import { allocCostExpansion, type Cost } from "../src/trajopt/types.js";
import { Sampler } from "../src/random/generator.js";
import { seedGenerator } from "../src/random/generator.js";
import { locomotionCost } from "../src/tasks/cost.js";

const nx = 5;
const nu = 2;

/** Max error of lx, lu against differences of value, and of lxx, luu, lux against differences of the gradient. */
function derivativeError(cost: Cost, x: Float64Array, u: Float64Array, t: number): number {
  const h = 1e-5;
  const e = allocCostExpansion(nx, nu);
  const v = cost.expand(x, u, t, e);
  expect(v).toBeCloseTo(cost.value(x, u, t), 12);
  const grad = (xx: Float64Array, uu: Float64Array) => {
    const g = allocCostExpansion(nx, nu);
    cost.expand(xx, uu, t, g);
    return g;
  };
  let err = 0;
  const z = [...x, ...u];
  for (let k = 0; k < nx + nu; k++) {
    const plus = Float64Array.from(z);
    const minus = Float64Array.from(z);
    plus[k] += h;
    minus[k] -= h;
    const [xp, up, xm, um] = [plus.subarray(0, nx), plus.subarray(nx), minus.subarray(0, nx), minus.subarray(nx)];
    const dv = (cost.value(xp, up, t) - cost.value(xm, um, t)) / (2 * h);
    err = Math.max(err, Math.abs(dv - (k < nx ? e.lx[k] : e.lu[k - nx])));
    const gp = grad(xp, up);
    const gm = grad(xm, um);
    // Column k of the Hessian: d(lx, lu)/dz_k.
    for (let i = 0; i < nx; i++) {
      const d = (gp.lx[i] - gm.lx[i]) / (2 * h);
      const exact = k < nx ? e.lxx[i * nx + k] : e.lux[(k - nx) * nx + i];
      err = Math.max(err, Math.abs(d - exact));
    }
    for (let j = 0; j < nu; j++) {
      const d = (gp.lu[j] - gm.lu[j]) / (2 * h);
      const exact = k < nx ? e.lux[j * nx + k] : e.luu[j * nu + (k - nx)];
      err = Math.max(err, Math.abs(d - exact));
    }
  }
  return err;
}

function randomPoint(seed: number): { x: Float64Array; u: Float64Array } {
  const s = new Sampler(seedGenerator(seed));
  return { x: Float64Array.from({ length: nx }, () => s.normal()), u: Float64Array.from({ length: nu }, () => s.normal()) };
}

describe("cost terms", () => {
  const T = 4;
  const refs = randomPoint(9);
  const xsRef = Float64Array.from({ length: (T + 1) * nx }, (_, i) => Math.sin(i) + refs.x[i % nx]);
  const usRef = Float64Array.from({ length: T * nu }, (_, i) => Math.cos(i));
  const terms: Record<string, Cost> = {
    action: actionCost(nx, nu, 0.3),
    "action with target": actionCost(nx, nu, 0.3, [1, -2]),
    coordinate: stateCoordinateCost(nx, nu, 3, 0.7, 2),
    tracking: trackingCost(nx, nu, xsRef, usRef, 0.05),
    "tracking, separate state weight": trackingCost(nx, nu, xsRef, usRef, 0.05, 3),
    "sum of three": costSum(actionCost(nx, nu, 0.3), stateCoordinateCost(nx, nu, 1, -1, 4), trackingCost(nx, nu, xsRef, usRef, 0.5)),
    "scaled sum": costScale(2.5, costSum(stateCoordinateCost(nx, nu, 0, 1, 1), actionCost(nx, nu, 1))),
    // locomotionCost has no additive expansion: the sum expands it into scratch and adds.
    "sum after a plain cost": costSum(stateCoordinateCost(nx, nu, 2, 0, 1), locomotionCost(nx, nu, { wu: 0.1, wv: 1, wh: 3, targetVelocity: 1, targetHeight: 0.5, velocityIndex: 4, heightIndex: 1 })),
  };
  it.each(Object.keys(terms))("%s: exact gradient and Hessian (finite differences agree to 1e-6)", (name) => {
    for (const [seed, t] of [[1, 0], [2, 2], [3, 7]] as const) {
      const { x, u } = randomPoint(seed);
      expect(derivativeError(terms[name], x, u, t)).toBeLessThan(1e-6);
    }
  });

  it("a sum's value is the sum of its terms' values, and a scale multiplies", () => {
    const a = actionCost(nx, nu, 0.3);
    const b = stateCoordinateCost(nx, nu, 3, 0.7, 2);
    const { x, u } = randomPoint(4);
    expect(costSum(a, b).value(x, u, 0)).toBe(a.value(x, u, 0) + b.value(x, u, 0));
    expect(costScale(3, a).value(x, u, 0)).toBe(3 * a.value(x, u, 0));
  });

  it("refuses terms of different sizes and an index outside the state", () => {
    expect(() => costSum(actionCost(nx, nu, 1), actionCost(nx + 1, nu, 1))).toThrow(/term 1 is for nx 6/);
    expect(() => stateCoordinateCost(nx, nu, nx, 0, 1)).toThrow(/outside the state/);
  });
});
