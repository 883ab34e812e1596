/**
 * The job queue (src/queue, docs/queue.md) against a real Redis: Debian's
 * redis-server, started here on a free loopback port (.ci/run installs it).
 * A 4-run sweep worked off by two `gps worker`s, one SIGKILLed mid-run: every
 * run completes with the digests of a local `gps run --seed k`. Also: an
 * unreachable Redis is exit 2 within seconds with nothing written, a worker
 * on the wrong store refuses the job and puts it back, bad requests enqueue
 * nothing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digests, gps, REPO } from "./helpers/cli.js";
import { enqueueRuns, queueCounts } from "../src/queue/enqueue.js";
import { decodeJobData, defaultSweepId, jobIdOf } from "../src/queue/job.js";
import { QueueRequestError } from "../src/queue/errors.js";
import { parseSeeds } from "../src/cli/commands/worker.js";
import { createRun, RunNameTakenError } from "../src/runtime/store.js";
import { ensureStoreIdentity, readStoreIdentity, storeIdOf } from "../src/queue/store-identity.js";

const LONG = resolve(REPO, "test/fixtures/experiments/long.ts");
const redisServer = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
if (!redisServer) console.warn("test/queue.test.ts: SKIPPED — redis-server is not installed (apt-get install redis-server; .ci/run installs it)");

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

interface Proc {
  readonly child: ChildProcess;
  stderr: string;
  /** stderr lines with the seconds since the process started. */
  timeline: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startGps(args: readonly string[]): Proc {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.GPS_DEBUG;
  const child = spawn(process.execPath, ["bin/gps.js", ...args], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  const p: Proc = {
    child,
    stderr: "",
    timeline: "",
    exited: new Promise((r) => child.on("close", (code, signal) => r({ code, signal }))),
  };
  child.stderr!.setEncoding("utf8");
  const t0 = Date.now();
  child.stderr!.on("data", (c: string) => {
    p.stderr += c;
    p.timeline += c.replace(/^(?=.)/gm, `${((Date.now() - t0) / 1000).toFixed(1)}s `);
  });
  child.stdout!.resume();
  return p;
}

describe.skipIf(!redisServer)("job queue on Redis (BullMQ)", () => {
  let redis: ChildProcess;
  let url = "";
  const tmp: string[] = [];
  const procs: ChildProcess[] = [];
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "gps-queue-"));
    tmp.push(d);
    return d;
  };

  beforeAll(async () => {
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    redis.stdout!.setEncoding("utf8");
    redis.stdout!.on("data", (c: string) => void (log += c));
    await until("redis-server to accept connections", 10_000, () => (/Ready to accept connections/.test(log) ? true : undefined));
  });

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    redis?.kill("SIGKILL");
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  it("works off a 4-seed sweep on two workers, one SIGKILLed mid-run: every run matches a local gps run --seed k", async () => {
    const t0 = Date.now();
    const store = dir();
    const refStore = dir();
    // References: a local gps run per seed (two at a time).
    const refs: string[][] = [];
    for (const pair of [[1, 2], [3, 4]]) {
      const dirs = await Promise.all(
        pair.map(async (k) => {
          const r = await gps(["run", LONG, "--store", refStore, "--seed", String(k), "--workers", "1", "--no-report"]);
          expect(r.status, r.stderr).toBe(0);
          return r.stdout.split("\n")[0]!;
        }),
      );
      for (const d of dirs) refs.push(await digests(d));
    }
    const tRefs = Date.now();

    const enq = await gps(["enqueue", LONG, "--queue", url, "--store", store, "--seeds", "1..4", "--sweep-id", "sweep", "--json"]);
    expect(enq.status, enq.stderr).toBe(0);
    const jobs = JSON.parse(enq.stdout) as { jobId: string; runDir: string; outcome: string }[];
    expect(jobs.map((j) => j.jobId)).toEqual(["sweep-000", "sweep-001", "sweep-002", "sweep-003"]);
    expect(jobs.every((j) => j.outcome === "added")).toBe(true);
    // Enqueueing again adds nothing.
    const again = await gps(["enqueue", LONG, "--queue", url, "--store", store, "--seeds", "1..4", "--sweep-id", "sweep", "--json"]);
    expect((JSON.parse(again.stdout) as { outcome: string }[]).map((j) => j.outcome)).toEqual(["exists", "exists", "exists", "exists"]);

    const workerArgs = ["worker", "--queue", url, "--store", store, "--lock-ms", "2000", "--no-report"];
    const a = startGps(workerArgs);
    procs.push(a.child);
    // A's first run, once it has written a checkpoint past stage 5: SIGKILL A (the worker alone).
    const victim = await until("worker A to start a run", 120_000, () => /job (sweep-\d{3}): gps run/.exec(a.stderr)?.[1]);
    await until(`a checkpoint of ${victim}`, 120_000, () => (existsSync(join(store, victim, "checkpoints", "stage-000005.json")) ? true : undefined));
    const b = startGps(workerArgs);
    procs.push(b.child);
    a.child.kill("SIGKILL");
    expect((await a.exited).signal).toBe("SIGKILL");
    const killedAt = readdirSync(join(store, victim, "checkpoints")).filter((f) => /^stage-\d+\.json$/.test(f)).length;

    const counts = await until("all 4 jobs to complete", 300_000, async () => {
      const c = await queueCounts(url);
      if (c.failed > 0) throw new Error(`a job failed:\n${b.stderr}`);
      return c.completed === 4 ? c : undefined;
    });
    expect(counts).toMatchObject({ waiting: 0, active: 0, completed: 4, failed: 0 });
    // B took the lost job over and resumed it from its last checkpoint.
    expect(b.stderr).toMatch(new RegExp(`job ${victim}: gps resume ${join(store, victim).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
    expect(killedAt).toBeGreaterThan(5);
    expect(killedAt).toBeLessThan(32);

    b.child.kill("SIGTERM");
    expect((await b.exited).code).toBe(130);
    for (const [k, job] of jobs.entries()) {
      const d = await digests(job.runDir);
      expect(d.length).toBe(32);
      expect(d, `seed ${k + 1}`).toEqual(refs[k]);
    }
    console.log(`queue sweep: references ${((tRefs - t0) / 1000).toFixed(1)} s, queue ${((Date.now() - tRefs) / 1000).toFixed(1)} s; ${victim} killed after ${killedAt} checkpoints\nworker A:\n${a.timeline}worker B:\n${b.timeline}`);
  }, 480_000);

  it("gps sweep --queue: seeds × a grid as jobs, run by a gps worker with overrides and sweep tags, equal to the same local sweep", async () => {
    const SMALL = resolve(REPO, "test/fixtures/experiments/small.ts");
    const store = dir();
    const localStore = dir();
    const sweepArgs = [SMALL, "--seeds", "1..2", "--grid", "pipeline[1].times=2,3", "--no-report"];
    const local = await gps(["sweep", ...sweepArgs, "--jobs", "2", "--store", localStore]);
    expect(local.status, local.stderr).toBe(0);
    const queued = await gps(["sweep", ...sweepArgs, "--queue", url, "--queue-name", "sweeps", "--sweep-id", "swq", "--store", store]);
    expect(queued.status, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(/enqueued 4 of 4 runs/);
    const w = startGps(["worker", "--queue", url, "--queue-name", "sweeps", "--store", store, "--jobs", "2", "--no-report"]);
    procs.push(w.child);
    await until("the 4 sweep jobs to complete", 300_000, async () => {
      const c = await queueCounts(url, "sweeps");
      if (c.failed > 0) throw new Error(`a job failed:\n${w.stderr}`);
      return c.completed === 4 ? true : undefined;
    });
    w.child.kill("SIGTERM");
    await w.exited;
    // The same runs, by label (seed and grid value), with the same digests as the local sweep's.
    type Row = { run: string; seed: number | null; sweep: string | null; overrides?: unknown };
    const list = async (st: string): Promise<Row[]> => JSON.parse((await gps(["list", "--store", st, "--json"])).stdout) as Row[];
    const key = async (row: Row): Promise<string> => {
      const shown = JSON.parse((await gps(["show", row.run, "--experiment"])).stdout) as { seed: number; pipeline: { times?: number }[] };
      return `${shown.seed}/${shown.pipeline[1].times}`;
    };
    const byKey = async (st: string): Promise<Map<string, string[]>> => {
      const m = new Map<string, string[]>();
      for (const row of await list(st)) m.set(await key(row), await digests(row.run));
      return m;
    };
    const remote = await byKey(store);
    const here = await byKey(localStore);
    expect([...remote.keys()].sort()).toEqual(["1/2", "1/3", "2/2", "2/3"]);
    for (const [k, d] of here) expect(remote.get(k), k).toEqual(d);
    expect((await list(store)).every((r) => r.sweep === "swq")).toBe(true);
  }, 480_000);

  it("Redis lost mid-run: the runs stop after their stage, the worker exits 1; enqueueing again on a new Redis resumes them", async () => {
    const port = await freePort();
    const lostUrl = `redis://127.0.0.1:${port}`;
    const startRedis = (): ChildProcess => {
      const r = spawn(redisServer, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], { stdio: "ignore" });
      procs.push(r);
      return r;
    };
    let r = startRedis();
    await until("the second redis-server", 10_000, async () => (await queueCounts(lostUrl).then(() => true).catch(() => undefined)));
    const store = dir();
    const enqueue = (): Promise<unknown> => enqueueRuns(lostUrl, { store, requests: [{ experimentSource: LONG, seed: 5, sweepId: "lost" }] });
    await enqueue();
    const w = startGps(["worker", "--queue", lostUrl, "--store", store, "--lock-ms", "1000", "--no-report"]);
    procs.push(w.child);
    await until("a checkpoint of lost-000", 120_000, () => (existsSync(join(store, "lost-000", "checkpoints", "stage-000002.json")) ? true : undefined));
    r.kill("SIGKILL");
    const t = Date.now();
    expect((await w.exited).code, w.timeline).toBe(1);
    // Prompt, not a reconnect loop: the stage in flight ends, then the worker exits (slack for a loaded machine).
    expect(Date.now() - t).toBeLessThan(45_000);
    expect(w.stderr).toContain(`lost Redis at ${lostUrl}`);
    const stopped = await gps(["show", join(store, "lost-000"), "--json"]);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ status: "stopped (interrupted)" });
    expect(existsSync(join(store, "lost-000", "lock"))).toBe(false);
    // A new, empty Redis: the same job again, and a worker resumes the run.
    r = startRedis();
    await until("the restarted redis-server", 10_000, async () => (await queueCounts(lostUrl).then(() => true).catch(() => undefined)));
    await enqueue();
    const w2 = startGps(["worker", "--queue", lostUrl, "--store", store, "--lock-ms", "1000", "--no-report"]);
    procs.push(w2.child);
    await until("the resumed run to complete", 180_000, async () => ((await queueCounts(lostUrl)).completed === 1 ? true : undefined));
    expect(w2.stderr).toContain(`job lost-000: gps resume ${join(store, "lost-000")}`);
    w2.child.kill("SIGINT");
    expect((await w2.exited).code).toBe(130);
    expect((await digests(join(store, "lost-000"))).length).toBe(32);
  }, 420_000);

  it("an unreachable Redis is exit 2 within seconds, naming the URL; nothing is written", async () => {
    const port = await freePort();
    const store = join(dir(), "store");
    const t = Date.now();
    const r = await gps(["enqueue", LONG, "--queue", `redis://127.0.0.1:${port}`, "--store", store, "--seeds", "1..2"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(Date.now() - t).toBeLessThan(8000);
    expect(existsSync(store)).toBe(false);
    const workerStore = dir();
    const w = await gps(["worker", "--queue", `redis://127.0.0.1:${port}`, "--store", workerStore]);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain("cannot reach Redis");
    expect(readdirSync(workerStore)).toEqual([]);
    const bad = await gps(["queue-status", "--queue", "http://127.0.0.1:1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("redis://");
  });

  it("a worker on another store refuses the job, puts it back and stops (exit 2)", async () => {
    const store = dir();
    const other = dir();
    const queueName = "wrong-store";
    const [job] = await enqueueRuns(url, { queueName, store, requests: [{ experimentSource: LONG, seed: 7 }] });
    const w = await gps(["worker", "--queue", url, "--queue-name", queueName, "--store", other, "--lock-ms", "2000"]);
    expect(w.status).toBe(2);
    expect(w.stderr).toContain(`refused job ${job!.jobId}`);
    expect(w.stderr).toContain(`belongs to the store ${store}`);
    expect(await queueCounts(url, queueName)).toMatchObject({ waiting: 1, active: 0, failed: 0, completed: 0 });
    expect(readdirSync(other)).toEqual(["store.json"]);
  });

  it("bad requests enqueue nothing", async () => {
    const store = dir();
    const queueName = "bad-requests";
    const refused = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
      await expect(p).rejects.toThrow(message);
      await expect(p).rejects.toBeInstanceOf(QueueRequestError);
    };
    await refused(enqueueRuns(url, { queueName, store, requests: [{ experimentSource: LONG, overrides: [{ path: "seed", value: 3 }] }] }), /not supported by the queue yet/);
    await refused(enqueueRuns(url, { queueName, store, requests: [{ experimentSource: "test/fixtures/experiments/long.ts" }] }), /absolute path/);
    await refused(enqueueRuns(url, { queueName, store, requests: [{ experimentSource: LONG, seed: -1 }] }), /seed/);
    await refused(enqueueRuns(url, { queueName, store, requests: [{ experimentSource: LONG, sweepId: "a/b" }] }), /sweep id/);
    const r = await gps(["enqueue", resolve(REPO, "test/fixtures/experiments/bad-kind.ts"), "--queue", url, "--store", store, "--queue-name", queueName]);
    expect(r.status).toBe(2);
    expect(await queueCounts(url, queueName)).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    expect(readdirSync(store)).toEqual([]);
  });
});

describe("job data and ids (pure)", () => {
  it("decodes good job data and refuses bad", () => {
    const good = { format: 1, experimentSource: "/x/e.ts", store: { id: "abc", path: "/s" }, runName: "s-000", overrides: [], index: 0, sweepId: "s", seed: 3 };
    expect(decodeJobData(good)).toEqual(good);
    expect(() => decodeJobData({ ...good, experimentSource: "e.ts" })).toThrow(/malformed job data/);
    expect(() => decodeJobData({ ...good, runName: "../x" })).toThrow(/malformed job data/);
    expect(() => decodeJobData({ ...good, seed: 1.5 })).toThrow(/malformed job data/);
    expect(() => decodeJobData({ ...good, format: 2 })).toThrow(/malformed job data/);
  });
  it("derives deterministic ids", () => {
    expect(jobIdOf("s", 3)).toBe("s-003");
    const reqs = [{ experimentSource: "/x/e.ts", seed: 1 }];
    expect(defaultSweepId("id", reqs)).toBe(defaultSweepId("id", [{ experimentSource: "/x/e.ts", seed: 1 }]));
    expect(defaultSweepId("id", reqs)).not.toBe(defaultSweepId("id2", reqs));
    expect(defaultSweepId("id", reqs)).toMatch(/^q-[0-9a-f]{12}$/);
  });
  it("creates a run under a given name once (gps run --name)", () => {
    const store = mkdtempSync(join(tmpdir(), "gps-queue-name-"));
    try {
      const run = createRun(store, { a: 1 }, "0123456789abcdef", "x", undefined, { name: "sweep-000" });
      expect(run.dir).toBe(join(store, "sweep-000"));
      expect(() => createRun(store, { a: 1 }, "0123456789abcdef", "x", undefined, { name: "sweep-000" })).toThrow(RunNameTakenError);
      expect(() => createRun(store, { a: 1 }, "0123456789abcdef", "x", undefined, { name: "../escape" })).toThrow(TypeError);
      expect(() => createRun(store, { a: 1 }, "0123456789abcdef", "x", undefined, { name: ".hidden" })).toThrow(TypeError);
      expect(readdirSync(store)).toEqual(["sweep-000"]);
    } finally {
      rmSync(store, { recursive: true, force: true });
    }
  });
  it("gives a store one identity, derived from its path and creation time", () => {
    const store = join(mkdtempSync(join(tmpdir(), "gps-queue-id-")), "s");
    try {
      expect(readStoreIdentity(store)).toBeNull();
      const at = new Date("2026-01-02T03:04:05.000Z");
      const a = ensureStoreIdentity(store, () => at);
      expect(a).toEqual({ format: 1, id: storeIdOf(store, at.toISOString()), path: store, createdAt: at.toISOString() });
      expect(ensureStoreIdentity(store, () => new Date())).toEqual(a); // written once
      expect(storeIdOf(store, at.toISOString())).not.toBe(storeIdOf(`${store}2`, at.toISOString()));
    } finally {
      rmSync(dirname(store), { recursive: true, force: true });
    }
  });
  it("parses --seeds", () => {
    expect(parseSeeds("1..4")).toEqual([1, 2, 3, 4]);
    expect(parseSeeds("5,2")).toEqual([5, 2]);
    expect(() => parseSeeds("4..1")).toThrow();
    expect(() => parseSeeds("1,1")).toThrow();
    expect(() => parseSeeds("x")).toThrow();
  });
});
