/**
 * Every experiment file under experiments/ is a value the codec accepts:
 * importing it does nothing but build the value, and a typo in a stage option
 * shows up here rather than at the start of a long run.
 */
import { describe, expect, it } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { decodeExperiment } from "../src/dsl/validate.js";
import { unrollPipeline } from "../src/dsl/experiment.js";

const dir = join(__dirname, "..", "experiments");
// Files whose default export is an experiment (helpers such as isgps-variants.ts export functions only).
const HELPERS = new Set(["isgps-variants.ts", "cgps-walker.ts", "trajectory-variants.ts", "variational.ts", "walker-push.ts"]);
const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !HELPERS.has(f));

describe("experiments/", () => {
  it.each(files)("%s decodes, and its name is unique", async (file) => {
    const mod = (await import(join(dir, file))) as { default: unknown };
    const e = decodeExperiment(mod.default);
    expect(e.name.length).toBeGreaterThan(0);
    expect(unrollPipeline(e.pipeline).length).toBeGreaterThan(0);
  });

  it("no two experiment files share a name (runs are named after it)", async () => {
    const names = await Promise.all(files.map(async (f) => ((await import(join(dir, f))) as { default: { name: string } }).default.name));
    expect(new Set(names).size).toBe(names.length);
  });
});
