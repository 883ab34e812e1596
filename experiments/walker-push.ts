// Push recovery (2014 paper §4.3, Figures 4–5): walking policies with 50 hidden units
// trained on strong horizontal pushes (250–500 N for 100 ms) delivered at different
// points of the gait, then tested on pushes they never saw.
//
// - Training conditions: the constrained-GPS walker recipe's ten starts along the
//   smoothed SIMBICON walk from rest (experiments/cgps-walker.ts; they teach the gait),
//   plus one condition per training push: a start at a phase of SIMBICON's steady gait
//   cycle (initial states from an example gait cycle, as the paper) pushed 0.2 s
//   into its 2 s trajectory. q_i starts from SIMBICON's own feedback along its
//   recorded response to that push.
// - Test (pushTests): the policy alone walks from rest and is pushed once, by each of
//   four pushes of other magnitudes, directions and gait phases (onsets between 1.15
//   and 2.6 s of the walk); recovered = no fall within 5 s after the push.
import { condition, mapStages, repeat, stage, task, type Condition, type PipelineItem, type PushSpec, type StageSpec } from "../src/index.js";
import { alongWalk, walkerPolicy } from "./cgps-walker.js";

/** The push 0.2 s into each pushed condition's trajectory. */
export const PUSH_ONSET = 0.2;

/** The four training pushes, each at its own phase of the 8-phase gait cycle. */
export const TRAINING_PUSHES: readonly { phase: number; push: PushSpec }[] = [
  { phase: 0, push: { force: 250, direction: "backward", onset: PUSH_ONSET } },
  { phase: 2, push: { force: 500, direction: "forward", onset: PUSH_ONSET } },
  { phase: 4, push: { force: 400, direction: "backward", onset: PUSH_ONSET } },
  { phase: 6, push: { force: 300, direction: "forward", onset: PUSH_ONSET } },
];

/** The four test pushes: other magnitudes and directions, at other points of the walk from rest. */
export const TEST_PUSHES: readonly PushSpec[] = [
  { force: 450, direction: "backward", onset: 1.15 },
  { force: 275, direction: "forward", onset: 1.6 },
  { force: 350, direction: "forward", onset: 2.05 },
  { force: 500, direction: "backward", onset: 2.6 },
];

/** The recovery test's length: the last push's onset plus 5 s. */
export const TEST_HORIZON = 760;

/**
 * The pushes scaled for our walker: SIMBICON (the demonstration every q starts from)
 * recovers from 100 N pushes at every tested point of its walk, from 150–200 N at some,
 * and from none of 250–500 N (docs/reproduction.md), so the "light" experiments
 * scale the paper's forces by 0.4 (100–200 N): the same phases, directions and
 * proportions.
 */
export const LIGHT = 0.4;

const scaled = (p: PushSpec, scale: number): PushSpec => ({ ...p, force: p.force * scale });

/** The walking starts, then one gait-phase start per training push (the first `count`), forces × scale. */
export function pushConditions(count: 1 | 4, scale = 1): Condition[] {
  return [
    ...alongWalk(),
    ...TRAINING_PUSHES.slice(0, count).map(({ phase, push }) => ({ ...condition.gaitPhases("simbicon-smooth", 8)[phase], pushes: [scaled(push, scale)] })),
  ];
}

/**
 * 2 s trajectories (200 steps of 0.01 s) for every condition: with the walking recipe's
 * 1 s, a pushed q ends 0.8 s after the push, before the recovery is over, and no policy
 * recovered from all four test pushes at any iteration; with 2 s the policy does at
 * some iterations (docs/reproduction.md, "Push recovery"). `--set task.horizon=100` runs the 1 s variant.
 */
export const pushTask = task.walker({ horizon: 200 });
export const pushPolicy = walkerPolicy(50);

/**
 * The push tests of the policy alone, noise-free: each training push from its own
 * condition's start (0.2 s + 5 s), and the four test pushes while walking from rest
 * (TEST_HORIZON). `withPushTests` runs them after every iteration, like the paper's
 * Figure 4 curves (solid: training pushes; dotted: test pushes).
 */
export function policyPushTests(count: 1 | 4, scale = 1): PipelineItem[] {
  const walking = alongWalk().length;
  const onsetSteps = Math.round(PUSH_ONSET / 0.01);
  return [
    ...TRAINING_PUSHES.slice(0, count).map(({ push }, k) =>
      stage.evaluate({ noise: false, controller: "policy", horizon: onsetSteps + 500, conditions: [walking + k], pushes: [scaled(push, scale)] }),
    ),
    stage.evaluate({ noise: false, controller: "policy", horizon: TEST_HORIZON, conditions: [0], pushes: TEST_PUSHES.map((p) => scaled(p, scale)) }),
  ];
}

/** SIMBICON's own response to the test pushes (the demonstration controller; for reference). */
export function demonstrationPushTest(scale = 1): PipelineItem {
  return stage.evaluate({ noise: false, controller: "demonstration", horizon: TEST_HORIZON, conditions: [0], pushes: TEST_PUSHES.map((p) => scaled(p, scale)) });
}

/**
 * The constrained-GPS walker pipeline (experiments/cgps-walker.ts) with the policy's
 * push tests after each of its 500-step tests from rest (before the loop and in every
 * iteration), and SIMBICON's response to the test pushes at the end.
 */
export function withPushTests(pipeline: readonly PipelineItem[], count: 1 | 4, scale = 1): PipelineItem[] {
  const isLongTest = (s: StageSpec) => s.kind === "evaluate" && s.controller === "policy" && s.horizon === 500 && s.conditions?.length === 1 && s.conditions[0] === 0;
  return [...mapStages(pipeline, (s) => (isLongTest(s) ? [s, ...policyPushTests(count, scale)] : s)), demonstrationPushTest(scale)];
}

/** iLQG iterations on the pushed conditions before θ's first fit (withPushResponses). */
export const PUSH_RESPONSE_ITERATIONS = 10;

/**
 * The paper's push responses ("initial push responses were generated by tracking a
 * walking demonstration with DDP"): after q is initialized from SIMBICON's feedback,
 * `PUSH_RESPONSE_ITERATIONS` iLQG iterations on the pushed conditions only (the
 * walking conditions keep SIMBICON's feedback), so a q that SIMBICON lets fall starts
 * from iLQG's best response instead. Measured: the fit to these q's breaks the gait
 * (docs/reproduction.md, "Push recovery").
 */
export function withPushResponses(pipeline: readonly PipelineItem[], count: 1 | 4): PipelineItem[] {
  const walking = alongWalk().length;
  const pushed = Array.from({ length: count }, (_, k) => walking + k);
  return mapStages(pipeline, (s) => (s.kind === "initializeTrajectories" ? [s, repeat(PUSH_RESPONSE_ITERATIONS, [stage.ilqgIteration({ conditions: pushed })])] : s));
}
