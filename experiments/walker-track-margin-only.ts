// Ablation: walker-track-plain.ts with the contact-margin linearization alone (gains from the step's μ).
import plain from "./walker-track-plain.js";
import { contactMargin } from "./trajectory-variants.js";

export default contactMargin(plain, 0.005);
