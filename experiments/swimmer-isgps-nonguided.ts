// The "non-guided" variant of the 2013 paper's §6.1: the guiding samples only
// pretrain θ*; the policy search itself sees on-policy samples alone.
import { experiment, repeat, stage } from "../src/index.js";
import base from "./swimmer-isgps.js";

export default experiment({
  ...base,
  name: "swimmer-isgps-nonguided",
  pipeline: base.pipeline.map((p) =>
    p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
      ? repeat(p.times, [stage.isgpsIteration({ ...p.body[0], useGuidingSamples: false }), p.body[1]])
      : p,
  ),
});
