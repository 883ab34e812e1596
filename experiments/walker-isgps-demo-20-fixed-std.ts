// walker-isgps-demo-20.ts (20 hidden units) with the policy's σ fixed at the guiding
// noise, as walker-isgps-demo-fixed-std.ts.
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps-demo-20.js";

export default experiment({
  ...base,
  name: "walker-isgps-demo-20-fixed-std",
  pipeline: base.pipeline.map((p) => (p.kind === "pretrainPolicy" ? stage.pretrainPolicy({ ...p, std: "guiding" }) : p)),
});
