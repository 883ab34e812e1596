/** The CLI's output streams. */
export const out = process.stdout;
export const err = process.stderr;

// A reader that goes away (`gps run … | head -1`) must not stop the run:
// once stdout is closed, further output is dropped and the work goes on.
let stdoutClosed = false;
out.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") stdoutClosed = true;
  else throw e;
});
const originalWrite = out.write.bind(out);
out.write = ((chunk: string | Uint8Array, ...rest: never[]) => (stdoutClosed ? true : originalWrite(chunk, ...rest))) as typeof out.write;

export const note = (s: string): void => void err.write(`gps: note: ${s}\n`);
export const warn = (s: string): void => void err.write(`gps: warning: ${s}\n`);
