/**
 * The browser view (gps index, gps serve) in a real browser: Debian's chromium
 * driven by playwright-core. Skipped, saying so, where /usr/bin/chromium is
 * absent (.ci/run installs it). Screenshots go to test-artifacts/.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { gps, REPO } from "./helpers/cli.js";

const CHROMIUM = "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`browser-view tests skipped: ${CHROMIUM} is absent (.ci/run installs chromium)`);
const ARTIFACTS = join(REPO, "test-artifacts");
const SMALL = join(REPO, "test/fixtures/experiments/small.ts");

let dir: string;
let store: string;
let browser: Browser;

async function ok(args: string[]): Promise<void> {
  const r = await gps(args);
  if (r.status !== 0) throw new Error(`gps ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
}

/** Open `url`, collect console errors, wait for the curves; returns the page and the errors. */
async function open(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { gpsReady?: boolean }).gpsReady === true, undefined, { timeout: 15000 });
  return { page, errors };
}

/** The series the plot draws for the selected metric (from the Vega view's data), and the legend's entries (from the DOM). */
async function seriesOf(page: Page): Promise<{ series: string[]; legend: number; metric: string }> {
  return page.evaluate(() => {
    const view = (globalThis as unknown as { gpsView: { data(n: string): { type: string; metric: string; series: string }[]; signal(n: string): string } }).gpsView;
    const metric = view.signal("metric");
    const series = [...new Set(view.data("curves").filter((d) => d.type === "train" && d.metric === metric).map((d) => d.series))].sort();
    const legend = (globalThis as unknown as { document: { querySelectorAll(q: string): { length: number } } }).document.querySelectorAll("#curves .role-legend-label text").length;
    return { series, legend, metric };
  });
}

const hrefs = (page: Page) => page.$$eval("a[href]", (as) => as.map((a) => (a as unknown as { href: string }).href));

describe.skipIf(!HAVE_CHROMIUM)("browser view", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gps-view-"));
    store = join(dir, "store");
    await Promise.all([
      ok(["run", SMALL, "--seed", "1", "--store", store, "--no-report", "--workers", "1"]),
      ok(["run", SMALL, "--seed", "2", "--store", store, "--no-report", "--workers", "1"]),
      ok(["run", SMALL, "--seed", "3", "--store", store, "--workers", "1"]), // with its report
    ]);
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("gps index: a static page that loads with no console errors, one curve per run, every link a file", async () => {
    const out = join(dir, "index");
    await ok(["index", "--store", store, "--out", out]);
    expect(readdirSync(join(out, "assets")).sort()).toEqual(["vega-embed.min.js", "vega-lite.min.js", "vega.min.js"]);
    const { page, errors } = await open(pathToFileURL(join(out, "index.html")).href);
    const s = await seriesOf(page);
    expect(s.metric).toBe("cost");
    expect(s.series).toEqual(["small · seed 1", "small · seed 2", "small · seed 3"]);
    expect(s.legend).toBe(3);
    expect(await page.locator("#runs tbody tr").count()).toBe(3);
    expect(await page.getByText("no report yet").count()).toBe(2);
    const links = await hrefs(page);
    expect(links.length).toBe(1);
    for (const l of links) expect(existsSync(fileURLToPath(l)), l).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "browser-view-index.png"), fullPage: true, timeout: 15000 });
    expect(errors).toEqual([]);
    await page.close();
  }, 40000);

  test("gps serve: live page, reports served, traversal refused, read-only, a busy port is exit 2", async () => {
    const child: ChildProcess = spawn(process.execPath, ["bin/gps.js", "serve", "--store", store, "--port", "0"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    try {
      const url = await new Promise<string>((ok, fail) => {
        let text = "";
        child.stdout?.on("data", (c: Buffer) => {
          text += c.toString();
          const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
          if (m) ok(m[0]);
        });
        child.on("exit", (code) => fail(new Error(`gps serve exited ${code}`)));
      });
      const { page, errors } = await open(url);
      expect((await seriesOf(page)).series.length).toBe(3);
      for (const l of await hrefs(page)) expect((await fetch(l)).status, l).toBe(200);
      const report = (await hrefs(page))[0];
      expect(await (await fetch(new URL("cost.svg", report))).text()).toMatch(/<svg/);

      const runName = readdirSync(store)[0];
      for (const bad of [`runs/${runName}/report/..%2Frun.json`, `runs/..%2F..%2F..%2Fetc/report/passwd`, `runs/${runName}/report/%2E%2E/%2E%2E/x`]) {
        expect([403, 404], bad).toContain((await fetch(url + bad)).status);
      }
      expect((await fetch(`${url}runs/${runName}/run.json`)).status).toBe(404);
      expect((await fetch(`${url}runs/${runName}/report/..%2Frun.json`)).status).toBe(403);
      expect((await fetch(url, { method: "POST" })).status).toBe(405);

      // Live: a fourth run appears in the curves within a few polls.
      const before = readdirSync(store).length;
      await ok(["run", SMALL, "--seed", "4", "--store", store, "--no-report", "--workers", "1", "--stop-after-stage", "2"]);
      await page.waitForFunction(
        () => {
          const v = (globalThis as unknown as { gpsView: { data(n: string): { series: string }[] } }).gpsView;
          return new Set(v.data("curves").map((d) => d.series)).size === 4;
        },
        undefined,
        { timeout: 10000 },
      );
      expect(readdirSync(store).length).toBe(before + 1);
      await page.screenshot({ path: join(ARTIFACTS, "browser-view-serve.png"), fullPage: true, timeout: 15000 });
      expect(errors).toEqual([]);
      await page.close();

      // The port is taken now: a second server says so and exits 2.
      const port = new URL(url).port;
      const busy = await gps(["serve", "--store", store, "--port", port]);
      expect(busy.status).toBe(2);
      expect(busy.stderr).toMatch(new RegExp(`port ${port} on 127.0.0.1 is in use`));
    } finally {
      child.kill("SIGTERM");
    }
  }, 50000);

  test("bad input: a missing store, a bad port, index without --out or into the store: exit 2", async () => {
    const free = await new Promise<number>((ok) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => ok(p));
      });
    });
    for (const [args, re] of [
      [["serve", "--store", join(dir, "nope"), "--port", String(free)], /the store .*nope is not a directory/],
      [["serve", "--store", store, "--port", "http"], /--port must be an integer/],
      [["index", "--store", store], /index needs --out/],
      [["index", "--store", store, "--out", join(store, "view")], /inside the store/],
    ] as const) {
      const r = await gps([...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
    }
    expect(existsSync(join(store, "view"))).toBe(false);
  }, 60000); // four CLI processes; under the suite's load on 2 cores each takes ~5 s or more
});
