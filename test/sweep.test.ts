/**
 * gps sweep end to end (issue 14): each run of a sweep is the same run as
 * `gps run --seed k --set …` done alone (equal digests), the manifest and
 * run.json record the sweep, an interrupted sweep resumes to the same
 * digests, and gps list / gps diff show sweeps and overrides.
 */
import { afterAll, describe, expect, test } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRight } from "fp-ts/lib/Either.js";
import { REPO, digests, gps, gpsJson, runTo } from "./helpers/cli.js";
import { SweepManifestC, type SweepManifest } from "../src/runtime/sweep.js";
import { lastValueFrom } from "rxjs";
import { run } from "../src/runtime/api.js";
import { loadExperimentFile } from "../src/runtime/session.js";

const SMALL = join(REPO, "test/fixtures/experiments/small.ts");
const root = mkdtempSync(join(tmpdir(), "gps-sweep-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function manifestOf(store: string): SweepManifest {
  const [file] = readdirSync(join(store, "sweeps"));
  const raw = JSON.parse(readFileSync(join(store, "sweeps", file), "utf8")) as unknown;
  expect(isRight(SweepManifestC.decode(raw))).toBe(true);
  return raw as SweepManifest;
}

describe.concurrent("gps sweep", () => {
  test("seeds × grid: one run per combination, each equal to the same run done alone", async () => {
    const store = join(root, "grid");
    const r = await gps(["sweep", SMALL, "--seeds", "1..2", "--grid", "evaluate.samples=2,3", "--jobs", "2", "--store", store, "--no-report"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^run +seed +overrides +status +wall +metrics$/m);
    expect(r.stdout).toMatch(/^small-\w+-001 +2 +seed=2 evaluate\.samples=3 +complete +[\d.]+s +cost [\d.]+ +distance [\d.]+ +falls \d+$/m);
    expect(r.stdout).toMatch(/4\/4 complete, 0 stopped or not started, 0 failed/);
    const m = manifestOf(store);
    expect(m.runs.map((x) => x.label)).toEqual(["seed=1 evaluate.samples=2", "seed=1 evaluate.samples=3", "seed=2 evaluate.samples=2", "seed=2 evaluate.samples=3"]);
    const alone = join(root, "grid-alone");
    for (const run of m.runs) {
      expect(run.run).not.toBeNull();
      const meta = JSON.parse(readFileSync(join(run.run!, "run.json"), "utf8")) as { sweep: unknown; overrides: unknown };
      expect(meta.sweep).toEqual({ id: m.id, index: run.index });
      expect(meta.overrides).toEqual([{ path: "seed", value: run.seed }, ...run.overrides]);
    }
    const singles = await Promise.all(
      m.runs.map((run) => runTo(SMALL, alone, ["--seed", String(run.seed), ...run.overrides.flatMap((o) => ["--set", `${o.path}=${JSON.stringify(o.value)}`]), "--no-report"])),
    );
    for (const [i, run] of m.runs.entries()) expect(await digests(run.run!), run.label).toEqual(await digests(singles[i]));
    // Different seeds give different runs: the comparison above can fail.
    expect(await digests(m.runs[0].run!)).not.toEqual(await digests(m.runs[2].run!));

    // gps list: the sweep's runs by filter, with seed and status; --json has every column.
    const list = await gpsJson<{ run: string; sweep: string | null; seed: number; status: string; stagesDone: number; totalStages: number; cost: number }[]>([
      "list",
      "--store",
      store,
      "--filter",
      `sweep=${m.id}`,
      "--filter",
      "seed=2",
      "--sort",
      "cost",
      "--json",
    ]);
    expect(list.map((x) => [x.sweep, x.seed, x.status, `${x.stagesDone}/${x.totalStages}`])).toEqual([
      [m.id, 2, "complete", "6/6"],
      [m.id, 2, "complete", "6/6"],
    ]);
    expect(list[0].cost).toBeLessThanOrEqual(list[1].cost);
    const table = await gps(["list", "--store", store]);
    expect(table.stdout).toMatch(new RegExp(`^small-\\w+-001 +small +${m.id} +1 +complete +6/6 `, "m"));

    // gps diff lists each run's overrides; show prints them.
    const d = await gps(["diff", m.runs[0].run!, m.runs[3].run!]);
    expect(d.status, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/^overrides A: seed=1 evaluate\.samples=2$/m);
    expect(d.stdout).toMatch(/^overrides B: seed=2 evaluate\.samples=3$/m);
    const s = await gps(["show", m.runs[1].run!]);
    expect(s.stdout).toMatch(/^overrides +seed=1 evaluate\.samples=3$/m);
    expect(s.stdout).toMatch(new RegExp(`^sweep +${m.id} \\(run 1\\)$`, "m"));
  }, 240_000);

  test("SIGINT stops the sweep; --resume finishes only what is not complete, to the digests of the runs done alone", async () => {
    const store = join(root, "interrupted");
    const args = ["sweep", SMALL, "--seeds", "3..4", "--set", "pipeline[1].times=40", "--jobs", "1", "--store", store, "--no-report"];
    const first = await gps(args, { after: (l) => l.startsWith("manifest "), delayMs: 3500, signal: "SIGINT" });
    expect(first.status, first.stderr + first.stdout).toBe(130);
    expect(first.stdout).toMatch(/[01]\/2 complete/);
    const m = manifestOf(store);
    const again = await gps(["sweep", "--resume", m.id, "--store", store, "--jobs", "2"]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/2\/2 complete/);
    const done = manifestOf(store);
    expect(done.runs.every((r) => r.run !== null)).toBe(true);
    // One run directory per run: the resume continued them rather than starting new ones.
    expect(readdirSync(store).filter((n) => n.startsWith("small-"))).toHaveLength(2);
    for (const run of done.runs) {
      const alone = await runTo(SMALL, join(root, "interrupted-alone"), ["--seed", String(run.seed), "--set", "pipeline[1].times=40", "--no-report"]);
      expect(await digests(run.run!), run.label).toEqual(await digests(alone));
    }
    // A second resume has nothing to do.
    const third = await gps(["sweep", "--resume", join(store, "sweeps", `${m.id}.json`), "--store", store]);
    expect(third.status, third.stderr).toBe(0);
    expect(third.stdout.match(/complete \(earlier\)/g)).toHaveLength(2);
  }, 240_000);

  test("a run with overrides resumes against its file with the overrides re-applied; an older run.json without them still reads and resumes", async () => {
    const store = join(root, "resume-overrides");
    const set = ["--seed", "2", "--set", "evaluate.samples=2", "--set", "task.horizon=15", "--no-report"];
    const partial = await runTo(SMALL, store, [...set, "--stop-after-stage", "2"]);
    const r = await gps(["resume", partial, "--no-report"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/comparing with .*small\.ts \(unchanged since the run started\)/);
    const whole = await runTo(SMALL, store, set);
    expect(await digests(partial)).toEqual(await digests(whole));
    // A run made before overrides were recorded: run.json has seedOverride only (it is not hashed).
    const old = await runTo(SMALL, store, ["--seed", "4", "--stop-after-stage", "1", "--no-report"]);
    const meta = JSON.parse(readFileSync(join(old, "run.json"), "utf8")) as Record<string, unknown>;
    expect(meta.overrides).toEqual([{ path: "seed", value: 4 }]);
    delete meta.overrides;
    writeFileSync(join(old, "run.json"), JSON.stringify(meta));
    expect((await gps(["show", old])).status).toBe(0);
    const resumed = await gps(["resume", old, "--no-report"]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(await digests(old)).toEqual(await digests(await runTo(SMALL, store, ["--seed", "4", "--no-report"])));
    // The library's run() takes the same overrides and gives the same run.
    const experiment = await loadExperimentFile(SMALL);
    const events = run(experiment, { store: join(root, "api"), seed: 2, workers: 1, overrides: [{ path: "evaluate.samples", value: 2 }, { path: "task.horizon", value: 15 }] });
    const last = await lastValueFrom(events);
    expect(last.type === "run-finished" && last.complete).toBe(true);
    const [apiRun] = readdirSync(join(root, "api"));
    expect(await digests(join(root, "api", apiRun))).toEqual(await digests(whole));
  }, 240_000);
});
