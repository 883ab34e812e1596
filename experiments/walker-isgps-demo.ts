// walker-isgps.ts with guiding samples drawn from the demonstration controller
// itself (smoothed SIMBICON plus Gaussian action noise of 10% of its per-joint
// torque std, and the 10% motor noise), instead of from the iLQG solution
// around it. Not the paper's recipe: time-indexed linear-Gaussian controllers
// around this gait fall under motor noise (docs/reproduction.md), while the
// state-driven demonstration does not; the guiding density is still exact
// (the controller is replayed along each sample's states).
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps-original.js";

export default experiment({
  ...base,
  name: "walker-isgps-demo",
  pipeline: base.pipeline.map((p) => (p.kind === "guidingSamples" ? stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }) : p)),
});
