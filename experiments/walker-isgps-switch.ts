// Adaptive resampling (2013 paper, §6.2): walker-isgps.ts with an example that
// walks with the smoothed SIMBICON gait and switches to a crouched gait after
// 2.5 s, so its guiding samples act differently in similar states and no
// stationary policy can reproduce them. This is the run WITHOUT adaptive
// guiding samples; compare walker-isgps-switch-adaptive.ts.
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps-original.js";

export default experiment({
  ...base,
  name: "walker-isgps-switch",
  pipeline: base.pipeline.map((p) => (p.kind === "demonstrate" ? stage.demonstrate({ controller: "simbicon-switch" }) : p)),
});
