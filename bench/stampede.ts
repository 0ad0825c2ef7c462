/**
 * The cold-stampede load, run as its own process by bench/tokens.ts:
 *
 *   BENCH_STAMPEDE='{"url":"http://127.0.0.1:1234","body":"…","authorization":"Bearer …","n":1000}' \
 *     node --require tsx/cjs bench/stampede.ts
 *
 * First opens `n` keep-alive connections (n concurrent GET /healthz, not measured), so that TCP
 * set-up and the server's accept backlog are not part of the measurement; then sends the `n`
 * POSTs at once, one per connection, and prints one JSON line: the wall time from the first
 * request written to the last response read, per-request latencies, returnCodes, distinct tokens.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface StampedeInput {
  url: string;
  body: string;
  authorization: string;
  n: number;
}

export interface StampedeOutput {
  /** connections open before the burst (should be n) */
  warmSockets: number;
  /** first request created → last response read */
  wallMs: number;
  /** when the burst began (epoch ms, fractional) */
  startedAt: number;
  /** first request created → last request handed to the OS (the client's own share of wallMs) */
  sendMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** responses per returnCode ("http <status>" / "error: …" for failures) */
  codes: Record<string, number>;
  /** distinct token values in the answers */
  tokens: string[];
}

interface Answer {
  ms: number;
  code: string;
  token?: string;
}

function request(
  agent: http.Agent,
  url: URL,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
  onSent?: () => void,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        agent,
        method,
        headers:
          body === undefined
            ? headers
            : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (onSent) req.on('finish', onSent);
    req.end(body);
  });
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;

async function main(): Promise<void> {
  const input = JSON.parse(process.env.BENCH_STAMPEDE ?? '') as StampedeInput;
  const url = new URL(input.url);
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: input.n,
    maxFreeSockets: input.n,
    keepAliveMsecs: 60_000,
  });

  // warm-up: n connections, all open at once
  await Promise.all(Array.from({ length: input.n }, () => request(agent, new URL('/healthz', url), 'GET')));
  const warmSockets = Object.values(agent.freeSockets).reduce((a, list) => a + (list?.length ?? 0), 0);

  const headers = { authorization: input.authorization };
  const answers: Answer[] = [];
  let lastEnd = 0;
  let lastSent = 0;
  const t0 = performance.now();
  const pending = Array.from({ length: input.n }, async () => {
    const start = performance.now();
    let a: Answer;
    try {
      const r = await request(
        agent,
        url,
        'POST',
        input.body,
        headers,
        () => (lastSent = Math.max(lastSent, performance.now())),
      );
      const ms = performance.now() - start;
      let parsed: { returnCode?: unknown; returnData?: { token?: unknown } } | undefined;
      try {
        parsed = JSON.parse(r.text) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      a =
        r.status !== 200
          ? { ms, code: `http ${r.status}` }
          : {
              ms,
              code: String(parsed?.returnCode),
              token: typeof parsed?.returnData?.token === 'string' ? parsed.returnData.token : undefined,
            };
    } catch (err) {
      a = { ms: performance.now() - start, code: `error: ${(err as Error).message}` };
    }
    lastEnd = Math.max(lastEnd, performance.now());
    answers.push(a);
  });
  await Promise.all(pending);
  agent.destroy();

  const ms = answers.map((a) => a.ms).sort((x, y) => x - y);
  const codes: Record<string, number> = {};
  for (const a of answers) codes[a.code] = (codes[a.code] ?? 0) + 1;
  const out: StampedeOutput = {
    warmSockets,
    wallMs: lastEnd - t0,
    startedAt: performance.timeOrigin + t0,
    sendMs: lastSent - t0,
    p50Ms: quantile(ms, 0.5),
    p99Ms: quantile(ms, 0.99),
    maxMs: ms[ms.length - 1] ?? 0,
    codes,
    tokens: [...new Set(answers.flatMap((a) => (a.token ? [a.token] : [])))],
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`stampede: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
