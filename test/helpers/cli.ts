/**
 * Running the `gps` command as a user would: `node bin/gps.js …` in the
 * repository root, in a child process, with stdout and stderr captured.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where bin/gps.js is); the CLI runs with this as cwd. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface GpsResult {
  /** Exit status, or null when the process was killed by a signal. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.GPS_DEBUG;
  delete env.NODE_OPTIONS; // vitest's loader hooks must not leak into the CLI
  return env;
}

/** Run `gps <args>` to completion, synchronously. */
export function gpsSync(args: readonly string[]): GpsResult {
  const r = spawnSync(process.execPath, ["bin/gps.js", ...args], { cwd: REPO, env: childEnv(), encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export interface KillOptions {
  /** Start the kill timer once a stdout line satisfies this (default: the first line). */
  readonly after?: (line: string) => boolean;
  /** Milliseconds between that line and the signal. */
  readonly delayMs: number;
  /** The signal (default SIGKILL). */
  readonly signal?: NodeJS.Signals;
  /** Send it this many times, `delayMs` apart (default 1): a second SIGINT aborts at once. */
  readonly times?: number;
}

/**
 * Run `gps <args>` asynchronously (so several can run at once). With `kill`,
 * send SIGKILL `kill.delayMs` after the first stdout line matching
 * `kill.after`; the result then has `signal: "SIGKILL"` unless the process
 * exited on its own first.
 */
export function gps(args: readonly string[], kill?: KillOptions, env?: NodeJS.ProcessEnv): Promise<GpsResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["bin/gps.js", ...args], { cwd: REPO, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timer: NodeJS.Timeout | undefined;
    let armed = false;
    let pending = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
      if (!kill || armed) return;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      if (lines.some((l) => (kill.after ? kill.after(l) : true))) {
        armed = true;
        let left = kill.times ?? 1;
        const fire = (): void => {
          child.kill(kill.signal ?? "SIGKILL");
          if (--left > 0) timer = setTimeout(fire, kill.delayMs);
        };
        timer = setTimeout(fire, kill.delayMs);
      }
    });
    child.stderr.on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (status, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({ status, signal, stdout, stderr });
    });
  });
}

/** Run `gps <args>`, require exit status 0 and parse stdout as JSON. */
export async function gpsJson<T = unknown>(args: readonly string[]): Promise<T> {
  const r = await gps(args);
  if (r.status !== 0) throw new Error(`gps ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The shape of `gps show --json`. */
export interface ShowJson {
  readonly run: string;
  readonly experimentName: string;
  readonly experimentHash: string;
  readonly source: string | null;
  readonly stages: readonly {
    readonly index: number;
    readonly kind: string;
    readonly label: string;
    readonly digest: string;
    readonly metrics: Record<string, number | number[]>;
    readonly durationMs: number;
  }[];
}

/** The shape of `gps diff --json`. */
export interface DiffJson {
  readonly identical: boolean;
  readonly experimentChanges: readonly { readonly path: string; readonly from?: unknown; readonly to?: unknown }[];
  readonly firstDivergentStage: number | null;
  readonly stages: readonly { readonly index: number; readonly sameDigest: boolean; readonly digestA: string; readonly digestB: string }[];
  readonly stagesOnlyIn: { readonly a: readonly number[]; readonly b: readonly number[] };
}

/** `gps show <run> --json`. */
export function show(run: string): Promise<ShowJson> {
  return gpsJson<ShowJson>(["show", run, "--json"]);
}

/** The digest of every stage, in index order, as `gps show --json` reports them. */
export async function digests(run: string): Promise<string[]> {
  const s = await show(run);
  expectIndices(s.stages.map((x) => x.index));
  return s.stages.map((x) => x.digest);
}

function expectIndices(indices: readonly number[]): void {
  indices.forEach((v, i) => {
    if (v !== i) throw new Error(`gps show: stage indices are not 0..n-1: ${indices.join(",")}`);
  });
}

/** `gps run <file> --store <store> …` (plain output): require status 0 and return the run directory (the first stdout line). */
export async function runTo(file: string, store: string, extra: readonly string[] = []): Promise<string> {
  const r = await gps(["run", file, "--store", store, ...extra]);
  if (r.status !== 0) throw new Error(`gps run ${file} exited ${r.status ?? r.signal}:\n${r.stderr}`);
  return r.stdout.split("\n")[0];
}

/** Every file under `dir` (relative path → bytes as base64), to prove nothing changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p).toString("base64");
    }
  };
  walk(dir);
  return out;
}
