/**
 * The Monte Carlo policy linearization of constrained GPS samples from the q
 * whose nominal it linearizes at: after an accepted trajectory step, the
 * controller that produced the new nominal (its actions, the mean pass's
 * gains), not the old q's ū and K around the new x̄.
 */
import { resolvePolicy } from "../src/dsl/resolve.js";
import { describe, expect, it } from "vitest";
import { policy as policySpec } from "../src/index.js";
import { Simulator } from "../src/sim/mujoco.js";
import { swimmerTask as task } from "../src/tasks/swimmer.js";
import { defaultIlqgSettings, ilqgIteration, initialTrajectory } from "../src/trajopt/ilqg.js";
import { initialCgpsTrajectory, trajectoryStep } from "../src/trajopt/cgps-trajectory.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { optimizeCondition, type ConditionStep } from "../src/algorithms/cgps-condition.js";
import { monteCarloPolicyLinearization } from "../src/algorithms/cgps-stages.js";
import { sampleTrainingStates } from "../src/algorithms/cgps-policy.js";
import { perRowKernels } from "../src/algorithms/numerics.js";
import { initialPolicyState, mlpOf, type ConditionState } from "../src/algorithms/state.js";
import { allocPolicyLinearization, linearizePolicy, type PolicyLinearization } from "../src/trajopt/policy-linearization.js";
import type { LinearGaussianController } from "../src/trajopt/types.js";

describe("constrained GPS: the Monte Carlo policy linearization", () => {
  it("samples from the q whose nominal it linearizes at: noise-free, its rollout is that nominal, before and after accepted steps", async () => {
    const T = 15;
    const { nx, nu } = task;
    const sim = await Simulator.fromMjcf(task.mjcf, { substeps: task.substeps });
    try {
      const sampler = new Sampler(seedGenerator(7));
      const us = new Float64Array(T * nu);
      for (let i = 0; i < us.length; i++) us[i] = sampler.normal();
      let tr = initialTrajectory(sim, task.cost, task.restState, us, defaultIlqgSettings);
      for (let it = 0; it < 3; it++) tr = ilqgIteration(sim, task.cost, tr, defaultIlqgSettings).trajectory;
      const x0 = task.restState;
      const policyState = initialPolicyState(resolvePolicy(policySpec.mlp({ hidden: 4 })), task, tr.xbar.slice(0, T * nx), nu, sampler);
      const policy = mlpOf(policyState);
      const condition: ConditionState = {
        x0,
        trajectory: tr,
        tracking: null,
        settings: defaultIlqgSettings,
        demonstration: null,
        motorNoise: null,
        evaluation: null,
        lambda: new Float64Array(T).fill(0.01),
      };
      const job: ConditionStep = { condition, policy: policyState, policySpec: undefined, ramp: 1, T, iterations: 4 };

      // The stage's Monte Carlo linearization with one sample and no noise: the policy at the rollout of q's mean.
      const mc = monteCarloPolicyLinearization(policy, policyState.theta, sim, x0, 1, new Sampler(seedGenerator(8)), 0);
      const seen: { q: LinearGaussianController; lin: PolicyLinearization }[] = [];
      const result = optimizeCondition(job, task, sim, perRowKernels.forward, (q) => {
        const lin = mc(q);
        seen.push({ q, lin });
        return lin;
      });

      expect(result.accepted).toBeGreaterThanOrEqual(1);
      // Once at the start, once per accepted step.
      expect(seen.length).toBe(1 + result.accepted);
      const noiseless = new Sampler(seedGenerator(9));
      for (const { q, lin } of seen) {
        // q's own noise-free rollout reproduces its nominal, bit for bit …
        expect(sampleTrainingStates(sim, q, x0, 1, noiseless, 0)).toEqual(q.xbar);
        // … so the one-sample linearization is the policy's exact linearization there.
        const exact = linearizePolicy(policy, policyState.theta, q.xbar, T, allocPolicyLinearization(T, nx, nu));
        expect(lin.mu).toEqual(exact.mu);
        expect(lin.muX).toEqual(exact.muX);
      }
      // The last linearization point is the returned nominal; its controller is the one that produced it.
      const last = seen[seen.length - 1].q;
      expect(last.xbar).toEqual(result.condition.trajectory!.xbar);
      expect(last.ubar).toEqual(result.condition.trajectory!.ubar);
      // The first step was accepted, and the gains of the q after it are its mean pass's K (the line search's feedback).
      const step = trajectoryStep(sim, task.cost, initialCgpsTrajectory(sim, task.cost, tr, defaultIlqgSettings), seen[0].lin, condition.lambda!, defaultIlqgSettings);
      expect(step.info.accepted).toBe(true);
      expect(seen[1].q.xbar).toEqual(step.trajectory.xbar);
      const K = step.info.meanPass.K;
      const scale = Math.max(...Array.from(K, Math.abs));
      for (let k = 0; k < K.length; k++) expect(Math.abs(seen[1].q.K[k] - K[k])).toBeLessThan(1e-9 * scale);
      // What the bug sampled after the first accepted step: the old q's ū and K around the new x̄. It is a different controller.
      const before = seen[0].q;
      const wrong = sampleTrainingStates(sim, { ...before, xbar: seen[1].q.xbar }, x0, 1, noiseless, 0);
      expect(wrong).not.toEqual(seen[1].q.xbar);
    } finally {
      sim.dispose();
    }
  }, 60_000);
});
