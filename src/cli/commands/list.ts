/** gps list: the runs table of a store (src/runtime/runs-table.ts); a run that does not open is listed as broken. */
import { listRunEntries, readExperiment, readRunMeta, stageRecords } from "../../runtime/store.js";
import { currentStatus } from "../../runtime/run-status.js";
import { filterRows, formatRunsTable, parseFilter, parseSort, runRow, sortRows, type ListRow } from "../../runtime/runs-table.js";
import { fmt } from "../progress.js";
import { out } from "../io.js";
import { EXIT_OK } from "../errors.js";

export interface ListOptions {
  readonly store: string;
  readonly json: boolean;
  readonly sort?: string;
  readonly filter?: readonly string[];
}

export function listCommand(o: ListOptions): number {
  const sort = o.sort === undefined ? undefined : parseSort(o.sort);
  const filters = (o.filter ?? []).map(parseFilter);
  const now = Date.now();
  const rows: ListRow[] = listRunEntries(o.store).map((entry) => {
    try {
      if (!entry.run) throw new Error(entry.error ?? "does not open");
      return runRow({
        dir: entry.dir,
        meta: readRunMeta(entry.run),
        stages: stageRecords(entry.run),
        experiment: readExperiment(entry.run),
        statusDetail: currentStatus(entry.run),
        now,
      });
    } catch (e) {
      return { run: entry.dir, status: "broken" as const, broken: e instanceof Error ? e.message : String(e) };
    }
  });
  const shown = sortRows(filterRows(rows, filters), sort);
  if (o.json) {
    out.write(`${JSON.stringify(shown, null, 2)}\n`);
    return EXIT_OK;
  }
  if (rows.length === 0) out.write(`no runs in ${o.store}\n`);
  else if (shown.length === 0) out.write(`no runs in ${o.store} match ${(o.filter ?? []).join(" ")}\n`);
  else out.write(formatRunsTable(shown, fmt));
  return EXIT_OK;
}
