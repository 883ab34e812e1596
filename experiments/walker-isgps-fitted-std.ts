// walker-isgps.ts with the policy's σ fitted by maximum likelihood in pretraining
// (the default) instead of fixed at the guiding noise: the σ ablation.
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps.js";

export default experiment({
  ...base,
  name: "walker-isgps-fitted-std",
  pipeline: base.pipeline.map((p) => (p.kind === "pretrainPolicy" ? stage.pretrainPolicy({ maxIterations: p.maxIterations, samples: p.samples }) : p)),
});
