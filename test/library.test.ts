/**
 * The library by name, from outside the repository: a folder with the package
 * installed as npm installs a folder (a link in node_modules), an experiment
 * file that imports "guided-policy-search" — without a package.json, so tsx
 * reads it as CommonJS — run by `gps run`, and a script that runs the same
 * value (as an .mts module) through the public `run` API (for await over its
 * events). Both give the same stage digests.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO } from "./helpers/cli.js";

const EXPERIMENT = readFileSync(join(REPO, "experiments/cartpole-ilqg.ts"), "utf8")
  .replace('"../src/index.js"', '"guided-policy-search"')
  .replace('"./models/cartpole.xml"', '"./cartpole.xml"')
  .replace("iterations: 150", "iterations: 4")
  .replace("horizon: 200", "horizon: 40");

const SCRIPT = `import { run } from "guided-policy-search";
import experiment from "./exp.mts";
const digests = [];
for await (const e of run(experiment, { store: "api-runs", baseDir: process.cwd() })) {
  if (e.type === "stage-finished") digests.push(e.digest);
}
console.log(JSON.stringify(digests));
`;

function outsideFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "gps-outside-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(REPO, join(dir, "node_modules", "guided-policy-search"), "dir");
  writeFileSync(join(dir, "exp.ts"), EXPERIMENT);
  // The script is an ES module, and so is the experiment it imports (a .ts file here would be CommonJS).
  writeFileSync(join(dir, "exp.mts"), EXPERIMENT);
  writeFileSync(join(dir, "cartpole.xml"), readFileSync(join(REPO, "experiments/models/cartpole.xml")));
  writeFileSync(join(dir, "script.mts"), SCRIPT);
  return dir;
}

const env = () => {
  const e = { ...process.env };
  delete e.NODE_OPTIONS;
  return e;
};

describe("the library by name, outside the repository", () => {
  it("gps run takes an experiment file that imports guided-policy-search, and run() gives the same digests", () => {
    const dir = outsideFolder();
    const cli = spawnSync(process.execPath, [join(REPO, "bin/gps.js"), "run", "exp.ts", "--store", "cli-runs", "--json", "--no-report"], { cwd: dir, env: env(), encoding: "utf8" });
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(0);
    const cliDigests = cli.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; digest?: string })
      .filter((e) => e.type === "stage-finished")
      .map((e) => e.digest);
    expect(cliDigests).toHaveLength(7);

    const tsx = pathToFileURL(createRequire(join(REPO, "package.json")).resolve("tsx")).href;
    const api = spawnSync(process.execPath, ["--import", tsx, "script.mts"], { cwd: dir, env: env(), encoding: "utf8" });
    expect(api.status, api.stderr).toBe(0);
    expect(JSON.parse(api.stdout.trim().split("\n").pop()!)).toEqual(cliDigests);
  });
});
