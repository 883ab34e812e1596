/** Stage kind → implementation: see ./registry.ts (kept for imports of the old name). */
export { startStage, stageRegistry } from "./registry.js";
