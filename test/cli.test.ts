/**
 * End-to-end tests of the `gps` command: each runs `node bin/gps.js …` in a
 * child process against a temporary store and checks a guarantee from the
 * README / docs (determinism, bit-identical resume after a stop or a SIGKILL,
 * --from-stage, diff, bad input writes nothing, corrupt checkpoints, changed
 * experiment files, JSON shapes, and an exported controller that replays in
 * plain mujoco-js).
 *
 * The tests are independent and run concurrently (each CLI call is a process
 * that mostly waits on tsx start-up); all share two baseline runs made once.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import loadMujoco from "mujoco-js";
import type { MainModule } from "mujoco-js";
import { openRun, stageRecords } from "../src/runtime/store.js";
import { REPO, digests, gps, gpsJson, runTo, show, type DiffJson, type KillOptions, type ShowJson, snapshot } from "./helpers/cli.js";

const FIX = join(REPO, "test/fixtures/experiments");
const SMALL = join(FIX, "small.ts"); // stages 0 init, 1–4 ilqgIteration, 5 evaluate (noisy)
const SMALL_STAGES = 6;
const LONG = join(FIX, "long.ts"); // stages 0 init, 1–30 ilqgIteration, 31 evaluate (noisy)
const LONG_STAGES = 32;

const roots: string[] = [];
/** A fresh temporary directory, removed after all tests. */
function tmp(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `gps-cli-${tag}-`));
  roots.push(d);
  return d;
}


const ckpt = (run: string, index: number, sub = ""): string => join(run, "checkpoints", sub, `stage-${String(index).padStart(6, "0")}.json`);

/**
 * The digest of every stage as the store reads it (what `gps show` prints),
 * read in this process to spare a CLI start-up; every checkpoint must verify.
 */
function storedDigests(run: string): string[] {
  const records = stageRecords(openRun(run));
  // (`logged` is not required: a kill between a checkpoint and its log line leaves a finished, unlogged stage.)
  expect(records.map((r) => [r.index, r.status])).toEqual(records.map((_, i) => [i, "ok"]));
  return records.map((r) => r.digest);
}

/** Checkpoint files in checkpoints/ (not superseded ones). */
function checkpointCount(run: string): number {
  return readdirSync(join(run, "checkpoints")).filter((n) => /^stage-\d{6,}\.json$/.test(n)).length;
}

/** Flip one digit inside the `state` of a checkpoint file (still valid JSON, no longer matching its contentHash). */
function flipDigitInState(file: string): void {
  const text = readFileSync(file, "utf8");
  const at = text.indexOf('"state":');
  expect(at).toBeGreaterThan(0);
  let i = at + 8;
  while (!/[0-9]/.test(text[i])) i++;
  const flipped = String((Number(text[i]) + 1) % 10);
  writeFileSync(file, text.slice(0, i) + flipped + text.slice(i + 1));
  expect(() => JSON.parse(readFileSync(file, "utf8"))).not.toThrow();
}

let baseStore: string;
let smallBase: string;
let longBase: string;
let smallShow: ShowJson;
let smallDigests: string[];
let longDigests: string[];
const tmpFixtureDirs: string[] = [];

beforeAll(async () => {
  baseStore = tmp("base");
  [smallBase, longBase] = await Promise.all([runTo(SMALL, baseStore), runTo(LONG, baseStore)]);
  smallShow = await show(smallBase);
  smallDigests = smallShow.stages.map((s) => s.digest);
  longDigests = storedDigests(longBase);
  expect(smallDigests).toHaveLength(SMALL_STAGES);
  expect(longDigests).toHaveLength(LONG_STAGES);
  // Every stage changes the state, so equal digest lists below are a real check.
  expect(new Set(smallDigests).size).toBe(SMALL_STAGES);
});

afterAll(() => {
  for (const d of [...roots, ...tmpFixtureDirs]) rmSync(d, { recursive: true, force: true });
});

describe.concurrent("gps", () => {
  test("determinism: the same experiment run twice gives identical digests and an identical diff", async ({ expect }) => {
    const store = tmp("det");
    const again = await runTo(SMALL, store);
    expect(again).not.toBe(smallBase);
    expect(await digests(again)).toEqual(smallDigests);
    const d = await gpsJson<DiffJson>(["diff", smallBase, again, "--json"]);
    expect(d.identical).toBe(true);
    expect(d.firstDivergentStage).toBeNull();
    expect(d.experimentChanges).toEqual([]);
    expect(d.stages.map((s) => s.sameDigest)).toEqual(Array(SMALL_STAGES).fill(true));
  });

  test("show/diff/list --json shapes", async ({ expect }) => {
    const s = smallShow;
    expect(s.experimentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.experimentName).toBe("small");
    expect(s.stages.map((x) => x.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.stages.map((x) => x.kind)).toEqual(["initializeTrajectories", "ilqgIteration", "ilqgIteration", "ilqgIteration", "ilqgIteration", "evaluate"]);
    expect(s.stages.map((x) => x.label)).toEqual(["initializeTrajectories", "ilqgIteration 1/4", "ilqgIteration 2/4", "ilqgIteration 3/4", "ilqgIteration 4/4", "evaluate"]);
    for (const st of s.stages) {
      expect(st.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(typeof st.metrics.cost).toBe("number");
      expect(Number.isFinite(st.metrics.cost)).toBe(true);
    }
    // iLQG lowers the cost from the random initialization.
    expect(s.stages[4].metrics.cost).toBeLessThan(s.stages[0].metrics.cost as number);
    expect(s.stages.map((x) => x.index)).toEqual(s.stages.map((_, i) => i));

    const list = await gpsJson<{ run: string; experimentName: string; experimentHash: string; stagesDone: number }[]>(["list", "--store", baseStore, "--json"]);
    expect(list.map((r) => [r.run, r.experimentName, r.stagesDone])).toEqual([
      [longBase, "long", LONG_STAGES],
      [smallBase, "small", SMALL_STAGES],
    ]);
    expect(list[1].experimentHash).toBe(s.experimentHash);
  });

  test("resume after --stop-after-stage K (K = 0, 2, last-1) ends with the uninterrupted digests", async ({ expect }) => {
    const store = tmp("stop");
    await Promise.all(
      [0, 2, SMALL_STAGES - 2].map(async (K) => {
        const r = await gps(["run", SMALL, "--store", store, "--stop-after-stage", String(K), "--json"]);
        expect(r.status, r.stderr).toBe(0);
        const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; run: string; complete?: boolean; lastStage?: number; digest?: string });
        const run = events[0].run;
        expect(events.at(-1)).toMatchObject({ type: "run-finished", complete: false, lastStage: K });
        expect(events.filter((e) => e.type === "stage-finished").map((e) => e.digest)).toEqual(smallDigests.slice(0, K + 1));
        expect(checkpointCount(run)).toBe(K + 1);

        const res = await gps(["resume", run]);
        expect(res.status, res.stderr).toBe(0);
        expect(res.stdout).toContain(`at stage ${K + 1}`);
        expect(K === 0 ? await digests(run) : storedDigests(run)).toEqual(smallDigests);
        expect(checkpointCount(run)).toBe(SMALL_STAGES);
      }),
    );
  });

  test("SIGKILL at several moments during run, and during resume: resume ends with the uninterrupted digests", async ({ expect }) => {
    const store = tmp("kill");
    const line = (type: string, index?: number) => (l: string): boolean =>
      l.includes(`"type":"${type}"`) && (index === undefined || l.includes(`"index":${index},`));
    const runOf = (stdout: string): string => (JSON.parse(stdout.split("\n")[0]) as { run: string }).run;
    // The kill moments are fixed (not random per test run) and tied to the
    // progress of the run, so that they land at different points however
    // loaded the machine is: during start-up / stage 0, just as a stage
    // begins, and a few ms into the stage after a checkpoint.
    const moments: { name: string; kill: KillOptions }[] = [
      { name: "150 ms after run-started", kill: { after: line("run-started"), delayMs: 150 } },
      { name: "as stage 3 starts", kill: { after: line("stage-started", 3), delayMs: 0 } },
      { name: "8 ms after checkpoint 12", kill: { after: line("checkpoint-written", 12), delayMs: 8 } },
    ];
    const killedAt = await Promise.all(
      moments.map(async ({ name, kill }, m) => {
        const r = await gps(["run", LONG, "--store", store, "--json"], kill);
        expect(r.signal, `the run finished before the kill ${name}`).toBe("SIGKILL");
        const run = runOf(r.stdout);
        const done = checkpointCount(run);
        expect(done, name).toBeLessThan(LONG_STAGES);
        if (m === 1) {
          // Kill the resume too, a few stages in, then resume again.
          const k = await gps(["resume", run, "--json"], { after: line("checkpoint-written", done + 4), delayMs: 5 });
          expect(k.signal, "the resume finished before the kill").toBe("SIGKILL");
          expect(checkpointCount(run)).toBeGreaterThanOrEqual(done + 5);
          expect(checkpointCount(run)).toBeLessThan(LONG_STAGES);
        }
        const res = await gps(["resume", run]);
        expect(res.status, res.stderr).toBe(0);
        expect(res.stdout).toMatch(/at stage \d+/);
        expect(m === 2 ? await digests(run) : storedDigests(run), name).toEqual(longDigests);
        return done;
      }),
    );
    // The kills landed at different points.
    expect(new Set(killedAt).size).toBe(moments.length);
  });

  test("resume --from-stage K re-runs from K with identical digests and keeps the superseded checkpoints", async ({ expect }) => {
    const run = join(tmp("from"), "copy");
    cpSync(smallBase, run, { recursive: true });
    const before = snapshot(join(run, "checkpoints"));

    const r = await gps(["resume", run, "--from-stage", "2"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("at stage 2");
    expect(storedDigests(run)).toEqual(smallDigests);
    // Stages 2..5 were moved, byte for byte, into superseded-1/; 0 and 1 stayed.
    const sup1 = readdirSync(join(run, "checkpoints", "superseded-1")).sort();
    expect(sup1).toEqual([2, 3, 4, 5].map((i) => `stage-00000${i}.json`));
    for (const i of [2, 3, 4, 5]) expect(readFileSync(ckpt(run, i, "superseded-1")).toString("base64")).toBe(before[`stage-00000${i}.json`]);
    for (const i of [0, 1]) expect(readFileSync(ckpt(run, i)).toString("base64")).toBe(before[`stage-00000${i}.json`]);
    expect(readFileSync(join(run, "stages.jsonl"), "utf8")).toContain('{"resumedFrom":1}');

    // From the very start (stage 0, from the initial state): everything moves to superseded-2/.
    const r0 = await gps(["resume", run, "--from-stage", "0"]);
    expect(r0.status, r0.stderr).toBe(0);
    expect(await digests(run)).toEqual(smallDigests);
    expect(readdirSync(join(run, "checkpoints", "superseded-2"))).toHaveLength(SMALL_STAGES);
    expect(readdirSync(join(run, "checkpoints", "superseded-1"))).toHaveLength(4);
    expect(readFileSync(join(run, "stages.jsonl"), "utf8")).toContain('{"resumedFrom":-1}');
  });

  test("diff of changed experiments: the changed paths and the first divergent stage", async ({ expect }) => {
    const store = tmp("diff");
    const [seeded, samples] = await Promise.all([runTo(SMALL, store, ["--seed", "6"]), runTo(join(FIX, "small-samples.ts"), store)]);

    const ds = await gpsJson<DiffJson>(["diff", smallBase, seeded, "--json"]);
    expect(ds.identical).toBe(false);
    expect(ds.experimentChanges).toEqual([{ path: "seed", from: 5, to: 6 }]);
    expect(ds.firstDivergentStage).toBe(0); // random initialization draws from the seeded generator

    const dv = await gpsJson<DiffJson>(["diff", smallBase, samples, "--json"]);
    expect(dv.identical).toBe(false);
    expect(dv.experimentChanges).toEqual([
      { path: "name", from: "small", to: "small-samples" },
      { path: "pipeline[2].samples", from: 3, to: 4 },
    ]);
    expect(dv.firstDivergentStage).toBe(5); // only the noisy evaluation differs
    expect(dv.stages.map((s) => s.sameDigest)).toEqual([true, true, true, true, true, false]);
  });

  test("bad input exits 2, names the field, and writes nothing", async ({ expect }) => {
    const dir = tmp("bad");
    const syntax = join(dir, "syntax-error.ts");
    writeFileSync(syntax, 'import { experiment } from "../../src/index.js";\nexport default experiment({ name: "x", seed: 1,, });\n');
    const cases: [string[], RegExp[]][] = [
      [["run", join(FIX, "bad-kind.ts")], [/pipeline\[1\]\.body\[0\]\.kind/, /"ilqgIter"/]],
      [["run", join(FIX, "bad-seed.ts")], [/\bseed\b/, /-3/]],
      [["run", join(FIX, "bad-qpos.ts")], [/conditions\[0\]/, /qpos/]],
      [["run", join(FIX, "no-default.ts")], [/no default export/, /no-default\.ts/]],
      [["run", syntax], [/syntax-error\.ts/]],
      [["run", SMALL, "--bogus"], [/bogus/]],
      [["run", SMALL, "--seed", "abc"], [/--seed/]],
      [["frobnicate"], [/unknown command 'frobnicate'/]],
    ];
    await Promise.all(
      cases.map(async ([args, patterns], i) => {
        const store = join(dir, `store-${i}`);
        const r = await gps([...args, "--store", store]);
        expect(r.status, `gps ${args.join(" ")}\n${r.stderr}`).toBe(2);
        for (const p of patterns) expect(r.stderr).toMatch(p);
        expect(existsSync(store) ? readdirSync(store) : [], `gps ${args.join(" ")} wrote into the store`).toEqual([]);
      }),
    );
    // Nothing appeared next to the fixtures either (e.g. a default runs/ store).
    expect(readdirSync(dir).sort()).toEqual(["syntax-error.ts"]);
  });

  test("compare draws an iLQG run (cost per ilqgIteration); refuses --out-less calls, a bad metric and a missing run, writing nothing", async ({ expect }) => {
    const dir = tmp("compare");
    const svg = join(dir, "curves.svg");
    const noOut = await gps(["compare", smallBase]);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/--out/);
    const badMetric = await gps(["compare", smallBase, "--out", svg, "--metric", "reward"]);
    expect(badMetric.status).toBe(2);
    expect(badMetric.stderr).toMatch(/--metric must be sampleCost, cost, pushCost or pushesRecovered, got "reward"/);
    const noSamples = await gps(["compare", smallBase, "--out", svg, "--metric", "sampleCost"]);
    expect(noSamples.status).toBe(2);
    expect(noSamples.stderr).toMatch(/training stages \(ilqgIteration\) have no metric sampleCost/);
    const noPushes = await gps(["compare", smallBase, "--out", svg, "--metric", "pushesRecovered"]);
    expect(noPushes.status).toBe(2);
    expect(noPushes.stderr).toMatch(/no run has a push test of the policy/);
    const missing = await gps(["compare", join(dir, "nope"), "--out", svg]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope is not a run directory, a store directory or a sweep id/);
    expect(readdirSync(dir)).toEqual([]);
    const ilqg = await gps(["compare", smallBase, "--out", svg]);
    expect(ilqg.status, ilqg.stderr).toBe(0);
    expect(readFileSync(svg, "utf8")).toMatch(/iteration \(iLQG iterations\)/);
  });

  test("a truncated last checkpoint: show still lists the stage; resume keeps the bytes, warns, and ends identical", async ({ expect }) => {
    // A finished run whose last checkpoint is cut in half.
    const store = tmp("trunc");
    const copy = join(store, "copy");
    cpSync(smallBase, copy, { recursive: true });
    const last = ckpt(copy, SMALL_STAGES - 1);
    truncateSync(last, Math.floor(statSync(last).size / 2));
    const s = await show(copy);
    expect(s.stages.map((x) => x.digest)).toEqual(smallDigests); // the log still knows the stage

    // A run stopped after stage 3 whose checkpoint 3 is then cut in half.
    const run = await runTo(SMALL, store, ["--stop-after-stage", "3"]);
    const file = ckpt(run, 3);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const corrupt = readFileSync(file);
    const r = await gps(["resume", run]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning/);
    expect(r.stderr).toContain("stage-000003.json");
    expect(r.stdout).toContain("at stage 3"); // from checkpoint 2, the last good one
    // The corrupt file was moved aside, not overwritten or repaired.
    expect(readFileSync(ckpt(run, 3, "superseded-1")).equals(corrupt)).toBe(true);
    expect(storedDigests(run)).toEqual(smallDigests);
  });

  test("a checkpoint with a flipped digit is refused, naming the file, when resuming from it", async ({ expect }) => {
    const store = tmp("flip");
    const copy = join(store, "copy");
    cpSync(smallBase, copy, { recursive: true });
    flipDigitInState(ckpt(copy, 2));
    const before = snapshot(copy);
    const r = await gps(["resume", copy, "--from-stage", "3"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("stage-000002.json");
    expect(r.stderr).toMatch(/hash mismatch/);
    expect(snapshot(copy)).toEqual(before);
  });

  test("bad input to show/resume/diff/export/report exits 2: not a run, a malformed run.json, an export the run cannot give", async ({ expect }) => {
    const store = tmp("not-a-run");
    const empty = join(store, "empty");
    mkdirSync(empty);
    for (const args of [["show", empty], ["resume", empty], ["diff", empty, smallBase], ["export", empty, "--out", join(store, "a.json")], ["report", empty], ["show", join(store, "missing")]]) {
      const r = await gps(args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/Not a run directory/);
    }
    const bad = join(store, "bad-meta");
    cpSync(smallBase, bad, { recursive: true });
    writeFileSync(join(bad, "run.json"), "{bad");
    const malformed = await gps(["show", bad]);
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/Malformed .*run\.json/);
    const out = join(store, "c.json");
    const noPolicy = await gps(["export", smallBase, "--out", out, "--policy"]);
    expect(noPolicy.status).toBe(2);
    expect(noPolicy.stderr).toMatch(/--policy: the run has no policy/);
    const noCondition = await gps(["export", smallBase, "--out", out, "--condition", "7"]);
    expect(noCondition.status).toBe(2);
    expect(noCondition.stderr).toMatch(/--condition 7 does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  test("list shows a broken run (malformed run.json, no run.json) as broken instead of failing the whole store", async ({ expect }) => {
    const store = tmp("list-broken");
    cpSync(smallBase, join(store, "good"), { recursive: true });
    cpSync(smallBase, join(store, "bad-meta"), { recursive: true });
    writeFileSync(join(store, "bad-meta", "run.json"), "{bad");
    mkdirSync(join(store, "small-0123abcd-001")); // named like a run, but no run.json
    const r = await gps(["list", "--store", store]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bad-meta {2}broken: Malformed .*run\.json/);
    expect(r.stdout).toMatch(/small-0123abcd-001 {2}broken: Not a run directory/);
    // The runs table (issue 14): a header, then run, experiment, sweep, seed, status, stages k/N, cost, distance, falls, age.
    expect(r.stdout).toMatch(/^run +experiment +sweep +seed +status +stages +cost +distance +falls +age$/m);
    expect(r.stdout).toMatch(/^good +small +- +5 +complete +6\/6 +[\d.]+ +[\d.]+ +\d+ +\d+[smhd]$/m);
    const json = await gpsJson<({ run: string; broken: string } | { run: string; stagesDone: number })[]>(["list", "--store", store, "--json"]);
    expect(json.filter((e) => "broken" in e)).toHaveLength(2);
    expect(json.filter((e) => "stagesDone" in e)).toHaveLength(1);
  });

  test("the run records its experiment file's absolute path, whatever the working directory (issue 13)", async ({ expect }) => {
    const store = tmp("abs-source");
    const r = await gps(["run", "test/fixtures/experiments/small.ts", "--store", store, "--stop-after-stage", "0", "--no-report"]);
    expect(r.status, r.stderr).toBe(0);
    const [run] = readdirSync(store).map((d) => join(store, d));
    const shown = await show(run);
    expect(shown.source).toBe(join(REPO, "test/fixtures/experiments/small.ts"));
  });

  test("export refuses a run whose latest checkpoint is corrupt, naming the file", async ({ expect }) => {
    const store = tmp("flip-export");
    const copy = join(store, "copy");
    cpSync(smallBase, copy, { recursive: true });
    flipDigitInState(ckpt(copy, SMALL_STAGES - 1));
    const out = join(store, "c.json");
    const r = await gps(["export", copy, "--out", out]);
    expect(r.stderr).toContain(`stage-00000${SMALL_STAGES - 1}.json`);
    expect(r.status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  test("a changed experiment file: resume refuses with the diff and touches nothing; --force proceeds", async ({ expect }) => {
    const dir = join(REPO, "test", "fixtures", `tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    mkdirSync(dir);
    tmpFixtureDirs.push(dir);
    const file = join(dir, "changing.ts");
    const source = readFileSync(SMALL, "utf8");
    expect(source).toContain("iterations: 4");
    writeFileSync(file, source);
    const store = tmp("changed");
    const run = await runTo(file, store, ["--stop-after-stage", "2"]);
    const hashBefore = (JSON.parse(readFileSync(join(run, "run.json"), "utf8")) as { experimentHash: string }).experimentHash;

    writeFileSync(file, source.replace("iterations: 4", "iterations: 6"));
    const before = snapshot(run);
    const r = await gps(["resume", run]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("pipeline[1].times: 4 → 6");
    expect(r.stderr).toContain("--force");
    // It says which file it compared with, and that the file changed since the run started (issue 13).
    expect(r.stderr).toContain(`comparing with ${file} (changed since the run started)`);
    expect(snapshot(run)).toEqual(before);

    // --force cannot take a horizon change: the checkpoints hold horizon-20 trajectories (issue 13).
    writeFileSync(file, source.replace("iterations: 4", "iterations: 6").replace("horizon: 20", "horizon: 25"));
    const h = await gps(["resume", run, "--force"]);
    expect(h.status).toBe(2);
    expect(h.stderr).toMatch(/task\.horizon: 20 → 25 .*start a new run instead/s);
    expect(snapshot(run)).toEqual(before);
    writeFileSync(file, source.replace("iterations: 4", "iterations: 6"));

    const f = await gps(["resume", run, "--force"]);
    expect(f.status, f.stderr).toBe(0);
    const s: ShowJson = await show(run);
    expect(s.experimentHash).not.toBe(hashBefore);
    expect(s.stages).toHaveLength(1 + 6 + 1);
    // Stages 1–2 ran under the old experiment (their labels say so); 3–6 under the new one.
    expect(s.stages.map((x) => x.label).slice(1, 7)).toEqual(["ilqgIteration 1/4", "ilqgIteration 2/4", ...[3, 4, 5, 6].map((i) => `ilqgIteration ${i}/6`)]);
    // An iteration does not depend on how many follow it: stages 0–4 match the 4-iteration run.
    expect(s.stages.slice(0, 5).map((x) => x.digest)).toEqual(smallDigests.slice(0, 5));
    // The old experiment is kept.
    expect(existsSync(join(run, "experiment.1.json"))).toBe(true);
    expect(readFileSync(join(run, "experiment.1.json"))).toEqual(Buffer.from(before["experiment.json"], "base64"));
  });

  test("export: a self-contained controller that replays in plain mujoco-js to the nominal trajectory", async ({ expect }) => {
    const dir = tmp("export");
    // Condition 1 starts bent (not at rest), so the replay exercises the initial state too.
    const c = 1;
    const out = join(dir, "controller.json");
    const r = await gps(["export", smallBase, "--out", out, "--condition", String(c)]);
    expect(r.status, r.stderr).toBe(0);
    const mj = await (loadMujoco as unknown as () => Promise<MainModule>)();
    const fs = (mj as unknown as { FS: { mkdir(p: string): void; writeFile(p: string, s: string): void } }).FS;
    fs.mkdir("/replay");
    {
      const e = JSON.parse(readFileSync(out, "utf8")) as Export;
      expect(Object.keys(e)).toEqual(expect.arrayContaining(["mjcf", "dt", "horizon", "stateLayout", "initialState", "controller"]));
      expect(e.horizon).toBe(20);
      const { qpos, qvel } = e.stateLayout;
      const nx = qpos.length + qvel.length;
      const nu = 2;
      const T = e.horizon;
      const g = e.controller;
      expect(g.kind).toBe("linear-gaussian");
      expect(g.xbar).toHaveLength(T + 1);
      for (const x of g.xbar) expect(x).toHaveLength(nx);
      for (const a of [g.ubar, g.k]) {
        expect(a).toHaveLength(T);
        for (const u of a) expect(u).toHaveLength(nu);
      }
      expect(g.K).toHaveLength(T);
      for (const K of g.K) {
        expect(K).toHaveLength(nu);
        for (const row of K) expect(row).toHaveLength(nx);
      }
      expect(g.cov).toHaveLength(T);
      for (const S of g.cov) {
        expect(S).toHaveLength(nu);
        for (const row of S) expect(row).toHaveLength(nu);
      }
      expect(e.initialState.qpos).toHaveLength(qpos.length);
      expect(e.initialState.qvel).toHaveLength(qvel.length);
      const x0 = [...e.initialState.qpos, ...e.initialState.qvel];
      expect(x0).toEqual(g.xbar[0]);
      expect(x0).toEqual([0, 0, 0.1, 0.2, -0.2, 0, 0, 0, 0, 0]); // small.ts's conditions[1]

      // Replay with mujoco-js alone: mean action u = ubar + k + K (x − xbar), held for dt.
      const path = `/replay/model-${c}.xml`;
      fs.writeFile(path, e.mjcf);
      const model = mj.MjModel.loadFromXML(path);
      const data = new mj.MjData(model);
      try {
        expect(model.nu).toBe(nu);
        const substeps = Math.round(e.dt / model.opt.timestep);
        expect(substeps * model.opt.timestep).toBeCloseTo(e.dt, 12);
        mj.mj_resetData(model, data);
        qpos.forEach((adr, i) => ((data.qpos as Float64Array)[adr] = e.initialState.qpos[i]));
        qvel.forEach((adr, i) => ((data.qvel as Float64Array)[adr] = e.initialState.qvel[i]));
        mj.mj_forward(model, data);
        const state = (): number[] => [...qpos.map((a) => (data.qpos as Float64Array)[a]), ...qvel.map((a) => (data.qvel as Float64Array)[a])];
        let maxErr = 0;
        for (let t = 0; t < T; t++) {
          const x = state();
          const ctrl = data.ctrl as Float64Array;
          for (let i = 0; i < nu; i++) {
            let u = g.ubar[t][i] + g.k[t][i];
            for (let j = 0; j < nx; j++) u += g.K[t][i][j] * (x[j] - g.xbar[t][j]);
            ctrl[i] = u;
          }
          for (let s = 0; s < substeps; s++) mj.mj_step(model, data);
          const xt = state();
          for (let j = 0; j < nx; j++) maxErr = Math.max(maxErr, Math.abs(xt[j] - g.xbar[t + 1][j]));
        }
        expect(maxErr).toBeLessThan(1e-9);
        // The swimmer moved: the replay is not trivially at rest.
        expect(Math.abs(state()[0] - x0[0])).toBeGreaterThan(1e-3);
      } finally {
        data.delete();
        model.delete();
      }
    }
  });
});

interface Export {
  mjcf: string;
  dt: number;
  horizon: number;
  stateLayout: { qpos: number[]; qvel: number[] };
  initialState: { qpos: number[]; qvel: number[] };
  controller: { kind: string; xbar: number[][]; ubar: number[][]; K: number[][][]; k: number[][]; cov: number[][][] };
}
