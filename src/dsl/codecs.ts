/**
 * The io-ts building blocks every experiment codec uses: exact records (a
 * misspelled field is reported, not dropped) and refined numbers.
 */
import * as t from "io-ts";

// Exact codecs strip unknown fields when decoding; `decodeExperiment` compares
// the result with its input to report a misspelled field instead of ignoring it.
export const strict = <P extends t.Props>(props: P, name?: string) => t.exact(t.type(props), name);
export const strictPartial = <P extends t.Props>(props: P, name?: string) => t.exact(t.partial(props), name);

export const PositiveInt = t.refinement(t.number, (n) => Number.isInteger(n) && n > 0, "PositiveInt");
export const NonNegativeInt = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, "NonNegativeInt");
export const NonNegative = t.refinement(t.number, (n) => Number.isFinite(n) && n >= 0, "NonNegativeNumber");
export const Finite = t.refinement(t.number, (n) => Number.isFinite(n), "FiniteNumber");
export const Positive = t.refinement(t.number, (n) => Number.isFinite(n) && n > 0, "PositiveNumber");
export const Seed = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff, "Seed (integer in [0, 2^32))");
export const NonEmptyString = t.refinement(t.string, (s) => s.length > 0, "NonEmptyString");

/**
 * Bounds that keep a typo from exhausting the machine (issue 13: `horizon: 1e9`
 * hung after creating a run directory, `repeat(1e12, …)` ran the heap out):
 * 100 000 control steps (1000 s of the walker) and 1 000 000 stages. Larger
 * values are refused by name at plan time.
 */
export const MAX_HORIZON = 100_000;
export const MAX_STAGES = 1_000_000;
export const Horizon = t.refinement(t.number, (n) => Number.isInteger(n) && n > 0 && n <= MAX_HORIZON, `Horizon (an integer in 1…${MAX_HORIZON})`);
