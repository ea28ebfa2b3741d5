import { get, post, searchAll } from './api';
import { normalizeRun } from './runs';
import type { Experiment, Run, RunRow } from './types';
import type { Lifecycle } from './url';

const RUN_VIEW = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' } as const;

/**
 * The first page: enough rows to fill a tall screen's table (about 30 rows show at 860 px), small
 * enough that the server answers it in a few tens of milliseconds. 500 took the server 0.13 s
 * for 10,000 runs of 10 params and 11 metrics, and the browser a 780 KB parse, before any row.
 */
export const FIRST_PAGE = 100;
/** Then pages of MLflow's maximum. */
export const NEXT_PAGES = 50000;

/**
 * Load EVERY run matching the filter: a small first page so the table shows rows at once, then
 * pages of NEXT_PAGES until next_page_token runs out.
 */
export async function loadAllRuns(
  expIds: string[],
  filter: string,
  lifecycle: Lifecycle,
  onProgress: (rows: RunRow[], done: boolean) => void,
  signal?: AbortSignal,
): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  let token: string | undefined;
  let first = true;
  for (;;) {
    const r = await post<{ runs?: Run[]; next_page_token?: string }>(
      'runs/search',
      {
        experiment_ids: expIds,
        filter: filter || undefined,
        run_view_type: RUN_VIEW[lifecycle],
        max_results: first ? FIRST_PAGE : NEXT_PAGES,
        order_by: ['attributes.start_time DESC'],
        page_token: token,
      },
      signal,
    );
    first = false;
    for (const run of r.runs || []) rows.push(normalizeRun(run));
    token = r.next_page_token || undefined;
    const done = !token || !r.runs?.length;
    onProgress(rows, done);
    if (done) return rows;
  }
}

export async function getExperiment(id: string, signal?: AbortSignal): Promise<Experiment> {
  const r = await get<{ experiment: Experiment }>('experiments/get', { experiment_id: id }, signal);
  return r.experiment;
}

export async function getRun(id: string, signal?: AbortSignal): Promise<Run> {
  const r = await get<{ run: Run }>('runs/get', { run_id: id }, signal);
  return r.run;
}

/** Run `fn` over items with at most `n` in flight. */
export async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const k = i++;
      out[k] = await fn(items[k]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export { searchAll };
