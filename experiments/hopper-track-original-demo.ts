// Ablation: hopper-track.ts around the original hopping controller ("hopper-hop",
// which itself falls in 17 of 40 rollouts under 10% motor noise).
import { experiment, stage } from "../src/index.js";
import base from "./hopper-track.js";

export default experiment({
  ...base,
  name: "hopper-track-original-demo",
  pipeline: base.pipeline.map((p) => (p.kind === "demonstrate" ? stage.demonstrate({ controller: "hopper-hop" }) : p)),
});
