/**
 * One traffic kind of the soak (bench/soak.ts), in a process of its own: autocannon's API (not its
 * CLI, for `verifyBody`: every response body is checked, not just a sample), a warm-up run and
 * then the measured run, one JSON line on stdout at the end.
 *
 *   node --require tsx/cjs bench/soak-load.ts '<SoakLoadSpec as JSON>'
 *
 * Checks per body: `envelope` — JSON with a numeric returnCode (those with returnCode != 0 are
 * counted apart); `exact` — exactly `expect` (the push's `success`, the fake's menu JSON).
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

export interface SoakLoadSpec {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  check: 'envelope' | 'exact';
  expect?: string;
  connections: number;
  warmupS: number;
  durationS: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  statusCodeStats: Record<string, { count: number }>;
}

export interface SoakPhase {
  requestsPerSec: number;
  total: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** 5xx answers */
  s5xx: number;
  /** bodies that failed the check */
  badBodies: number;
  /** envelopes with returnCode != 0 (check `envelope` only) */
  nonZero: number;
  statusCodes: Record<string, number>;
}

export interface SoakLoadResult {
  warmup: SoakPhase;
  measured: SoakPhase;
  /** the first body that failed the check, and the first returnCode != 0 envelope (truncated) */
  firstBad?: string;
  firstNonZero?: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as SoakLoadSpec;
  let badBodies = 0;
  let nonZero = 0;
  let firstBad: string | undefined;
  let firstNonZero: string | undefined;
  const verifyBody = (body: string): boolean => {
    let ok: boolean;
    if (spec.check === 'exact') ok = body === spec.expect;
    else {
      let rc: unknown;
      try {
        rc = (JSON.parse(body) as { returnCode?: unknown } | null)?.returnCode;
      } catch {
        rc = undefined;
      }
      ok = typeof rc === 'number';
      if (ok && rc !== 0) {
        nonZero++;
        firstNonZero ??= body.slice(0, 300);
      }
    }
    if (!ok) {
      badBodies++;
      firstBad ??= body.slice(0, 300);
    }
    return ok;
  };
  const run = async (durationS: number): Promise<SoakPhase> => {
    badBodies = 0;
    nonZero = 0;
    const r = await autocannon({
      url: spec.url,
      method: spec.method,
      headers: { ...(spec.body === undefined ? {} : { 'content-type': spec.headers['content-type'] ?? 'application/json' }), ...spec.headers },
      body: spec.body,
      connections: spec.connections,
      duration: durationS,
      verifyBody,
    });
    const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
    return {
      requestsPerSec: r.requests.average,
      total: r.requests.total,
      p50: r.latency.p50,
      p99: r.latency.p99,
      max: r.latency.max,
      errors: r.errors,
      timeouts: r.timeouts,
      non2xx: r.non2xx,
      s5xx: Object.entries(statusCodes).filter(([k]) => k.startsWith('5')).reduce((a, [, n]) => a + n, 0),
      badBodies,
      nonZero,
      statusCodes,
    };
  };
  const warmup = await run(spec.warmupS);
  const measured = await run(spec.durationS);
  const out: SoakLoadResult = { warmup, measured, firstBad, firstNonZero };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak-load: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
