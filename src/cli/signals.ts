/**
 * SIGINT/SIGTERM during run and resume: the first asks the run to stop at the
 * end of the current stage (its checkpoint is written, the run is stopped and
 * resumable); a second aborts at once, through `onAbort` (which releases the
 * run's lock and records the status) and exit status 130.
 */
import { EXIT_INTERRUPTED } from "./errors.js";

export interface StopSignals {
  /** A first signal arrived. */
  requested(): boolean;
  /** Its name, when one arrived. */
  readonly signal: NodeJS.Signals | null;
  /** Stop listening (the run is over). */
  dispose(): void;
}

const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"];

export function listenForStop(options: { onFirst(signal: NodeJS.Signals): void; onAbort(signal: NodeJS.Signals): void }): StopSignals {
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals): void => {
    if (received === null) {
      received = signal;
      options.onFirst(signal);
      return;
    }
    try {
      options.onAbort(signal);
    } finally {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    requested: () => received !== null,
    get signal() {
      return received;
    },
    dispose() {
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
