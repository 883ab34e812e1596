/**
 * `gps index`: the browser view as static files — index.html with the data
 * embedded and assets/ with the Vega bundles copied — that open from disk
 * (file://) or any static server. Report links are relative paths to the
 * runs' own report/index.html. Writes only under `outDir`.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { writeFileAtomic } from "../runtime/store.js";
import { bundlePaths } from "./assets.js";
import { viewPage } from "./page.js";
import { readStoreView } from "./view-data.js";

export function writeStaticIndex(store: string, outDir: string): { files: string[]; runs: number; series: number } {
  const out = resolve(outDir);
  const view = readStoreView(store, (_name, dir) => relative(out, join(dir, "report", "index.html")).split(sep).join("/"));
  mkdirSync(join(out, "assets"), { recursive: true });
  const files: string[] = [];
  for (const [file, src] of bundlePaths()) {
    copyFileSync(src, join(out, "assets", file));
    files.push(`assets/${file}`);
  }
  writeFileAtomic(join(out, "index.html"), viewPage(view, { live: false }));
  files.push("index.html");
  return { files, runs: view.runs.length, series: new Set(view.curves.map((c) => c.series)).size };
}
