/**
 * What `gps resume --force` may change. A resume continues from a
 * checkpoint's state, so a change must be one that state can follow: the
 * pipeline and stage options may change (later stages read the state as it
 * is); the task (horizon, terrain, pushes), the conditions, the seed and the
 * policy shape may not — the checkpoints hold trajectories of that horizon,
 * states of those conditions, a generator of that seed, θ of that shape.
 */
import type { ValueChange } from "./canonical.js";

/** Top-level experiment fields whose change the existing checkpoints cannot follow, and why. */
const FIXED_FIELDS: Readonly<Record<string, string>> = {
  task: "the checkpoints hold trajectories and states of the old task (its horizon, ground and pushes)",
  conditions: "the checkpoints hold one trajectory per old condition, from its initial state",
  seed: "the checkpoints hold the random generator of the old seed",
  policy: "the checkpoints hold policy parameters of the old shape",
};

function topLevelField(path: string): string {
  return path.split(/[.[]/)[0];
}

/** The changes `--force` must refuse, each with its reason (empty: the resume may go on). Pure. */
export function unfollowableChanges(changes: readonly ValueChange[]): { readonly change: ValueChange; readonly reason: string }[] {
  return changes.flatMap((change) => {
    const reason = FIXED_FIELDS[topLevelField(change.path)];
    return reason === undefined ? [] : [{ change, reason }];
  });
}

/** `--force` asked for a change the checkpoints cannot follow: bad input (exit 2), nothing written. */
export class UnfollowableChangeError extends Error {
  override name = "UnfollowableChangeError";
  constructor(refused: readonly { readonly change: ValueChange; readonly reason: string }[]) {
    const lines = refused.map(({ change, reason }) => `  ${change.path}: ${JSON.stringify(change.from)} → ${JSON.stringify(change.to)} (${reason})`);
    super(`--force cannot resume under this change:\n${lines.join("\n")}\nonly the pipeline and stage options may change in a run; start a new run instead (gps run)`);
  }
}
