/**
 * Rendering interpreter events for people: on a terminal one live status line
 * (stage, iteration, cost, a bar, elapsed time); in a pipe, one plain line per
 * finished stage.
 */
import type { RunEvent } from "../runtime/interpreter.js";
import type { Metrics } from "../algorithms/state.js";

export interface Renderer {
  next(e: RunEvent): void;
  done(): void;
}

export function headlineMetrics(m: Metrics | undefined): string {
  if (!m) return "";
  const parts: string[] = [];
  for (const key of ["cost", "objective", "distance", "meanVelocity"]) {
    const v = m[key];
    if (key === "objective" && v === m.cost) continue; // no tracking term: same number
    if (typeof v === "number") parts.push(`${key === "meanVelocity" ? "v" : key} ${fmt(v)}`);
  }
  if (typeof m.falls === "number") parts.push(`falls ${m.falls}`);
  if (typeof m.kl === "number") parts.push(`KL ${fmt(m.kl)}`);
  if (typeof m.meanLambda === "number") parts.push(`λ̄ ${fmt(m.meanLambda)}`);
  return parts.join("  ");
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return v.toFixed(a >= 100 ? 1 : 3);
}

function bar(fraction: number, width = 12): string {
  const n = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return "█".repeat(n) + "·".repeat(width - n);
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function createRenderer(out: NodeJS.WriteStream, options: { tty: boolean; quiet?: boolean }): Renderer {
  const started = performance.now();
  let lastDraw = 0;
  let lastLine = "";
  let lastMetrics: Metrics | undefined;
  const write = (s: string) => out.write(s);
  if (!options.tty) {
    return {
      next(e) {
        if (options.quiet) return;
        if (e.type === "run-started") write(`stages ${e.startStage}..${e.totalStages - 1} of ${e.totalStages}\n`);
        if (e.type === "stage-finished") {
          write(`stage ${e.index}/${e.total - 1} ${e.label}  ${headlineMetrics(e.metrics)}  digest ${e.digest.slice(0, 12)}  ${(e.durationMs / 1000).toFixed(2)}s\n`);
        }
        if (e.type === "run-finished") write(`${e.complete ? "finished" : "stopped"} after stage ${e.lastStage}: ${e.run}\n`);
      },
      done() {},
    };
  }
  const draw = (line: string, force = false) => {
    const t = performance.now();
    if (!force && t - lastDraw < 100) return;
    lastDraw = t;
    lastLine = line;
    const cols = out.columns ?? 120;
    write(`\r\x1b[K${line.slice(0, cols - 1)}`);
  };
  return {
    next(e) {
      switch (e.type) {
        case "run-started":
          write(`stages ${e.startStage}..${e.totalStages - 1} of ${e.totalStages}\n`);
          break;
        case "stage-started":
          draw(`stage ${e.index}/${e.total - 1}  ${e.label}  ${headlineMetrics(lastMetrics)}  ${bar(e.index / e.total)} ${clock(performance.now() - started)}`, true);
          break;
        case "progress":
          draw(`stage ${e.index}/${e.total - 1}  ${e.label}  ${e.message}  ${bar((e.index + e.fraction) / e.total)} ${clock(performance.now() - started)}`);
          break;
        case "stage-finished":
          lastMetrics = e.metrics;
          draw(`stage ${e.index}/${e.total - 1}  ${e.label}  ${headlineMetrics(e.metrics)}  ${bar((e.index + 1) / e.total)} ${clock(performance.now() - started)}`, true);
          break;
        case "run-finished":
          write(`\r\x1b[K${lastLine ? "" : ""}${e.complete ? "finished" : "stopped"} after stage ${e.lastStage}/${e.totalStages - 1}  ${headlineMetrics(lastMetrics)}  ${clock(performance.now() - started)}\n${e.run}\n`);
          break;
        default:
          break;
      }
    },
    done() {},
  };
}
