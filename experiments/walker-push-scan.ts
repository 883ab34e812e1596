// How hard a push the smoothed SIMBICON walker survives (docs/reproduction.md, "Push
// recovery"): the demonstration controller walks from rest and is pushed once, 50–500 N
// forward or backward at 1.15, 1.6, 2.05 or 2.6 s (the test pushes' onsets); recovered =
// no fall within 5 s after the push. 64 rollouts of 7.6 s, a few seconds in all.
import { experiment, stage, type PushSpec } from "../src/index.js";
import { alongWalk } from "./cgps-walker.js";
import { pushPolicy, pushTask, TEST_HORIZON, TEST_PUSHES } from "./walker-push.js";

const pushes: PushSpec[] = [50, 100, 150, 200, 250, 300, 400, 500].flatMap((force) =>
  (["forward", "backward"] as const).flatMap((direction) => TEST_PUSHES.map(({ onset }) => ({ force, direction, onset }))),
);

export default experiment({
  name: "walker-push-scan",
  seed: 1,
  task: pushTask,
  conditions: alongWalk().slice(0, 1),
  policy: pushPolicy,
  pipeline: [stage.demonstrate({ controller: "simbicon-smooth" }), stage.evaluate({ noise: false, controller: "demonstration", horizon: TEST_HORIZON, pushes })],
});
