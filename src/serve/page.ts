/**
 * The browser view's page: the runs table and interactive learning curves
 * (Vega-Lite through vega-embed, loaded from `assets/`, nothing from the
 * network). The data is embedded as JSON; served live (`gps serve`), the page
 * polls `api/view.json` every 2 s and updates the table and the curves.
 */
import type { StoreView } from "./view-data.js";

/** The browser bundles the page loads, as file names under assets/ and their package's build/ file. */
export const BUNDLES: readonly { readonly file: string; readonly pkg: string; readonly build: string }[] = [
  { file: "vega.min.js", pkg: "vega", build: "build/vega.min.js" },
  { file: "vega-lite.min.js", pkg: "vega-lite", build: "build/vega-lite.min.js" },
  { file: "vega-embed.min.js", pkg: "vega-embed", build: "build/vega-embed.min.js" },
];

const escHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");

export function viewPage(view: StoreView, o: { live: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>gps runs — ${escHtml(view.store)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; font-size: 13px; width: 100%; } td, th { padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } tr.sweep td { background: #eef4fb; font-weight: bold; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status-running { color: #0a7d2c; font-weight: bold; } .status-failed, .status-broken { color: #b00020; } .muted { color: #777; }
#curves { width: 100%; min-height: 420px; } code { font-size: 12px; }
</style></head><body>
<h1>gps runs</h1>
<p class="muted">Store <code>${escHtml(view.store)}</code>. ${o.live ? 'Live: refreshed every 2 s from the runs\' <code>stages.jsonl</code> (read-only).' : "A snapshot written by <code>gps index</code>."}</p>
<h2>Learning curves</h2>
<p class="muted">Each run's training iterations (iLQG, constrained GPS's fitTheta, importance-sampled GPS or a prior method); evaluation stages are rings at the number of iterations before them. Hover for values, click a legend entry to show it alone (shift-click for several), choose the metric below the plot.</p>
<div id="curves"></div>
<h2>Runs</h2>
<table id="runs"><thead><tr><th>run</th><th>experiment</th><th>sweep</th><th>seed</th><th>status</th><th>stages</th><th>last</th><th>age</th><th>report</th></tr></thead><tbody></tbody></table>
<script id="gps-data" type="application/json">${scriptJson(view)}</script>
<script src="assets/vega.min.js"></script>
<script src="assets/vega-lite.min.js"></script>
<script src="assets/vega-embed.min.js"></script>
<script>
"use strict";
const LIVE = ${o.live ? "true" : "false"};
let data = JSON.parse(document.getElementById("gps-data").textContent);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 90 ? Math.round(s) + " s" : s < 5400 ? Math.round(s / 60) + " min" : s < 172800 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
}
function renderTable(d) {
  const runs = [...d.runs].sort((a, b) => (a.sweep ?? "").localeCompare(b.sweep ?? "") || a.id.localeCompare(b.id));
  let sweep = null;
  const rows = [];
  for (const r of runs) {
    if (r.sweep !== null && r.sweep !== sweep) rows.push('<tr class="sweep"><td colspan="9">sweep ' + esc(r.sweep) + " (" + runs.filter((x) => x.sweep === r.sweep).length + " runs)</td></tr>");
    sweep = r.sweep;
    const cls = "status-" + esc(r.status.split(/[ :]/)[0]);
    const report = r.reportHref ? '<a class="report" href="' + esc(r.reportHref) + '">report</a>' : '<span class="muted">no report yet</span>';
    const stages = r.stagesDone + "/" + (r.totalStages ?? "?");
    rows.push("<tr><td><code>" + esc(r.id) + "</code></td><td>" + esc(r.experimentName ?? "") + "</td><td>" + esc(r.sweep ?? "") + '</td><td class="num">' + esc(r.seed ?? "") +
      '</td><td class="' + cls + '">' + esc(r.broken ? "broken: " + r.broken : r.status) + '</td><td class="num">' + stages + "</td><td>" + (r.lastKind ? esc(r.lastKind) + " <span class=muted>" + esc(r.last) + "</span>" : "") +
      '</td><td class="num">' + age(r.updatedAt) + "</td><td>" + report + "</td></tr>");
  }
  document.querySelector("#runs tbody").innerHTML = rows.join("\\n") || '<tr><td colspan="9" class="muted">no runs</td></tr>';
}
function spec(d) {
  const tooltip = [{ field: "series", title: "series" }, { field: "run" }, { field: "label", title: "stage" }, { field: "iteration" }, { field: "value", format: ".4~g", title: "value" }];
  const color = { field: "series", type: "nominal", title: "run / group" };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: "container", height: 380,
    datasets: { curves: d.curves },
    data: { name: "curves" },
    params: [{ name: "metric", value: d.metrics[0], bind: { input: "select", options: d.metrics, name: "metric " } }],
    encoding: { x: { field: "iteration", type: "quantitative", title: "training iteration", axis: { tickMinStep: 1, format: "d" } }, y: { field: "value", type: "quantitative", scale: { zero: false }, title: "cost (Σ over the horizon)" }, color },
    layer: [
      { transform: [{ filter: "datum.type === 'train' && datum.metric === metric" }], params: [{ name: "pick", select: { type: "point", fields: ["series"] }, bind: "legend" }],
        mark: { type: "line", point: true, tooltip: true }, encoding: { opacity: { condition: { param: "pick", value: 1 }, value: 0.12 }, tooltip } },
      { transform: [{ filter: "datum.type === 'evaluation'" }], mark: { type: "point", shape: "circle", filled: false, size: 70, strokeWidth: 2 },
        encoding: { opacity: { condition: { param: "pick", value: 1 }, value: 0.12 }, tooltip } },
    ],
  };
}
let view = null;
async function draw() {
  if (data.curves.length === 0) { document.getElementById("curves").innerHTML = '<p class="muted">No training iterations yet.</p>'; return; }
  const r = await vegaEmbed("#curves", spec(data), { renderer: "svg", actions: false });
  view = r.view;
  window.gpsView = view;
}
async function poll() {
  try {
    const res = await fetch("api/view.json", { cache: "no-store" });
    if (!res.ok) return;
    const next = await res.json();
    const grew = JSON.stringify(next.curves) !== JSON.stringify(data.curves);
    const metricsChanged = JSON.stringify(next.metrics) !== JSON.stringify(data.metrics);
    data = next;
    renderTable(data);
    if (grew && view && !metricsChanged) await view.change("curves", vega.changeset().remove(() => true).insert(data.curves)).runAsync();
    else if (grew || metricsChanged) await draw();
  } catch (e) { /* the server is gone: keep the last view */ }
}
renderTable(data);
draw().then(() => { window.gpsReady = true; });
if (LIVE) setInterval(poll, 2000);
</script>
</body></html>
`;
}
