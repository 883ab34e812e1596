// swimmer-isgps-dagger.ts with the 2014 paper's weighted DAgger: every labelled state x_t
// weighted by its density under the iLQG trajectory distribution's state marginal at
// step t (docs/isgps.md), normalized per condition and step. Everything else as there.
import base from "./swimmer-isgps-dagger.js";
import { experiment, mapStages } from "../src/index.js";

export default experiment({
  ...base,
  name: "swimmer-dagger-weighted",
  pipeline: mapStages(base.pipeline, (s) => (s.kind === "daggerIteration" ? { ...s, weighting: "trajectory" as const } : s)),
});
