/**
 * No import cycles among src/algorithms (issue 13): every module there is
 * reached without going through itself, type-only imports included.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { describe, expect, it } from "vitest";

const dir = resolve(import.meta.dirname, "../src/algorithms");

/** The src/algorithms modules a file imports (`import … from "./x.js"`, `export … from`). */
function localImports(file: string): string[] {
  const text = readFileSync(join(dir, file), "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
    const target = resolve(dirname(join(dir, file)), m[1]).replace(/\.js$/, ".ts");
    if (dirname(target) === dir) out.push(target.slice(dir.length + 1));
  }
  return out;
}

/** A cycle as a list of files, or null. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "open") return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

describe("src/algorithms imports", () => {
  it("have no cycle", () => {
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    const graph = new Map(files.map((f) => [f, localImports(f)] as const));
    expect(findCycle(graph)?.join(" → ") ?? null).toBeNull();
  });
  it("finds a cycle when there is one", () => {
    expect(findCycle(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]))).toEqual(["a", "b", "c", "a"]);
  });
});
