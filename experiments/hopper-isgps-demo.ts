// hopper-isgps.ts with guiding samples drawn from the hopping demonstration
// controller itself (plus Gaussian action noise of 10% of its torque std and the
// 10% motor noise) instead of from the iLQG solution around it (compare
// walker-isgps-demo.ts; docs/reproduction.md).
import { experiment, stage } from "../src/index.js";
import base from "./hopper-isgps.js";

export default experiment({
  ...base,
  name: "hopper-isgps-demo",
  pipeline: base.pipeline.map((p) => (p.kind === "guidingSamples" ? stage.guidingSamples({ samples: 40, from: "demonstration", noise: 0.1 }) : p)),
});
