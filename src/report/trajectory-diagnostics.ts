/**
 * The figure of a diagnoseTrajectories stage (src/algorithms/diagnose.ts):
 * per condition, log10 of q's feedback gain ‖K_t‖₂ and of the step-to-step
 * jump of the dynamics' Jacobian ‖A_{t+1} − A_t‖/‖A_t‖ over the horizon, with
 * the steps where the nominal's contact count changes marked on the time
 * axis. Reads only the stage's metrics.
 */
import { linePlot, marker, paletteColor } from "./svg.js";

type Metrics = Readonly<Record<string, unknown>>;

function series(m: Metrics, name: string): number[] | null {
  const v = m[name];
  return Array.isArray(v) && v.every((x) => typeof x === "number") ? (v as number[]) : null;
}

/** The SVG, or null when the metrics are not a diagnoseTrajectories stage's. */
export function trajectoryDiagnosticsPlot(m: Metrics, title: string): string | null {
  const gains = series(m, "gainNormByStep");
  const jumps = series(m, "jumpByStep");
  const contacts = series(m, "contactsByStep");
  const mu = series(m, "mu");
  if (!gains || !jumps || !contacts || !mu) return null;
  const C = mu.length;
  const T = gains.length / C;
  const log = (v: number) => Math.log10(Math.max(v, 1e-12));
  const lines = [];
  for (let c = 0; c < C; c++) {
    const color = paletteColor(c);
    lines.push({ label: `condition ${c + 1}: log10 ‖K_t‖`, color, width: 1.5, points: gains.slice(c * T, (c + 1) * T).map((v, t) => [t, log(v)] as const) });
    lines.push({ label: `log10 Jacobian jump`, color, width: 1, dash: "3 3", hideInLegend: c > 0, points: jumps.slice(c * (T - 1), (c + 1) * (T - 1)).map((v, t) => [t + 1, log(v)] as const) });
  }
  const changes: [number, number][] = [];
  for (let c = 0; c < C; c++) {
    const k = contacts.slice(c * (T + 1), (c + 1) * (T + 1));
    for (let t = 0; t < T; t++) if (k[t] !== k[t + 1]) changes.push([c, t + 1]);
  }
  return linePlot(lines, {
    title,
    xLabel: "time step",
    yLabel: "log10",
    overlay: (frame) => changes.map(([c, t]) => marker("cross", frame.x(t), frame.top + frame.height - 4 - 5 * c, paletteColor(c), 3)).join(""),
    caption: "Crosses on the bottom edge: steps where the nominal's contact count changes (one row per condition). Dashed: the dynamics' Jacobian jump between consecutive steps.",
  });
}
