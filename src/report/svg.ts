/**
 * A tiny SVG builder: escaping, number formatting, elements, nice ticks,
 * linear scales, axes, legends and a line plot. Everything returns strings;
 * nothing here touches files, clocks or randomness, so the same input always
 * gives the same text (numbers are printed with a fixed number of decimals).
 *
 * Coordinates handed to the helpers are SVG pixels unless a function says it
 * takes data values.
 */

/** Escape text for XML character data and attribute values. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&apos;"));
}

/**
 * A finite number with at most `digits` decimals, trailing zeros dropped and
 * no "-0". Throws on NaN/±Infinity: callers filter non-finite data first.
 */
export function num(v: number, digits = 2): string {
  if (!Number.isFinite(v)) throw new Error(`svg: non-finite number ${v}`);
  let s = v.toFixed(digits);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  if (s === "-0") s = "0";
  return s;
}

export type AttrValue = string | number | undefined | null | false;
export type Attrs = Readonly<Record<string, AttrValue>>;

function attrText(attrs: Attrs): string {
  let out = "";
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    out += ` ${k}="${typeof v === "number" ? num(v) : esc(v)}"`;
  }
  return out;
}

/**
 * An element. `children` are already-built markup strings (use `esc` or
 * `text()` for plain text); with no children the element self-closes.
 */
export function el(tag: string, attrs: Attrs = {}, children?: string | readonly string[]): string {
  const inner = children === undefined ? "" : typeof children === "string" ? children : children.join("");
  if (inner === "") return `<${tag}${attrText(attrs)}/>`;
  return `<${tag}${attrText(attrs)}>${inner}</${tag}>`;
}

/** A `<text>` element with escaped content. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el("text", { x, y, ...attrs }, esc(content));
}

/** "x,y x,y …" for a `points` attribute, from pixel pairs. */
export function pointsAttr(pts: ReadonlyArray<readonly [number, number]>): string {
  return pts.map(([x, y]) => `${num(x)},${num(y)}`).join(" ");
}

/** A `<polyline>` through pixel points (nothing for fewer than 2 points). */
export function polyline(pts: ReadonlyArray<readonly [number, number]>, attrs: Attrs = {}): string {
  if (pts.length < 2) return "";
  return el("polyline", { points: pointsAttr(pts), fill: "none", ...attrs });
}

/** Split a sequence of data points into runs of finite points (for polylines across NaN gaps). */
export function finiteRuns<P extends readonly [number, number]>(pts: ReadonlyArray<P>): P[][] {
  const runs: P[][] = [];
  let cur: P[] = [];
  for (const p of pts) {
    if (Number.isFinite(p[0]) && Number.isFinite(p[1])) cur.push(p);
    else if (cur.length) {
      runs.push(cur);
      cur = [];
    }
  }
  if (cur.length) runs.push(cur);
  return runs;
}

/** The complete standalone SVG document (with XML declaration and namespace). */
export function svgDocument(width: number, height: number, body: string | readonly string[], opts: { title?: string; background?: string } = {}): string {
  const inner = typeof body === "string" ? body : body.join("\n");
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  ];
  if (opts.title) parts.push(el("title", {}, esc(opts.title)));
  parts.push(el("rect", { x: 0, y: 0, width, height, fill: opts.background ?? "white" }));
  parts.push(inner);
  parts.push(`</svg>`, "");
  return parts.join("\n");
}

/** Colour-blind-safe palette (Okabe & Ito), in series order. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"] as const;

export function paletteColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** A "nice" step (1, 2 or 5 × 10^k) giving about `target` intervals over `span`. */
export function niceStep(span: number, target = 6): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/** Tick values at multiples of a nice step inside [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  const step = niceStep(hi - lo, target);
  const out: number[] = [];
  const i0 = Math.ceil(lo / step - 1e-9);
  const i1 = Math.floor(hi / step + 1e-9);
  for (let i = i0; i <= i1 && out.length < 1000; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Label text for a tick value, with as many decimals as the step needs. */
export function tickLabel(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return num(v, decimals);
}

/** Linear map from a data interval to a pixel interval. */
export interface Scale {
  (v: number): number;
  readonly d0: number;
  readonly d1: number;
  readonly r0: number;
  readonly r1: number;
}

export function linearScale(d0: number, d1: number, r0: number, r1: number): Scale {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => r0 + (v - d0) * k) as Scale;
  return Object.assign(f, { d0, d1, r0, r1 });
}

/** The data-to-pixel frame of one plot area. */
export interface PlotFrame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
  readonly x: Scale;
  readonly y: Scale;
}

/** Axes box with ticks, tick labels, light grid lines and axis labels. */
export function axes(frame: PlotFrame, opts: { xLabel?: string; yLabel?: string; grid?: boolean; tickTarget?: number } = {}): string {
  const { left, top, width, height, x, y } = frame;
  const bottom = top + height;
  const right = left + width;
  const out: string[] = [];
  const target = opts.tickTarget ?? 8;
  const xTargets = Math.max(2, Math.round((target * width) / 700));
  const yTargets = Math.max(2, Math.round((target * height) / 500));
  const xt = niceTicks(x.d0, x.d1, xTargets);
  const yt = niceTicks(y.d0, y.d1, yTargets);
  const xStep = niceStep(x.d1 - x.d0, xTargets);
  const yStep = niceStep(y.d1 - y.d0, yTargets);
  if (opts.grid !== false) {
    for (const v of xt) out.push(el("line", { x1: x(v), y1: top, x2: x(v), y2: bottom, stroke: "#e6e6e6", "stroke-width": 1 }));
    for (const v of yt) out.push(el("line", { x1: left, y1: y(v), x2: right, y2: y(v), stroke: "#e6e6e6", "stroke-width": 1 }));
  }
  out.push(el("rect", { x: left, y: top, width, height, fill: "none", stroke: "#444", "stroke-width": 1 }));
  for (const v of xt) {
    out.push(el("line", { x1: x(v), y1: bottom, x2: x(v), y2: bottom + 5, stroke: "#444" }));
    out.push(text(x(v), bottom + 17, tickLabel(v, xStep), { "text-anchor": "middle", fill: "#333" }));
  }
  for (const v of yt) {
    out.push(el("line", { x1: left - 5, y1: y(v), x2: left, y2: y(v), stroke: "#444" }));
    out.push(text(left - 8, y(v) + 4, tickLabel(v, yStep), { "text-anchor": "end", fill: "#333" }));
  }
  if (opts.xLabel) out.push(text(left + width / 2, bottom + 34, opts.xLabel, { "text-anchor": "middle", fill: "#222" }));
  if (opts.yLabel) {
    const cx = left - 44;
    const cy = top + height / 2;
    out.push(text(cx, cy, opts.yLabel, { "text-anchor": "middle", fill: "#222", transform: `rotate(-90 ${num(cx)} ${num(cy)})` }));
  }
  return out.join("\n");
}

/** A legend entry: a line sample (optionally dashed) or a marker. */
export interface LegendItem {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly marker?: "cross" | "dot" | "ring";
  readonly width?: number;
}

/** Rough width of a label in pixels at 12 px Helvetica (no font metrics in a pure function). */
export function textWidth(s: string, fontSize = 12): number {
  return s.length * fontSize * 0.56;
}

/** A marker glyph centred at (x, y) in pixels. */
export function marker(kind: "cross" | "dot" | "ring", x: number, y: number, color: string, size = 5): string {
  if (kind === "cross") {
    const d = `M${num(x - size)},${num(y - size)}L${num(x + size)},${num(y + size)}M${num(x - size)},${num(y + size)}L${num(x + size)},${num(y - size)}`;
    return el("path", { d, stroke: color, "stroke-width": 2.5, fill: "none", "stroke-linecap": "round" });
  }
  if (kind === "ring") return el("circle", { cx: x, cy: y, r: size, fill: "white", stroke: color, "stroke-width": 1.5 });
  return el("circle", { cx: x, cy: y, r: size * 0.6, fill: color });
}

/**
 * A horizontal legend starting at (x, y) (the baseline of the first row),
 * wrapping at `maxWidth` pixels. Returns the markup, the height it used and
 * its widest row (wider than `maxWidth` when one label alone is).
 */
export function legend(items: readonly LegendItem[], x: number, y: number, maxWidth: number): { svg: string; height: number; width: number } {
  const out: string[] = [];
  let cx = x;
  let cy = y;
  let widest = 0;
  const rowH = 18;
  for (const it of items) {
    const w = 30 + textWidth(it.label) + 18;
    if (cx > x && cx + w > x + maxWidth) {
      cx = x;
      cy += rowH;
    }
    widest = Math.max(widest, cx + w - 18 - x);
    if (it.marker) out.push(marker(it.marker, cx + 12, cy - 4, it.color));
    else out.push(el("line", { x1: cx, y1: cy - 4, x2: cx + 24, y2: cy - 4, stroke: it.color, "stroke-width": it.width ?? 2.5, "stroke-dasharray": it.dash }));
    out.push(text(cx + 30, cy, it.label, { fill: "#222" }));
    cx += w;
  }
  return { svg: el("g", { class: "legend" }, out.join("")), height: items.length ? cy - y + rowH : 0, width: widest };
}

/** One line series of `linePlot`, in data units. */
export interface LineSeries {
  readonly label: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly color?: string;
  readonly dash?: string;
  readonly width?: number;
  /** Leave the series out of the legend. */
  readonly hideInLegend?: boolean;
}

export interface LinePlotOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Width of the plot area in pixels (default 760). */
  readonly plotWidth?: number;
  /** Height of the plot area in pixels (default 360; with equalAspect, the preferred bounds below apply). */
  readonly plotHeight?: number;
  /** One data unit is as long on both axes (spatial plots). */
  readonly equalAspect?: boolean;
  /** With equalAspect: plot-area height bounds in pixels (default 140 and 560). */
  readonly minPlotHeight?: number;
  readonly maxPlotHeight?: number;
  /** With equalAspect, grow the y range only upward (keep the lower bound, e.g. the floor). */
  readonly anchorYMin?: boolean;
  /** Extra data points the domains must include (e.g. ground, markers). */
  readonly include?: ReadonlyArray<readonly [number, number]>;
  /** Drawn under / over the series inside the plot area (clipped), given the frame. */
  readonly underlay?: (frame: PlotFrame) => string;
  readonly overlay?: (frame: PlotFrame) => string;
  /** Legend entries after the series' own. */
  readonly extraLegend?: readonly LegendItem[];
  /** A line of small print under the plot. */
  readonly caption?: string;
  /** Prefix for element ids (clip path), for documents that inline several plots. */
  readonly idPrefix?: string;
}

/**
 * A line plot with axes, ticks, labels, a legend above the plot area and an
 * optional caption. Non-finite points break a line instead of failing.
 */
export function linePlot(series: readonly LineSeries[], opts: LinePlotOptions = {}): string {
  const all: Array<readonly [number, number]> = [];
  for (const s of series) for (const p of s.points) if (Number.isFinite(p[0]) && Number.isFinite(p[1])) all.push(p);
  for (const p of opts.include ?? []) if (Number.isFinite(p[0]) && Number.isFinite(p[1])) all.push(p);
  let [x0, x1, y0, y1] = all.length
    ? all.reduce(([a, b, c, d], [x, y]) => [Math.min(a, x), Math.max(b, x), Math.min(c, y), Math.max(d, y)], [Infinity, -Infinity, Infinity, -Infinity])
    : [0, 1, 0, 1];
  if (x1 - x0 < 1e-9) [x0, x1] = [x0 - 0.5, x1 + 0.5];
  if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const padX = 0.04 * (x1 - x0);
  const padY = 0.06 * (y1 - y0);
  x0 -= padX;
  x1 += padX;
  y0 -= opts.anchorYMin ? padY / 3 : padY;
  y1 += padY;
  const W = opts.plotWidth ?? 760;
  let H = opts.plotHeight ?? 360;
  if (opts.equalAspect) {
    const minH = opts.minPlotHeight ?? 140;
    const maxH = opts.maxPlotHeight ?? 560;
    const want = (W * (y1 - y0)) / (x1 - x0);
    H = Math.min(maxH, Math.max(minH, want));
    const perPx = Math.max((x1 - x0) / W, (y1 - y0) / H); // data units per pixel, both axes
    const needX = perPx * W - (x1 - x0);
    const needY = perPx * H - (y1 - y0);
    x0 -= needX / 2;
    x1 += needX / 2;
    if (opts.anchorYMin) y1 += needY;
    else {
      y0 -= needY / 2;
      y1 += needY / 2;
    }
  }
  const marginLeft = 64;
  const marginRight = 20;
  const titleH = opts.title ? 26 : 8;
  const items: LegendItem[] = [
    ...series.filter((s) => !s.hideInLegend).map((s, i) => ({ label: s.label, color: s.color ?? paletteColor(i), dash: s.dash, width: s.width })),
    ...(opts.extraLegend ?? []),
  ];
  const leg = legend(items, marginLeft, titleH + 16, W);
  const top = titleH + leg.height + 8;
  const frame: PlotFrame = {
    left: marginLeft,
    top,
    width: W,
    height: H,
    x: linearScale(x0, x1, marginLeft, marginLeft + W),
    y: linearScale(y0, y1, top + H, top),
  };
  const captionH = opts.caption ? 18 : 0;
  const totalW = marginLeft + Math.max(W, leg.width) + marginRight; // a label longer than the plot widens the figure instead of being cut
  const totalH = top + H + 44 + captionH;
  const clipId = `${opts.idPrefix ?? "plot"}-clip`;
  const body: string[] = [];
  if (opts.title) body.push(text(totalW / 2, 19, opts.title, { "text-anchor": "middle", "font-size": 15, "font-weight": "bold", fill: "#111" }));
  body.push(el("defs", {}, el("clipPath", { id: clipId }, el("rect", { x: frame.left, y: frame.top, width: W, height: H }))));
  body.push(axes(frame, { xLabel: opts.xLabel, yLabel: opts.yLabel }));
  const inner: string[] = [];
  if (opts.underlay) inner.push(opts.underlay(frame));
  series.forEach((s, i) => {
    const color = s.color ?? paletteColor(i);
    for (const run of finiteRuns(s.points)) {
      inner.push(
        polyline(
          run.map(([x, y]) => [frame.x(x), frame.y(y)] as const),
          { class: "series", stroke: color, "stroke-width": s.width ?? 2, "stroke-dasharray": s.dash, "stroke-linejoin": "round", "stroke-linecap": "round" },
        ),
      );
    }
  });
  if (opts.overlay) inner.push(opts.overlay(frame));
  body.push(el("g", { "clip-path": `url(#${clipId})` }, inner.filter((s) => s).join("\n")));
  body.push(leg.svg);
  if (opts.caption) body.push(text(marginLeft, totalH - 8, opts.caption, { fill: "#555", "font-size": 11 }));
  return svgDocument(totalW, totalH, body, { title: opts.title });
}
