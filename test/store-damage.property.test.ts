/**
 * Property (issue 13): damage to a finished run's checkpoint files or blobs —
 * a flipped byte, a truncation, a deletion — is never a silently different
 * result. For every damage fast-check draws (seeded, bounded count):
 *   - show (stageRecords): a stage reads "ok" only with its original digest;
 *   - diff against the undamaged run: "identical" only if every stage reads ok;
 *   - resume: refused, or it falls back to an earlier good checkpoint (with the
 *     damage reported) and ends with the uninterrupted run's digests.
 * In-process (the code paths of gps show/diff/resume) to keep it fast.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lastValueFrom, toArray } from "rxjs";
import { condition, experiment, ilqg, task, type Experiment } from "../src/index.js";
import { resumeRun, startRun } from "../src/runtime/session.js";
import { openRun, stageRecords } from "../src/runtime/store.js";
import { diffRuns } from "../src/runtime/diff.js";

// Horizon 20, nx 10, nu 2: the gains (20·2·10 doubles) are large enough to become blobs.
const tiny: Experiment = experiment({
  name: "damage",
  seed: 21,
  task: task.swimmer({ horizon: 20 }),
  conditions: [condition.rest(), condition.state([0, 0, 0.1, -0.1, 0.1], [0, 0, 0, 0, 0])],
  pipeline: [...ilqg({ from: { kind: "random", std: 1 }, iterations: 2 })],
});

let root: string;
let base: string;
let digests: string[];
/** Files that may be damaged, relative to the run directory. */
let targets: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "gps-damage-"));
  const started = startRun(tiny, { store: join(root, "store") });
  await lastValueFrom(started.events.pipe(toArray()));
  base = started.run.dir;
  digests = stageRecords(openRun(base)).map((r) => r.digest);
  expect(digests).toHaveLength(3);
  const blobs = readdirSync(join(base, "blobs")).map((n) => join("blobs", n));
  expect(blobs.length).toBeGreaterThan(0);
  targets = [...readdirSync(join(base, "checkpoints")).filter((n) => n.endsWith(".json")).map((n) => join("checkpoints", n)), ...blobs];
}, 60_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

type Damage =
  | { readonly kind: "flip"; readonly file: number; readonly at: number; readonly mask: number }
  | { readonly kind: "truncate"; readonly file: number; readonly at: number }
  | { readonly kind: "delete"; readonly file: number };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), file: fc.nat(), at: fc.double({ min: 0, max: 1, noNaN: true }), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), file: fc.nat(), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("delete" as const), file: fc.nat() }),
) as fc.Arbitrary<Damage>;

/** Apply a damage to a copy of the run; returns the damaged file (relative). */
function apply(run: string, d: Damage): string {
  const rel = targets[d.file % targets.length];
  const file = join(run, rel);
  if (d.kind === "delete") {
    unlinkSync(file);
    return rel;
  }
  const bytes = readFileSync(file);
  const at = Math.min(bytes.length - 1, Math.floor((d as { at: number }).at * bytes.length));
  if (d.kind === "truncate") truncateSync(file, at);
  else {
    bytes[at] ^= d.mask;
    writeFileSync(file, bytes);
  }
  return rel;
}

describe("damaged checkpoints and blobs", () => {
  it("are refused, or fall back to an earlier checkpoint and end identical; never a silently different result", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(damage, async (d) => {
        const copy = join(root, `copy-${n++}`);
        cpSync(base, copy, { recursive: true });
        const rel = apply(copy, d);
        const run = openRun(copy);

        // show: "ok" only with the original digest.
        const records = stageRecords(run);
        for (const r of records) if (r.status === "ok") expect(r.digest, `${rel} ${JSON.stringify(d)}`).toBe(digests[r.index]);
        const allOk = records.length === 3 && records.every((r) => r.status === "ok");

        // diff: never "identical" unless every checkpoint verifies.
        const diff = diffRuns(openRun(base), run);
        if (diff.identical) expect(allOk, `diff called ${rel} (${JSON.stringify(d)}) identical`).toBe(true);
        if (!allOk) expect(diff.problems.length).toBeGreaterThan(0);

        // resume: refused, or it ends with the uninterrupted digests.
        let started;
        try {
          started = resumeRun(copy);
        } catch {
          return; // refused, naming the damage (the CLI exits 2)
        }
        // It starts right after the last checkpoint that verifies, which is never a damaged one.
        const damagedLast = records.find((r) => r.index === 2)?.status !== "ok";
        if (damagedLast) expect(started.startStage, `${rel} ${JSON.stringify(d)}`).toBeLessThanOrEqual(2);
        await lastValueFrom(started.events.pipe(toArray()));
        // The final state is the uninterrupted run's; a damaged earlier checkpoint that
        // nothing needed stays damaged and is still reported, never read as good.
        const after = stageRecords(openRun(copy));
        expect(after.map((r) => r.index)).toEqual([0, 1, 2]);
        expect(after[2].status, `${rel} ${JSON.stringify(d)}`).toBe("ok");
        for (const r of after) if (r.status === "ok") expect(r.digest).toBe(digests[r.index]);
        rmSync(copy, { recursive: true, force: true });
      }),
      { seed: 13, numRuns: 60 },
    );
  }, 240_000);
});
