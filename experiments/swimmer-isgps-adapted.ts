// "Adapted ISGPS", a comparison method of the 2014 paper (§4, Fig. 1): importance-
// sampled GPS (experiments/swimmer-isgps.ts) whose guiding distributions are
// re-optimized toward the current policy at every iteration — the adaptive guiding
// distributions of the 2013 paper §4.2 (adaptGuiding: iLQG on ℓ − log π_θ* from the
// current guiding solution), followed each time by fresh guiding samples from them.
// Derived with the structural map over the pipeline, not copied.
import { experiment, mapStages, stage } from "../src/index.js";
import base from "./swimmer-isgps.js";

export default experiment({
  ...base,
  name: "swimmer-isgps-adapted",
  pipeline: mapStages(base.pipeline, (s) =>
    s.kind === "adaptWr" ? [s, stage.adaptGuiding({ iterations: 5 }), stage.guidingSamples({ samples: 10 })] : s,
  ),
});
