/**
 * One traffic kind of the soak (bench/soak.ts), in a process of its own: autocannon's API (not its
 * CLI, for `verifyBody`: every response body is checked, not just a sample), a warm-up run and
 * then the measured run, one JSON line on stdout at the end.
 *
 *   node --require tsx/cjs bench/soak-load.ts '<SoakLoadSpec as JSON>'
 *
 * Checks per body: `envelope` — a JSON envelope with returnCode 0 (one with another returnCode,
 * e.g. 1001, is an error envelope: a failed request, counted in `nonZero`; anything that is not an
 * envelope is a bad body); `exact` — exactly `expect` (the push's `success`, the fake's menu JSON).
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
  /** error envelopes: returnCode != 0 (check `envelope` only); failed requests like bad bodies */
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

/** what a response body is: as expected, an error envelope (returnCode != 0), or a bad body */
export function classifyBody(
  spec: Pick<SoakLoadSpec, 'check' | 'expect'>,
  body: string,
): 'ok' | 'error envelope' | 'bad body' {
  if (spec.check === 'exact') return body === spec.expect ? 'ok' : 'bad body';
  let rc: unknown;
  try {
    rc = (JSON.parse(body) as { returnCode?: unknown } | null)?.returnCode;
  } catch {
    rc = undefined;
  }
  if (typeof rc !== 'number') return 'bad body';
  return rc === 0 ? 'ok' : 'error envelope';
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as SoakLoadSpec;
  let badBodies = 0;
  let nonZero = 0;
  let firstBad: string | undefined;
  let firstNonZero: string | undefined;
  // an error envelope fails the check too (autocannon counts it as a mismatch), counted apart
  const verifyBody = (body: string): boolean => {
    const kind = classifyBody(spec, body);
    if (kind === 'error envelope') {
      nonZero++;
      firstNonZero ??= body.slice(0, 300);
    } else if (kind === 'bad body') {
      badBodies++;
      firstBad ??= body.slice(0, 300);
    }
    return kind === 'ok';
  };
  const run = async (durationS: number): Promise<SoakPhase> => {
    badBodies = 0;
    nonZero = 0;
    const r = await autocannon({
      url: spec.url,
      method: spec.method,
      headers: {
        ...(spec.body === undefined ? {} : { 'content-type': spec.headers['content-type'] ?? 'application/json' }),
        ...spec.headers,
      },
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
      s5xx: Object.entries(statusCodes)
        .filter(([k]) => k.startsWith('5'))
        .reduce((a, [, n]) => a + n, 0),
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

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`soak-load: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  });
}
