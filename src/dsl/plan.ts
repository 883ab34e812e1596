/**
 * Planning a resolved experiment: before a run directory exists, check every
 * stage against what the stages before it leave in the run state, and every
 * option the codec cannot check without the task (qpos lengths, which task a
 * demonstration controller drives, a fitted linearization's sample count, …).
 *
 * The run state's slots (`Slot`) are what stages need and provide. Each stage
 * kind declares, as a function of its options, what it needs (`needs`) and
 * how it changes the slots (`effect`): `stageContracts` below, one entry per
 * kind. A problem is reported at the stage's place in the nested pipeline,
 * e.g. `pipeline[2].body[1] fitTheta (stage 4, iteration 1/3): …`.
 *
 * Pure and cheap: no MuJoCo model is built (tasks are MJCF text and tables);
 * a repeat's body is walked at most twice, whatever its count — the second
 * pass already sees every slot the body provides (a body's effect on the
 * slots is (S \ removed) ∪ provided, which is idempotent).
 */
import { conditionTaskSpec, countStages, isRepeat, MAX_HORIZON, type DemoController, type PushSpec, type StageKind } from "./experiment.js";
import type { ResolvedExperiment, ResolvedPipelineItem, ResolvedStageSpec } from "./resolve.js";
import { ExperimentValidationError } from "./validate.js";
import { mjcfBodyNames, PUSH_DEFAULT_DURATION, pushWindow, taskFor } from "../tasks/index.js";
import type { Task } from "../tasks/types.js";

/** What a stage can find in the run state, filled by an earlier stage. */
export type Slot =
  | "trajectory"
  | "demonstration"
  | "recordedDemonstration"
  | "motorNoise"
  | "policy"
  | "lambda"
  | "guidingSamples"
  | "trajectoryExpert"
  | "isgpsPool"
  | "isgpsOutcome";

/** How a plan error names a slot, and which stages fill it. */
export const slotDescriptions: { readonly [S in Slot]: { readonly noun: string; readonly providers: string } } = {
  trajectory: { noun: "every condition's trajectory distribution", providers: "initializeTrajectories" },
  demonstration: { noun: "a demonstration", providers: "demonstrate, or initializeTrajectories from a demonstration" },
  recordedDemonstration: { noun: "a demonstration recorded by a demonstration controller", providers: "demonstrate" },
  motorNoise: { noun: "motor noise", providers: "initializeTrajectories with motorNoise" },
  policy: { noun: "a policy", providers: "fitTheta or pretrainPolicy" },
  lambda: { noun: "the dual variables λ", providers: "updateLambda" },
  guidingSamples: { noun: "guiding samples", providers: "guidingSamples" },
  trajectoryExpert: { noun: "guiding samples drawn from the trajectory distributions (a demonstration expert has no state marginal)", providers: 'guidingSamples from "trajectory"' },
  isgpsPool: { noun: "an importance-sampled GPS sample pool", providers: "guidingSamples or pretrainPolicy" },
  isgpsOutcome: { noun: "the outcome of an isgpsIteration", providers: "isgpsIteration" },
};

/** A need: the slot, and the option that makes the stage need it (empty: always). */
export interface Need {
  readonly slot: Slot;
  readonly because?: string;
  /** Alternatives: any one of `slot` and these will do. */
  readonly orSlots?: readonly Slot[];
}

/** How a stage changes the slots: `removes` first, then `provides`. */
export interface SlotEffect {
  readonly provides: readonly Slot[];
  readonly removes?: readonly Slot[];
}

/** What the task tells the plan (the task's sizes and names; no model is built). */
export interface PlanContext {
  readonly experiment: ResolvedExperiment;
  readonly task: Pick<Task, "name" | "nx" | "nu" | "stateNames" | "stateLayout" | "mjcf" | "dt">;
}

export interface StageContract<K extends StageKind> {
  /** Slots the stage needs filled before it runs. */
  readonly needs: (spec: ResolvedStageSpec<K>) => readonly Need[];
  readonly effect: (spec: ResolvedStageSpec<K>) => SlotEffect;
  /** Problems with its options that only the experiment or task reveals: "field: message". */
  readonly check?: (spec: ResolvedStageSpec<K>, context: PlanContext) => readonly string[];
}

/** Which task each demonstration controller drives. */
export const DEMO_TASK: Readonly<Record<DemoController, string>> = { simbicon: "walker", "simbicon-smooth": "walker", "simbicon-switch": "walker", "hopper-hop": "hopper", "hopper-hop-robust": "hopper" };

const needPolicySpec = (kind: string) => (_spec: unknown, { experiment }: PlanContext): string[] =>
  experiment.policy ? [] : [`needs the experiment's policy (policy: policy.mlp({ hidden })), and the experiment has none (${kind} creates the policy from it)`];

/** A fitted linearization's worst-step sample count (it needs nx + nu). */
export function fittedSampleCount(l: { readonly rollouts: number; readonly prior: number; readonly window: number }): number {
  return (l.prior > 0 ? l.window + 1 : 1) * (l.rollouts - 1);
}

/** One entry per stage kind: what it needs, what it provides, what else to check. */
export const stageContracts: { readonly [K in StageKind]: StageContract<K> } = {
  demonstrate: {
    needs: () => [],
    effect: () => ({ provides: ["demonstration", "recordedDemonstration"] }),
    check: (spec, { task }) => (DEMO_TASK[spec.controller] === task.name ? [] : [`controller: ${spec.controller} drives the ${DEMO_TASK[spec.controller]}, not the ${task.name}`]),
  },
  initializeTrajectories: {
    needs: (spec) => [
      ...(spec.from.kind === "recorded" ? [{ slot: "demonstration" as const, because: 'from "recorded"' }] : []),
      ...(spec.method === "linearizeDemonstration" ? [{ slot: "recordedDemonstration" as const, because: 'method "linearizeDemonstration"' }] : []),
    ],
    effect: (spec) => ({
      provides: ["trajectory", ...(spec.motorNoise ? ["motorNoise" as const] : []), ...(spec.from.kind === "demonstration" ? ["demonstration" as const] : [])],
      // A demonstration given inline replaces the recorded one: no controller to run any more.
      removes: spec.from.kind === "demonstration" ? ["recordedDemonstration"] : [],
    }),
    check: (spec, { experiment, task }) => {
      const problems: string[] = [];
      const fromDemonstration = spec.from.kind === "demonstration" || spec.from.kind === "recorded";
      if (spec.track && !fromDemonstration) problems.push(`track: tracking needs a demonstration to track (from: demonstration or recorded), not from "${spec.from.kind}"`);
      if (spec.motorNoise && !fromDemonstration) problems.push(`motorNoise: motor noise is relative to a demonstration's torques (from: demonstration or recorded), not from "${spec.from.kind}"`);
      if (spec.method === "linearizeDemonstration") {
        if (spec.from.kind !== "recorded") problems.push(`from: method "linearizeDemonstration" needs from: { kind: "recorded" }, not "${spec.from.kind}"`);
        if (!spec.motorNoise || !(spec.motorNoise.fraction > 0)) problems.push('motorNoise: method "linearizeDemonstration" needs motorNoise with a positive fraction (it is q\'s covariance)');
      }
      if (spec.from.kind === "demonstration") {
        const { states, actions } = spec.from.demonstration;
        const T = experiment.task.horizon;
        if (states.length < T + 1 || actions.length < T) problems.push(`from.demonstration: ${states.length} states and ${actions.length} actions; the horizon ${T} needs ${T + 1} and ${T}`);
        const bad = states.findIndex((s) => s.length !== task.nx);
        if (bad >= 0) problems.push(`from.demonstration.states[${bad}]: ${states[bad].length} entries, the ${task.name}'s state has ${task.nx}`);
        const badU = actions.findIndex((u) => u.length !== task.nu);
        if (badU >= 0) problems.push(`from.demonstration.actions[${badU}]: ${actions[badU].length} entries, the ${task.name} has ${task.nu} actions`);
      }
      const l = spec.linearization;
      if (l?.kind === "fitted") {
        const have = fittedSampleCount(l);
        const need = task.nx + task.nu;
        if (have < need) {
          problems.push(
            `linearization.rollouts: a fitted linearization of the ${task.name} needs nx + nu = ${need} independent samples per step; ${l.rollouts} rollouts give ${have}${l.prior > 0 ? " at the ends of the horizon with the prior's window" : ""} (each step's rollouts about their mean give rollouts − 1)`,
          );
        }
        if (!spec.motorNoise) problems.push("motorNoise: a fitted linearization samples with the motor noise; set motorNoise");
      }
      return problems;
    },
  },
  ilqgIteration: {
    needs: () => [{ slot: "trajectory" }],
    effect: () => ({ provides: [] }),
    check: (spec, { experiment }) =>
      (spec.conditions ?? []).flatMap((i, k) => (i >= experiment.conditions.length ? [`conditions[${k}]: ${i} is not a condition (the experiment has ${experiment.conditions.length})`] : [])),
  },
  optimizeQ: {
    needs: () => [{ slot: "trajectory" }],
    effect: () => ({ provides: [] }),
    check: (spec, { experiment }) =>
      spec.linearizePolicy === "monte-carlo" && experiment.policy?.observation === "groundRelativeHeight" ? ['linearizePolicy: "monte-carlo" needs policy.observation "state"'] : [],
  },
  fitTheta: { needs: () => [{ slot: "trajectory" }], effect: () => ({ provides: ["policy"] }), check: needPolicySpec("fitTheta") },
  updateLambda: { needs: () => [{ slot: "policy" }, { slot: "trajectory" }], effect: () => ({ provides: ["lambda"] }) },
  guidingSamples: {
    needs: (spec) => (spec.from === "trajectory" ? [{ slot: "trajectory", because: 'from "trajectory"' }] : [{ slot: "recordedDemonstration", because: 'from "demonstration"' }]),
    // The newest guiding samples are the experts: from a demonstration, no trajectory distribution is.
    effect: (spec) => (spec.from === "trajectory" ? { provides: ["guidingSamples", "isgpsPool", "trajectoryExpert"] } : { removes: ["trajectoryExpert"], provides: ["guidingSamples", "isgpsPool"] }),
  },
  pretrainPolicy: {
    needs: (spec) =>
      spec.from === "guidingSamples" ? [{ slot: "guidingSamples", because: 'from "guidingSamples"' }] : [{ slot: "demonstration", orSlots: ["trajectory"], because: 'from "example"' }],
    effect: () => ({ provides: ["policy", "isgpsPool"] }),
    check: needPolicySpec("pretrainPolicy"),
  },
  isgpsIteration: {
    needs: (spec) => [{ slot: "isgpsPool" }, { slot: "policy" }, ...(spec.restart ? [{ slot: "guidingSamples" as const, because: "restart: true" }] : [])],
    effect: () => ({ provides: ["isgpsOutcome"] }),
  },
  adaptWr: { needs: () => [{ slot: "isgpsOutcome" }, { slot: "policy" }], effect: () => ({ provides: [] }) },
  adaptGuiding: { needs: () => [{ slot: "policy" }, { slot: "trajectory" }], effect: () => ({ provides: [] }) },
  policyGradientIteration: { needs: () => [{ slot: "policy" }], effect: () => ({ provides: [] }) },
  daggerIteration: {
    needs: (spec) => [
      { slot: "policy" },
      { slot: "guidingSamples", because: "its expert" },
      ...(spec.weighting === "trajectory" ? [{ slot: "trajectoryExpert" as const, because: 'weighting "trajectory"' }] : []),
    ],
    effect: () => ({ provides: [] }),
  },
  costWeightedRegression: { needs: () => [{ slot: "policy" }], effect: () => ({ provides: ["policy"] }) },
  // The policy is optional: before the first fit the E-step is plain iLQG.
  variationalEStep: { needs: () => [{ slot: "trajectory" }], effect: () => ({ provides: [] }) },
  evaluate: {
    needs: (spec) => {
      const because = `controller "${spec.controller}"`;
      switch (spec.controller) {
        case "trajectory":
        case "tbdp":
          return [{ slot: "trajectory", because }];
        case "policy":
          return [{ slot: "policy", because }];
        case "demonstration":
          return [{ slot: "recordedDemonstration", because }];
      }
    },
    effect: () => ({ provides: [] }),
    check: (spec, { experiment, task }) => {
      const problems: string[] = [];
      if (spec.controller === "trajectory" && spec.horizon !== undefined && spec.horizon > experiment.task.horizon) {
        problems.push(`horizon: ${spec.horizon} steps is past the trajectory distributions' ${experiment.task.horizon}; use controller "policy" or "demonstration"`);
      }
      spec.conditions?.forEach((i, k) => {
        if (i >= experiment.conditions.length) problems.push(`conditions[${k}]: ${i} is not a condition (the experiment has ${experiment.conditions.length})`);
      });
      if (spec.terrains && experiment.task.kind === "mjcf") problems.push("terrains: test grounds apply to the hopper and walker; a declared model has its ground in its MJCF");
      if (spec.pushes) {
        if (experiment.task.kind === "mjcf" || experiment.task.kind === "swimmer") problems.push(`pushes: test pushes apply to the hopper and walker, not ${experiment.task.kind === "mjcf" ? "a declared model" : "the swimmer"}`);
        else if (spec.terrains) problems.push("pushes: test pushes and test grounds (terrains) in one evaluate stage are not supported; pushes act on each condition's own ground (one evaluate stage each)");
        else if (spec.pushes.length === 0) problems.push("pushes: the list is empty (give at least one test push, or leave pushes out)");
        else {
          const horizon = spec.horizon ?? experiment.task.horizon;
          problems.push(...pushProblems(spec.pushes, "pushes", task, horizon, spec.horizon !== undefined ? "the stage's horizon" : "the task's horizon"));
        }
      }
      return problems;
    },
  },
  diagnoseTrajectories: { needs: () => [{ slot: "trajectory" }], effect: () => ({ provides: [] }) },
};

/** A stage's contract applied to its options (generic in the kind, so the lookup needs no cast). */
function contractOf<K extends StageKind>(spec: ResolvedStageSpec<K> & { readonly kind: K }, context: PlanContext): { needs: readonly Need[]; effect: SlotEffect; problems: readonly string[] } {
  const contract: StageContract<K> = stageContracts[spec.kind];
  return { needs: contract.needs(spec), effect: contract.effect(spec), problems: contract.check?.(spec, context) ?? [] };
}

/** Where a stage is: its place in the nested pipeline, its kind, its run index and the repeat counters around it. */
interface Place {
  readonly path: string;
  readonly loops: readonly string[];
}

function placeName(place: Place, kind: string, index: number): string {
  return `${place.path} ${kind} (stage ${index}${place.loops.length ? `, iteration ${place.loops.join(", ")}` : ""})`;
}

/** The problems of the pipeline's stages, in run order (each stage's problems once, at its first occurrence). */
function pipelineProblems(context: PlanContext): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  let slots = new Set<Slot>();
  const removedBy = new Map<Slot, string>();
  const report = (line: string, key: string): void => {
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(line);
  };
  const walk = (items: readonly ResolvedPipelineItem[], path: string, loops: readonly string[], firstIndex: number): void => {
    let index = firstIndex;
    items.forEach((item, i) => {
      const here = `${path}[${i}]`;
      if (isRepeat(item)) {
        const perIteration = countStages(item.body);
        // Twice at most: the second pass sees everything the body provides.
        for (let r = 0; r < Math.min(item.times, 2); r++) walk(item.body, `${here}.body`, [...loops, `${r + 1}/${item.times}`], index + r * perIteration);
        index += item.times * perIteration;
        return;
      }
      const where = placeName({ path: here, loops }, item.kind, index);
      const { needs, effect, problems: optionProblems } = contractOf(item, context);
      for (const line of optionProblems) report(`${here} ${item.kind} (stage ${index}).${line}`, `${here}:${line}`);
      for (const need of needs) {
        const any = [need.slot, ...(need.orSlots ?? [])];
        if (any.some((s) => slots.has(s))) continue;
        const what = any.map((s) => slotDescriptions[s].noun).join(" or ");
        const providers = any.map((s) => slotDescriptions[s].providers).join("; ");
        const removed = any.map((s) => removedBy.get(s)).find((r) => r !== undefined);
        const why = removed ? `; ${removed} replaced the recorded one with the demonstration given in the experiment` : ` (${providers} provide${any.length > 1 || providers.includes(" or ") ? "" : "s"} it)`;
        report(`${where}: ${need.because ? `${need.because} needs` : "needs"} ${what}, and no earlier stage provides it${why}`, `${here}:${need.slot}`);
      }
      const next = new Set(slots);
      for (const s of effect.removes ?? []) {
        next.delete(s);
        // Only a replaced recorded demonstration has its own explanation.
        if (s === "recordedDemonstration") removedBy.set(s, where);
      }
      for (const s of effect.provides) {
        next.add(s);
        removedBy.delete(s);
      }
      slots = next;
      index++;
    });
  };
  walk(context.experiment.pipeline, "pipeline", [], 0);
  return problems;
}

/** Problems of the conditions and the policy that only the task reveals. */
function experimentProblems({ experiment, task }: PlanContext): string[] {
  const problems: string[] = experiment.task.kind === "mjcf" ? [] : pushProblems(experiment.task.pushes, "task.pushes", task, experiment.task.horizon);
  const nq = task.stateLayout.qpos.length;
  const nv = task.stateLayout.qvel.length;
  experiment.conditions.forEach((c, i) => {
    if ((c.kind === "gaitPhase" || c.kind === "alongDemonstration") && DEMO_TASK[c.controller] !== task.name) {
      problems.push(`conditions[${i}].controller: ${c.controller} drives the ${DEMO_TASK[c.controller]}, not the ${task.name}`);
    }
    if (c.kind === "gaitPhase" && c.index >= c.of) problems.push(`conditions[${i}].index: ${c.index} must be below of = ${c.of}`);
    if (c.kind === "state") {
      if (c.qpos.length !== nq) problems.push(`conditions[${i}].qpos: ${task.name} needs ${nq} values, got ${c.qpos.length}`);
      if (c.qvel.length !== nv) problems.push(`conditions[${i}].qvel: ${task.name} needs ${nv} values, got ${c.qvel.length}`);
    }
    if (c.terrain || c.pushes) {
      try {
        const own = taskFor(conditionTaskSpec(experiment, i));
        problems.push(...pushProblems(c.pushes, `conditions[${i}].pushes`, own, experiment.task.horizon));
      } catch (e) {
        problems.push(`conditions[${i}]: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  });
  experiment.policy?.ignoreInputs.forEach((name, k) => {
    if (!task.stateNames.includes(name)) problems.push(`policy.ignoreInputs[${k}]: "${name}" is not a state of the ${task.name} (${task.stateNames.join(", ")})`);
  });
  return problems;
}

/** Problems that make a fitted linearization pointless later in the pipeline. */
function crossStageProblems({ experiment }: PlanContext): string[] {
  let fitted: string | null = null;
  let index = 0;
  const problems: string[] = [];
  const walk = (items: readonly ResolvedPipelineItem[], path: string): void => {
    items.forEach((item, i) => {
      if (isRepeat(item)) {
        const start = index;
        walk(item.body, `${path}[${i}].body`);
        index = start + item.times * countStages(item.body);
        return;
      }
      if (item.kind === "initializeTrajectories" && item.linearization?.kind === "fitted" && fitted === null) fitted = `${path}[${i}] initializeTrajectories (stage ${index})`;
      if (item.kind === "optimizeQ" && fitted !== null && problems.length === 0) {
        problems.push(`${fitted}.linearization.kind: "fitted" is for the iLQG stages; ${path}[${i}] optimizeQ (stage ${index}) linearizes by finite differences`);
      }
      index++;
    });
  };
  walk(experiment.pipeline, "pipeline");
  return problems;
}

/**
 * Problems of pushes at `path` (e.g. "task.pushes") in `task`'s model rolled
 * out for `horizon` steps: a body the model lacks (the message lists its
 * bodies), a window [onset, onset + duration) that ends past the horizon.
 */
export function pushProblems(pushes: readonly PushSpec[] | undefined, path: string, task: Pick<Task, "name" | "mjcf" | "dt">, horizon: number, horizonWhat = "the task's horizon"): string[] {
  if (!pushes?.length) return [];
  const bodies = mjcfBodyNames(task.mjcf);
  const problems: string[] = [];
  pushes.forEach((p, k) => {
    if (p.body !== undefined && !bodies.includes(p.body)) problems.push(`${path}[${k}].body: the ${task.name} has no body named "${p.body}" (its bodies: ${bodies.join(", ")})`);
    const { fromStep, toStep } = pushWindow(p, task.dt);
    if (toStep > horizon) {
      const end = Number((p.onset + (p.duration ?? PUSH_DEFAULT_DURATION)).toFixed(6));
      problems.push(`${path}[${k}]: the push acts from ${p.onset} s to ${end} s (control steps ${fromStep} to ${toStep}), past ${horizonWhat} of ${horizon} steps (${Number((horizon * task.dt).toFixed(6))} s at dt ${task.dt})`);
    }
  });
  return problems;
}

/** A planned run: the resolved experiment, its task, and how many stages it unrolls to. */
export interface Plan {
  readonly experiment: ResolvedExperiment;
  readonly task: Task;
  readonly totalStages: number;
}

/**
 * Plan a resolved experiment, or throw an ExperimentValidationError listing
 * every problem (each prefixed with `source: ` when given). Nothing is written.
 */
export function planExperiment(experiment: ResolvedExperiment, source?: string): Plan {
  const prefix = (p: string): string => (source ? `${source}: ${p}` : p);
  let task: Task;
  try {
    task = taskFor(experiment.task);
  } catch (e) {
    // A task the codec accepts but cannot be built (e.g. a swimmer with terrain): named at `task`.
    const message = e instanceof Error ? e.message : String(e);
    throw new ExperimentValidationError([prefix(`${message.startsWith("task") ? "" : "task: "}${message}`)]);
  }
  if (experiment.task.horizon > MAX_HORIZON) throw new ExperimentValidationError([prefix(`task.horizon: at most ${MAX_HORIZON}`)]);
  const context: PlanContext = { experiment, task };
  const problems = [...experimentProblems(context), ...pipelineProblems(context), ...crossStageProblems(context)];
  if (problems.length > 0) throw new ExperimentValidationError(problems.slice(0, 12).map(prefix));
  return { experiment, task, totalStages: countStages(experiment.pipeline) };
}
