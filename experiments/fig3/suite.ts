// The 2014 paper's Figure 3 (uneven terrain) with every comparison method: the
// constrained-GPS terrain experiments (walker-cgps-terrain-1.ts, -3.ts: 50 units,
// ten 1 s conditions along the demonstration on the training terrain(s), tested from
// rest on four unseen terrains) and each other method derived from them exactly as the
// Figure 1 suite derives its methods (experiments/fig1/suite.ts `methodFrom`). The
// paper omits the methods that failed on both training sets; we run them all.
import { experiment, type Experiment } from "../../src/index.js";
import { methodFrom, type Method } from "../fig1/suite.js";
import walkerIsgps from "../walker-isgps.js";
import terrain1 from "../walker-cgps-terrain-1.js";
import terrain3 from "../walker-cgps-terrain-3.js";

export function fig3Experiment(terrains: 1 | 3, method: Method): Experiment {
  const source = terrains === 1 ? terrain1 : terrain3;
  return methodFrom(experiment({ ...source, name: `fig3-terrain-${terrains}-cgps` }), method, walkerIsgps);
}
