/**
 * `gps run/resume --workers N` from the command line: bad values are refused
 * (exit 2, nothing written), more workers than cores is allowed and said
 * once, the digests do not depend on N, and a worker killed mid-stage fails
 * the run with a message naming the worker and the stage; the checkpoints
 * before it stay, and `gps resume` finishes with the digests of a run that
 * was never interrupted.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, test } from "vitest";
import { REPO, digests, gps, runTo } from "./helpers/cli.js";

const LONG = join(REPO, "test/fixtures/experiments/long.ts"); // 0 init, 1–30 ilqgIteration, 31 evaluate

const roots: string[] = [];
afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (tag: string): string => {
  const d = mkdtempSync(join(tmpdir(), `gps-cli-workers-${tag}-`));
  roots.push(d);
  return d;
};

describe.concurrent("gps --workers", () => {
  test("refuses 0, negative, non-integer, too many and non-numeric worker counts, naming the flag and writing nothing", async ({ expect }) => {
    const store = tmp("bad");
    for (const bad of ["0", "-1", "1.5", "65", "two", ""]) {
      const r = await gps(["run", LONG, "--store", store, `--workers=${bad}`]);
      expect(r.status, `--workers ${bad}`).toBe(2);
      expect(r.stderr).toMatch(/--workers must be an integer from 1 to 64/);
    }
    const r = await gps(["resume", join(store, "nothing-here"), "--workers", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--workers/);
    const n = await gps(["run", LONG, "--store", store, "--numerics", "fast"]);
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(/--numerics must be one of per-row, batched/);
    expect(existsSync(store) ? readdirSync(store) : []).toEqual([]);
  });

  test("more workers than cores runs, says so once, and gives the digests of one worker; resume on another count too", async ({ expect }) => {
    const store = tmp("many");
    const extra = availableParallelism() + 1;
    const r = await gps(["run", LONG, "--store", store, "--workers", String(extra), "--no-report"]);
    expect(r.status).toBe(0);
    expect(r.stderr.match(/more than the \d+ cores/g)).toHaveLength(1);
    const many = await digests(r.stdout.split("\n")[0]);
    const one = await digests(await runTo(LONG, store, ["--workers", "1", "--no-report"]));
    expect(many).toEqual(one);
    const half = await runTo(LONG, store, ["--workers", "2", "--stop-after-stage", "12", "--no-report"]);
    const resumed = await gps(["resume", half, "--workers", "1", "--no-report"]);
    expect(resumed.status).toBe(0);
    expect(await digests(half)).toEqual(one);
  });

  test("a worker killed mid-stage fails the run naming the worker and the stage; resume finishes bit-identically", async ({ expect }) => {
    const store = tmp("kill");
    const reference = await digests(await runTo(LONG, store, ["--workers", "2", "--no-report"]));
    // Worker 1 ends its thread with exit code 137 as it starts its 5th chunk.
    const r = await gps(["run", LONG, "--store", store, "--workers", "2", "--no-report"], undefined, { GPS_WORKER_FAULT: "1:5" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^gps: stage (\d+) \(ilqgIteration \d+\/30\) failed: worker 1 exited with code 137 during op sim\.linearize/);
    const failedAt = Number(/stage (\d+)/.exec(r.stderr)![1]);
    const run = r.stdout.split("\n")[0];
    const kept = await digests(run);
    expect(kept).toHaveLength(failedAt);
    expect(kept).toEqual(reference.slice(0, failedAt));
    const resumed = await gps(["resume", run, "--no-report"]);
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`resuming ${run} at stage ${failedAt}`);
    expect(await digests(run)).toEqual(reference);
  });
});
