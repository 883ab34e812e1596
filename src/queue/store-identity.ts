/**
 * A store's identity for the job queue: `<store>/store.json` holding an id
 * derived from the store's absolute path and creation time (no randomness),
 * written once. A job records it; a worker whose store has another id (or
 * none: a different directory) refuses the job.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as t from "io-ts";
import { isRight } from "fp-ts/lib/Either.js";
import { sha256Hex } from "../runtime/canonical.js";
import { QueueRequestError } from "./errors.js";

export const STORE_IDENTITY_FILE = "store.json";

const StoreIdentityC = t.type({ format: t.literal(1), id: t.string, path: t.string, createdAt: t.string });
export type StoreIdentity = t.TypeOf<typeof StoreIdentityC>;

/** The store's identity, or null when it has none yet. A malformed store.json is bad input. */
export function readStoreIdentity(store: string): StoreIdentity | null {
  const file = join(resolve(store), STORE_IDENTITY_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new QueueRequestError(`malformed ${file}: ${(e as Error).message}`);
  }
  const r = StoreIdentityC.decode(value);
  if (!isRight(r)) throw new QueueRequestError(`malformed ${file}: not a store identity ({format: 1, id, path, createdAt})`);
  return r.right;
}

/** The id of a store at `path` created at `createdAt`: 16 hex digits. Pure. */
export function storeIdOf(path: string, createdAt: string): string {
  return sha256Hex(`${path}\n${createdAt}`).slice(0, 16);
}

/**
 * The store's identity, written first if it has none (mkdir -p the store).
 * Written to a temporary file and linked into place, so two processes
 * creating it at once agree on one and no reader sees half a file.
 */
export function ensureStoreIdentity(store: string, now: () => Date = () => new Date()): StoreIdentity {
  const existing = readStoreIdentity(store);
  if (existing) return existing;
  const path = resolve(store);
  mkdirSync(path, { recursive: true });
  const createdAt = now().toISOString();
  const identity: StoreIdentity = { format: 1, id: storeIdOf(path, createdAt), path, createdAt };
  const file = join(path, STORE_IDENTITY_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(identity, null, 2) + "\n", { mode: 0o644 });
  try {
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  const written = readStoreIdentity(path);
  if (!written) throw new QueueRequestError(`cannot read ${file} after writing it`);
  return written;
}
