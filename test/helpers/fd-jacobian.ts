/**
 * Compare analytic (or MuJoCo) Jacobians of a one-step map x' = f(x, u) with
 * central finite differences: the largest |FD − fx| and |FD − fu|, and the
 * largest |fx| entry (for relative tolerances).
 */
export function jacobianVsFiniteDifferences(
  step: (x: Float64Array, u: Float64Array) => Float64Array,
  x: Float64Array,
  u: Float64Array,
  fx: Float64Array,
  fu: Float64Array,
  eps = 1e-6,
): { a: number; b: number; maxA: number } {
  const nx = x.length;
  const nu = u.length;
  let a = 0;
  let b = 0;
  let maxA = 0;
  for (let j = 0; j < nx + nu; j++) {
    const xp = x.slice();
    const xm = x.slice();
    const up = u.slice();
    const um = u.slice();
    if (j < nx) {
      xp[j] += eps;
      xm[j] -= eps;
    } else {
      up[j - nx] += eps;
      um[j - nx] -= eps;
    }
    const fp = step(xp, up);
    const fm = step(xm, um);
    for (let i = 0; i < nx; i++) {
      const fd = (fp[i] - fm[i]) / (2 * eps);
      if (j < nx) {
        a = Math.max(a, Math.abs(fd - fx[i * nx + j]));
        maxA = Math.max(maxA, Math.abs(fx[i * nx + j]));
      } else {
        b = Math.max(b, Math.abs(fd - fu[i * nu + (j - nx)]));
      }
    }
  }
  return { a, b, maxA };
}
