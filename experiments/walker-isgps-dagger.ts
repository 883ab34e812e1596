// walker-isgps.ts with the DAgger prior method as the paper ran it (2013 §6.1): the iLQG
// ("DDP") solution around the demonstration is the expert that labels every visited state,
// though its time-indexed controller is only valid near the example.
import { experiment } from "../src/index.js";
import base from "./walker-isgps-original.js";
import { dagger } from "./isgps-variants.js";

export default experiment({ ...dagger(base), name: "walker-isgps-dagger" });
