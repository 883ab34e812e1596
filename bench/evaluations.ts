/**
 * Where LBFGS spends its evaluations in a recorded run, and what other
 * settings would have given: every policy fit of a run (fitTheta) or every Φ
 * optimization (isgpsIteration) at the chosen stages is posed again from the
 * checkpoint before it, exactly as the stage posed it, and solved with each
 * variant of the LBFGS settings. Prints per variant the final loss (relative
 * to the run's own setting), the evaluations and where they went, and a
 * BENCH_JSON line.
 *
 *   npm run bench:evaluations -- <run> [--every K] [--first N] [--workers N]
 */
import { resolveExperiment } from "../src/dsl/resolve.js";
import { decodeRunState } from "../src/algorithms/run-state.js";
import { parseArgs } from "node:util";
import { decodeExperiment } from "../src/dsl/validate.js";
import { unrollPipeline } from "../src/dsl/experiment.js";
import { decodeValue } from "../src/runtime/canonical.js";
import { createWorlds } from "../src/runtime/interpreter.js";
import { listCheckpointIndices, openRun, readCheckpoint, readExperiment } from "../src/runtime/store.js";
import { fitThetaProblem } from "../src/algorithms/cgps-stages.js";
import { fitPolicy } from "../src/algorithms/cgps-policy.js";
import { bestSample, isgpsActiveSet } from "../src/algorithms/isgps-stages.js";
import { batchedKernels, localCompute } from "../src/algorithms/numerics.js";
import { mlpOf, type RunState, type StageEnv } from "../src/algorithms/state.js";
import { minimizeLbfgs, type LbfgsMemory, type LbfgsOptions, type LbfgsResult } from "../src/optim/lbfgs.js";
import { Sampler } from "../src/random/generator.js";
import { createPool } from "../src/parallel/pool.js";
import { laneOps, laneOpsUrl, lanePreload } from "../src/algorithms/lane-ops.js";
import { createKernelMemory } from "../src/policy/kernels/wasm.js";

interface Outcome {
  readonly loss: number;
  readonly evaluations: number;
  readonly iterations: number;
  readonly extraTrials: number;
  readonly failedSearchEvaluations: number;
  readonly reason: string;
  /** Iterations after which the loss was within 1e-3 (relative) of its final value. */
  readonly usefulIterations: number;
}

interface Variant {
  readonly name: string;
  readonly options: Partial<LbfgsOptions>;
  /** Warm-start the curvature pairs (fitTheta: from the previous replayed fit; Φ: fromBest from fromStar). */
  readonly warm?: boolean;
}

const FIT_VARIANTS: readonly Variant[] = [
  { name: "as run", options: {} },
  { name: "ftol 1e-6", options: { relativeFunctionTolerance: 1e-6 } },
  { name: "ftol 1e-5", options: { relativeFunctionTolerance: 1e-5 } },
  { name: "ftol 1e-4", options: { relativeFunctionTolerance: 1e-4 } },
  { name: "warm memory", options: {}, warm: true },
  { name: "backtracking", options: { lineSearch: "backtracking" } },
];

const PHI_VARIANTS: readonly Variant[] = [
  { name: "as run", options: {} },
  { name: "ftol 1e-6", options: { relativeFunctionTolerance: 1e-6 } },
  { name: "ftol 1e-4", options: { relativeFunctionTolerance: 1e-4 } },
  { name: "fromBest warm", options: {}, warm: true },
  { name: "c2 0.99", options: { c2: 0.99 } },
  { name: "backtracking", options: { lineSearch: "backtracking" } },
  { name: "backtracking, fromBest warm", options: { lineSearch: "backtracking" }, warm: true },
];

function useful(history: Float64Array): number {
  const last = history[history.length - 1];
  const scale = Math.max(Math.abs(last), 1e-300);
  for (let k = 0; k < history.length; k++) if (Math.abs(history[k] - last) <= 1e-3 * scale) return k;
  return history.length - 1;
}

function outcome(r: LbfgsResult, loss: number): Outcome {
  return { loss, evaluations: r.evaluations, iterations: r.iterations, extraTrials: r.extraTrials, failedSearchEvaluations: r.failedSearchEvaluations, reason: r.reason, usefulIterations: useful(r.history) };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { every: { type: "string", default: "1" }, first: { type: "string", default: "1000000" }, workers: { type: "string", default: "1" } } });
  const [dir] = positionals;
  if (!dir) throw new Error("usage: bench/evaluations.ts <run> [--every K] [--first N] [--workers N]");
  const every = Number(values.every);
  const first = Number(values.first);
  const lanes = Number(values.workers);
  const run = openRun(dir);
  const experiment = resolveExperiment(decodeExperiment(decodeValue(readExperiment(run))));
  const stages = unrollPipeline(experiment.pipeline);
  const { worlds, testWorlds, dispose } = await createWorlds(experiment);
  const compute = lanes > 1 ? await createPool({ lanes, ops: laneOps, opsUrl: laneOpsUrl, preload: lanePreload, memory: createKernelMemory() }) : localCompute();
  const env: StageEnv = { experiment, horizon: experiment.task.horizon, worlds, testWorlds, compute, numerics: "batched" };
  const kernels = batchedKernels(compute);
  const have = new Set(listCheckpointIndices(run));
  const stateBefore = (k: number): RunState => decodeRunState(readCheckpoint(run, k - 1).state);
  const kinds = new Set(["fitTheta", "isgpsIteration"]);
  const chosen = stages.filter(({ spec, index }) => kinds.has(spec.kind) && index > 0 && have.has(index - 1)).filter((_, i) => i % every === 0).slice(0, first);
  const rows: Record<string, Outcome[]> = {};
  const push = (name: string, o: Outcome): void => void (rows[name] ??= []).push(o);
  let warmMemory: LbfgsMemory | undefined;
  const started = performance.now();
  for (const { spec, index } of chosen) {
    const state = stateBefore(index);
    if (spec.kind === "fitTheta") {
      const s = spec;
      const problem = fitThetaProblem(env, s, state, new Sampler(state.rng));
      const policy = mlpOf(problem.start);
      let nextWarm: LbfgsMemory | undefined;
      for (const v of FIT_VARIANTS) {
        const fit = fitPolicy(policy, problem.start.theta, problem.batch, {
          maxIterations: s.maxIterations,
          regularization: s.regularization,
          kernels,
          relativeFunctionTolerance: v.options.relativeFunctionTolerance,
          initialMemory: v.warm ? warmMemory : undefined,
          lineSearch: v.options.lineSearch,
        });
        if (v.name === "as run") nextWarm = fit.memory ?? undefined;
        push(`fitTheta (${s.maxIterations} its): ${v.name}`, { loss: fit.loss, evaluations: fit.evaluations, iterations: fit.iterations, extraTrials: fit.extraTrials, failedSearchEvaluations: fit.failedSearchEvaluations, reason: fit.reason, usefulIterations: useful(fit.history) });
      }
      warmMemory = nextWarm;
      process.stderr.write(`[evaluations] stage ${index} fitTheta: ${problem.batch.N} rows\n`);
    } else if (spec.kind === "isgpsIteration") {
      const s = spec;
      const p = isgpsActiveSet(env, s, state, new Sampler(state.rng));
      const wr = p.isgps.wr;
      const decay = s.weightDecay;
      const objective = kernels.isObjective(p.policy, p.set, { wr, weightDecay: decay });
      const ml = kernels.maxLikelihood(p.policy, p.set, [bestSample(p.set)], { weightDecay: decay });
      const bestFit = minimizeLbfgs(ml.objective, p.thetaStar, { maxIterations: s.maxIterations });
      ml.release();
      for (const v of PHI_VARIANTS) {
        const o = { maxIterations: s.maxIterations, ...v.options };
        const fromStar = minimizeLbfgs(objective.objective, p.thetaStar, o);
        const fromBest = minimizeLbfgs(objective.objective, bestFit.x, { ...o, initialMemory: v.warm ? fromStar.memory : undefined });
        const best = Math.min(fromStar.f, fromBest.f);
        push(`Φ from θ*: ${v.name}`, outcome(fromStar, fromStar.f));
        push(`Φ from the best sample's fit: ${v.name}`, outcome(fromBest, fromBest.f));
        push(`Φ, the better of the two: ${v.name}`, { ...outcome(fromStar, best), evaluations: fromStar.evaluations + fromBest.evaluations, iterations: fromStar.iterations + fromBest.iterations });
      }
      objective.release();
      process.stderr.write(`[evaluations] stage ${index} isgpsIteration: ${p.set.count} active samples, w_r ${wr}\n`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // Table: per row, mean evaluations and the final loss relative to "as run" of the same problem.
  const baseOf = (name: string): Outcome[] | undefined => rows[`${name.split(": ")[0]}: as run`];
  const table = Object.entries(rows).map(([name, outs]) => {
    const base = baseOf(name)!;
    const rel = outs.map((o, i) => (o.loss - base[i].loss) / Math.max(Math.abs(base[i].loss), 1e-300));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    return {
      name,
      problems: outs.length,
      evaluations: mean(outs.map((o) => o.evaluations)),
      iterations: mean(outs.map((o) => o.iterations)),
      extraTrials: mean(outs.map((o) => o.extraTrials)),
      failedSearchEvaluations: mean(outs.map((o) => o.failedSearchEvaluations)),
      usefulIterations: mean(outs.map((o) => o.usefulIterations)),
      meanLossChange: mean(rel),
      worstLossChange: Math.max(...rel),
      reasons: [...new Set(outs.map((o) => o.reason))].join(","),
    };
  });
  console.log(`LBFGS evaluations in ${run.dir} (${chosen.length} stages replayed in ${seconds.toFixed(1)} s)`);
  console.log("loss change: (final loss − as run's) / |as run's|, mean and worst over the problems (negative = lower)");
  const header = ["variant", "problems", "evals", "its", "extra trials", "failed-search evals", "its to within 1e-3", "loss change mean", "worst", "stopped by"];
  console.log(header.join(" | "));
  for (const r of table) {
    console.log([r.name, r.problems, r.evaluations.toFixed(1), r.iterations.toFixed(1), r.extraTrials.toFixed(1), r.failedSearchEvaluations.toFixed(1), r.usefulIterations.toFixed(1), r.meanLossChange.toExponential(2), r.worstLossChange.toExponential(2), r.reasons].join(" | "));
  }
  console.log(`BENCH_JSON ${JSON.stringify({ run: run.dir, stages: chosen.map((c) => c.index), seconds, table })}`);
  compute.close();
  dispose();
}

await main();
