/** gps serve and gps index: the store's browser view (src/serve/). */
import { existsSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import { startServer } from "../../serve/server.js";
import { writeStaticIndex } from "../../serve/static-index.js";
import { out } from "../io.js";
import { EXIT_OK, UsageError } from "../errors.js";

function storeDir(store: string): string {
  const abs = resolve(store);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new UsageError(`the store ${store} is not a directory`);
  return abs;
}

function portOf(text: string | undefined): number {
  if (text === undefined) return 8080;
  const p = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(p) || p < 0 || p > 65535) throw new UsageError(`--port must be an integer 0…65535, got ${JSON.stringify(text)}`);
  return p;
}

/** Serve until interrupted (SIGINT/SIGTERM close the server and exit 0). */
export async function serveCommand(o: { store: string; port?: string }): Promise<number> {
  const store = storeDir(o.store);
  const port = portOf(o.port);
  let started;
  try {
    started = await startServer(store, port);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UsageError(`port ${port} on 127.0.0.1 is in use (choose another with --port)`);
    if (code === "EACCES") throw new UsageError(`port ${port} on 127.0.0.1 needs privileges (choose another with --port)`);
    throw e;
  }
  out.write(`serving ${store} (read-only) at http://127.0.0.1:${started.port}/  (Ctrl-C stops)\n`);
  await new Promise<void>((done) => {
    const stop = () => started.server.close(() => done());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    started.server.on("close", () => done());
  });
  return EXIT_OK;
}

export function indexCommand(o: { store: string; out?: string }): number {
  if (!o.out) throw new UsageError("index needs --out DIR");
  const store = storeDir(o.store);
  const outDir = resolve(o.out);
  if (outDir === store || outDir.startsWith(store + sep)) throw new UsageError(`--out ${o.out} is inside the store ${o.store}: gps index never writes into the store`);
  const r = writeStaticIndex(store, outDir);
  out.write(`wrote ${r.files.length} files to ${outDir} (${r.runs} runs, ${r.series} curves); open ${resolve(outDir, "index.html")}\n`);
  return EXIT_OK;
}
