/**
 * `gps serve`: the store's browser view over HTTP on 127.0.0.1 only. Read-only:
 * GET and HEAD, nothing is ever written to the store. Routes:
 *
 *   /                          the page (src/serve/page.ts)
 *   /api/view.json             the runs table and curve rows, read anew each time
 *   /assets/<bundle>.min.js    vega, vega-lite, vega-embed from node_modules
 *   /runs/<run>/report/<file>  a run's report files (nothing else of the run)
 *
 * Any path that leaves a run's report directory (.., an encoded slash, a
 * symbolic link out) is refused with 403; an unknown one is 404.
 */
import { createReadStream, existsSync, realpathSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import { bundlePaths } from "./assets.js";
import { viewPage } from "./page.js";
import { readStoreView } from "./view-data.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".png": "image/png",
  ".css": "text/css; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

const RUN_NAME = /^[A-Za-z0-9._-]+$/;

/** The file a /runs/… path names, or a status: 403 outside the run's report directory, 404 missing. */
export function reportFile(store: string, path: string): string | 403 | 404 {
  const m = /^\/runs\/([^/]+)\/report\/(.*)$/.exec(path);
  if (!m) return 404;
  let name: string;
  let rest: string;
  try {
    name = decodeURIComponent(m[1]);
    rest = decodeURIComponent(m[2] === "" ? "index.html" : m[2]);
  } catch {
    return 404;
  }
  if (!RUN_NAME.test(name) || name === "." || name === "..") return 403;
  if (rest.includes("\0") || rest.includes("\\")) return 403;
  const base = resolve(store, name, "report");
  const file = resolve(base, rest);
  if (!file.startsWith(base + sep)) return 403;
  if (!existsSync(file)) return 404;
  try {
    const realBase = realpathSync(base);
    const real = realpathSync(file);
    if (!real.startsWith(realBase + sep)) return 403;
    if (!statSync(real).isFile()) return 404;
    return real;
  } catch {
    return 404;
  }
}

function send(res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8", head = false): void {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.end(head ? undefined : body);
}

function handler(store: string) {
  const bundles = bundlePaths();
  const view = () => readStoreView(store, (name) => `runs/${encodeURIComponent(name)}/report/index.html`);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === "HEAD";
    if (req.method !== "GET" && !head) return send(res, 405, "read-only: GET and HEAD only\n");
    let path: string;
    try {
      path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    } catch {
      return send(res, 400, "bad request\n");
    }
    try {
      if (path === "/" || path === "/index.html") return send(res, 200, viewPage(view(), { live: true }), TYPES[".html"], head);
      if (path === "/api/view.json") return send(res, 200, JSON.stringify(view()), TYPES[".json"], head);
      if (path.startsWith("/assets/")) {
        const file = bundles.get(path.slice("/assets/".length));
        if (!file) return send(res, 404, "not found\n");
        res.writeHead(200, { "content-type": TYPES[".js"], "cache-control": "max-age=3600" });
        if (head) return void res.end();
        return void createReadStream(file).pipe(res);
      }
      if (path.startsWith("/runs/")) {
        const file = reportFile(store, path);
        if (file === 403) return send(res, 403, "forbidden: outside the run's report\n");
        if (file === 404) return send(res, 404, "not found\n");
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store", "x-content-type-options": "nosniff" });
        if (head) return void res.end();
        return void createReadStream(file).pipe(res);
      }
      return send(res, 404, "not found\n");
    } catch (e) {
      return send(res, 500, `${(e as Error).message}\n`);
    }
  };
}

/** Listen on 127.0.0.1:`port` (0: any free port). Rejects with the listen error (EADDRINUSE: the port is taken). */
export function startServer(store: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer(handler(resolve(store)));
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", fail);
      const a = server.address();
      ok({ server, port: typeof a === "object" && a ? a.port : port });
    });
  });
}

