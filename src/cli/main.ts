/**
 * The `gps` command line: run, sweep, resume, show, list, diff, export, report, compare, serve, index.
 * Exit status: 0 success, 1 failure while running, 2 bad input (arguments,
 * experiment files, corrupt, edited or busy runs) with nothing written,
 * 3 a stage produced NaN/∞, 130 interrupted (see errors.ts).
 */
import { Command, CommanderError, Option } from "commander";
import { mujocoJsVersion, packageVersion } from "../runtime/provenance.js";
import { DEFAULT_STORE_DIR } from "../runtime/store.js";
import { NUMERICS } from "../algorithms/numerics.js";
import { err, out } from "./io.js";
import { errorMessage, exitStatusOf, EXIT_BAD_INPUT } from "./errors.js";
import { activeRun, resumeCommand, runCommand } from "./commands/run.js";
import { compareCommand, diffCommand, exportCommand, reportCommand, showCommand } from "./commands/inspect.js";
import { listCommand } from "./commands/list.js";
import { indexCommand, serveCommand } from "./commands/view.js";
import { preload } from "../sim/mujoco.js";
import { sweepCommand } from "./commands/sweep.js";
// The queue commands load BullMQ and ioredis on use only, not on every gps start.
const queueCommands = (): Promise<typeof import("./commands/worker.js")> => import("./commands/worker.js");

const ABOUT = `A run is named by its directory (gps run prints it). --json prints
machine-readable output (for run/resume: one event per line). run and resume
write the report (<run>/report/index.html) when the pipeline completes,
unless --no-report. --workers N (1…64, default: the number of cores) runs the
independent work on N threads; 1 keeps everything on one. Results do not
depend on N. --numerics per-row uses the original per-row policy kernels
instead of the batched ones; a run records its choice and resume keeps it.

run and resume hold the run's lock (<run>/lock): a second writer is refused.
Ctrl-C (SIGINT) or SIGTERM stops at the end of the current stage (exit 130);
a second one aborts at once. Both leave the run resumable.

Exit status: 0 ok, 1 failure while running, 2 bad input (nothing written),
3 a stage produced NaN or Infinity (not checkpointed), 130 interrupted.`;

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function versionText(): string {
  return `gps ${packageVersion()} (mujoco-js ${mujocoJsVersion() ?? "not found"}, node ${process.version})`;
}

/** The command tree. Each action stores its exit status in `status`. */
function program(status: { code: number }): Command {
  const gps = new Command("gps")
    .description("guided policy search experiments")
    .version(versionText(), "-V, --version", "print the gps, mujoco-js and node versions")
    .addHelpText("after", `\n${ABOUT}`)
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => void out.write(s),
      writeErr: (s) => void err.write(s),
      outputError: () => undefined, // main() prints errors, with the gps: prefix
    });
  const set = (p: number | Promise<number>): Promise<void> => Promise.resolve(p).then((c) => void (status.code = c));

  gps
    .command("run")
    .summary("run an experiment file from stage 0 in a new run directory")
    .argument("<experiment>", "the experiment file (.ts or .js, default export)")
    .option("--store <dir>", "the store the run directory goes into", DEFAULT_STORE_DIR)
    .option("--seed <n>", "seed in place of the experiment's (recorded in run.json)")
    .option("--set <path=value>", "change a field of the resolved experiment, e.g. task.horizon=50 (repeatable; docs/sweeps.md)", collect, [])
    .addOption(new Option("--sweep <id:index>", "the sweep this run belongs to (set by gps sweep)").hideHelp())
    .option("--workers <n>", "threads for independent work, 1…64 (default: the cores)")
    .option("--numerics <kind>", `policy kernels: ${NUMERICS.join(" or ")} (default: batched)`)
    .option("--stop-after-stage <k>", "stop after stage K (resume later)")
    .option("--name <name>", "the run directory's name in the store (refused if taken) in place of <name>-<hash8>-<NNN>")
    .option("--json", "one JSON event per line", false)
    .option("--no-report", "do not write the report when the pipeline completes")
    .action((file: string, o) => set(runCommand(file, o)));

  gps
    .command("sweep")
    .summary("one run per seed and grid combination, up to --jobs at once (docs/sweeps.md)")
    .argument("[experiment]", "the experiment file (not with --resume)")
    .option("--seeds <range>", "seeds: 1..10, or 1,4,9 (default: the experiment's seed)")
    .option("--grid <path=v1,v2,...>", "every value of a field (repeatable: the product of all)", collect, [])
    .option("--set <path=value>", "change a field in every run (repeatable)", collect, [])
    .option("--jobs <n>", "runs at once, each a process with --workers 1 (default: the cores)")
    .option("--store <dir>", "the store the runs and sweeps/<id>.json go into", DEFAULT_STORE_DIR)
    .option("--resume <sweep>", "finish a sweep's runs that are not complete (its id or manifest file)")
    .option("--queue <url>", "enqueue the runs on a job queue in Redis (redis://HOST:PORT) for gps worker, instead of running them here (docs/queue.md)")
    .option("--queue-name <name>", "the BullMQ queue (with --queue)", "gps")
    .option("--sweep-id <id>", "with --queue: job ids and run directories are <id>-<NNN> (default: a hash of the runs, so enqueueing again adds nothing)")
    .option("--json", "one JSON line per finished run", false)
    .option("--no-report", "the runs do not write their reports")
    .action((file: string | undefined, o) => set(sweepCommand(file, o)));

  gps
    .command("resume")
    .summary("continue a run from its last good checkpoint")
    .argument("<run>", "the run directory")
    .option("--from-stage <k>", "re-run from stage K (its predecessor's checkpoint must be good)")
    .option("--stop-after-stage <k>", "stop after stage K")
    .option("--workers <n>", "threads for independent work, 1…64 (default: the cores)")
    .option("--force", "resume under a changed pipeline or stage options (never a changed task, conditions, seed or policy)", false)
    .option("--json", "one JSON event per line", false)
    .option("--no-report", "do not write the report when the pipeline completes")
    .action((dir: string, o) => set(resumeCommand(dir, o)));

  gps
    .command("show")
    .summary("a run's stages, digests, metrics and status")
    .argument("<run>", "the run directory")
    .option("--json", "machine-readable output", false)
    .option("--experiment", "print the run's resolved experiment (every default filled in) as JSON", false)
    .action((dir: string, o) => set(showCommand(dir, o)));

  gps
    .command("list")
    .summary("the runs of a store as a table (broken ones flagged)")
    .option("--store <dir>", "the store", DEFAULT_STORE_DIR)
    .option("--sort <column>", "name, age (newest first), status, cost (lowest first) or seed")
    .option("--filter <key=value>", "status=failed, experiment=walker-* (glob), sweep=<id>, seed=3, run=… (repeatable: all must match)", collect, [])
    .option("--json", "machine-readable output (every column)", false)
    .action((o) => set(listCommand(o)));

  gps
    .command("diff")
    .summary("compare two runs stage by stage (exit 2 if a checkpoint does not verify)")
    .argument("<runA>", "a run directory")
    .argument("<runB>", "another run directory")
    .option("--json", "machine-readable output", false)
    .action((a: string, b: string, o) => set(diffCommand(a, b, o)));

  gps
    .command("export")
    .summary("a self-contained, replayable controller of a run")
    .argument("<run>", "the run directory")
    .option("--out <file>", "where to write the JSON")
    .option("--condition <i>", "which condition", "0")
    .option("--stage <k>", "which stage's checkpoint (default: the last)")
    .option("--demonstration", "the condition's demonstration instead of its trajectory", false)
    .option("--policy", "the trained policy instead of the trajectory", false)
    .action((dir: string, o) => set(exportCommand(dir, o)));

  gps
    .command("report")
    .summary("write a run's HTML report")
    .argument("<run>", "the run directory")
    .option("--out <dir>", "where to write it (default: <run>/report)")
    .action((dir: string, o) => set(reportCommand(dir, o)));

  gps
    .command("compare")
    .summary("learning curves of runs, stores or sweeps in one SVG (seeds aggregated: mean, 95% bootstrap CI)")
    .argument("<runs...>", "run directories, store directories or sweep ids")
    .option("--out <file>", "the SVG to write")
    .option("--metric <name>", "sampleCost or cost (default: sampleCost for policy search with samples, cost for CGPS and iLQG); pushCost or pushesRecovered: the policy's push tests per iteration, training pushes solid, test pushes dashed (Figure 4 of the 2014 paper)")
    .option("--store <dir>", "the store sweep ids are looked up in", DEFAULT_STORE_DIR)
    .option("--title <text>", "the figure's title")
    .action((dirs: string[], o) => set(compareCommand(dirs, o)));

  gps
    .command("serve")
    .summary("browse a store: runs table, live learning curves, reports (127.0.0.1 only, read-only)")
    .option("--store <dir>", "the store", DEFAULT_STORE_DIR)
    .option("--port <p>", "the port on 127.0.0.1 (0: any free one)", "8080")
    .action((o) => set(serveCommand(o)));

  gps
    .command("index")
    .summary("write the store's browser view as static files (data embedded, bundles copied)")
    .option("--store <dir>", "the store", DEFAULT_STORE_DIR)
    .option("--out <dir>", "the directory to write (outside the store)")
    .action((o) => set(indexCommand(o)));

  gps
    .command("worker")
    .summary("take runs from a job queue (Redis) and run them, each in a child process (docs/queue.md)")
    .requiredOption("--queue <url>", "the Redis URL, redis://HOST:PORT")
    .option("--store <dir>", "the store the jobs were enqueued for (shared by every machine)", DEFAULT_STORE_DIR)
    .option("--queue-name <name>", "the BullMQ queue", "gps")
    .option("--jobs <n>", "runs at once, one process each (default 1)")
    .option("--lock-ms <ms>", "job lock duration and stalled-job check interval (default 30000): a lost worker's job moves on after about this long")
    .option("--no-report", "do not write each run's report when it completes")
    .action(async (o) => set((await queueCommands()).workerCommand(o)));

  gps
    .command("enqueue")
    .summary("put runs of an experiment file on a job queue for gps worker")
    .argument("<experiment>", "the experiment file (its absolute path must be the same on every worker)")
    .requiredOption("--queue <url>", "the Redis URL, redis://HOST:PORT")
    .option("--store <dir>", "the store the runs go into", DEFAULT_STORE_DIR)
    .option("--queue-name <name>", "the BullMQ queue", "gps")
    .option("--seeds <list>", "one run per seed: A..B or a,b,c (default: one run, the file's seed)")
    .option("--sweep-id <id>", "job ids and run directories are <id>-<NNN> (default: a hash of the runs)")
    .option("--json", "machine-readable output", false)
    .action(async (file: string, o) => set((await queueCommands()).enqueueCommand(file, o)));

  gps
    .command("queue-status")
    .summary("a job queue's waiting, active, delayed, completed and failed counts")
    .requiredOption("--queue <url>", "the Redis URL, redis://HOST:PORT")
    .option("--queue-name <name>", "the BullMQ queue", "gps")
    .option("--json", "machine-readable output", false)
    .action(async (o) => set((await queueCommands()).queueStatusCommand(o)));

  return gps;
}

export async function main(argv: readonly string[]): Promise<number> {
  const status = { code: 0 };
  const gps = program(status);
  if (argv.length === 0) {
    out.write(gps.helpInformation());
    return EXIT_BAD_INPUT;
  }
  try {
    // Building a declared model's task reads the model with MuJoCo, synchronously.
    if (argv[0] === "run" || argv[0] === "resume" || argv[0] === "export" || argv[0] === "sweep") await preload();
    await gps.parseAsync([...argv], { from: "user" });
    return status.code;
  } catch (e) {
    return report(e, gps, argv);
  }
}

function report(e: unknown, gps: Command, argv: readonly string[]): number {
  const code = exitStatusOf(e);
  if (e instanceof CommanderError && code === 0) return 0; // --help, --version: already printed
  err.write(`gps: ${errorMessage(e, activeRun)}\n`);
  if (e instanceof CommanderError) err.write(`(gps ${commandOf(gps, argv)}--help shows the usage)\n`);
  if (code === 1 && e instanceof Error && process.env.GPS_DEBUG) err.write(`${e.stack}\n`);
  return code;
}

/** "run " when the error came from a subcommand's parse, "" for the top level. */
function commandOf(gps: Command, argv: readonly string[]): string {
  const name = argv.find((a) => gps.commands.some((c) => c.name() === a));
  return name ? `${name} ` : "";
}
