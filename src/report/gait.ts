/**
 * Pictures of gaits, as SVG text (the caller writes the files):
 *
 * - `bodyTrajectory` replays a state trajectory through MuJoCo and records
 *   every body's world position (xpos) and every link capsule's end points
 *   (from geom_xpos, geom_xmat and geom_size), frame by frame.
 * - `rootTrajectoryPlot`: the root's path, like Figure 1 of Levine & Koltun
 *   2013 (hopper/walker: root height against x, with the ground; swimmer: top
 *   view y against x), several trajectories overlaid, equal aspect.
 * - `stickFigureStrip`: a chronophotograph: the links drawn at their actual
 *   positions every `every` frames, later frames more opaque.
 * - `stickFigurePanels`: the same frames as small multiples, one per panel.
 * - `stickFigureAnimation`: an animated SVG (SMIL) that plays the gait in a
 *   browser, the camera following the body when it travels out of view.
 *
 * Plane of the pictures: the swimmer moves in x–y (drawn as a top view,
 * y up the page); the hopper and walker in x–z (z up, the floor at z = 0).
 */
import type { Simulator } from "../sim/mujoco.js";
import { el, finiteRuns, linePlot, marker, niceStep, num, paletteColor, polyline, svgDocument, text, textWidth, tickLabel, type LegendItem, type LineSeries, type PlotFrame } from "./svg.js";

/** How to picture a task: the swimmer from above, the legged tasks and declared models (side view, z up) from the side. */
export type GaitTask = "swimmer" | "hopper" | "walker" | "model";

/** The picture kind of a task by its name: declared models are seen from the side like the legged tasks. */
export function gaitTaskOf(name: string): GaitTask {
  return name === "swimmer" || name === "hopper" || name === "walker" ? name : "model";
}

/** A ground profile point (x forward, z up), in metres. */
export interface GroundPoint {
  readonly x: number;
  readonly z: number;
}

/** Link capsules over time (capsules and cylinders; spheres have a = b). */
export interface CapsuleFrames {
  /** Geom names (MJCF `name`, or "geom<i>" when unnamed). */
  readonly names: string[];
  /** Index into the body list (world excluded) of each capsule's body. */
  readonly body: number[];
  /** Capsule radius in metres. */
  readonly radius: number[];
  /** Colour of each capsule from the model's geom rgba, as #rrggbb. */
  readonly color: string[];
  /** F·ncap·6: end points (ax, ay, az, bx, by, bz) in world coordinates. */
  readonly endpoints: Float64Array;
}

/** World positions of the bodies (world body excluded) over F frames. */
export interface BodyFrames {
  /** Number of bodies in the arrays (the model's nbody − 1). */
  readonly nbody: number;
  /** Body names in MuJoCo order (depth-first document order), world excluded. */
  readonly names: string[];
  /** F·nbody·3 world positions (xpos). */
  readonly positions: Float64Array;
  /** Parent index into `names` of each body, −1 for bodies attached to the world. */
  readonly parents?: number[];
  /** Link capsules; preferred over body-to-parent links when drawing. */
  readonly capsules?: CapsuleFrames;
}

export interface BodyTrajectory extends BodyFrames {
  readonly T: number;
  readonly parents: number[];
  readonly capsules: CapsuleFrames;
}

function cString(bytes: Int8Array | Uint8Array, adr: number): string {
  let end = adr;
  while (end < bytes.length && bytes[end] !== 0) end++;
  let s = "";
  for (let i = adr; i < end; i++) s += String.fromCharCode(bytes[i] & 0xff);
  return s;
}

const GEOM_SPHERE = 2;
const GEOM_CAPSULE = 3;
const GEOM_CYLINDER = 5;

function rgbaHex(rgba: ArrayLike<number>, off: number): string {
  const h = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, "0");
  return `#${h(rgba[off])}${h(rgba[off + 1])}${h(rgba[off + 2])}`;
}

/** All body names of the compiled model (index 0 is the world). */
export function bodyNames(sim: Simulator): string[] {
  const m = sim.model as unknown as { nbody: number; names: Int8Array; name_bodyadr: Int32Array };
  const names = Int8Array.from(m.names);
  const adr = Int32Array.from(m.name_bodyadr);
  return Array.from({ length: m.nbody }, (_, b) => cString(names, adr[b]) || (b === 0 ? "world" : `body${b}`));
}

/**
 * Replay the states x_0 … x_T (xs is (T+1)·nx) through `sim.setState` and
 * record body positions (xpos, world body skipped: positions is
 * (T+1)·(nbody−1)·3) and the end points of every capsule/cylinder/sphere geom
 * that belongs to a body (the floor is skipped). Leaves the simulator at x_T.
 */
export function bodyTrajectory(sim: Simulator, xs: Float64Array, T: number): BodyTrajectory {
  const nx = sim.nx;
  if (xs.length < (T + 1) * nx) throw new Error(`bodyTrajectory: xs has ${xs.length} entries, need (T+1)·nx = ${(T + 1) * nx}`);
  const model = sim.model as unknown as {
    nbody: number;
    ngeom: number;
    names: Int8Array;
    name_geomadr: Int32Array;
    body_parentid: Int32Array;
    geom_bodyid: Int32Array;
    geom_type: Int32Array;
    geom_size: Float64Array;
    geom_rgba: Float32Array;
  };
  const data = sim.data as unknown as { xpos: Float64Array; geom_xpos: Float64Array; geom_xmat: Float64Array };
  const allNames = bodyNames(sim);
  const nbAll = model.nbody;
  const nb = nbAll - 1;
  const parentId = Int32Array.from(model.body_parentid);
  const parents = Array.from({ length: nb }, (_, i) => parentId[i + 1] - 1);
  // Copy model arrays out of the WASM heap once (views die when the heap grows).
  const gBody = Int32Array.from(model.geom_bodyid);
  const gType = Int32Array.from(model.geom_type);
  const gSize = Float64Array.from(model.geom_size);
  const gRgba = Float32Array.from(model.geom_rgba);
  const nameBytes = Int8Array.from(model.names);
  const gAdr = Int32Array.from(model.name_geomadr);
  const geoms: number[] = [];
  for (let g = 0; g < model.ngeom; g++) {
    const t = gType[g];
    if (gBody[g] !== 0 && (t === GEOM_CAPSULE || t === GEOM_CYLINDER || t === GEOM_SPHERE)) geoms.push(g);
  }
  const nc = geoms.length;
  const capsules: CapsuleFrames = {
    names: geoms.map((g) => cString(nameBytes, gAdr[g]) || `geom${g}`),
    body: geoms.map((g) => gBody[g] - 1),
    radius: geoms.map((g) => gSize[3 * g]),
    color: geoms.map((g) => rgbaHex(gRgba, 4 * g)),
    endpoints: new Float64Array((T + 1) * nc * 6),
  };
  const positions = new Float64Array((T + 1) * nb * 3);
  const state = new Float64Array(nx);
  for (let t = 0; t <= T; t++) {
    for (let i = 0; i < nx; i++) state[i] = xs[t * nx + i];
    sim.setState(state);
    const xpos = data.xpos;
    for (let i = 0; i < nb * 3; i++) positions[t * nb * 3 + i] = xpos[3 + i];
    const gx = data.geom_xpos;
    const gm = data.geom_xmat;
    for (let c = 0; c < nc; c++) {
      const g = geoms[c];
      const half = gType[g] === GEOM_SPHERE ? 0 : gSize[3 * g + 1];
      const o = (t * nc + c) * 6;
      for (let k = 0; k < 3; k++) {
        const axis = gm[9 * g + 3 * k + 2]; // the geom's local z axis is the third column of xmat
        capsules.endpoints[o + k] = gx[3 * g + k] - half * axis;
        capsules.endpoints[o + 3 + k] = gx[3 * g + k] + half * axis;
      }
    }
  }
  return { T, nbody: nb, names: allNames.slice(1), positions, parents, capsules };
}

// ---------------------------------------------------------------------------
// Shared geometry

/** Index of the vertical picture axis in world xyz: y for the swimmer (top view), z otherwise. */
function verticalAxis(task: GaitTask): 1 | 2 {
  return task === "swimmer" ? 1 : 2;
}

function isLegged(task: GaitTask): boolean {
  return task !== "swimmer";
}

/** A drawable link in picture-plane coordinates (metres). */
interface Segment {
  readonly ax: number;
  readonly ay: number;
  readonly bx: number;
  readonly by: number;
  /** Stroke width in metres (capsule diameter), or null for a thin line. */
  readonly width: number | null;
  readonly color: string;
}

function frameCount(frames: BodyFrames): number {
  return Math.floor(frames.positions.length / (frames.nbody * 3));
}

/** How to draw a figure: a function giving the segments of frame f. */
function segmentBuilder(frames: BodyFrames, task: GaitTask, pairs?: ReadonlyArray<readonly [string, string]>): (f: number) => Segment[] {
  const v = verticalAxis(task);
  const P = frames.positions;
  const nb = frames.nbody;
  const bodyIndex = (name: string): number => {
    const i = frames.names.indexOf(name);
    if (i < 0) throw new Error(`stick figure: unknown body "${name}" (bodies: ${frames.names.join(", ")})`);
    return i;
  };
  const link = (f: number, a: number, b: number, color: string): Segment => ({
    ax: P[(f * nb + a) * 3],
    ay: P[(f * nb + a) * 3 + v],
    bx: P[(f * nb + b) * 3],
    by: P[(f * nb + b) * 3 + v],
    width: null,
    color,
  });
  if (pairs && pairs.length) {
    const idx = pairs.map(([a, b]) => [bodyIndex(a), bodyIndex(b)] as const);
    return (f) => idx.map(([a, b]) => link(f, a, b, "#333333"));
  }
  const caps = frames.capsules;
  if (caps && caps.names.length) {
    const nc = caps.names.length;
    return (f) =>
      caps.names.map((_, c) => {
        const o = (f * nc + c) * 6;
        const E = caps.endpoints;
        return { ax: E[o], ay: E[o + v], bx: E[o + 3], by: E[o + 3 + v], width: 2 * caps.radius[c], color: darken(caps.color[c]) };
      });
  }
  const parents = frames.parents ?? [];
  const pairsIdx: Array<[number, number]> = [];
  parents.forEach((p, i) => {
    if (p >= 0) pairsIdx.push([p, i]);
  });
  return (f) => pairsIdx.map(([a, b]) => link(f, a, b, "#333333"));
}

/** Model colours are pale (made for lit 3D); darken them for a white page. */
function darken(hex: string, k = 0.78): string {
  const c = [1, 3, 5].map((i) => Math.round(parseInt(hex.slice(i, i + 2), 16) * k));
  return `#${c.map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

function segmentsFinite(segs: readonly Segment[]): boolean {
  return segs.every((s) => Number.isFinite(s.ax) && Number.isFinite(s.ay) && Number.isFinite(s.bx) && Number.isFinite(s.by));
}

interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function boundsOf(segs: readonly Segment[], b: Bounds = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity }): Bounds {
  for (const s of segs) {
    const r = (s.width ?? 0) / 2;
    b.x0 = Math.min(b.x0, s.ax - r, s.bx - r);
    b.x1 = Math.max(b.x1, s.ax + r, s.bx + r);
    b.y0 = Math.min(b.y0, s.ay - r, s.by - r);
    b.y1 = Math.max(b.y1, s.ay + r, s.by + r);
  }
  return b;
}

/** Frame indices 0, every, 2·every, … plus the last frame, keeping only frames with finite geometry. */
function pickFrames(F: number, every: number, build: (f: number) => Segment[]): number[] {
  const step = Math.max(1, Math.floor(every));
  const out: number[] = [];
  for (let f = 0; f < F; f += step) out.push(f);
  if (F > 0 && out[out.length - 1] !== F - 1) out.push(F - 1);
  return out.filter((f) => segmentsFinite(build(f)));
}

function segmentSvg(s: Segment, px: (x: number) => number, py: (y: number) => number, scale: number, extra: Record<string, string | number> = {}): string {
  return el("line", {
    x1: px(s.ax),
    y1: py(s.ay),
    x2: px(s.bx),
    y2: py(s.by),
    stroke: s.color,
    "stroke-width": s.width === null ? 2.5 : Math.max(1.5, s.width * scale),
    "stroke-linecap": "round",
    ...extra,
  });
}

/** The ground as a filled profile (pixels), from a profile or the flat floor z = 0. */
function groundSvg(ground: readonly GroundPoint[] | undefined, xa: number, xb: number, px: (x: number) => number, py: (y: number) => number, yBottom: number): string {
  const prof = ground && ground.length >= 2 ? [...ground].filter((g) => Number.isFinite(g.x) && Number.isFinite(g.z)).sort((a, b) => a.x - b.x) : [
    { x: xa, z: 0 },
    { x: xb, z: 0 },
  ];
  if (prof.length < 2) return "";
  const top = prof.map((g) => [px(g.x), py(g.z)] as const);
  const fill = [...top, [top[top.length - 1][0], yBottom] as const, [top[0][0], yBottom] as const];
  return (
    el("polygon", { points: fill.map(([x, y]) => `${num(x)},${num(y)}`).join(" "), fill: "#e9e4da", stroke: "none" }) +
    polyline(top, { stroke: "#6b5e4a", "stroke-width": 1.5 })
  );
}

// ---------------------------------------------------------------------------
// Root trajectories (Figure 1 of the 2013 paper)

export interface RootSeries {
  readonly label: string;
  /** (T+1)·nx states; qpos[0] is the root x, qpos[1] the root height (hopper, walker) or y (swimmer). */
  readonly xs: Float64Array;
  readonly nx: number;
  readonly T: number;
  /** Control period in seconds (for the one-second marks). */
  readonly dt: number;
  /** Time step of a fall, marked with a cross; null/undefined: no fall. */
  readonly fellAt?: number | null;
  readonly color?: string;
  readonly dash?: string;
}

export interface RootPlotOptions {
  readonly task: GaitTask;
  readonly title?: string;
  readonly ground?: readonly GroundPoint[];
  /** Seconds between the dots along each path (default: a nice step giving at most ~12 dots). */
  readonly markEvery?: number;
  /** Plot-area width in pixels (default 760). */
  readonly width?: number;
  readonly idPrefix?: string;
}

/**
 * The root's path for one or more trajectories, equal aspect. Hopper/walker:
 * root height qpos[1] against root x qpos[0], the ground drawn under it (the
 * flat floor z = 0 when no profile is given), a cross where a series fell.
 * Swimmer: the root's (head's) y against x, seen from above. Each path starts
 * at a ring and carries a dot every `markEvery` seconds.
 */
export function rootTrajectoryPlot(series: readonly RootSeries[], opts: RootPlotOptions): string {
  const legged = isLegged(opts.task);
  const paths = series.map((s) => {
    const pts: Array<readonly [number, number]> = [];
    for (let t = 0; t <= s.T; t++) pts.push([s.xs[t * s.nx], s.xs[t * s.nx + 1]]);
    return pts;
  });
  const maxDuration = Math.max(0, ...series.map((s) => s.T * s.dt));
  const markEvery = opts.markEvery ?? (maxDuration > 0 ? Math.max(niceStep(maxDuration, 10), 0.01) : 1);
  const include: Array<readonly [number, number]> = [];
  if (legged) {
    include.push([paths[0]?.[0]?.[0] ?? 0, 0]);
    for (const g of opts.ground ?? []) include.push([g.x, g.z]);
  }
  const lines: LineSeries[] = series.map((s, i) => ({ label: s.label, points: paths[i], color: s.color ?? paletteColor(i), dash: s.dash }));
  const falls = series.map((s, i) => (s.fellAt !== null && s.fellAt !== undefined && s.fellAt >= 0 && s.fellAt <= s.T ? paths[i][Math.floor(s.fellAt)] : null));
  const extraLegend: LegendItem[] = [];
  if (falls.some((f) => f && Number.isFinite(f[0]) && Number.isFinite(f[1]))) extraLegend.push({ label: "fall", color: "#C00000", marker: "cross" });
  const underlay = (fr: PlotFrame): string => {
    if (!legged) return "";
    const lo = fr.x.d0 - 1;
    const hi = fr.x.d1 + 1;
    return groundSvg(opts.ground, lo, hi, fr.x, fr.y, fr.top + fr.height + 2);
  };
  const overlay = (fr: PlotFrame): string => {
    const out: string[] = [];
    series.forEach((s, i) => {
      const color = lines[i].color as string;
      const stride = Math.max(1, Math.round(markEvery / s.dt));
      for (let t = stride; t <= s.T; t += stride) {
        const p = paths[i][t];
        if (Number.isFinite(p[0]) && Number.isFinite(p[1])) out.push(marker("dot", fr.x(p[0]), fr.y(p[1]), color, 5));
      }
      const p0 = paths[i][0];
      if (p0 && Number.isFinite(p0[0]) && Number.isFinite(p0[1])) out.push(marker("ring", fr.x(p0[0]), fr.y(p0[1]), color, 4.5));
    });
    for (const f of falls) if (f && Number.isFinite(f[0]) && Number.isFinite(f[1])) out.push(marker("cross", fr.x(f[0]), fr.y(f[1]), "#C00000", 6));
    return out.join("\n");
  };
  const name = opts.task[0].toUpperCase() + opts.task.slice(1);
  const caption = `Root ${legged ? "(torso centre) height against x, side view" : "(head) position, top view"}; equal scales. Ring: start; dots every ${tickLabel(markEvery, markEvery)} s.`;
  return linePlot(lines, {
    title: opts.title ?? `${name}: root trajectory`,
    xLabel: "x (m)",
    yLabel: legged ? "root height z (m)" : "y (m)",
    equalAspect: true,
    anchorYMin: legged,
    plotWidth: opts.width ?? 760,
    include,
    underlay,
    overlay,
    extraLegend,
    caption,
    idPrefix: opts.idPrefix,
  });
}

// ---------------------------------------------------------------------------
// Stick figures

export interface StickFigureOptions {
  readonly task: GaitTask;
  /** Frame stride: draw frames 0, every, 2·every, … and the last. */
  readonly every: number;
  /** Body-name pairs to connect instead of the link capsules. */
  readonly segments?: ReadonlyArray<readonly [string, string]>;
  readonly ground?: readonly GroundPoint[];
  readonly title?: string;
  /** Seconds per frame, for the caption and panel labels. */
  readonly dt?: number;
  /** Pixels per metre (default: fit into maxWidth × maxHeight). */
  readonly pxPerMeter?: number;
  readonly maxWidth?: number;
  readonly maxHeight?: number;
  /**
   * Strip only. "model": the model's link colours, earlier frames fainter;
   * "time": every frame one colour from a light-green → dark-purple ramp (with
   * a colour bar), readable where frames overlap a lot. Default: "time" for
   * the swimmer, "model" for hopper and walker.
   */
  readonly colorBy?: "model" | "time";
  /** Strip only: stroke width as a fraction of the capsule diameter (default 1; 0.4 for the swimmer). */
  readonly linkWidth?: number;
  /**
   * Strip only: frames [from, to) drawn in `color` (default red) and always
   * drawn at `from`, with an arrow pointing along ±x (`direction`) at the
   * origin of `body` (default: the root body) in frame `from`, e.g. the
   * control steps a push acts in and the push.
   */
  readonly highlight?: { readonly from: number; readonly to: number; readonly direction?: 1 | -1; readonly body?: string; readonly color?: string; readonly label?: string };
}

/** Viridis, truncated to its darker 85 % and reversed: u = 0 light green, u = 1 dark purple. */
const TIME_RAMP = ["#7ad151", "#22a884", "#2a788e", "#414487", "#440154"] as const;

function rampColor(u: number): string {
  const x = Math.min(1, Math.max(0, u)) * (TIME_RAMP.length - 1);
  const i = Math.min(TIME_RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const c = (h: string, k: number) => parseInt(h.slice(k, k + 2), 16);
  const mix = [1, 3, 5].map((k) => Math.round(c(TIME_RAMP[i], k) * (1 - f) + c(TIME_RAMP[i + 1], k) * f));
  return `#${mix.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * A chronophotograph: the figure every `every` frames, drawn at its actual
 * position (equal scales), earlier frames faint and later ones opaque (or
 * coloured by time), a dot on the root body of each drawn frame, and the
 * root's whole path as a thin dashed line. Hopper/walker: side view over the
 * ground; swimmer: top view. Axes in metres on the left and bottom.
 */
export function stickFigureStrip(frames: BodyFrames, opts: StickFigureOptions): string {
  const F = frameCount(frames);
  const build = segmentBuilder(frames, opts.task, opts.segments);
  const hl = opts.highlight;
  const hlColor = hl?.color ?? "#d62728";
  const inHighlight = (f: number) => hl !== undefined && f >= hl.from && f < Math.max(hl.to, hl.from + 1);
  let picked = pickFrames(F, opts.every, build);
  if (hl && hl.from >= 0 && hl.from < F && !picked.includes(hl.from) && segmentsFinite(build(hl.from))) picked = [...picked, hl.from].sort((a, b) => a - b);
  const v = verticalAxis(opts.task);
  const legged = isLegged(opts.task);
  const colorBy = opts.colorBy ?? (legged ? "model" : "time");
  const linkWidth = opts.linkWidth ?? (legged ? 1 : 0.4);
  const b = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity };
  for (const f of picked) boundsOf(build(f), b);
  if (!picked.length) Object.assign(b, { x0: 0, x1: 1, y0: 0, y1: 1 });
  if (legged) {
    b.y0 = Math.min(b.y0, 0);
    for (const g of opts.ground ?? []) if (g.x >= b.x0 && g.x <= b.x1) b.y0 = Math.min(b.y0, g.z);
  }
  const pad = 0.15;
  b.x0 -= pad;
  b.x1 += pad;
  b.y0 -= legged ? 0.1 : pad;
  b.y1 += pad;
  const maxW = opts.maxWidth ?? 1400;
  const maxH = opts.maxHeight ?? 420;
  const scale = opts.pxPerMeter ?? Math.min(maxW / (b.x1 - b.x0), maxH / (b.y1 - b.y0));
  const left0 = 58;
  const right = 20;
  const name = opts.task[0].toUpperCase() + opts.task.slice(1);
  const title = opts.title ?? `${name}: chronophotograph${legged ? " (side view)" : " (top view)"}`;
  const top = title ? 34 : 10;
  const plotW = (b.x1 - b.x0) * scale;
  const plotH = (b.y1 - b.y0) * scale;
  const every = Math.max(1, Math.floor(opts.every));
  const n = picked.length;
  const strideS = opts.dt ? ` = ${num(every * opts.dt, 4)} s` : "";
  const t0 = opts.dt && n ? num(picked[0] * opts.dt, 3) : "";
  const t1 = opts.dt && n ? num(picked[n - 1] * opts.dt, 3) : "";
  const span = opts.dt && n ? `, t = ${t0}–${t1} s` : "";
  const shade = colorBy === "time" ? "colour: time" : "later frames darker";
  const hlNote = hl ? `; ${hl.label ?? "highlighted"}: frames ${hl.from}–${hl.to}${opts.dt ? ` (t = ${num(hl.from * opts.dt, 3)}–${num(hl.to * opts.dt, 3)} s)` : ""} in colour${hl.direction ? ", arrow: its direction" : ""}` : "";
  const caption = `${n} frames, every ${every} steps${strideS}${span}; ${shade}${hlNote}; dot: root body; dashed: root path. Equal scales.`;
  const width = Math.max(plotW + left0 + right, 460, textWidth(caption, 11) + 16, textWidth(title, 15) + 40);
  // Centre the picture when the caption or title make the page wider than it.
  const left = left0 + Math.max(0, (width - (plotW + left0 + right)) / 2);
  const axisH = 40;
  const captionH = colorBy === "time" ? 40 : 20;
  const height = top + plotH + axisH + captionH;
  const px = (x: number) => left + (x - b.x0) * scale;
  const py = (y: number) => top + (b.y1 - y) * scale;
  const out: string[] = [];
  if (title) out.push(text(width / 2, 22, title, { "text-anchor": "middle", "font-size": 15, "font-weight": "bold", fill: "#111" }));
  out.push(el("defs", {}, el("clipPath", { id: "strip-area" }, el("rect", { x: left, y: top, width: plotW, height: plotH }))));
  const inner: string[] = [];
  if (legged) inner.push(groundSvg(opts.ground, b.x0, b.x1, px, py, top + plotH));
  else {
    const step = niceStep(Math.max(b.x1 - b.x0, b.y1 - b.y0), 12);
    for (let k = Math.ceil(b.x0 / step); k * step <= b.x1; k++) inner.push(el("line", { x1: px(k * step), y1: top, x2: px(k * step), y2: top + plotH, stroke: "#eeeeee" }));
    for (let k = Math.ceil(b.y0 / step); k * step <= b.y1; k++) inner.push(el("line", { x1: left, y1: py(k * step), x2: left + plotW, y2: py(k * step), stroke: "#eeeeee" }));
  }
  // Root path (the first body of the list is the root body).
  const nb = frames.nbody;
  const rootAt = (f: number): readonly [number, number] => [frames.positions[f * nb * 3], frames.positions[f * nb * 3 + v]];
  const rootPts: Array<readonly [number, number]> = [];
  for (let f = 0; f < F; f++) rootPts.push(rootAt(f));
  for (const run of finiteRuns(rootPts)) inner.push(polyline(run.map(([x, y]) => [px(x), py(y)] as const), { stroke: "#888888", "stroke-width": 1, "stroke-dasharray": "4 3" }));
  picked.forEach((f, i) => {
    const u = n > 1 ? i / (n - 1) : 1;
    const lit = inHighlight(f);
    const segs = build(f).map((s) => ({ ...s, width: s.width === null ? null : s.width * linkWidth, color: lit ? hlColor : colorBy === "time" ? rampColor(u) : s.color }));
    const opacity = lit ? 1 : colorBy === "time" ? 0.9 : n > 1 ? 0.15 + 0.85 * u : 1;
    const [rx, ry] = rootAt(f);
    const dot = Number.isFinite(rx) && Number.isFinite(ry) ? el("circle", { cx: px(rx), cy: py(ry), r: 2.5, fill: "#111" }) : "";
    inner.push(el("g", { class: lit ? "frame highlight" : "frame", "data-frame": f, opacity: num(opacity, 3) }, segs.map((s) => segmentSvg(s, px, py, scale)).join("") + dot));
  });
  if (hl?.direction && hl.from >= 0 && hl.from < F) {
    // The arrow: 0.4 m long, its head 0.08 m short of the body's origin in the first highlighted frame.
    const bi = Math.max(0, hl.body === undefined ? 0 : frames.names.indexOf(hl.body));
    const bx = frames.positions[(hl.from * nb + bi) * 3];
    const by = frames.positions[(hl.from * nb + bi) * 3 + v];
    if (Number.isFinite(bx) && Number.isFinite(by)) {
      const x2 = px(bx) - hl.direction * 0.08 * scale;
      const x1 = x2 - hl.direction * 0.4 * scale;
      const y = py(by);
      const head = 14 * hl.direction;
      inner.push(
        el("g", { class: "push-arrow" }, [
          el("line", { x1, y1: y, x2: x2 - head, y2: y, stroke: "#111", "stroke-width": 4 }),
          el("path", { d: `M${num(x2)},${num(y)}L${num(x2 - head)},${num(y - 8)}L${num(x2 - head)},${num(y + 8)}Z`, fill: "#111" }),
        ]),
      );
    }
  }
  out.push(el("g", { "clip-path": "url(#strip-area)" }, inner.join("\n")));
  out.push(el("rect", { x: left, y: top, width: plotW, height: plotH, fill: "none", stroke: "#999" }));
  // Axes in metres.
  const axisY = top + plotH;
  const xStep = niceStep(b.x1 - b.x0, Math.max(2, Math.round(plotW / 90)));
  for (let k = Math.ceil(b.x0 / xStep); k * xStep <= b.x1; k++) {
    const x = Number((k * xStep).toPrecision(12));
    out.push(el("line", { x1: px(x), y1: axisY, x2: px(x), y2: axisY + 5, stroke: "#444" }));
    out.push(text(px(x), axisY + 17, tickLabel(x, xStep), { "text-anchor": "middle", fill: "#333" }));
  }
  out.push(text(left + plotW / 2, axisY + 33, "x (m)", { "text-anchor": "middle", fill: "#222" }));
  const yStep = niceStep(b.y1 - b.y0, Math.max(2, Math.round(plotH / 70)));
  for (let k = Math.ceil(b.y0 / yStep); k * yStep <= b.y1; k++) {
    const y = Number((k * yStep).toPrecision(12));
    out.push(el("line", { x1: left - 5, y1: py(y), x2: left, y2: py(y), stroke: "#444" }));
    out.push(text(left - 8, py(y) + 4, tickLabel(y, yStep), { "text-anchor": "end", fill: "#333" }));
  }
  const yl = legged ? "z (m)" : "y (m)";
  const ylx = left - 42;
  const yly = top + plotH / 2;
  out.push(text(ylx, yly, yl, { "text-anchor": "middle", fill: "#222", transform: `rotate(-90 ${num(ylx)} ${num(yly)})` }));
  out.push(text(8, height - 8, caption, { fill: "#555", "font-size": 11 }));
  if (colorBy === "time") {
    // Colour bar for time.
    const cbx = 8;
    const cby = height - 34;
    const cbw = Math.min(240, plotW);
    const stops = TIME_RAMP.map((c, i) => el("stop", { offset: num(i / (TIME_RAMP.length - 1), 3), "stop-color": c })).join("");
    out.push(el("defs", {}, el("linearGradient", { id: "time-ramp", x1: 0, y1: 0, x2: 1, y2: 0 }, stops)));
    out.push(el("rect", { x: cbx, y: cby - 9, width: cbw, height: 10, fill: "url(#time-ramp)" }));
    out.push(text(cbx + cbw + 6, cby, opts.dt ? `t = ${t0} → ${t1} s` : `frame ${n ? picked[0] : 0} → ${n ? picked[n - 1] : 0}`, { fill: "#333", "font-size": 11 }));
  }
  return svgDocument(width, height, out, { title });
}

export interface PanelOptions extends StickFigureOptions {
  /** Panels per row (default 6). */
  readonly columns?: number;
  /** Panel size in pixels (default 160 × 160). */
  readonly panelSize?: number;
}

/**
 * Small multiples: one panel per picked frame, all at the same scale, each
 * centred on the figure (so the pose is readable however far it travelled),
 * with the time and x position printed in the panel.
 */
export function stickFigurePanels(frames: BodyFrames, opts: PanelOptions): string {
  const F = frameCount(frames);
  const build = segmentBuilder(frames, opts.task, opts.segments);
  const picked = pickFrames(F, opts.every, build);
  const legged = isLegged(opts.task);
  const cols = Math.max(1, Math.min(opts.columns ?? 6, picked.length || 1));
  const rows = Math.max(1, Math.ceil(picked.length / cols));
  const P = opts.panelSize ?? 160;
  // Shared scale: the largest single-frame extent fits a panel.
  let ext = 0.5;
  let yHi = 0;
  for (const f of picked) {
    const bb = boundsOf(build(f));
    ext = Math.max(ext, bb.x1 - bb.x0, bb.y1 - bb.y0);
    yHi = Math.max(yHi, bb.y1);
  }
  const viewM = legged ? Math.max(ext, yHi + 0.15) * 1.15 : ext * 1.15;
  const scale = opts.pxPerMeter ?? P / viewM;
  const gap = 8;
  const titleH = 30;
  const viewCaption = `Same scale in every panel (${num(viewM, 2)} m across); each panel centred on the figure; dot: root.`;
  const width = Math.max(cols * (P + gap) + gap, textWidth(viewCaption, 11) + 2 * gap);
  const height = titleH + rows * (P + gap) + gap + 18;
  const out: string[] = [];
  const name = opts.task[0].toUpperCase() + opts.task.slice(1);
  const title = opts.title ?? `${name}: frames every ${Math.max(1, Math.floor(opts.every))} steps`;
  out.push(text(width / 2, 20, title, { "text-anchor": "middle", "font-size": 15, "font-weight": "bold", fill: "#111" }));
  const v = verticalAxis(opts.task);
  const nb = frames.nbody;
  picked.forEach((f, i) => {
    const ox = gap + (i % cols) * (P + gap);
    const oy = titleH + Math.floor(i / cols) * (P + gap);
    const segs = build(f);
    const bb = boundsOf(segs);
    const cx = (bb.x0 + bb.x1) / 2;
    const cy = legged ? viewM / 2 - 0.1 : (bb.y0 + bb.y1) / 2;
    const px = (x: number) => ox + P / 2 + (x - cx) * scale;
    const py = (y: number) => oy + P / 2 - (y - cy) * scale;
    const clip = `panel-${i}`;
    const inner: string[] = [];
    if (legged) inner.push(groundSvg(opts.ground, cx - viewM, cx + viewM, px, py, oy + P));
    // Ticks every 0.5 m (legged: on the floor line; swimmer: a faint grid) so travel shows.
    const step = 0.5;
    for (let k = Math.ceil((cx - viewM) / step); k * step <= cx + viewM; k++) {
      const x = k * step;
      if (legged) inner.push(el("line", { x1: px(x), y1: py(0), x2: px(x), y2: py(0) + 4, stroke: "#6b5e4a" }));
      else inner.push(el("line", { x1: px(x), y1: oy, x2: px(x), y2: oy + P, stroke: "#eeeeee" }));
    }
    if (!legged) for (let k = Math.ceil((cy - viewM) / step); k * step <= cy + viewM; k++) inner.push(el("line", { x1: ox, y1: py(k * step), x2: ox + P, y2: py(k * step), stroke: "#eeeeee" }));
    inner.push(segs.map((s) => segmentSvg(s, px, py, scale)).join(""));
    const rootX = frames.positions[f * nb * 3];
    const rootY = frames.positions[f * nb * 3 + v];
    inner.push(el("circle", { cx: px(rootX), cy: py(rootY), r: 2, fill: "#222" }));
    out.push(el("defs", {}, el("clipPath", { id: clip }, el("rect", { x: ox, y: oy, width: P, height: P }))));
    out.push(el("g", { class: "panel", "data-frame": f, "clip-path": `url(#${clip})` }, inner.join("")));
    out.push(el("rect", { x: ox, y: oy, width: P, height: P, fill: "none", stroke: "#bbbbbb" }));
    const label = `${opts.dt ? `t=${num(f * opts.dt, 2)} s` : `frame ${f}`}  x=${num(rootX, 2)} m`;
    out.push(text(ox + 4, oy + 13, label, { fill: "#333", "font-size": 10 }));
  });
  out.push(text(gap, height - 8, viewCaption, { fill: "#555", "font-size": 11 }));
  return svgDocument(width, height, out, { title });
}

// ---------------------------------------------------------------------------
// Animation

export interface AnimationOptions {
  readonly task: GaitTask;
  /** Seconds between consecutive input frames (the control period). */
  readonly dt: number;
  /** Playback speed (default 1 = real time). */
  readonly speed?: number;
  /** At most this many key frames (default 250); frames are subsampled evenly. */
  readonly maxFrames?: number;
  /** Picture size in pixels (default 800 × 420). */
  readonly width?: number;
  readonly height?: number;
  /** Follow the body (default: only when the motion does not fit the view). */
  readonly follow?: boolean;
  readonly segments?: ReadonlyArray<readonly [string, string]>;
  readonly ground?: readonly GroundPoint[];
  readonly title?: string;
}

/**
 * An animated SVG (SMIL `<animate>`, loops forever) that plays the gait in a
 * browser: every link is a `<line>` whose end points are animated through the
 * key frames (linear interpolation between them). When the body travels out
 * of view the whole world layer is translated so the camera follows it
 * (hopper/walker: along x; swimmer: in x and y); ground ticks (every 0.5 m,
 * labelled every metre) show the motion. A time bar at the bottom runs with
 * the clock.
 */
export function stickFigureAnimation(frames: BodyFrames, opts: AnimationOptions): string {
  const F = frameCount(frames);
  const build = segmentBuilder(frames, opts.task, opts.segments);
  const legged = isLegged(opts.task);
  const v = verticalAxis(opts.task);
  // Key frames: evenly subsampled, last included, non-finite frames dropped.
  const maxFrames = Math.max(2, Math.floor(opts.maxFrames ?? 250));
  const stride = Math.max(1, Math.ceil((F - 1) / (maxFrames - 1)));
  const keys = pickFrames(F, stride, build);
  const segsByKey = keys.map((f) => build(f));
  const W = opts.width ?? 800;
  const H = opts.height ?? 420;
  const titleH = 28;
  const barH = 40;
  const viewTop = titleH;
  const viewH = H - titleH - barH;
  const all = { x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity };
  let ext = 0.5;
  for (const segs of segsByKey) {
    const bb = boundsOf(segs);
    ext = Math.max(ext, bb.x1 - bb.x0, bb.y1 - bb.y0);
    boundsOf(segs, all);
  }
  if (!keys.length) Object.assign(all, { x0: 0, x1: 1, y0: 0, y1: 1 });
  let scale: number;
  let yTop: number; // world coordinate at the top of the view (legged: fixed)
  if (legged) {
    const lo = Math.min(0, all.y0) - 0.12;
    const hi = all.y1 + 0.2;
    scale = viewH / (hi - lo);
    yTop = hi;
  } else {
    scale = (0.75 * Math.min(W, viewH)) / ext;
    yTop = 0;
  }
  const viewWm = W / scale;
  const viewHm = viewH / scale;
  const fits = all.x1 - all.x0 + 0.2 <= viewWm && (legged || all.y1 - all.y0 + 0.2 <= viewHm);
  const follow = opts.follow ?? !fits;
  // Camera centre per key frame (world coordinates).
  const centre = segsByKey.map((segs) => {
    let sx = 0;
    let sy = 0;
    for (const s of segs) {
      sx += s.ax + s.bx;
      sy += s.ay + s.by;
    }
    return [sx / (2 * segs.length || 1), sy / (2 * segs.length || 1)] as const;
  });
  const staticCx = (all.x0 + all.x1) / 2;
  const staticCy = (all.y0 + all.y1) / 2;
  // World layer: pixel = ((x − X0)·s, (Y0 − y)·s), translated by the camera.
  const X0 = staticCx;
  const Y0 = legged ? yTop : staticCy;
  const wx = (x: number) => (x - X0) * scale;
  const wy = (y: number) => (Y0 - y) * scale;
  const camera = (i: number): [number, number] => {
    const cx = follow ? centre[i][0] : staticCx;
    const cy = legged ? Y0 : follow ? centre[i][1] : staticCy;
    return [W / 2 - wx(cx), viewTop + (legged ? 0 : viewH / 2) - wy(cy)];
  };
  const F1 = Math.max(1, F - 1);
  const speed = opts.speed ?? 1;
  const dur = Math.max(0.01, (F1 * opts.dt) / speed);
  const keyTimes = keys.map((f) => num(f / F1, 5)).join(";");
  const anim = (attr: string, vals: readonly string[]): string =>
    el("animate", { attributeName: attr, dur: `${num(dur, 3)}s`, repeatCount: "indefinite", calcMode: "linear", keyTimes, values: vals.join(";") });
  const out: string[] = [];
  const name = opts.task[0].toUpperCase() + opts.task.slice(1);
  const title = opts.title ?? `${name} gait`;
  // Background world: ground or grid, wide enough for the whole motion.
  const world: string[] = [];
  const xa = all.x0 - viewWm;
  const xb = all.x1 + viewWm;
  const tickStep = Math.max(0.5, niceStep(xb - xa, 300));
  if (legged) {
    world.push(groundSvg(opts.ground, xa, xb, wx, wy, wy(Math.min(0, all.y0) - 5)));
    for (let k = Math.ceil(xa / tickStep); k * tickStep <= xb; k++) {
      const x = Number((k * tickStep).toPrecision(12));
      const major = Math.abs(x - Math.round(x)) < 1e-9;
      world.push(el("line", { x1: wx(x), y1: wy(0), x2: wx(x), y2: wy(0) + (major ? 9 : 5), stroke: "#6b5e4a" }));
      if (major) world.push(text(wx(x), wy(0) + 21, `${num(x, 0)} m`, { "text-anchor": "middle", fill: "#6b5e4a", "font-size": 10 }));
    }
  } else {
    const ya = all.y0 - viewHm;
    const yb = all.y1 + viewHm;
    const step = Math.max(0.5, niceStep(Math.max(xb - xa, yb - ya), 200));
    for (let k = Math.ceil(xa / step); k * step <= xb; k++) world.push(el("line", { x1: wx(k * step), y1: wy(ya), x2: wx(k * step), y2: wy(yb), stroke: Math.abs(k * step - Math.round(k * step)) < 1e-9 ? "#dddddd" : "#f0f0f0" }));
    for (let k = Math.ceil(ya / step); k * step <= yb; k++) world.push(el("line", { x1: wx(xa), y1: wy(k * step), x2: wx(xb), y2: wy(k * step), stroke: Math.abs(k * step - Math.round(k * step)) < 1e-9 ? "#dddddd" : "#f0f0f0" }));
  }
  // The root path, faint.
  const nb = frames.nbody;
  const rootPts: Array<readonly [number, number]> = [];
  for (let f = 0; f < F; f++) rootPts.push([frames.positions[f * nb * 3], frames.positions[f * nb * 3 + v]]);
  for (const run of finiteRuns(rootPts)) world.push(polyline(run.map(([x, y]) => [wx(x), wy(y)] as const), { stroke: "#bbbbbb", "stroke-width": 1, "stroke-dasharray": "4 3" }));
  // The figure: one line per link, end points animated.
  if (keys.length) {
    const nseg = segsByKey[0].length;
    for (let j = 0; j < nseg; j++) {
      const s0 = segsByKey[0][j];
      const animated =
        keys.length > 1
          ? [
              anim("x1", segsByKey.map((s) => num(wx(s[j].ax)))),
              anim("y1", segsByKey.map((s) => num(wy(s[j].ay)))),
              anim("x2", segsByKey.map((s) => num(wx(s[j].bx)))),
              anim("y2", segsByKey.map((s) => num(wy(s[j].by)))),
            ].join("")
          : "";
      world.push(
        el(
          "line",
          {
            class: "link",
            x1: wx(s0.ax),
            y1: wy(s0.ay),
            x2: wx(s0.bx),
            y2: wy(s0.by),
            stroke: s0.color,
            "stroke-width": s0.width === null ? 3 : Math.max(2, s0.width * scale),
            "stroke-linecap": "round",
          },
          animated,
        ),
      );
    }
  }
  // A dot on the root body.
  const rootKeys = keys.map((f) => [frames.positions[f * nb * 3], frames.positions[f * nb * 3 + v]] as const);
  if (keys.length) {
    const dotAnim =
      keys.length > 1
        ? anim("cx", rootKeys.map(([x]) => num(wx(x)))) + anim("cy", rootKeys.map(([, y]) => num(wy(y))))
        : "";
    world.push(el("circle", { class: "root", cx: wx(rootKeys[0][0]), cy: wy(rootKeys[0][1]), r: 3, fill: "#111" }, dotAnim));
  }
  const [c0x, c0y] = keys.length ? camera(0) : [W / 2, viewTop];
  const camAnim =
    follow && keys.length > 1
      ? el("animateTransform", {
          attributeName: "transform",
          type: "translate",
          dur: `${num(dur, 3)}s`,
          repeatCount: "indefinite",
          calcMode: "linear",
          keyTimes,
          values: keys.map((_, i) => camera(i).map((c) => num(c)).join(",")).join(";"),
        })
      : "";
  out.push(el("defs", {}, el("clipPath", { id: "view" }, el("rect", { x: 0, y: viewTop, width: W, height: viewH }))));
  out.push(
    el("g", { "clip-path": "url(#view)" }, el("g", { class: "world", transform: `translate(${num(c0x)},${num(c0y)})` }, camAnim + world.join("\n"))),
  );
  out.push(text(W / 2, 19, title, { "text-anchor": "middle", "font-size": 15, "font-weight": "bold", fill: "#111" }));
  // Time bar with a running needle.
  const barY = H - barH + 14;
  const bx0 = 40;
  const bx1 = W - 40;
  const total = F1 * opts.dt;
  const tStep = niceStep(total, 10);
  out.push(el("line", { x1: bx0, y1: barY, x2: bx1, y2: barY, stroke: "#999", "stroke-width": 2 }));
  for (let k = 0; k * tStep <= total + 1e-9; k++) {
    const t = k * tStep;
    const x = bx0 + ((bx1 - bx0) * t) / (total || 1);
    out.push(el("line", { x1: x, y1: barY - 4, x2: x, y2: barY + 4, stroke: "#999" }));
    out.push(text(x, barY + 17, `${tickLabel(t, tStep)} s`, { "text-anchor": "middle", fill: "#666", "font-size": 10 }));
  }
  out.push(
    el(
      "line",
      { class: "needle", x1: bx0, y1: barY - 7, x2: bx0, y2: barY + 7, stroke: "#C00000", "stroke-width": 3 },
      keys.length > 1
        ? el("animate", { attributeName: "x1", dur: `${num(dur, 3)}s`, repeatCount: "indefinite", values: `${num(bx0)};${num(bx1)}` }) +
            el("animate", { attributeName: "x2", dur: `${num(dur, 3)}s`, repeatCount: "indefinite", values: `${num(bx0)};${num(bx1)}` })
        : "",
    ),
  );
  const note = `${speed === 1 ? "real time" : `${num(speed, 3)}× speed`}, ${keys.length} key frames${follow ? ", camera follows the body" : ""}`;
  out.push(text(W - 8, 19, note, { "text-anchor": "end", fill: "#777", "font-size": 10 }));
  return svgDocument(W, H, out, { title });
}
