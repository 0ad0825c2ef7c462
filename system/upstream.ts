import { RpcError } from './errors';
import type { Logger } from './log';
import type { Metrics } from './metrics';

export interface UpstreamRequest {
  /** platform name for errors and logs, e.g. "wechat" */
  platform: string;
  /** short API name for errors and logs, e.g. "jscode2session" (never the URL: it may carry secrets) */
  api: string;
  url: string;
  method?: 'GET' | 'POST';
  query?: Record<string, string | number | undefined>;
  json?: unknown;
}

/**
 * Every outbound HTTP call gatehouse makes with fetch (platform APIs, signed proxies, push
 * forwarding) goes through here: a redirect is never followed — it would re-send tokens,
 * signatures or pushes to whatever host the answer names. A 3xx comes back as the answer it is.
 */
export function outboundFetch(url: string | URL, init: Omit<RequestInit, 'redirect'>): Promise<Response> {
  return fetch(url, { ...init, redirect: 'manual' });
}

/**
 * Why an outbound call failed, for logs and errors: `errno` is the system's code (ECONNREFUSED,
 * ENOTFOUND, ECONNRESET, …; ETIMEDOUT for our own timeout), `why` a few words with it. fetch hides
 * the code in `cause` (an AggregateError when several addresses were tried).
 */
export function unreachable(err: unknown, timeoutMs: number): { errno: string; why: string } {
  const name = (err as Error)?.name;
  if (name === 'TimeoutError') return { errno: 'ETIMEDOUT', why: `timed out after ${timeoutMs} ms (ETIMEDOUT)` };
  let e = err as { code?: unknown; cause?: unknown; errors?: { code?: unknown }[] } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    const code = typeof e.code === 'string' ? e.code : typeof e.errors?.[0]?.code === 'string' ? e.errors[0].code : undefined;
    if (code) return { errno: code, why: `connection failed (${code})` };
    e = e.cause as typeof e;
  }
  return { errno: 'unknown', why: 'connection failed' };
}

/**
 * The log line and the 1005 of a call that got no answer: platform, API, host and errno — never
 * the path or the query (they may carry secrets).
 */
export function unreachableError(log: Logger, platform: string, api: string, url: URL | string, err: unknown, timeoutMs: number, started: number): RpcError {
  const { errno, why } = unreachable(err, timeoutMs);
  const host = new URL(url).host;
  log.warn({ platform, api, host, errno, ms: Date.now() - started }, `upstream ${platform} ${api}: ${host} ${why}`);
  return new RpcError('UPSTREAM_UNREACHABLE', '', `${platform} ${api}: ${host} ${why}`);
}

/**
 * The one HTTP client gatehouse uses to reach a platform: a timeout per call, JSON in and out,
 * failures mapped to envelope codes (1005 unreachable / non-2xx, 1007 unparsable). Platform
 * error codes inside a 2xx JSON reply are the platform client's business.
 */
export class Upstream {
  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  private count(req: UpstreamRequest, errcode: string, started: number): void {
    if (!this.metrics) return;
    this.metrics.upstream.inc({ platform: req.platform, api: req.api, errcode });
    this.metrics.upstreamSeconds.observe({ platform: req.platform, api: req.api }, (Date.now() - started) / 1000);
  }

  async json<T = Record<string, unknown>>(req: UpstreamRequest): Promise<T> {
    const url = new URL(req.url);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const started = Date.now();
    let res: Response;
    let text: string;
    try {
      res = await outboundFetch(url, {
        method: req.method ?? (req.json === undefined ? 'GET' : 'POST'),
        headers: req.json === undefined ? undefined : { 'content-type': 'application/json' },
        body: req.json === undefined ? undefined : JSON.stringify(req.json),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      this.count(req, (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', started);
      throw unreachableError(this.log, req.platform, req.api, url, err, this.timeoutMs, started);
    }
    if (res.status < 200 || res.status > 299) {
      this.count(req, `http_${res.status}`, started);
      this.log.warn({ platform: req.platform, api: req.api, host: url.host, status: res.status }, `upstream ${req.platform} ${req.api}: ${url.host} answered HTTP ${res.status}`);
      throw new RpcError('UPSTREAM_UNREACHABLE', '', `${req.platform} ${req.api}: HTTP ${res.status}`);
    }
    try {
      const body = JSON.parse(text) as unknown;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      const b = body as { errcode?: unknown; err_no?: unknown; code?: unknown; status?: unknown };
      const errcode = b.errcode ?? b.err_no ?? (typeof b.code === 'string' ? b.code : undefined) ?? b.status ?? 0;
      this.count(req, String(errcode).slice(0, 16), started);
      return body as T;
    } catch {
      this.count(req, 'bad_reply', started);
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${req.platform} ${req.api}: reply is not a JSON object`);
    }
  }
}
