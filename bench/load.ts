import path from 'node:path';
import { startChild } from './children';
import { REPO } from './targets';

/**
 * Load from a separate process: autocannon's own CLI, one run per scenario, with a warm-up phase
 * it does not count. Every response body is compared with the one sampled before the run
 * (`--expectBody`), so a wrong returnCode under load shows up as a "bad body".
 */

export const AUTOCANNON = path.join('node_modules', 'autocannon', 'autocannon.js');

export interface LoadOptions {
  url: string;
  /** POST unless said otherwise */
  method?: 'GET' | 'POST';
  /** the request body (none for a GET) */
  body?: string;
  /** its content type: application/json unless said otherwise */
  contentType?: string;
  /** the exact response body every request must get */
  expectBody: string;
  /** request headers besides content-type (e.g. authorization) */
  headers?: Record<string, string>;
  connections: number;
  durationS: number;
  warmupS: number;
}

export interface LoadResult {
  requestsPerSec: number;
  /** requests in the measured phase */
  total: number;
  /** requests in the warm-up phase */
  warmupTotal: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

/** the argv after `node` */
export function loadArgs(o: LoadOptions): string[] {
  return [
    AUTOCANNON,
    '--connections',
    String(o.connections),
    '--duration',
    String(o.durationS),
    ...(o.warmupS > 0 ? ['--warmup', '[', '-c', String(o.connections), '-d', String(o.warmupS), ']'] : []),
    '--method',
    o.method ?? 'POST',
    ...(o.body === undefined ? [] : ['--headers', `content-type=${o.contentType ?? 'application/json'}`]),
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['--headers', `${k}=${v}`]),
    ...(o.body === undefined ? [] : ['--body', o.body]),
    '--expectBody',
    o.expectBody,
    '--json',
    o.url,
  ];
}

/** the same, as a line to paste into a shell (from the repository root) */
export function loadCommand(o: LoadOptions): string {
  return ['node', ...loadArgs(o)].map(shellQuote).join(' ');
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const child = startChild('autocannon', loadArgs(o), { cwd: REPO, stdoutOnly: true });
  const code = await child.exited;
  const output = child.output();
  // with --warmup, autocannon prints the warm-up's JSON line first; the measured run is the last
  const lines = output.split('\n').filter((l) => l.startsWith('{'));
  const line = lines.pop();
  if (code !== 0 || !line)
    throw new Error(`autocannon exited ${code} without a result:\n${output.trim().slice(-2000)}`);
  const r = JSON.parse(line) as AutocannonJson;
  const warm = lines.length ? (JSON.parse(lines[lines.length - 1]) as AutocannonJson) : undefined;
  return {
    requestsPerSec: r.requests.average,
    total: r.requests.total,
    warmupTotal: warm?.requests.total ?? 0,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches,
  };
}
