import { describe, expect, it } from "vitest";
import { swimmerTask } from "../src/tasks/swimmer.js";
import { withTracking } from "../src/tasks/cost.js";
import { allocCostExpansion, type Cost } from "../src/trajopt/types.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";

/** Largest deviation of cost.expand's gradient and Hessian from central differences of cost.value. */
function derivativeError(cost: Cost, x: Float64Array, u: Float64Array, t: number): number {
  const { nx, nu } = cost;
  const n = nx + nu;
  const out = allocCostExpansion(nx, nu);
  cost.expand(x, u, t, out);
  const z0 = new Float64Array(n);
  z0.set(x);
  z0.set(u, nx);
  const f = (z: Float64Array) => cost.value(z.subarray(0, nx), z.subarray(nx), t);
  const g = (i: number) => (i < nx ? out.lx[i] : out.lu[i - nx]);
  const H = (i: number, j: number) =>
    i < nx && j < nx ? out.lxx[i * nx + j] : i >= nx && j >= nx ? out.luu[(i - nx) * nu + j - nx] : i >= nx ? out.lux[(i - nx) * nx + j] : out.lux[(j - nx) * nx + i];
  let worst = 0;
  const h = 1e-4;
  for (let i = 0; i < n; i++) {
    const zp = z0.slice(), zm = z0.slice();
    zp[i] += h;
    zm[i] -= h;
    worst = Math.max(worst, Math.abs((f(zp) - f(zm)) / (2 * h) - g(i)));
    for (let j = 0; j < n; j++) {
      const d = (a: number, b: number) => {
        const z = z0.slice();
        z[i] += a * h;
        z[j] += b * h;
        return f(z);
      };
      worst = Math.max(worst, Math.abs((d(1, 1) - d(1, -1) - d(-1, 1) + d(-1, -1)) / (4 * h * h) - H(i, j)));
    }
  }
  return worst;
}

describe("costs: analytic derivatives vs finite differences", () => {
  const s = new Sampler(seedGenerator(3));
  const { nx, nu } = swimmerTask;
  const x = Float64Array.from({ length: nx }, () => s.normal());
  const u = Float64Array.from({ length: nu }, () => 10 * s.normal());

  it("swimmer cost: w_u|u|² + (v_x − 2)²", () => {
    expect(derivativeError(swimmerTask.cost, x, u, 0)).toBeLessThan(1e-5);
    expect(swimmerTask.cost.value(new Float64Array(nx), new Float64Array(nu), 0)).toBe(4);
  });

  it("tracking term adds 0.05·(|x − x_demo,t|² + |u − u_demo,t|²) with its derivatives", () => {
    const T = 7;
    const xs = Float64Array.from({ length: (T + 1) * nx }, () => s.normal());
    const us = Float64Array.from({ length: T * nu }, () => s.normal());
    const tracked = withTracking(swimmerTask.cost, xs, us, 0.05);
    for (const t of [0, 3, 6]) {
      expect(derivativeError(tracked, x, u, t)).toBeLessThan(1e-5);
      let dev = 0;
      for (let i = 0; i < nx; i++) dev += (x[i] - xs[t * nx + i]) ** 2;
      for (let i = 0; i < nu; i++) dev += (u[i] - us[t * nu + i]) ** 2;
      expect(tracked.value(x, u, t) - swimmerTask.cost.value(x, u, t)).toBeCloseTo(0.05 * dev, 10);
    }
  });
});
