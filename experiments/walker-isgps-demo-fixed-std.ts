// walker-isgps-demo.ts with the policy's output noise σ fixed at the guiding noise
// (pretrainPolicy std: "guiding") instead of fitted with μ. The fitted σ takes in the
// network's fit residual and makes on-policy samples noisier than the guiding ones;
// the paper's policies have one "uniform output noise σ" and motors with 10% noise.
import { experiment, stage } from "../src/index.js";
import base from "./walker-isgps-demo.js";

export default experiment({
  ...base,
  name: "walker-isgps-demo-fixed-std",
  pipeline: base.pipeline.map((p) => (p.kind === "pretrainPolicy" ? stage.pretrainPolicy({ ...p, std: "guiding" }) : p)),
});
