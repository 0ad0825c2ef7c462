import type { LoadResult } from './load';

/** One row of the results table. */
export interface Row {
  scenario: string;
  result?: LoadResult;
  /** why the scenario did not run (or did not finish) */
  failed?: string;
  /** CPU time the server process spent per request served (warm-up included), in µs */
  cpuUsPerRequest?: number;
  /** minimum share of the bare Koa requests/s, in %, when the scenario has a target */
  targetPct?: number;
}

export interface Verdict {
  ratioPct?: number;
  met?: boolean;
}

export function verdict(row: Row, baseline: number | undefined): Verdict {
  if (!row.result || !baseline) return {};
  const ratioPct = (row.result.requestsPerSec / baseline) * 100;
  return { ratioPct, met: row.targetPct === undefined ? undefined : ratioPct >= row.targetPct };
}

const num = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * A plain-text table; misses are marked "MISSED" so that they stand out in a log. Besides the
 * required columns it shows the server's CPU time per request and the ratio that CPU cost gives
 * against bare Koa's: the throughput ratio to expect if the server had a core to itself.
 */
export function table(rows: Row[], baseline: number | undefined, baselineCpu: number | undefined): string {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'errors', 'non-2xx', 'bad body', 'srv CPU us/req', 'CPU vs bare', 'vs bare Koa', 'target', 'verdict'];
  const right = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const body = rows.map((row) => {
    const r = row.result;
    const v = verdict(row, baseline);
    const target = row.targetPct === undefined ? '-' : `>= ${row.targetPct} %`;
    if (!r) return [row.scenario, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', target, `NOT RUN: ${row.failed ?? '?'}`];
    const bad = r.errors + r.non2xx + r.mismatches;
    let mark = v.met === undefined ? '-' : v.met ? 'met' : 'MISSED';
    if (bad > 0) mark += ' + FAILED REQUESTS';
    const cpu = row.cpuUsPerRequest;
    return [
      row.scenario,
      num(r.requestsPerSec),
      num(r.p50),
      num(r.p99),
      num(r.total),
      num(r.errors),
      num(r.non2xx),
      num(r.mismatches),
      cpu === undefined ? '-' : num(cpu, 1),
      cpu === undefined || !baselineCpu ? '-' : `${num((baselineCpu / cpu) * 100, 1)} %`,
      v.ratioPct === undefined ? '-' : `${num(v.ratioPct, 1)} %`,
      target,
      mark,
    ];
  });
  const last = head.length - 1;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === last ? 0 : b[i].length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === last ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
