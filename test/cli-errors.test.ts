/**
 * The CLI's error mapping in-process (issue 13): exit statuses by error type,
 * and messages without commander's or an internal function's prefix; a write
 * refused by the file system (ENOSPC, EACCES, EROFS: hard to provoke as root
 * in a test) names the path and says the run is resumable, with exit 1.
 */
import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { errorMessage, exitStatusOf, UsageError } from "../src/cli/errors.js";
import { StoreWriteError, NotARunError, ExperimentTamperedError } from "../src/runtime/store.js";
import { RunBusyError } from "../src/runtime/lock.js";
import { NonFiniteStageError } from "../src/runtime/finite.js";
import { FootprintError } from "../src/runtime/bounds.js";
import { UnfollowableChangeError } from "../src/runtime/force.js";

const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe("cli errors", () => {
  it("maps each error to its exit status", () => {
    const cases: [unknown, number][] = [
      [new CommanderError(1, "commander.unknownOption", "error: unknown option '--x'"), 2],
      [new CommanderError(0, "commander.helpDisplayed", "(outputHelp)"), 0],
      [new UsageError("x"), 2],
      [new NotARunError("Not a run directory: /x", "/x"), 2],
      [new ExperimentTamperedError("/x/experiment.json"), 2],
      [new RunBusyError("/x", { pid: 1, host: "h", since: "t" }), 2],
      [new FootprintError({ stages: 1, stateBytes: 1, memoryBytes: 1, diskBytes: 1 }, ["too big"]), 2],
      [new UnfollowableChangeError([{ change: { path: "seed", from: 1, to: 2 }, reason: "r" }]), 2],
      [new NonFiniteStageError(4, "ilqgIteration 3/10", { path: "metrics.cost", element: null, value: NaN }), 3],
      [new StoreWriteError("/x/checkpoints/stage-000001.json", errno("ENOSPC", "ENOSPC: no space left on device, write")), 1],
      [new Error("worker 2 exited"), 1],
    ];
    for (const [e, status] of cases) expect(exitStatusOf(e), String(e)).toBe(status);
  });

  it("a refused write names the path and says how to resume", () => {
    for (const [code, text] of [["ENOSPC", "no space left on device"], ["EACCES", "permission denied"], ["EROFS", "read-only file system"]]) {
      const e = new StoreWriteError("/runs/r/checkpoints/stage-000003.json", errno(code, `${code}: raw, write`));
      expect(errorMessage(e, "/runs/r")).toBe(
        `cannot write /runs/r/checkpoints/stage-000003.json: ${text} — the run is resumable after freeing space (or fixing permissions): gps resume /runs/r`,
      );
    }
  });

  it("drops commander's and internal functions' prefixes", () => {
    expect(errorMessage(new CommanderError(1, "commander.unknownCommand", "error: unknown command 'x'"))).toBe("unknown command 'x'");
    expect(errorMessage(new Error("compare: small has no policy-search iterations"))).toBe("small has no policy-search iterations");
    expect(errorMessage(new NotARunError("Not a run directory: /x", "/x"))).toBe("Not a run directory: /x");
  });
});
