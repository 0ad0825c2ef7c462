import type { GcWindow } from './gc';
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
  /** maximum p99 latency as a multiple of bare Koa's p99, when the scenario has that target too */
  targetP99x?: number;
  /** maximum p50 latency added to the baseline's p50, in ms, when the scenario has that target */
  targetP50AddMs?: number;
  /** the server's garbage collection over the load (warm-up included; gatehouse only) */
  gc?: GcWindow;
}

/** what the rows are compared with: the bare Koa row's result (or another baseline row's) */
export type Baseline = Pick<LoadResult, 'requestsPerSec' | 'p99'> & Partial<Pick<LoadResult, 'p50'>>;

export interface Verdict {
  /** errors (timeouts included) + non-2xx answers + bad bodies in the measured run */
  failedRequests?: number;
  ratioPct?: number;
  /** p99 / bare Koa's p99 */
  p99x?: number;
  /** p50 − the baseline's p50, in ms */
  p50AddMs?: number;
  /** every target met and no failed request (false as soon as one request failed, target or not) */
  met?: boolean;
}

/** requests of a load run that did not get the expected answer: connection errors and timeouts, non-2xx, bad bodies */
export function failedRequests(r: Pick<LoadResult, 'errors' | 'timeouts' | 'non2xx' | 'mismatches'>): number {
  // autocannon counts a timeout in `errors` as well as in `timeouts`
  return Math.max(r.errors, r.timeouts) + r.non2xx + r.mismatches;
}

export function verdict(row: Row, baseline: Baseline | undefined): Verdict {
  if (!row.result) return {};
  const failed = failedRequests(row.result);
  if (!baseline?.requestsPerSec) return failed ? { failedRequests: failed, met: false } : { failedRequests: failed };
  const ratioPct = (row.result.requestsPerSec / baseline.requestsPerSec) * 100;
  // autocannon reports whole milliseconds: a 1 ms baseline p99 is "at most 1 ms"
  const p99x = row.result.p99 / Math.max(baseline.p99, 1);
  const p50AddMs = baseline.p50 === undefined ? undefined : row.result.p50 - baseline.p50;
  const targets = [
    ...(row.targetPct === undefined ? [] : [ratioPct >= row.targetPct]),
    ...(row.targetP99x === undefined ? [] : [p99x <= row.targetP99x]),
    ...(row.targetP50AddMs === undefined || p50AddMs === undefined ? [] : [p50AddMs <= row.targetP50AddMs]),
  ];
  // a row with failed requests met nothing: its req/s and latencies are not those of correct answers
  const met = failed > 0 ? false : targets.length ? targets.every(Boolean) : undefined;
  return { failedRequests: failed, ratioPct, p99x, p50AddMs, met };
}

export function targetText(row: Row): string {
  const parts = [
    ...(row.targetPct === undefined ? [] : [`>= ${row.targetPct} %`]),
    ...(row.targetP99x === undefined ? [] : [`p99 <= ${row.targetP99x}x`]),
    ...(row.targetP50AddMs === undefined ? [] : [`p50 +<= ${row.targetP50AddMs} ms`]),
  ];
  return parts.length ? parts.join(', ') : '-';
}

const num = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export interface TableOptions {
  /** what the ratios compare with ("bare Koa" unless said), and its short form ("bare") */
  baselineName?: string;
  baselineShort?: string;
  /** a "p50 added" column: p50 minus the baseline's */
  p50Added?: boolean;
}

/** the verdict column: "met", "MISSED", "-" (no target), or the failed requests (never "met" then) */
export function verdictText(row: Row, v: Verdict): string {
  if (v.failedRequests) return `${targetText(row) === '-' ? '' : 'MISSED: '}FAILED REQUESTS (${v.failedRequests})`;
  return v.met === undefined ? '-' : v.met ? 'met' : 'MISSED';
}

/**
 * A plain-text table; misses are marked "MISSED" so that they stand out in a log. Besides the
 * required columns it shows the server's CPU time per request and the ratio that CPU cost gives
 * against bare Koa's: the throughput ratio to expect if the server had a core to itself.
 */
export function table(
  rows: Row[],
  baseline: Baseline | undefined,
  baselineCpu: number | undefined,
  opts: TableOptions = {},
): string {
  const name = opts.baselineName ?? 'bare Koa';
  const short = opts.baselineShort ?? 'bare';
  const head = [
    'scenario',
    'req/s',
    'p50 ms',
    'p99 ms',
    'requests',
    'errors',
    'non-2xx',
    'bad body',
    'srv CPU us/req',
    `CPU vs ${short}`,
    `vs ${name}`,
    `p99 vs ${short}`,
    ...(opts.p50Added ? ['p50 added'] : []),
    'target',
    'verdict',
  ];
  const right = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...(opts.p50Added ? [12] : [])]);
  const body = rows.map((row) => {
    const r = row.result;
    const v = verdict(row, baseline);
    const target = targetText(row);
    if (!r)
      return [
        row.scenario,
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        '-',
        ...(opts.p50Added ? ['-'] : []),
        target,
        `NOT RUN: ${row.failed ?? '?'}`,
      ];
    const mark = verdictText(row, v);
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
      v.p99x === undefined ? '-' : `${num(v.p99x, 2)}x`,
      ...(opts.p50Added ? [v.p50AddMs === undefined ? '-' : `${v.p50AddMs >= 0 ? '+' : ''}${num(v.p50AddMs)} ms`] : []),
      target,
      mark,
    ];
  });
  return align(head, body, right);
}

/** One measured quantity of a scenario that is not a load run (stampede, token fleet). */
export interface Check {
  scenario: string;
  what: string;
  value: string;
  /** the target, as text; '-' or undefined when the line is for information */
  target?: string;
  met?: boolean;
}

/** the checks as a table; the scenario name is shown once per group */
export function checkTable(checks: Check[]): string {
  const head = ['scenario', 'measured', 'value', 'target', 'verdict'];
  const body = checks.map((c, i) => [
    i > 0 && checks[i - 1].scenario === c.scenario ? '' : c.scenario,
    c.what,
    c.value,
    c.target ?? '-',
    c.met === undefined ? '-' : c.met ? 'met' : 'MISSED',
  ]);
  return align(head, body, new Set([2]));
}

function align(head: string[], body: string[][], right: Set<number>): string {
  const last = head.length - 1;
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === last ? 0 : b[i].length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === last ? c : right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
