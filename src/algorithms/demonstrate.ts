/**
 * The demonstrate stage: run a hand-crafted controller (src/demos/) from each
 * condition's initial state in that condition's world and record the
 * resulting states and actions in the run state, where initializeTrajectories
 * can track them and `gps export` can replay them.
 */
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { demoController } from "../demos/index.js";
import type { ConditionState, RunState, StageEnv } from "./state.js";
import { rolloutSummary } from "./evaluate.js";
import { summarize } from "./ilqg-stages.js";

type DemonstrateSpec = ResolvedStageSpec<"demonstrate">;

export const demonstrate = function* (env: StageEnv, spec: DemonstrateSpec, state: RunState) {
  const T = env.horizon;
  const conditions: ConditionState[] = [];
  const rows = [];
  for (let i = 0; i < state.conditions.length; i++) {
    const c = state.conditions[i];
    const { task, sim } = env.worlds[i];
    const xs = new Float64Array((T + 1) * task.nx);
    const us = new Float64Array(T * task.nu);
    sim.rollout(c.x0, demoController(spec.controller, task), T, xs, us);
    const r = rolloutSummary(task, T, xs, us);
    rows.push(r);
    conditions.push({ ...c, demonstration: { source: "controller", controller: spec.controller, xs, us } });
    yield {
      fraction: (i + 1) / state.conditions.length,
      message: `condition ${i + 1}/${state.conditions.length} ${spec.controller}: ${r.distance.toFixed(2)} m${r.fallStep === null ? "" : `, fell at step ${r.fallStep}`}`,
    };
  }
  return { state: { ...state, conditions }, metrics: summarize(rows) };
};
