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
      const why = (err as Error).name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : 'connection failed';
      this.count(req, (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', started);
      this.log.warn({ platform: req.platform, api: req.api, ms: Date.now() - started }, `upstream ${why}`);
      throw new RpcError('UPSTREAM_UNREACHABLE', '', `${req.platform} ${req.api}: ${why}`);
    }
    if (res.status < 200 || res.status > 299) {
      this.count(req, `http_${res.status}`, started);
      this.log.warn({ platform: req.platform, api: req.api, status: res.status }, 'upstream answered non-2xx');
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
