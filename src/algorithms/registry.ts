/**
 * The stage registry: one entry per stage kind, holding everything the
 * system knows about it — its codec and defaults (src/dsl/experiment.ts), its
 * contract with the run state, i.e. what it needs and provides (src/dsl/plan.ts),
 * and its implementation. Decoding, resolving and planning use the first
 * three without loading any stage; the interpreter runs `run`.
 *
 * The table's type is a mapped type over the kinds, so a missing kind, or an
 * implementation that takes another kind's spec, fails to compile; running a
 * stage looks its entry up generically (`startStage`), without a cast.
 */
import { stageCodecs, stageDefaults, type StageKind } from "../dsl/experiment.js";
import { stageContracts, type StageContract } from "../dsl/plan.js";
import type { ResolvedStageSpec } from "../dsl/resolve.js";
import { costWeightedRegression, daggerIteration, policyGradientIteration } from "./baselines.js";
import { demonstrate } from "./demonstrate.js";
import { diagnoseTrajectories } from "./diagnose.js";
import { fitTheta, optimizeQ, updateLambda } from "./cgps-stages.js";
import { evaluate } from "./evaluate.js";
import { variationalEStep } from "./vgps-stages.js";
import { adaptGuiding } from "./isgps-adaptive.js";
import { adaptWr, guidingSamples, isgpsIteration, pretrainPolicy } from "./isgps-stages.js";
import { ilqgIterationStage, initializeTrajectories } from "./ilqg-stages.js";
import type { Metrics, RunState, Stage, StageEnv } from "./state.js";

/** A kind's entry; `M` is the type of the metrics its stage reports. */
export interface StageEntry<K extends StageKind, M extends Metrics = Metrics> {
  readonly codec: (typeof stageCodecs)[K];
  readonly defaults: (typeof stageDefaults)[K];
  readonly contract: StageContract<K>;
  readonly run: Stage<ResolvedStageSpec<K>, M>;
}

const entry = <K extends StageKind, M extends Metrics>(kind: K, run: Stage<ResolvedStageSpec<K>, M>): StageEntry<K, M> => ({
  codec: stageCodecs[kind],
  defaults: stageDefaults[kind],
  contract: stageContracts[kind],
  run,
});

export const stageRegistry = {
  demonstrate: entry("demonstrate", demonstrate),
  initializeTrajectories: entry("initializeTrajectories", initializeTrajectories),
  ilqgIteration: entry("ilqgIteration", ilqgIterationStage),
  optimizeQ: entry("optimizeQ", optimizeQ),
  fitTheta: entry("fitTheta", fitTheta),
  updateLambda: entry("updateLambda", updateLambda),
  guidingSamples: entry("guidingSamples", guidingSamples),
  pretrainPolicy: entry("pretrainPolicy", pretrainPolicy),
  isgpsIteration: entry("isgpsIteration", isgpsIteration),
  adaptWr: entry("adaptWr", adaptWr),
  adaptGuiding: entry("adaptGuiding", adaptGuiding),
  policyGradientIteration: entry("policyGradientIteration", policyGradientIteration),
  daggerIteration: entry("daggerIteration", daggerIteration),
  costWeightedRegression: entry("costWeightedRegression", costWeightedRegression),
  variationalEStep: entry("variationalEStep", variationalEStep),
  evaluate: entry("evaluate", evaluate),
  diagnoseTrajectories: entry("diagnoseTrajectories", diagnoseTrajectories),
} satisfies { readonly [K in StageKind]: StageEntry<K> };

/** The metrics a stage kind reports, as its implementation returns them (e.g. `MetricsOf<"fitTheta">["fitLoss"]`). */
export type MetricsOf<K extends StageKind> = (typeof stageRegistry)[K] extends StageEntry<K, infer M> ? M : never;

/** The same table, seen per kind (for lookups generic in the kind). */
const byKind: { readonly [K in StageKind]: StageEntry<K> } = stageRegistry;

/** Start a resolved stage on a state: its registry entry's implementation. */
export function startStage<K extends StageKind>(env: StageEnv, spec: ResolvedStageSpec<K> & { readonly kind: K }, state: RunState): ReturnType<Stage> {
  const stage: Stage<ResolvedStageSpec<K>> = byKind[spec.kind].run;
  return stage(env, spec, state);
}
