/** The Vega bundles the browser view loads, found in the installed packages' build/ directories. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLES } from "./page.js";

/** node_modules/<pkg> nearest above this module (the package's own install). */
function packageDir(pkg: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "node_modules", pkg);
    if (existsSync(join(candidate, "package.json"))) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error(`the browser view needs the ${pkg} package (npm install)`);
    dir = up;
  }
}

/** assets/<file> → absolute path of the bundle. */
export function bundlePaths(): ReadonlyMap<string, string> {
  return new Map(BUNDLES.map((b) => [b.file, join(packageDir(b.pkg), b.build)] as const));
}
