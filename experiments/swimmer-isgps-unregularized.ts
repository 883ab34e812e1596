// The "unregularized" variant of the 2013 paper's §6.1: Φ without the w_r log Z_t
// term (w_r = 0 throughout), everything else as swimmer-isgps.ts.
import { experiment, repeat, stage } from "../src/index.js";
import base from "./swimmer-isgps.js";

export default experiment({
  ...base,
  name: "swimmer-isgps-unregularized",
  pipeline: base.pipeline.map((p) =>
    p.kind === "pretrainPolicy"
      ? stage.pretrainPolicy({ ...p, wr: 0 })
      : p.kind === "repeat" && p.body[0].kind === "isgpsIteration"
        ? repeat(p.times, [p.body[0], stage.adaptWr({ min: 0, max: 0 })])
        : p,
  ),
});
