/**
 * What computed a run, recorded in run.json (meta only, never in a digest):
 * the package version, its git commit when the package is a git checkout,
 * the Node version and the mujoco-js version. Also the content hash of an
 * experiment's source file. Read from files: no process is spawned.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Provenance } from "./store.js";

/** The package root (where package.json is): two levels above src/runtime/. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return null;
  }
}

export function packageVersion(root = PACKAGE_ROOT): string {
  const v = readJson(join(root, "package.json"))?.version;
  return typeof v === "string" ? v : "unknown";
}

export function mujocoJsVersion(root = PACKAGE_ROOT): string | null {
  const v = readJson(join(root, "node_modules", "mujoco-js", "package.json"))?.version;
  return typeof v === "string" ? v : null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/**
 * The commit HEAD names in the git checkout at `root`, read from .git
 * (a directory, or a worktree's `gitdir:` file), its refs and packed-refs;
 * null when `root` is not a checkout or the ref cannot be found.
 */
export function gitCommit(root = PACKAGE_ROOT): string | null {
  const dotGit = join(root, ".git");
  if (!existsSync(dotGit)) return null;
  let gitDir = dotGit;
  if (!statSync(dotGit).isDirectory()) {
    const m = /^gitdir:\s*(.+)\s*$/m.exec(readText(dotGit) ?? "");
    if (!m) return null;
    gitDir = isAbsolute(m[1]) ? m[1] : resolve(root, m[1]);
  }
  const head = readText(join(gitDir, "HEAD"))?.trim();
  if (!head) return null;
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref) return null;
  const common = readText(join(gitDir, "commondir"))?.trim();
  const dirs = [gitDir, ...(common ? [isAbsolute(common) ? common : resolve(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = readText(join(d, ref))?.trim();
    if (loose && /^[0-9a-f]{40,64}$/.test(loose)) return loose;
    for (const line of (readText(join(d, "packed-refs")) ?? "").split("\n")) {
      const [sha, name] = line.trim().split(" ");
      if (name === ref && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
    }
  }
  return null;
}

export function currentProvenance(root = PACKAGE_ROOT): Provenance {
  return { packageVersion: packageVersion(root), gitCommit: gitCommit(root), node: process.version, mujocoJs: mujocoJsVersion(root) };
}

/** sha256 (hex) of a file's bytes, or null when it cannot be read. */
export function fileSha256(file: string): string | null {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return null;
  }
}
