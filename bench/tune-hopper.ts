/**
 * Retunes the hopping FSM (src/demos/hopper-hop.ts) for robustness to the
 * papers' motor noise, with a small seeded CMA-ES, and validates the result.
 *
 *   node --import tsx bench/tune-hopper.ts [--seed 1] [--minutes 22] [--generations G] [--out /tmp/hopper-tune]
 *   node --import tsx bench/tune-hopper.ts --validate /tmp/hopper-tune/best.json [--seed 9001]
 *
 * Tuning: CMA-ES (rank-one + rank-μ covariance update, cumulative step-size
 * adaptation) over the FSM's gains and targets, each normalized by a scale
 * around `defaultHopperParams` and clamped to a physical range (flightHipKp
 * ≥ 5 so that foot placement stays in the loop, docs/demonstrations.md). The
 * objective (lower is better) of a candidate:
 *
 *  - a 500-step noise-free rollout from rest must not fall;
 *  - its first 250 steps (5 s) should cover ≥ 6 m at a mean speed near 1.5 m/s,
 *    and steps 250–500 should keep that speed;
 *  - it must hop: ≥ 20 flight phases (the whole body above HOP_CLEARANCE) in
 *    those 500 steps;
 *  - the main term: rollouts of 250 steps with motor noise of 10% — per joint,
 *    0.1 × the std over time of the candidate's own noise-free torques over
 *    its first 250 steps (motorNoiseFrom) — from rest and from perturbed
 *    starts should not fall (firstFall). Every candidate sees the same starts
 *    and the same standard normals (common random numbers), so the comparison
 *    is not blurred by noise; a smaller term rewards the distance kept to the
 *    fall thresholds.
 *
 * After the time budget, the archived candidates (the best so far, the final
 * mean, and the best of every 25th generation) are re-scored on a separate
 * selection set of 40 noisy rollouts, and the one with the fewest falls there
 * is written to <out>/best.json. --validate compares that file with the
 * defaults on fresh seeds. All randomness comes from seeded Samplers, so a
 * run is reproducible from its seed and its number of generations (the time
 * budget decides that number; --generations fixes it; best.json records it).
 * The run of seed 1 (22 min on one core, 491 generations × 16) chose the
 * candidate that `--generations 491` reproduces.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { firstFall } from "../src/algorithms/evaluate.js";
import { motorNoiseFrom } from "../src/algorithms/ilqg-stages.js";
import { countHops, defaultHopperParams, hopperController, type HopperParams } from "../src/demos/hopper-hop.js";
import { symmetricEigen } from "../src/linalg/eigen.js";
import { Sampler, seedGenerator } from "../src/random/generator.js";
import { createSimulator } from "../src/sim/mujoco.js";
import { trajectoryCost } from "../src/tasks/cost.js";
import { taskFor } from "../src/tasks/index.js";
import type { Task } from "../src/tasks/types.js";

// ---------------------------------------------------------------- setup
const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const task = taskFor({ kind: "hopper", horizon: 250 }) as Task & { restState: readonly number[] };
const sim = await createSimulator(task);
const { nx, nu } = task;
const T = 250;
const REST = Float64Array.from(task.restState);
const TARGET_SPEED = 1.5;
const NOISE = 0.1;

/** Tuned parameters: range [lo, hi] and the scale of one normalized unit. */
const SPACE: readonly (readonly [keyof HopperParams, number, number, number])[] = [
  ["speedGain", 0, 2, 0.2],
  ["footPoint", -0.2, 0.8, 0.1],
  ["flightLegLength", 0.7, 0.9, 0.03],
  ["flightHip", 0, 3, 0.3],
  ["flightHipSpeedGain", -1, 3, 0.3],
  ["flightPitchGain", -15, 0, 1.5],
  ["flightHipKp", 5, 30, 2],
  ["flightHipKd", 0, 3, 0.3],
  ["flightKneeKp", 5, 40, 3],
  ["flightKneeKd", 0, 3, 0.2],
  ["ankleKp", 0, 15, 0.5],
  ["ankleKd", 0, 2, 0.1],
  ["flightFootAngle", -1.2, 0.5, 0.1],
  ["pitchTarget", -0.8, 0.5, 0.08],
  ["hipPitchKp", 10, 100, 5],
  ["hipPitchKd", 0, 5, 0.3],
  ["stanceSpeedGain", 0, 600, 30],
  ["thrustFx", -150, 150, 20],
  ["stanceWeight", -500, 500, 40],
  ["stanceHeight", 1.0, 2.0, 0.08],
  ["stanceKz", 0, 4000, 200],
  ["stanceDz", 0, 100, 5],
  ["thrustForce", 0, 800, 30],
  ["ankleMin", 0, 20, 1.5],
  ["ankleMax", 0, 20, 0.5],
  ["crouchKnee", -1.2, -0.1, 0.1],
];
const N = SPACE.length;

/** Normalized point z → parameters (clamped to range) and the squared distance clamped away. */
function decode(z: Float64Array): { params: HopperParams; outside: number } {
  const p: Record<string, number> = { ...defaultHopperParams };
  let outside = 0;
  SPACE.forEach(([key, lo, hi, scale], i) => {
    const raw = defaultHopperParams[key] + scale * z[i];
    const v = Math.min(hi, Math.max(lo, raw));
    outside += ((raw - v) / scale) ** 2;
    p[key] = v;
  });
  return { params: p as unknown as HopperParams, outside };
}

// ---------------------------------------------------------------- rollouts
interface Run {
  xs: Float64Array;
  us: Float64Array;
  fall: number | null;
}
function rollout(params: Partial<HopperParams>, x0: Float64Array, steps: number, noise?: { std: Float64Array; normals: Float64Array }): Run {
  const xs = new Float64Array((steps + 1) * nx);
  const us = new Float64Array(steps * nu);
  const fsm = hopperController(task, params);
  const controller = noise
    ? (t: number, x: Float64Array, xOff: number, u: Float64Array, uOff: number): void => {
        fsm(t, x, xOff, u, uOff);
        for (let j = 0; j < nu; j++) u[uOff + j] += noise.std[j] * noise.normals[t * nu + j];
      }
    : fsm;
  sim.rollout(x0, controller, steps, xs, us);
  return { xs, us, fall: firstFall(task, xs, steps) };
}

/** Smallest normalized distance to the fall thresholds over a rollout (0 = at the threshold, 1 = a normal gait's margin). */
const FALL = (task as unknown as { fall: { minHeightAboveGround: number; maxAbsPitch: number } }).fall;
function fallMargin(xs: Float64Array, steps: number): number {
  const fall = FALL;
  let m = 1;
  for (let t = 0; t <= steps; t++) {
    const h = (xs[t * nx + 1] - fall.minHeightAboveGround) / 0.35;
    const p = (fall.maxAbsPitch - Math.abs(xs[t * nx + 2])) / 0.6;
    m = Math.min(m, h, p);
  }
  return Math.max(0, m);
}

/** Noisy scenarios: a start state and T×nu standard normals, drawn once from `seed`. */
interface Scenario {
  x0: Float64Array;
  normals: Float64Array;
}
function scenarios(seed: number, fromRest: number, perturbed: number, sigma = 0.1): Scenario[] {
  const s = new Sampler(seedGenerator(seed));
  const out: Scenario[] = [];
  for (let i = 0; i < fromRest + perturbed; i++) {
    const x0 = Float64Array.from(REST);
    if (i >= fromRest) {
      for (let k = 6; k < 12; k++) x0[k] += sigma * s.normal();
      x0[2] += 0.3 * sigma * s.normal();
    }
    const normals = new Float64Array(T * nu);
    s.fillNormal(normals);
    out.push({ x0, normals });
  }
  return out;
}

// ---------------------------------------------------------------- objective
interface Score {
  loss: number;
  noisyFalls: number;
  noisyRuns: number;
  fall500: number | null;
  distance250: number;
  speedLate: number;
  hops500: number;
  margin: number;
}
function score(params: HopperParams, set: readonly Scenario[]): Score {
  const clean = rollout(params, REST, 2 * T);
  const distance250 = clean.xs[T * nx] - REST[0];
  const v250 = distance250 / (T * task.dt);
  const speedLate = (clean.xs[2 * T * nx] - clean.xs[T * nx]) / (T * task.dt);
  const hops500 = countHops(clean.xs, nx, 2 * T);
  const std = motorNoiseFrom(clean.us.subarray(0, T * nu), nu, NOISE);
  let falls = 0, alive = 0, margin = 0;
  for (const sc of set) {
    const r = rollout(params, sc.x0, T, { std, normals: sc.normals });
    if (r.fall !== null) falls++;
    alive += (r.fall ?? T) / T;
    margin += r.fall === null ? fallMargin(r.xs, T) : 0;
  }
  const n = set.length;
  // Speed error: free within ±free (the 5 s mean includes the start-up), then 5 per m/s, 25 per m/s beyond ±hard.
  const dev = (v: number, free: number, hard: number): number => 5 * Math.max(0, Math.abs(v - TARGET_SPEED) - free) + 20 * Math.max(0, Math.abs(v - TARGET_SPEED) - hard);
  let loss = 10 * (falls / n) + 10 * (1 - alive / n) - 2 * (margin / n);
  loss += clean.fall === null ? 0 : 20 + 20 * (1 - clean.fall / (2 * T));
  loss += 2 * dev(v250, 0.1, 0.2) + 10 * Math.max(0, 6 - distance250) + dev(speedLate, 0.1, 0.2);
  loss += 0.5 * Math.max(0, 20 - hops500);
  return { loss, noisyFalls: falls, noisyRuns: n, fall500: clean.fall, distance250, speedLate, hops500, margin: margin / n };
}
const describe = (s: Score): string =>
  `loss ${s.loss.toFixed(3)}  noisy falls ${s.noisyFalls}/${s.noisyRuns}  margin ${s.margin.toFixed(2)}  ` +
  `5 s: ${s.distance250.toFixed(2)} m  late ${s.speedLate.toFixed(2)} m/s  hops/500 ${s.hops500}  fall500 ${s.fall500 ?? "none"}`;

// ---------------------------------------------------------------- CMA-ES
/** Minimizes f from mean m0 with step size sigma0 (Hansen's tutorial, rank-one + rank-μ, CSA), until `stop` says so. */
function cmaes(f: (x: Float64Array) => number, m0: Float64Array, sigma0: number, lambda: number, sampler: Sampler, stop: (g: number) => boolean, onGeneration: (g: number, xs: Float64Array[], fs: number[], sigma: number, mean: Float64Array) => void): Float64Array {
  const n = m0.length;
  const mu = Math.floor(lambda / 2);
  const w = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
  const wSum = w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < mu; i++) w[i] /= wSum;
  const mueff = 1 / w.reduce((a, b) => a + b * b, 0);
  const cc = (4 + mueff / n) / (n + 4 + (2 * mueff) / n);
  const cs = (mueff + 2) / (n + mueff + 5);
  const c1 = 2 / ((n + 1.3) ** 2 + mueff);
  const cmu = Math.min(1 - c1, (2 * (mueff - 2 + 1 / mueff)) / ((n + 2) ** 2 + mueff));
  const damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
  const chiN = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n));
  const m = Float64Array.from(m0);
  let sigma = sigma0;
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++) C[i * n + i] = 1;
  const pc = new Float64Array(n), ps = new Float64Array(n);
  const B = new Float64Array(n * n), eig = new Float64Array(n), D = new Float64Array(n);
  for (let g = 0; !stop(g); g++) {
    // C = B diag(D²) Bᵀ (B's columns are eigenvectors).
    symmetricEigen(C, n, eig, B);
    for (let i = 0; i < n; i++) D[i] = Math.sqrt(Math.max(eig[i], 1e-20));
    const ys: Float64Array[] = [], xs: Float64Array[] = [];
    for (let k = 0; k < lambda; k++) {
      const z = new Float64Array(n);
      sampler.fillNormal(z);
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[i] += B[i * n + j] * D[j] * z[j];
      ys.push(y);
      xs.push(m.map((mi, i) => mi + sigma * y[i]));
    }
    const fs = xs.map(f);
    const order = fs.map((_, k) => k).sort((a, b) => fs[a] - fs[b]);
    // Mean: weighted recombination of the μ best steps.
    const yw = new Float64Array(n);
    for (let r = 0; r < mu; r++) for (let i = 0; i < n; i++) yw[i] += w[r] * ys[order[r]][i];
    for (let i = 0; i < n; i++) m[i] += sigma * yw[i];
    // Step-size path with C^{-1/2} yw = B D⁻¹ Bᵀ yw.
    const t = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += B[i * n + j] * yw[i];
      t[j] = s / D[j];
    }
    const csn = Math.sqrt(cs * (2 - cs) * mueff);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += B[i * n + j] * t[j];
      ps[i] = (1 - cs) * ps[i] + csn * s;
    }
    const psNorm = Math.hypot(...ps);
    const hsig = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * (g + 1))) / chiN < 1.4 + 2 / (n + 1) ? 1 : 0;
    const ccn = Math.sqrt(cc * (2 - cc) * mueff);
    for (let i = 0; i < n; i++) pc[i] = (1 - cc) * pc[i] + hsig * ccn * yw[i];
    // Covariance: rank-one (pc pcᵀ) + rank-μ (Σ w y yᵀ).
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let rankMu = 0;
        for (let r = 0; r < mu; r++) rankMu += w[r] * ys[order[r]][i] * ys[order[r]][j];
        C[i * n + j] = (1 - c1 - cmu) * C[i * n + j] + c1 * (pc[i] * pc[j] + (1 - hsig) * cc * (2 - cc) * C[i * n + j]) + cmu * rankMu;
      }
    }
    sigma *= Math.exp((cs / damps) * (psNorm / chiN - 1));
    onGeneration(g, xs, fs, sigma, m);
  }
  return m;
}

// ---------------------------------------------------------------- tuning
function changedFields(p: HopperParams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key] of SPACE) if (p[key] !== defaultHopperParams[key]) out[key] = Number(p[key].toPrecision(4));
  return out;
}
/** Rounded as the defaults are (4 significant digits), so best.json is what a user would paste. */
function rounded(p: HopperParams): HopperParams {
  return { ...p, ...changedFields(p) };
}

function tune(): void {
  const seed = Number(arg("seed", "1"));
  const minutes = Number(arg("minutes", "22"));
  const generations = Number(arg("generations", "Infinity"));
  const outDir = arg("out", "/tmp/hopper-tune");
  mkdirSync(outDir, { recursive: true });
  const training = scenarios(seed + 100, 12, 6);
  const selection = scenarios(seed + 200, 28, 12);
  const t0 = performance.now();
  const elapsed = (): number => (performance.now() - t0) / 1000;
  const base = score(defaultHopperParams, training);
  console.log(`defaults: ${describe(base)}`);
  let best = { z: new Float64Array(N), loss: base.loss, score: base };
  const archive: { label: string; z: Float64Array }[] = [{ label: "defaults", z: new Float64Array(N) }];
  let evaluations = 0;
  const f = (z: Float64Array): number => {
    const { params, outside } = decode(z);
    const s = score(rounded(params), training);
    evaluations++;
    const loss = s.loss + outside;
    if (loss < best.loss) best = { z: Float64Array.from(z), loss, score: s };
    return loss;
  };
  const save = (label: string, p: HopperParams, extra: object): void => {
    writeFileSync(join(outDir, "best.json"), JSON.stringify({ label, seed, generations: evaluations / 16, evaluations, seconds: Math.round(elapsed()), ...extra, changed: changedFields(p), params: p }, null, 2) + "\n");
  };
  const mean = cmaes(f, new Float64Array(N), 0.5, 16, new Sampler(seedGenerator(seed)), (g) => g >= generations || elapsed() > minutes * 60, (g, xs, fs, sigma) => {
    const k = fs.indexOf(Math.min(...fs));
    if (g % 25 === 24) archive.push({ label: `gen ${g + 1} best`, z: Float64Array.from(xs[k]) });
    if (g % 10 === 9) {
      console.log(`gen ${g + 1}  ${elapsed().toFixed(0)} s  evals ${evaluations}  sigma ${sigma.toFixed(3)}  gen best ${fs[k].toFixed(3)}  best so far: ${describe(best.score)}`);
      save("best so far (training set)", rounded(decode(best.z).params), { score: best.score });
    }
  });
  archive.push({ label: "best so far", z: best.z }, { label: "final mean", z: mean });
  console.log(`tuning done: ${elapsed().toFixed(0)} s, ${evaluations / 16} generations, ${evaluations} evaluations; re-scoring ${archive.length} candidates on ${selection.length} selection rollouts`);
  let chosen = { label: "", p: defaultHopperParams, s: score(defaultHopperParams, selection) };
  for (const a of archive) {
    const p = rounded(decode(a.z).params);
    const s = score(p, selection);
    console.log(`  ${a.label.padEnd(16)} ${describe(s)}`);
    const better = s.noisyFalls < chosen.s.noisyFalls || (s.noisyFalls === chosen.s.noisyFalls && s.loss < chosen.s.loss);
    if (better && s.fall500 === null && s.hops500 >= 20) chosen = { label: a.label, p, s };
  }
  save(chosen.label, chosen.p, { selectionScore: chosen.s });
  console.log(`chose "${chosen.label}": ${describe(chosen.s)}\nwrote ${join(outDir, "best.json")} (${elapsed().toFixed(0)} s)`);
  console.log(JSON.stringify(changedFields(chosen.p), null, 2));
}

// ---------------------------------------------------------------- validation
function validate(file: string): void {
  const seed = Number(arg("seed", "9001"));
  const tuned = (JSON.parse(readFileSync(file, "utf8")) as { params: HopperParams }).params;
  const rows: string[][] = [];
  for (const [name, params] of [["defaults", defaultHopperParams], ["tuned", tuned]] as const) {
    const clean = rollout(params, REST, T);
    const row: string[] = [name];
    for (const [fraction, stream] of [[0.1, 1], [0.01, 2]] as const) {
      const std = motorNoiseFrom(clean.us, nu, fraction);
      const falls: string[] = [];
      for (const sc of scenarios(seed * 10 + stream, 40, 0)) {
        const r = rollout(params, sc.x0, T, { std, normals: sc.normals });
        if (r.fall !== null) falls.push(`${r.fall}${r.xs[r.fall * nx + 1] < FALL.minHeightAboveGround ? "h" : "p"}`);
      }
      row.push(`${falls.length}/40`);
      console.log(`${name} ${fraction * 100}% noise: ${falls.length}/40 fall; fall steps (h: height, p: pitch): ${falls.join(" ") || "-"}`);
    }
    const d = clean.xs[T * nx] - REST[0];
    row.push(d.toFixed(2), (d / (T * task.dt)).toFixed(2), trajectoryCost(task.cost, clean.xs, clean.us, T).toFixed(1), String(countHops(clean.xs, nx, T)));
    const long = rollout(params, REST, 6 * T);
    const dl = long.xs[6 * T * nx] - REST[0];
    const lastHops = countHops(long.xs.subarray(5 * T * nx), nx, T);
    row.push(long.fall === null ? `no fall, ${dl.toFixed(1)} m, ${countHops(long.xs, nx, 6 * T)} hops (${lastHops} in last 5 s)` : `falls at step ${long.fall}`);
    rows.push(row);
  }
  const head = ["params", "falls 10%", "falls 1%", "dist 5 s (m)", "speed", "cost", "hops", "30 s noise-free"];
  console.log(`\n| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

if (args.includes("--validate")) validate(arg("validate", "/tmp/hopper-tune/best.json"));
else tune();
