/**
 * Every bad input to `gps`, as a table: the arguments, the exit status and a
 * fragment of the message (issue 13). Bad input exits 2 and writes nothing
 * (a fresh --store stays empty, runs given as input are byte-for-byte
 * unchanged); a stage that produces NaN exits 3. No message shows an
 * internal function name.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, gps, runTo, snapshot } from "./helpers/cli.js";

const FIX = join(REPO, "test/fixtures/experiments");
const SMALL = join(FIX, "small.ts");

let root: string;
let base: string;
/** name → directory of the prepared runs and non-runs. */
const dirs: Record<string, string> = {};


beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "gps-bad-input-"));
  base = await runTo(SMALL, join(root, "base"), ["--no-report"]);
  const copy = (name: string): string => {
    const d = join(root, name);
    cpSync(base, d, { recursive: true });
    return (dirs[name] = d);
  };
  mkdirSync((dirs.empty = join(root, "empty")));
  dirs.missing = join(root, "missing");
  writeFileSync(join(copy("malformed"), "run.json"), "{bad");
  const edited = join(copy("edited"), "experiment.json");
  writeFileSync(edited, readFileSync(edited, "utf8").replace('"horizon":20', '"horizon":25'));
  // Held by a live process (this one) on this host.
  writeFileSync(join(copy("busy"), "lock"), JSON.stringify({ pid: process.pid, host: hostname(), since: "2026-01-02T03:04:05.000Z" }));
  // Resumes take the run's lock for a moment: they get their own copies, so that
  // the byte-for-byte checks of concurrent rows never see another row's lock.
  copy("resumable");
  for (const name of ["corrupt", "corruptResumable"]) {
    const file = join(copy(name), "checkpoints", "stage-000002.json");
    writeFileSync(file, readFileSync(file, "utf8").replace(/"state":\{/, '"state":{"x":1,'));
  }
  dirs.base = base;
}, 120_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** [what, args ({name} is a prepared directory, {store} a fresh store, {out} a fresh output path), exit status, message fragment] */
const TABLE: readonly (readonly [string, readonly string[], number, RegExp])[] = [
  ["no command", [], 2, /Usage: gps/],
  ["unknown command", ["frobnicate"], 2, /unknown command 'frobnicate'/],
  ["unknown top-level option", ["--bogus"], 2, /unknown option '--bogus'/],
  ["unknown option, with a suggestion", ["run", SMALL, "--store", "{store}", "--jsn"], 2, /unknown option '--jsn'\s*\(Did you mean --json\?\)/],
  ["unknown option of resume, with a suggestion", ["resume", "{base}", "--frce"], 2, /unknown option '--frce'\s*\(Did you mean --force\?\)/],
  ["missing argument: run", ["run", "--store", "{store}"], 2, /missing required argument 'experiment'/],
  ["missing argument: show", ["show"], 2, /missing required argument 'run'/],
  ["missing argument: diff", ["diff", "{base}"], 2, /missing required argument 'runB'/],
  ["excess argument", ["show", "{base}", "{base}"], 2, /too many arguments for 'show'/],
  ["option without its value", ["run", SMALL, "--store"], 2, /option '--store <dir>' argument missing/],
  ["experiment file not found", ["run", join(FIX, "nope.ts"), "--store", "{store}"], 2, /experiment file not found/],
  ["a swimmer with terrain", ["run", join(FIX, "swimmer-terrain.ts"), "--store", "{store}"], 2, /task: terrain and pushes apply to the hopper and walker only, not the swimmer/],
  ["NaN in an experiment (reported as NaN, not null)", ["run", join(FIX, "nan-qvel.ts"), "--store", "{store}"], 2, /conditions\[0\]\.qvel\[0\]: expected FiniteNumber, got NaN/],
  ["Infinity in an experiment (reported as Infinity)", ["run", join(FIX, "inf-qvel.ts"), "--store", "{store}"], 2, /conditions\[0\]\.qvel\[1\]: expected FiniteNumber, got Infinity/],
  ["an experiment the machine cannot hold", ["run", join(FIX, "huge.ts"), "--store", "{store}"], 2, /needs about [\d.]+ TiB of memory per checkpoint, more than this machine's .*estimated/],
  ["a misordered pipeline", ["run", join(FIX, "misordered.ts"), "--store", "{store}"], 2, /pipeline\[2\] evaluate \(stage 2\): controller "policy" needs a policy, and no earlier stage provides it/],
  ["a declared model's cost names a joint it lacks", ["run", join(FIX, "mjcf-typo.ts"), "--store", "{store}"], 2, /task\.cost\.terms\[0\]\.joint: the model has no joint named "hinj" \(its joints: slider, hinge\)/],
  ["a push on a body the model lacks", ["run", join(FIX, "push-body-typo.ts"), "--store", "{store}"], 2, /task\.pushes\[0\]\.body: the walker has no body named "torsoo" \(its bodies: torso, right_thigh, right_shin, right_foot, left_thigh, left_shin, left_foot\)/],
  ["cost-weighted regression with temperature 0", ["run", join(REPO, "experiments/swimmer-cwr.ts"), "--store", "{store}", "--set", "costWeightedRegression.temperature=0"], 2, /pipeline\[5\]\.body\[0\]\.temperature: expected PositiveNumber, got 0 \(from --set costWeightedRegression\.temperature=0\)/],
  ["an option variational GPS's E-step does not have", ["run", join(REPO, "experiments/swimmer-vgps-10.ts"), "--store", "{store}", "--set", "variationalEStep.temperature=1"], 2, /pipeline\[3\]\.body\[0\]\.temperature: unknown field \(from --set variationalEStep\.temperature=1\)/],
  ["a test push past the horizon", ["run", join(FIX, "push-late.ts"), "--store", "{store}"], 2, /pipeline\[1\] evaluate \(stage 1\)\.pushes\[0\]: the push acts from 0\.15 s to 0\.25 s \(control steps 15 to 25\), past the task's horizon of 20 steps/],
  ["a declared model MuJoCo cannot load", ["run", join(FIX, "mjcf-bad-xml.ts"), "--store", "{store}"], 2, /task\.xml: MuJoCo cannot load the model: mjXError/],
  ["--workers 0", ["run", SMALL, "--store", "{store}", "--workers", "0"], 2, /--workers must be an integer from 1 to 64, got "0"/],
  ["--seed not a number", ["run", SMALL, "--store", "{store}", "--seed", "abc"], 2, /--seed must be a non-negative integer, got "abc"/],
  ["--seed too large", ["run", SMALL, "--store", "{store}", "--seed", "99999999999"], 2, /--seed must be below 2\^32/],
  ["--stop-after-stage not a number", ["run", SMALL, "--store", "{store}", "--stop-after-stage=x"], 2, /--stop-after-stage must be a non-negative integer/],
  ["--numerics unknown", ["run", SMALL, "--store", "{store}", "--numerics", "fast"], 2, /--numerics must be one of per-row, batched/],
  ["--set a value the codec refuses", ["run", SMALL, "--store", "{store}", "--set", "evaluate.samples=abc"], 2, /pipeline\[2\]\.samples: expected PositiveInt, got "abc" \(from --set evaluate\.samples=abc\)/],
  ["--set an unknown field", ["run", SMALL, "--store", "{store}", "--set", "task.horizn=5"], 2, /task\.horizn: unknown field/],
  ["--set an unknown path", ["run", SMALL, "--store", "{store}", "--set", "policy.hiden=5"], 2, /--set policy\.hiden: unknown path: "policy" is not a field of this experiment/],
  ["--set an index out of range", ["run", SMALL, "--store", "{store}", "--set", "pipeline[9].x=1"], 2, /--set pipeline\[9\]\.x: unknown path: pipeline\[9\]: index out of range/],
  ["--set without a value", ["run", SMALL, "--store", "{store}", "--set", "seed"], 2, /--set seed: expected <path>=<value>/],
  ["--set a malformed path", ["run", SMALL, "--store", "{store}", "--set", "task..horizon=5"], 2, /--set task\.\.horizon: a field name is missing/],
  ["sweep --jobs 0", ["sweep", SMALL, "--store", "{store}", "--jobs", "0"], 2, /--jobs must be an integer from 1 to 64, got "0"/],
  ["sweep --seeds 5..1", ["sweep", SMALL, "--store", "{store}", "--seeds", "5..1"], 2, /--seeds "5\.\.1": the range is empty/],
  ["sweep --seeds a..b", ["sweep", SMALL, "--store", "{store}", "--seeds", "a..b"], 2, /--seeds "a\.\.b": "a" is not a non-negative integer/],
  ["sweep --set an unknown path", ["sweep", SMALL, "--store", "{store}", "--seeds", "1..2", "--set", "pipeline[9].x=1"], 2, /unknown path: pipeline\[9\]/],
  ["sweep --grid over a field that does not exist", ["sweep", SMALL, "--store", "{store}", "--grid", "task.horizn=10,20"], 2, /task\.horizn: unknown field/],
  ["sweep --grid over an unknown path", ["sweep", SMALL, "--store", "{store}", "--grid", "fitTheta.samples=1,2"], 2, /unknown path: "fitTheta"/],
  ["sweep --grid with one bad value", ["sweep", SMALL, "--store", "{store}", "--grid", "task.horizon=20,0"], 2, /run 1 \(task\.horizon=0\): task\.horizon: expected Horizon/],
  ["sweep --grid seed", ["sweep", SMALL, "--store", "{store}", "--grid", "seed=1,2"], 2, /use --seeds for seeds/],
  ["sweep: an experiment the machine cannot hold", ["sweep", join(FIX, "huge.ts"), "--store", "{store}", "--seeds", "1..2"], 2, /needs about [\d.]+ TiB of memory per checkpoint/],
  ["sweep without an experiment", ["sweep", "--store", "{store}"], 2, /sweep needs an experiment file/],
  ["sweep --resume an unknown sweep", ["sweep", "--resume", "nope", "--store", "{store}"], 2, /no sweep "nope"/],
  ["list --sort unknown", ["list", "--store", "{store}", "--sort", "colour"], 2, /--sort must be one of name, age, status, cost, seed/],
  ["list --filter unknown key", ["list", "--store", "{store}", "--filter", "colour=red"], 2, /--filter colour=red: expected <key>=<value>/],
  ["show: not a run directory", ["show", "{empty}"], 2, /Not a run directory: .*has no run\.json/],
  ["show: no such directory", ["show", "{missing}"], 2, /Not a run directory: .*does not exist/],
  ["resume: not a run directory", ["resume", "{empty}"], 2, /Not a run directory/],
  ["diff: not a run directory", ["diff", "{empty}", "{base}"], 2, /Not a run directory/],
  ["export: not a run directory", ["export", "{empty}", "--out", "{out}"], 2, /Not a run directory/],
  ["report: not a run directory", ["report", "{empty}"], 2, /Not a run directory/],
  ["show: malformed run.json", ["show", "{malformed}"], 2, /Malformed .*run\.json/],
  ["resume: malformed run.json", ["resume", "{malformed}"], 2, /Malformed .*run\.json/],
  ["show: edited experiment.json", ["show", "{edited}"], 2, /experiment\.json does not match the hash recorded in run\.json — the run was edited by hand/],
  ["resume: edited experiment.json", ["resume", "{edited}"], 2, /experiment\.json does not match the hash recorded in run\.json — the run was edited by hand/],
  ["diff: edited experiment.json", ["diff", "{base}", "{edited}"], 2, /the run was edited by hand/],
  ["resume: a busy run", ["resume", "{busy}"], 2, /run is busy \(pid \d+ on \S+ since 2026-01-02T03:04:05\.000Z\)/],
  ["resume: from a stage past the last good checkpoint", ["resume", "{resumable}", "--from-stage", "99"], 2, /cannot resume from stage 99: the last good checkpoint is stage 5/],
  ["resume: from a corrupt checkpoint", ["resume", "{corruptResumable}", "--from-stage", "3"], 2, /stage-000002\.json.*content hash mismatch/],
  ["diff: a corrupt checkpoint in B", ["diff", "{base}", "{corrupt}"], 2, /cannot compare: 1 checkpoint does not verify:\s+run B stage 2: .*stage-000002\.json/],
  ["diff: a corrupt checkpoint in A (--json)", ["diff", "{corrupt}", "{base}", "--json"], 2, /run A stage 2/],
  ["export --policy on a run without a policy", ["export", "{base}", "--out", "{out}", "--policy"], 2, /--policy: the run has no policy yet at stage 5/],
  ["export --condition out of range", ["export", "{base}", "--out", "{out}", "--condition", "7"], 2, /--condition 7 does not exist \(the experiment has 2\)/],
  ["export --stage without a checkpoint", ["export", "{base}", "--out", "{out}", "--stage", "99"], 2, /No checkpoint for stage 99/],
  ["export without --out", ["export", "{base}"], 2, /export needs --out FILE/],
  ["export --policy and --demonstration", ["export", "{base}", "--out", "{out}", "--policy", "--demonstration"], 2, /--policy or --demonstration, not both/],
  ["compare without --out", ["compare", "{base}"], 2, /compare needs --out/],
  ["compare --metric unknown", ["compare", "{base}", "--out", "{out}", "--metric", "reward"], 2, /--metric must be sampleCost, cost, pushCost or pushesRecovered, got "reward"/],
  ["a stage that produces NaN (exit 3)", ["run", join(FIX, "wild-velocity.ts"), "--store", "{store}", "--no-report"], 3, /stage 0 \(initializeTrajectories\): metrics\.cost is NaN — the stage was not checkpointed/],
];

describe.concurrent("gps bad input", () => {
  test.for(TABLE.map((row, i) => [i, ...row] as const))("%i %s", async ([i, , args, status, message], { expect }) => {
    const store = join(root, `store-${i}`);
    const out = join(root, `out-${i}.json`);
    const resolved = args.map((a) => a.replace(/\{(\w+)\}/g, (_, k: string) => (k === "store" ? store : k === "out" ? out : dirs[k])));
    const used = Object.entries(dirs).filter(([k, d]) => args.some((a) => a === `{${k}}`) && existsSync(d));
    const before = Object.fromEntries(used.map(([k, d]) => [k, snapshot(d)]));
    const r = await gps(resolved);
    expect(r.status, `gps ${resolved.join(" ")}\n${r.stderr}`).toBe(status);
    expect(r.stderr + r.stdout).toMatch(message);
    // No internal function names (`truncateAfter(`, `createRun:`) in what people read.
    expect(r.stderr).not.toMatch(/\b[a-z][a-zA-Z0-9]*\(|\b(createRun|writeCheckpoint|truncateAfter|readCheckpoint|openRun):/);
    expect(existsSync(out), "an output file was written").toBe(false);
    if (status === 2) {
      expect(existsSync(store) ? readdirSync(store) : [], "the store was written").toEqual([]);
      for (const [k, d] of used) expect(snapshot(d), `${k} changed`).toEqual(before[k]);
    }
  });

  test("per-command --help and --version print and exit 0", async ({ expect }) => {
    const help = await gps(["run", "--help"]);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: gps run \[options\] <experiment>/);
    expect(help.stdout).toMatch(/--stop-after-stage <k>/);
    const resumeHelp = await gps(["help", "resume"]);
    expect(resumeHelp.status).toBe(0);
    expect(resumeHelp.stdout).toMatch(/Usage: gps resume \[options\] <run>/);
    const version = await gps(["--version"]);
    expect(version.status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
    const mujoco = JSON.parse(readFileSync(join(REPO, "node_modules/mujoco-js/package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(`gps ${pkg.version} (mujoco-js ${mujoco.version}, node ${process.version})`);
  });

  test("the table covers every exit status it claims", () => {
    const counts = TABLE.reduce<Record<number, number>>((m, [, , s]) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});
    expect(counts).toEqual({ 2: TABLE.length - 1, 3: 1 });
  });
});
