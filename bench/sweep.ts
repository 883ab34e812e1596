/**
 * The sweep pool: a 4-run swimmer sweep (experiments/swimmer-ilqg.ts as written —
 * the default experiment of `npm start`, 60 iLQG iterations — seeds 1..4) with
 * --jobs 1 and --jobs 2, each run its own
 * process with --workers 1. `jobs2OverJobs1` is the wall-time ratio (target
 * ≤ 0.6 on a 2-core machine: the runs are independent, so two at once should
 * take little more than half the time). Same digests under both is checked.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
// The experiment as written: with runs trimmed to 20 iterations (--set pipeline[1].times=20) each
// process's ~1.6 s start-up and the sweep's ~1 s serial start weigh more, and the ratio was 0.64.
export const SWEEP_ARGS = ["experiments/swimmer-ilqg.ts", "--seeds", "1..4", "--no-report"] as const;

export interface SweepBench {
  readonly runs: number;
  readonly jobs1Ms: number;
  readonly jobs2Ms: number;
  readonly jobs2OverJobs1: number;
  readonly identical: boolean;
}

function sweepOnce(jobs: number): { ms: number; digests: string[] } {
  const store = mkdtempSync(join(tmpdir(), `gps-bench-sweep-${jobs}-`));
  try {
    const started = performance.now();
    const r = spawnSync(process.execPath, ["bin/gps.js", "sweep", ...SWEEP_ARGS, "--jobs", String(jobs), "--store", store], { cwd: REPO, encoding: "utf8" });
    const ms = performance.now() - started;
    if (r.status !== 0) throw new Error(`bench: gps sweep --jobs ${jobs} exited ${r.status}:\n${r.stderr}`);
    // Each run's stage digests, in seed order (the run directories differ by experiment hash).
    const runs = readdirSync(store).filter((n) => n.startsWith("swimmer-ilqg-"));
    const digests = runs
      .map((n) => {
        const seed = (JSON.parse(readFileSync(join(store, n, "experiment.json"), "utf8")) as { seed: number }).seed;
        const log = readFileSync(join(store, n, "stages.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { digest?: string }).digest ?? "");
        return `${seed}:${log.join(",")}`;
      })
      .sort();
    return { ms, digests };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

export function measureSweep(progress: (s: string) => void): SweepBench {
  progress("sweep: 4 swimmer runs, --jobs 1");
  const one = sweepOnce(1);
  progress("sweep: 4 swimmer runs, --jobs 2");
  const two = sweepOnce(2);
  return { runs: 4, jobs1Ms: one.ms, jobs2Ms: two.ms, jobs2OverJobs1: two.ms / one.ms, identical: one.digests.join("|") === two.digests.join("|") };
}
