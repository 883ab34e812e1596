/** Comparing arrays in tests: the largest difference, alone or against the reference's scale. */
import { expect } from "vitest";

/** max_k |a_k − b_k| (the lengths must agree). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

/** max_k |a_k − b_k| / max(1, max_k |b_k|): relative for large references, absolute for small ones. */
export function relErrAtLeastUnit(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 1;
  for (let i = 0; i < b.length; i++) s = Math.max(s, Math.abs(b[i]));
  return maxAbsDiff(a, b) / s;
}
