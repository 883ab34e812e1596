/**
 * Property (fast-check, seeded, bounded): `gps run` SIGKILLed at a generated
 * moment — a checkpoint index and a delay after it — and `gps resume`d, itself
 * SIGKILLed at a second generated moment when the property says so, ends with
 * exactly the digests of the uninterrupted run. The stale lock a killed
 * process leaves behind is taken over by the next writer on this host.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, digests, gps, runTo } from "./helpers/cli.js";

const LONG = join(REPO, "test/fixtures/experiments/long.ts"); // 32 stages
const STAGES = 32;
const checkpointLine = (index: number) => (l: string) => l.includes('"type":"checkpoint-written"') && l.includes(`"index":${index},`);
const runOf = (stdout: string): string => (JSON.parse(stdout.split("\n")[0]) as { run: string }).run;

describe("SIGKILL at generated moments during run and resume", () => {
  it("resume always ends with the uninterrupted run's digests", async () => {
    const store = mkdtempSync(join(tmpdir(), "gps-kill-prop-"));
    const reference = await digests(await runTo(LONG, store));
    expect(reference).toHaveLength(STAGES);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: STAGES - 6 }),
        fc.integer({ min: 0, max: 25 }),
        fc.option(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 25 })), { nil: null }),
        async (atCheckpoint, delayMs, resumeKill) => {
          const killed = await gps(["run", LONG, "--store", store, "--json"], { after: checkpointLine(atCheckpoint), delayMs });
          const run = runOf(killed.stdout);
          if (resumeKill && killed.signal === "SIGKILL") {
            // Kill the resume a few checkpoints after the first kill's last one.
            const [ahead, delay] = resumeKill;
            const last = Math.max(-1, ...[...killed.stdout.matchAll(/"checkpoint-written","index":(\d+)/g)].map((m) => Number(m[1])));
            await gps(["resume", run, "--json"], { after: checkpointLine(Math.min(STAGES - 1, last + ahead)), delayMs: delay });
          }
          const resumed = await gps(["resume", run]);
          // A run the kill missed is complete: resuming it is refused as done, or does nothing.
          expect([0, 2]).toContain(resumed.status);
          expect(await digests(run)).toEqual(reference);
        },
      ),
      { numRuns: 3, seed: 2026, endOnFailure: true },
    );
  }, 240_000);
});
