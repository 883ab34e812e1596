/**
 * An MLP policy as a Controller: u = μ^π(x), plus Σ^π noise when asked
 * (diagonal, exp(logStd) per action). One workspace per controller; no
 * allocation per step. `observe`, if given, maps the state to what the
 * network sees (src/algorithms/observation.ts).
 */
import type { NormalSource } from "../random/generator.js";
import type { Controller } from "../trajopt/types.js";
import { createWorkspace, forward, parameterLayout, type MlpPolicy } from "./mlp.js";

export function policyController(
  policy: MlpPolicy,
  theta: Float64Array,
  options: { noise: boolean; sampler?: NormalSource; observe?: ((x: Float64Array, xOff: number, out: Float64Array, outOff: number) => void) | null } = { noise: false },
): Controller {
  const n = policy.nIn;
  const m = policy.nOut;
  const ws = createWorkspace(policy, 1);
  const x = new Float64Array(n);
  const mean = new Float64Array(m);
  const std = new Float64Array(m);
  const ls = parameterLayout(policy).logStd;
  for (let j = 0; j < m; j++) std[j] = Math.exp(theta[ls + j]);
  if (options.noise && !options.sampler) throw new Error("policyController: noise needs a sampler");
  return (_t, xs, xOff, u, uOff) => {
    if (options.observe) options.observe(xs, xOff, x, 0);
    else for (let i = 0; i < n; i++) x[i] = xs[xOff + i];
    forward(policy, theta, x, 1, mean, ws);
    for (let j = 0; j < m; j++) u[uOff + j] = mean[j] + (options.noise ? std[j] * options.sampler!.normal() : 0);
  };
}
