/** Checking option values the way people type them; each failure names its flag (exit 2). */
import { availableParallelism } from "node:os";
import { NUMERICS, type Numerics } from "../algorithms/numerics.js";
import { UsageError } from "./errors.js";

export function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

export const MAX_WORKERS = 64;

/** --workers: an integer in 1…64 (default: the cores). More than the cores is allowed, and said once. */
export function workersOption(value: string | undefined, note: (s: string) => void): number {
  const cores = availableParallelism();
  if (value === undefined) return cores;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_WORKERS) {
    throw new UsageError(`--workers must be an integer from 1 to ${MAX_WORKERS}, got "${value}"`);
  }
  const n = Number(value);
  if (n > cores) note(`--workers ${n} is more than the ${cores} cores of this machine`);
  return n;
}

export function numericsOption(value: string | undefined): Numerics | undefined {
  if (value === undefined) return undefined;
  if (!(NUMERICS as readonly string[]).includes(value)) throw new UsageError(`--numerics must be one of ${NUMERICS.join(", ")}, got "${value}"`);
  return value as Numerics;
}
