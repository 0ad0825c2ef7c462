import http from 'node:http';
import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import { JWT_SECRET } from './targets';

/**
 * The proxy scenario of `npm run bench`: GET /proxy/wechat-app/{codeName}/cgi-bin/menu/get through
 * gatehouse (which checks the caller, adds its access_token and forwards to the fake platform, a
 * process of its own) against the same GET through a plain Node keep-alive reverse proxy (the anchor,
 * bench/plain-proxy.ts: no auth, no token work) and straight to the fake, with the same token — same
 * connections, same duration, same run. Targets (issue 14): gatehouse keeps at least
 * TARGET_PROXY_PCT of the plain proxy's throughput and adds at most TARGET_PROXY_P50_ADD_MS at p50
 * over it.
 */

export const TARGET_PROXY_PCT = 80;
export const TARGET_PROXY_P50_ADD_MS = 1;
export const PROXY_CODE_NAME = 'proxy';
export const PROXY_APP = { appId: 'wxproxy000000001', secret: 's', tokenMode: 'classic' };

/** a proxy caller's token: HS256 with GATEHOUSE_JWT_SECRET, claims {sub, scope: "proxy.*"}, 1 h */
export function proxyCallerToken(): string {
  return jwt.sign({ sub: 'bench-proxy', scope: 'proxy.*' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
}

export interface Sequential {
  p50Ms: number;
  p99Ms: number;
  /** answers other than HTTP 200 with the expected body */
  bad: number;
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;

/**
 * `n` GETs one after the other on one keep-alive connection (after `warm` unmeasured ones): the
 * latency without queueing, to sub-millisecond precision (autocannon reports whole milliseconds).
 */
export async function sequentialGets(
  url: string,
  headers: Record<string, string>,
  expectBody: string,
  n: number,
  warm = 200,
): Promise<Sequential> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const one = () =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.get(url, { agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(res.statusCode === 200 && text === expectBody));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  try {
    for (let i = 0; i < warm; i++) await one();
    const ms: number[] = [];
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      if (!(await one())) bad++;
      ms.push(performance.now() - t);
    }
    ms.sort((a, b) => a - b);
    return { p50Ms: quantile(ms, 0.5), p99Ms: quantile(ms, 0.99), bad };
  } finally {
    agent.destroy();
  }
}
