/** Temporary directories for a test file, removed after its tests. */
import { afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A function making a fresh directory `gps-<prefix>-…` each call; all of them go when the file's tests end. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), `gps-${prefix}-`));
    dirs.push(d);
    return d;
  };
}
