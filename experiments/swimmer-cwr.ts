// swimmer-isgps.ts with cost-weighted regression (Peters & Schaal 2007; Kober & Peters
// 2009; docs/isgps.md): the same iLQG, guiding samples and pretrained θ*, then 80
// iterations of 1000 rollouts of π_θ weighted by exp(−cost/τ) (τ: the batch's cost std)
// and μ refitted to them. The evaluations after the loop are swimmer-isgps's.
import base from "./swimmer-isgps.js";
import { experiment, repeat, stage } from "../src/index.js";

export default experiment({
  ...base,
  name: "swimmer-cwr",
  // The policy-search loop only (iLQG's own iterations are a repeat too).
  pipeline: base.pipeline.map((p) => (p.kind === "repeat" && p.body[0].kind === "isgpsIteration" ? repeat(80, [stage.costWeightedRegression()]) : p)),
});
