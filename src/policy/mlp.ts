/**
 * The neural-network policy of guided policy search (Levine & Koltun 2013,
 * 2014 section 4): one hidden layer of soft rectifiers, a linear output layer
 * and Gaussian output noise with a learned, state-independent diagonal
 * covariance,
 *
 *     x̃ = (x − inputMean) / inputStd          (fixed, not learned)
 *     z = W1 x̃ + b1,   a = softplus(z) = log(1 + exp(z))
 *     μ(x) = W2 a + b2
 *     π_θ(u | x) = N(μ(x), diag(exp(2·logStd))).
 *
 * A policy value is plain data: its sizes and the input normalization. The
 * learned parameters θ live in ONE Float64Array, laid out as
 *
 *     [ W1 (H×n, row h = hidden unit h) | b1 (H) | W2 (m×H, row j = action j) | b2 (m) | logStd (m) ]
 *
 * (n = nIn, H = nHidden, m = nOut; row-major like src/linalg/dense.ts). Every
 * gradient buffer uses the same layout. `parameterLayout` gives the offsets.
 *
 * All functions are pure apart from writing into caller-owned outputs and the
 * workspace: `createWorkspace` allocates every scratch array once, and the
 * forward, backward, Jacobian, loss and log-density routines allocate nothing.
 */
import type { Sampler } from "../random/generator.js";

/** Layer sizes: n inputs (state), H hidden soft rectifiers, m outputs (action). */
export interface MlpShape {
  readonly nIn: number;
  readonly nHidden: number;
  readonly nOut: number;
}

/** Fixed input normalization x̃ = (x − inputMean) / inputStd (elementwise). */
export interface InputNormalization {
  readonly inputMean: Float64Array;
  readonly inputStd: Float64Array;
}

/** A policy value: sizes plus input normalization (θ is kept separately). */
export interface MlpPolicy extends MlpShape, InputNormalization {}

/** Offsets of each block inside θ, and its total length. */
export interface ParameterLayout {
  readonly w1: number;
  readonly b1: number;
  readonly w2: number;
  readonly b2: number;
  readonly logStd: number;
  readonly total: number;
}

/** Scratch storage for up to `batch` samples, allocated once by `createWorkspace`. */
export interface MlpWorkspace {
  readonly nIn: number;
  readonly nHidden: number;
  readonly nOut: number;
  /** Capacity: the most samples one forward pass may hold. */
  readonly batch: number;
  /** Normalized inputs x̃ (batch·n). */
  readonly xn: Float64Array;
  /** Hidden activations softplus(z) (batch·H). */
  readonly act: Float64Array;
  /** Softplus derivatives sigmoid(z) (batch·H). */
  readonly slope: Float64Array;
  /** Output means (batch·m), used by the loss and log-density routines. */
  readonly mean: Float64Array;
  /** dL/dμ (batch·m), used by the loss and log-density routines. */
  readonly dMean: Float64Array;
  /** dL/dz for one sample (H). */
  readonly dz: Float64Array;
  /** How many rows the last forward pass left in the caches (−1: none yet). */
  rows: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

// ---------------------------------------------------------------------------
// Scalar activations

/** log(1 + exp(z)), stable for any z: z itself above 30, exp(z) below −30. */
export function softplus(z: number): number {
  if (z > 30) return z;
  if (z < -30) return Math.exp(z);
  return Math.log1p(Math.exp(z));
}

/** d softplus / dz = 1 / (1 + exp(−z)), evaluated without overflow. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

// ---------------------------------------------------------------------------
// Shapes, parameters, normalization

export function mlpShape(nIn: number, nHidden: number, nOut: number): MlpShape {
  for (const [name, v] of [["nIn", nIn], ["nHidden", nHidden], ["nOut", nOut]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`mlpShape: ${name} must be a positive integer, got ${v}`);
  }
  return { nIn, nHidden, nOut };
}

export function parameterLayout(shape: MlpShape): ParameterLayout {
  const { nIn: n, nHidden: H, nOut: m } = shape;
  const w1 = 0;
  const b1 = w1 + H * n;
  const w2 = b1 + H;
  const b2 = w2 + m * H;
  const logStd = b2 + m;
  return { w1, b1, w2, b2, logStd, total: logStd + m };
}

/** Length of θ: H·n + H + m·H + m + m. */
export function parameterCount(shape: MlpShape): number {
  return parameterLayout(shape).total;
}

/**
 * Fresh parameters: W1 ~ N(0, 2/n) (He, for the rectifying hidden layer),
 * W2 ~ N(0, 2/(H+m)) (Glorot, for the linear output layer), biases 0, and
 * logStd = initLogStd (default 0, i.e. unit action noise) for every action.
 */
export function initParameters(shape: MlpShape, sampler: Sampler, options: { initLogStd?: number } = {}): Float64Array {
  const { nIn: n, nHidden: H, nOut: m } = shape;
  const L = parameterLayout(shape);
  const theta = new Float64Array(L.total);
  const s1 = Math.sqrt(2 / n);
  for (let k = 0; k < H * n; k++) theta[L.w1 + k] = s1 * sampler.normal();
  const s2 = Math.sqrt(2 / (H + m));
  for (let k = 0; k < m * H; k++) theta[L.w2 + k] = s2 * sampler.normal();
  const ls = options.initLogStd ?? 0;
  if (!Number.isFinite(ls)) throw new Error(`initParameters: initLogStd must be finite, got ${ls}`);
  theta.fill(ls, L.logStd, L.total);
  return theta;
}

/** Mean 0, std 1: x̃ = x. */
export function identityNormalization(n: number): InputNormalization {
  return { inputMean: new Float64Array(n), inputStd: new Float64Array(n).fill(1) };
}

/**
 * Per-dimension mean and (population) standard deviation of training states
 * (count·n, row-major). A dimension whose std is below 1e-8 (constant in the
 * data) gets std 1, so it is only centered: flooring it at 1e-8 would turn a
 * later tiny deviation into a huge network input. No states: the identity.
 */
export function normalizationFrom(states: Float64Array, n: number): InputNormalization {
  if (!Number.isInteger(n) || n < 1) throw new Error(`normalizationFrom: n must be a positive integer, got ${n}`);
  if (states.length % n !== 0) throw new Error(`normalizationFrom: ${states.length} values is not a whole number of ${n}-dimensional states`);
  const count = states.length / n;
  if (count === 0) return identityNormalization(n);
  const mean = new Float64Array(n);
  const std = new Float64Array(n);
  for (let r = 0; r < count; r++) for (let i = 0; i < n; i++) mean[i] += states[r * n + i];
  for (let i = 0; i < n; i++) mean[i] /= count;
  for (let r = 0; r < count; r++) {
    for (let i = 0; i < n; i++) {
      const d = states[r * n + i] - mean[i];
      std[i] += d * d;
    }
  }
  for (let i = 0; i < n; i++) {
    const s = Math.sqrt(std[i] / count);
    std[i] = s < 1e-8 || !Number.isFinite(s) ? 1 : s;
  }
  return { inputMean: mean, inputStd: std };
}

/**
 * Make the network blind to some inputs: their normalization becomes
 * mean 0, std +∞, so x̃_i = 0 exactly for every x, and their W1 column is set
 * to 0 (it then receives no gradient: ∂/∂W1[h,i] = δ_h · x̃_i = 0, and weight
 * decay keeps it at 0). μ(x) and ∂μ/∂x (which scales by 1/inputStd) then do
 * not depend on those inputs at all. Used to hide the root's absolute x
 * position from locomotion policies (Levine & Koltun 2013 §6: the policy sees
 * joint angles and velocities), which a network otherwise uses as a clock.
 * Returns new normalization arrays; writes θ in place.
 */
export function ignoreInputs(shape: MlpShape, normalization: InputNormalization, theta: Float64Array, indices: readonly number[]): InputNormalization {
  const inputMean = Float64Array.from(normalization.inputMean);
  const inputStd = Float64Array.from(normalization.inputStd);
  const L = parameterLayout(shape);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= shape.nIn) throw new RangeError(`ignoreInputs: input ${i} does not exist (nIn ${shape.nIn})`);
    inputMean[i] = 0;
    inputStd[i] = Infinity;
    for (let h = 0; h < shape.nHidden; h++) theta[L.w1 + h * shape.nIn + i] = 0;
  }
  return { inputMean, inputStd };
}

/** A policy value from a shape and (by default identity) input normalization. */
export function createPolicy(shape: MlpShape, normalization: InputNormalization = identityNormalization(shape.nIn)): MlpPolicy {
  const { nIn, nHidden, nOut } = mlpShape(shape.nIn, shape.nHidden, shape.nOut);
  if (normalization.inputMean.length !== nIn || normalization.inputStd.length !== nIn) {
    throw new Error(`createPolicy: normalization has ${normalization.inputMean.length}/${normalization.inputStd.length} entries, expected ${nIn}`);
  }
  for (let i = 0; i < nIn; i++) {
    if (!(normalization.inputStd[i] > 0)) throw new Error(`createPolicy: inputStd[${i}] = ${normalization.inputStd[i]} is not positive`);
  }
  return { nIn, nHidden, nOut, inputMean: Float64Array.from(normalization.inputMean), inputStd: Float64Array.from(normalization.inputStd) };
}

export function createWorkspace(shape: MlpShape, batch: number): MlpWorkspace {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`createWorkspace: batch must be a positive integer, got ${batch}`);
  const { nIn: n, nHidden: H, nOut: m } = shape;
  return {
    nIn: n,
    nHidden: H,
    nOut: m,
    batch,
    xn: new Float64Array(batch * n),
    act: new Float64Array(batch * H),
    slope: new Float64Array(batch * H),
    mean: new Float64Array(batch * m),
    dMean: new Float64Array(batch * m),
    dz: new Float64Array(H),
    rows: -1,
  };
}

// ---------------------------------------------------------------------------
// Core passes (internal: explicit offsets so callers never need subarray views)

function check(policy: MlpPolicy, theta: Float64Array, ws: MlpWorkspace, rows: number, where: string): void {
  if (ws.nIn !== policy.nIn || ws.nHidden !== policy.nHidden || ws.nOut !== policy.nOut) {
    throw new Error(`${where}: workspace is for (${ws.nIn}, ${ws.nHidden}, ${ws.nOut}), policy is (${policy.nIn}, ${policy.nHidden}, ${policy.nOut})`);
  }
  const need = policy.nHidden * (policy.nIn + policy.nOut + 1) + 2 * policy.nOut;
  if (theta.length !== need) throw new Error(`${where}: θ has ${theta.length} entries, expected ${need}`);
  if (!Number.isInteger(rows) || rows < 0 || rows > ws.batch) throw new Error(`${where}: batch ${rows} exceeds the workspace capacity ${ws.batch}`);
}

/**
 * Forward `rows` samples starting at X[xOff] (row stride n) into out[outOff…]
 * (row stride m), caching x̃, softplus(z) and sigmoid(z) in rows 0… of `ws`.
 */
function forwardRows(policy: MlpPolicy, theta: Float64Array, X: Float64Array, xOff: number, rows: number, out: Float64Array, outOff: number, ws: MlpWorkspace): void {
  const n = policy.nIn;
  const H = policy.nHidden;
  const m = policy.nOut;
  const mu = policy.inputMean;
  const sd = policy.inputStd;
  const oB1 = H * n;
  const oW2 = oB1 + H;
  const oB2 = oW2 + m * H;
  const xn = ws.xn;
  const act = ws.act;
  const slope = ws.slope;
  for (let r = 0; r < rows; r++) {
    const xr = xOff + r * n;
    const xnr = r * n;
    for (let i = 0; i < n; i++) xn[xnr + i] = (X[xr + i] - mu[i]) / sd[i];
    const hr = r * H;
    for (let h = 0; h < H; h++) {
      let z = theta[oB1 + h];
      const w = h * n;
      for (let i = 0; i < n; i++) z += theta[w + i] * xn[xnr + i];
      act[hr + h] = softplus(z);
      slope[hr + h] = sigmoid(z);
    }
    const orow = outOff + r * m;
    for (let j = 0; j < m; j++) {
      let s = theta[oB2 + j];
      const w = oW2 + j * H;
      for (let h = 0; h < H; h++) s += theta[w + h] * act[hr + h];
      out[orow + j] = s;
    }
  }
  ws.rows = rows;
}

/**
 * grad[W1, b1, W2, b2] += Σ_r scale · (dμ_r backpropagated), with dμ_r read from
 * dMean[dOff + r·m…], using the caches of the preceding forward pass.
 */
function backwardRows(policy: MlpPolicy, theta: Float64Array, dMean: Float64Array, dOff: number, rows: number, grad: Float64Array, ws: MlpWorkspace): void {
  const n = policy.nIn;
  const H = policy.nHidden;
  const m = policy.nOut;
  const oB1 = H * n;
  const oW2 = oB1 + H;
  const oB2 = oW2 + m * H;
  const xn = ws.xn;
  const act = ws.act;
  const slope = ws.slope;
  const dz = ws.dz;
  for (let r = 0; r < rows; r++) {
    const hr = r * H;
    const dr = dOff + r * m;
    for (let h = 0; h < H; h++) dz[h] = 0;
    for (let j = 0; j < m; j++) {
      const g = dMean[dr + j];
      if (g === 0) continue;
      grad[oB2 + j] += g;
      const w = oW2 + j * H;
      for (let h = 0; h < H; h++) {
        grad[w + h] += g * act[hr + h];
        dz[h] += g * theta[w + h];
      }
    }
    const xnr = r * n;
    for (let h = 0; h < H; h++) {
      const g = dz[h] * slope[hr + h];
      if (g === 0) continue;
      grad[oB1 + h] += g;
      const w = h * n;
      for (let i = 0; i < n; i++) grad[w + i] += g * xn[xnr + i];
    }
  }
}

// ---------------------------------------------------------------------------
// Public passes

/**
 * Policy means for `batch` raw states X (batch·n, row-major) into outMean
 * (batch·m). Needs batch ≤ ws.batch; leaves the caches `backward` reads.
 */
export function forward(policy: MlpPolicy, theta: Float64Array, X: Float64Array, batch: number, outMean: Float64Array, ws: MlpWorkspace): void {
  check(policy, theta, ws, batch, "forward");
  if (X.length < batch * policy.nIn || outMean.length < batch * policy.nOut) throw new Error("forward: X or outMean is shorter than batch rows");
  forwardRows(policy, theta, X, 0, batch, outMean, 0, ws);
}

/**
 * Accumulate dL/dθ into `grad` (same layout as θ) given dL/dμ (batch·m) for the
 * samples of the immediately preceding `forward` call on this workspace (same
 * θ, same batch). Only the W1, b1, W2, b2 blocks change: the mean does not
 * depend on logStd. `grad` is added to, not overwritten.
 */
export function backward(policy: MlpPolicy, theta: Float64Array, dMean: Float64Array, batch: number, grad: Float64Array, ws: MlpWorkspace): void {
  check(policy, theta, ws, batch, "backward");
  if (ws.rows !== batch) throw new Error(`backward: the last forward pass held ${ws.rows} rows, not ${batch}`);
  if (dMean.length < batch * policy.nOut || grad.length !== theta.length) throw new Error("backward: dMean is shorter than batch rows or grad's length differs from θ's");
  backwardRows(policy, theta, dMean, 0, batch, grad, ws);
}

/**
 * ∂μ/∂x (m×n, row-major: entry (j, i) = ∂μ_j/∂x_i) with respect to the RAW
 * state x (x[xOff…xOff+n)), normalization included:
 * J = W2 diag(sigmoid(z)) W1 diag(1/inputStd). This is μ^π_x of constrained
 * GPS. If `outMean` is given, μ(x) (m) is written there too.
 */
export function meanJacobian(policy: MlpPolicy, theta: Float64Array, x: Float64Array, outJ: Float64Array, ws: MlpWorkspace, outMean?: Float64Array, xOff = 0): void {
  check(policy, theta, ws, 1, "meanJacobian");
  const n = policy.nIn;
  const H = policy.nHidden;
  const m = policy.nOut;
  if (outJ.length < m * n) throw new Error("meanJacobian: outJ must hold m×n entries");
  forwardRows(policy, theta, x, xOff, 1, outMean ?? ws.mean, 0, ws);
  const oW2 = H * n + H;
  const slope = ws.slope;
  for (let k = 0; k < m * n; k++) outJ[k] = 0;
  for (let h = 0; h < H; h++) {
    const s = slope[h];
    if (s === 0) continue;
    const w1 = h * n;
    for (let j = 0; j < m; j++) {
      const c = theta[oW2 + j * H + h] * s;
      if (c === 0) continue;
      const jr = j * n;
      for (let i = 0; i < n; i++) outJ[jr + i] += c * theta[w1 + i];
    }
  }
  const sd = policy.inputStd;
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) outJ[j * n + i] /= sd[i];
}

/**
 * The mean part of the constrained-GPS policy objective (gps-math §4):
 *
 *     L(θ) = Σ_i w_i · ½ (μ(x_i) − target_i)ᵀ P_i (μ(x_i) − target_i)
 *
 * over batch = weights.length samples: X (batch·n raw states), targets
 * (batch·m, the trajectory actions K_t x_ti + k_t), precisions (batch·m·m, P_i =
 * A_t⁻¹ row-major per sample), weights (batch, e.g. λ_t). Returns L; if
 * `gradOut` is given it is OVERWRITTEN with dL/dθ (logStd block 0: see
 * `optimalLogStd` for the covariance part). Any batch size works with any
 * workspace: samples are processed in chunks of ws.batch.
 */
export function weightedFitLoss(
  policy: MlpPolicy,
  theta: Float64Array,
  X: Float64Array,
  targets: Float64Array,
  precisions: Float64Array,
  weights: Float64Array,
  gradOut: Float64Array | null,
  ws: MlpWorkspace,
): number {
  const n = policy.nIn;
  const m = policy.nOut;
  const batch = weights.length;
  check(policy, theta, ws, Math.min(batch, ws.batch), "weightedFitLoss");
  if (X.length < batch * n || targets.length < batch * m || precisions.length < batch * m * m) {
    throw new Error(`weightedFitLoss: X, targets or precisions hold fewer than ${batch} samples`);
  }
  if (gradOut !== null) {
    if (gradOut.length !== theta.length) throw new Error("weightedFitLoss: gradOut's length differs from θ's");
    gradOut.fill(0);
  }
  const mean = ws.mean;
  const dMean = ws.dMean;
  let loss = 0;
  for (let start = 0; start < batch; start += ws.batch) {
    const rows = Math.min(ws.batch, batch - start);
    forwardRows(policy, theta, X, start * n, rows, mean, 0, ws);
    for (let r = 0; r < rows; r++) {
      const s = start + r;
      const w = weights[s];
      const tOff = s * m;
      const pOff = s * m * m;
      const mr = r * m;
      // q = eᵀ P e with e = μ − target; dL/dμ = w · ½(P + Pᵀ) e.
      let q = 0;
      for (let a = 0; a < m; a++) {
        const ea = mean[mr + a] - targets[tOff + a];
        for (let b = 0; b < m; b++) q += ea * precisions[pOff + a * m + b] * (mean[mr + b] - targets[tOff + b]);
      }
      loss += 0.5 * w * q;
      if (gradOut !== null) {
        for (let a = 0; a < m; a++) {
          let g = 0;
          for (let b = 0; b < m; b++) {
            g += 0.5 * (precisions[pOff + a * m + b] + precisions[pOff + b * m + a]) * (mean[mr + b] - targets[tOff + b]);
          }
          dMean[mr + a] = w * g;
        }
      }
    }
    if (gradOut !== null) backwardRows(policy, theta, dMean, 0, rows, gradOut, ws);
  }
  return loss;
}

/**
 * Closed-form state-independent diagonal covariance for the §4 objective:
 * minimizing Σ_i w_i ½ [tr(Σ P_i) − log|Σ|] over Σ = diag(σ²) gives
 * σ_j² = Σ_i w_i / Σ_i w_i (P_i)_jj. Writes log σ_j into out[outOff + j] (a new
 * array of m by default; pass θ and parameterLayout(shape).logStd to set θ's
 * logStd block in place) and returns `out`. batch = weights.length.
 */
export function optimalLogStd(precisions: Float64Array, weights: Float64Array, m: number, out: Float64Array = new Float64Array(m), outOff = 0): Float64Array {
  const batch = weights.length;
  if (precisions.length < batch * m * m) throw new Error(`optimalLogStd: precisions hold fewer than ${batch} m×m matrices`);
  let wSum = 0;
  for (let i = 0; i < batch; i++) wSum += weights[i];
  for (let j = 0; j < m; j++) {
    let d = 0;
    for (let i = 0; i < batch; i++) d += weights[i] * precisions[i * m * m + j * m + j];
    if (!(wSum > 0) || !(d > 0)) throw new Error(`optimalLogStd: Σ w_i = ${wSum}, Σ w_i (P_i)_${j}${j} = ${d}; both must be positive`);
    out[outOff + j] = 0.5 * Math.log(wSum / d);
  }
  return out;
}

/**
 * The covariance part of the §4 objective for a diagonal Σ = diag(exp(2·logStd)),
 * logStd read from logStd[off…off+m): Σ_i w_i ½ [tr(Σ P_i) − log|Σ|].
 * `optimalLogStd` returns its minimizer.
 */
export function covarianceFitLoss(logStd: Float64Array, precisions: Float64Array, weights: Float64Array, m: number, off = 0): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) {
    let s = 0;
    for (let j = 0; j < m; j++) {
      const ls = logStd[off + j];
      s += Math.exp(2 * ls) * precisions[i * m * m + j * m + j] - 2 * ls;
    }
    total += 0.5 * weights[i] * s;
  }
  return total;
}

/**
 * log π_θ(u | x) = Σ_j [ −½ ((u_j − μ_j(x)) / σ_j)² − log σ_j − ½ log 2π ],
 * σ_j = exp(logStd_j), for the raw state x[xOff…] and action u[uOff…].
 */
export function logProbability(policy: MlpPolicy, theta: Float64Array, x: Float64Array, u: Float64Array, ws: MlpWorkspace, xOff = 0, uOff = 0): number {
  check(policy, theta, ws, 1, "logProbability");
  const m = policy.nOut;
  const mean = ws.mean;
  forwardRows(policy, theta, x, xOff, 1, mean, 0, ws);
  const oLs = theta.length - m;
  let lp = 0;
  for (let j = 0; j < m; j++) {
    const ls = theta[oLs + j];
    const e = (u[uOff + j] - mean[j]) * Math.exp(-ls);
    lp += -0.5 * e * e - ls - 0.5 * LOG_2PI;
  }
  return lp;
}

/**
 * log π_θ(u | x) as `logProbability`, and grad += scale · ∂ log π_θ(u|x) / ∂θ
 * over every block, logStd included:
 *   ∂/∂μ_j = (u_j − μ_j) / σ_j²,   ∂/∂logStd_j = ((u_j − μ_j) / σ_j)² − 1.
 * `grad` is added to (so weighted sums over samples need no scratch). Returns
 * the log density.
 */
export function logProbabilityGradient(
  policy: MlpPolicy,
  theta: Float64Array,
  x: Float64Array,
  u: Float64Array,
  grad: Float64Array,
  ws: MlpWorkspace,
  scale = 1,
  xOff = 0,
  uOff = 0,
): number {
  check(policy, theta, ws, 1, "logProbabilityGradient");
  if (grad.length !== theta.length) throw new Error("logProbabilityGradient: grad's length differs from θ's");
  const m = policy.nOut;
  const mean = ws.mean;
  const dMean = ws.dMean;
  forwardRows(policy, theta, x, xOff, 1, mean, 0, ws);
  const oLs = theta.length - m;
  let lp = 0;
  for (let j = 0; j < m; j++) {
    const ls = theta[oLs + j];
    const inv = Math.exp(-ls);
    const d = u[uOff + j] - mean[j];
    const e = d * inv;
    lp += -0.5 * e * e - ls - 0.5 * LOG_2PI;
    dMean[j] = scale * d * inv * inv;
    grad[oLs + j] += scale * (e * e - 1);
  }
  backwardRows(policy, theta, dMean, 0, 1, grad, ws);
  return lp;
}
