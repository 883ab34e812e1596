/**
 * Terrain as a task parameter (2013 paper §6.3): the ground under the hopper
 * and walker as a polyline in the x–z plane, generated as a pure function of
 * the experiment's `terrain` spec (seeded with the project's generator, never
 * Math.random), plus the lookups the cost and the fall test use.
 *
 *   flat:    the plane z = 0 (no profile; the MJCF keeps its plane)
 *   uneven:  flat from x = −2 to x = flatStart, then segments of horizontal
 *            length drawn from segmentLengths (default 1 m or 2 m), each with a
 *            slope angle uniform in ±maxSlopeDeg (default 10°), continuous,
 *            until the profile covers at least `length` metres (default 30)
 *            from x = −2 (the last segment is not cut short)
 *   incline: flat from x = −2 (or `start`, if earlier) to x = start, then a
 *            constant slope of angleDeg (default 10°) for `length` horizontal
 *            metres (default 30)
 *
 * Beyond either end of a profile the ground continues flat at the end's
 * height (the MJCF adds a long flat box there too). docs/tasks.md "Terrain".
 */
import type { PushSpec, TerrainSpec } from "../dsl/experiment.js";
import { Sampler, seedGenerator } from "../random/generator.js";
import type { Perturbation } from "../sim/mujoco.js";

export interface GroundPoint {
  readonly x: number;
  readonly z: number;
}

/** Vertices of the ground polyline, strictly increasing in x. */
export interface GroundProfile {
  readonly points: readonly GroundPoint[];
}

/** What the cost needs of the ground: its height and slope dz/dx under x. */
export interface Ground {
  height(x: number): number;
  slope(x: number): number;
}

/** x where every generated profile starts (the robots stand at x = 0). */
export const TERRAIN_START_X = -2;

export const UNEVEN_DEFAULTS = { length: 30, maxSlopeDeg: 10, segmentLengths: [1, 2] as readonly number[], flatStart: 1 } as const;
export const INCLINE_DEFAULTS = { angleDeg: 10, length: 30 } as const;
/** Default push duration in seconds (2014 paper: pushes last 100 ms). */
export const PUSH_DEFAULT_DURATION = 0.1;

const DEG = Math.PI / 180;

/** The spec with every default filled in (a canonical form: equal grounds give equal values). */
export function normalizeTerrain(spec: TerrainSpec | undefined): TerrainSpec {
  if (!spec || spec.kind === "flat") return { kind: "flat" };
  if (spec.kind === "uneven") {
    return {
      kind: "uneven",
      seed: spec.seed,
      length: spec.length ?? UNEVEN_DEFAULTS.length,
      maxSlopeDeg: spec.maxSlopeDeg ?? UNEVEN_DEFAULTS.maxSlopeDeg,
      segmentLengths: [...(spec.segmentLengths ?? UNEVEN_DEFAULTS.segmentLengths)],
      flatStart: spec.flatStart ?? UNEVEN_DEFAULTS.flatStart,
    };
  }
  return {
    kind: "incline",
    start: spec.start,
    angleDeg: spec.angleDeg ?? INCLINE_DEFAULTS.angleDeg,
    length: spec.length ?? INCLINE_DEFAULTS.length,
  };
}

/** The body a push acts on when it names none (the root body of the hopper and walker). */
export const PUSH_DEFAULT_BODY = "torso";

/** Pushes with the defaults filled in (duration, body). */
export function normalizePushes(pushes: readonly PushSpec[] | undefined): PushSpec[] {
  return (pushes ?? []).map((p) => ({
    force: p.force,
    direction: p.direction,
    onset: p.onset,
    duration: p.duration ?? PUSH_DEFAULT_DURATION,
    body: p.body ?? PUSH_DEFAULT_BODY,
  }));
}

/**
 * The control steps a push acts in at control period dt, [fromStep, toStep):
 * fromStep = round(onset/dt), toStep = fromStep + max(1, round(duration/dt)).
 */
export function pushWindow(p: PushSpec, dt: number): { fromStep: number; toStep: number } {
  const fromStep = Math.round(p.onset / dt);
  return { fromStep, toStep: fromStep + Math.max(1, Math.round((p.duration ?? PUSH_DEFAULT_DURATION) / dt)) };
}

/** True for the plane z = 0 (no terrain, or kind "flat"). */
export function isFlatTerrain(spec: TerrainSpec | undefined): boolean {
  return !spec || spec.kind === "flat";
}

/**
 * The ground polyline of a terrain spec; a pure function of the spec (the
 * uneven profile draws from `seedGenerator(seed)`: per segment one uniform for
 * the length, then one for the slope). Flat terrain gives the single flat
 * segment [−2, 28] at z = 0 (its MJCF still uses the plane).
 */
export function groundProfile(spec: TerrainSpec | undefined): GroundProfile {
  const n = normalizeTerrain(spec);
  if (n.kind === "flat") {
    return { points: [{ x: TERRAIN_START_X, z: 0 }, { x: TERRAIN_START_X + UNEVEN_DEFAULTS.length, z: 0 }] };
  }
  if (n.kind === "incline") {
    const start = n.start;
    const length = n.length ?? INCLINE_DEFAULTS.length;
    const angle = (n.angleDeg ?? INCLINE_DEFAULTS.angleDeg) * DEG;
    const points: GroundPoint[] = [];
    if (start > TERRAIN_START_X) points.push({ x: TERRAIN_START_X, z: 0 });
    points.push({ x: start, z: 0 });
    points.push({ x: start + length, z: length * Math.tan(angle) });
    return { points };
  }
  const length = n.length ?? UNEVEN_DEFAULTS.length;
  const maxSlope = (n.maxSlopeDeg ?? UNEVEN_DEFAULTS.maxSlopeDeg) * DEG;
  const lengths = n.segmentLengths ?? UNEVEN_DEFAULTS.segmentLengths;
  const flatStart = n.flatStart ?? UNEVEN_DEFAULTS.flatStart;
  const end = TERRAIN_START_X + length;
  const points: GroundPoint[] = [{ x: TERRAIN_START_X, z: 0 }];
  let x = Math.max(flatStart, TERRAIN_START_X);
  let z = 0;
  if (x > TERRAIN_START_X) points.push({ x, z });
  const rng = new Sampler(seedGenerator(n.seed));
  while (x < end) {
    const len = lengths[Math.min(lengths.length - 1, Math.floor(rng.uniform() * lengths.length))];
    const angle = (2 * rng.uniform() - 1) * maxSlope;
    x += len;
    z += len * Math.tan(angle);
    points.push({ x, z });
  }
  return { points };
}

/** Index i of the segment [points[i], points[i+1]) containing x, or −1 / points.length − 1 beyond the ends. */
function segmentIndex(points: readonly GroundPoint[], x: number): number {
  const n = points.length;
  if (n === 0 || x < points[0].x) return -1;
  if (x >= points[n - 1].x) return n - 1;
  let lo = 0;
  let hi = n - 1; // points[lo].x <= x < points[hi].x
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Ground height z under x (linear along each segment, flat beyond the ends; 0 for an empty profile). */
export function groundHeight(profile: GroundProfile, x: number): number {
  const p = profile.points;
  if (p.length === 0) return 0;
  const i = segmentIndex(p, x);
  if (i < 0) return p[0].z;
  if (i >= p.length - 1) return p[p.length - 1].z;
  const a = p[i];
  const b = p[i + 1];
  return a.z + ((x - a.x) * (b.z - a.z)) / (b.x - a.x);
}

/**
 * Ground slope dz/dx under x: the slope of the segment [x_i, x_{i+1}) that
 * contains x (so at a kink, the slope of the segment that starts there), and 0
 * beyond the ends.
 */
export function groundSlope(profile: GroundProfile, x: number): number {
  const p = profile.points;
  const i = segmentIndex(p, x);
  if (i < 0 || i >= p.length - 1) return 0;
  const a = p[i];
  const b = p[i + 1];
  return (b.z - a.z) / (b.x - a.x);
}

/** The profile as the cost's `Ground`. */
export function groundOf(profile: GroundProfile): Ground {
  return { height: (x) => groundHeight(profile, x), slope: (x) => groundSlope(profile, x) };
}

/**
 * Pushes as simulator perturbations: a horizontal force of `force` newtons
 * along ±x at the centre of mass of the push's `body` (`defaultBody` where it
 * names none). Times convert to control steps at dt, rounded to the nearest
 * step (`pushWindow`: half-open; 0.1 s at dt 0.01 is 10 steps, at dt 0.02 5 steps).
 */
export function pushPerturbations(pushes: readonly PushSpec[] | undefined, dt: number, defaultBody = PUSH_DEFAULT_BODY): Perturbation[] {
  return (pushes ?? []).map((p) => {
    const { fromStep, toStep } = pushWindow(p, dt);
    const fx = p.direction === "forward" ? p.force : -p.force;
    return { body: p.body ?? defaultBody, force: [fx, 0, 0] as const, fromStep, toStep };
  });
}

/** The names of the bodies an MJCF declares (`<body name="…">`), in document order. */
export function mjcfBodyNames(xml: string): string[] {
  const out: string[] = [];
  for (const m of xml.matchAll(/<body\b[^>]*?\bname\s*=\s*"([^"]*)"/g)) out.push(m[1]);
  return out;
}
