// The 2013 paper's §6.2 on walker-isgps.ts's recipe (issue 12: q that survives
// contact, converged pretraining): the example walks with the smoothed SIMBICON
// gait and switches to a crouched gait after 2.5 s, so no stationary policy can
// reproduce it. WITHOUT adaptive guiding samples; compare
// walker-isgps-gait-switch-adaptive.ts. (walker-isgps-switch*.ts are the same on the
// recipe before issue 12.)
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps.js";

export default experiment({
  ...base,
  name: "walker-isgps-gait-switch",
  pipeline: base.pipeline.map((p) => (p.kind === "demonstrate" ? stage.demonstrate({ controller: "simbicon-switch" }) : p)),
});
