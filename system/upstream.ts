import zlib from 'node:zlib';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { RpcError } from './errors';
import type { Logger } from './log';
import type { Metrics } from './metrics';

export interface UpstreamRequest {
  /** platform name for errors and logs, e.g. "wechat" */
  platform: string;
  /** short API name for errors and logs, e.g. "jscode2session" (never the URL: it may carry secrets) */
  api: string;
  url: string | URL;
  /** default: POST with a body, GET without */
  method?: 'GET' | 'POST';
  /** query parameters: a record is set over the URL's own, URLSearchParams are appended in order (repeats kept) */
  query?: Record<string, string | number | undefined> | URLSearchParams;
  /** a JSON body (content-type application/json) */
  json?: unknown;
  /** a form body (content-type application/x-www-form-urlencoded), fields in this order */
  form?: Record<string, string>;
  /** request headers; a content-type here replaces the one the body's mode sets */
  headers?: Record<string, string>;
  /** the field of a JSON reply that holds the platform's error code, for the metrics label (default `errcode`) */
  errcodeField?: string;
}

/**
 * a platform's answer as it came: its status and headers, the whole body, and that body as a JSON object (parsed once)
 */
export interface RawReply {
  res: Answer;
  body: Buffer;
  /** the body when it is a JSON object, whatever the status; else null */
  json: Record<string, unknown> | null;
}

/** a platform's answer, read whole: its status and headers (the body is beside it) */
export interface Answer {
  status: number;
  /** status 200–299 */
  ok: boolean;
  headers: Headers;
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** the whole call, the answer's body included */
  timeoutMs: number;
  /** the most an answer's body may hold, as sent and decoded (default ANSWER_LIMIT); more is an error */
  answerLimit?: number;
}

/**
 * keep-alive connections to every platform, shared by all outbound calls. undici's request API,
 * not fetch(): fetch ties each call to its AbortController through a WeakRef and a
 * FinalizationRegistry, which young-generation collections treat as strong — every call's objects
 * were promoted to the old generation (the refresher's fleet: ~5 MB/s promoted, a full collection
 * every 2 s; issue 14's RSS row), and it costs several times the CPU a call.
 */
const agent = new Agent({ keepAliveTimeout: 4_000 });

/** the most an answer's body may hold (as sent, and decoded): a platform's largest (media, QR codes) is far less */
export const ANSWER_LIMIT = 64 * 1024 * 1024;

/** an answer over its limit (sent or decoded): reported as E2BIG, never read further */
class AnswerTooLarge extends Error {
  readonly code = 'E2BIG';
  constructor(readonly limit: number) {
    super(`answer over ${limit} bytes`);
    this.name = 'AnswerTooLarge';
  }
}

/** an answer body decoded as fetch() decoded it (gzip, deflate, br), at most `limit` bytes */
function decoded(body: Buffer, encoding: string | undefined, limit: number): Buffer {
  const options = { maxOutputLength: limit };
  try {
    switch ((encoding ?? '').trim().toLowerCase()) {
      case 'gzip':
      case 'x-gzip':
        return zlib.gunzipSync(body, options);
      case 'deflate':
        return zlib.inflateSync(body, options);
      case 'br':
        return zlib.brotliDecompressSync(body, options);
      default:
        return body;
    }
  } catch (err) {
    throw (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? new AnswerTooLarge(limit) : err;
  }
}

/** reads a body whole, refusing (and dropping the connection) past `limit` bytes */
async function readAnswer(body: Dispatcher.ResponseData['body'], announced: unknown, limit: number): Promise<Buffer> {
  if (Number(announced) > limit) {
    body.destroy();
    throw new AnswerTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new AnswerTooLarge(limit);
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

const timeoutError = (ms: number) => new DOMException(`timed out after ${ms} ms`, 'TimeoutError');

/**
 * Every outbound HTTP call gatehouse makes (platform APIs, signed proxies, push forwarding) goes
 * through here: a redirect is never followed — it would re-send tokens, signatures or pushes to
 * whatever host the answer names; a 3xx comes back as the answer it is. The answer's body is read
 * whole within `timeoutMs` (a TimeoutError past it) and within `answerLimit` bytes, as sent and as
 * decoded when the platform compressed it (E2BIG past it: never read further).
 * Throws when there is no answer (see unreachable()).
 */
export async function outboundCall(url: string | URL, init: OutboundInit): Promise<{ res: Answer; body: Buffer }> {
  const headers: Record<string, string> = { ...init.headers };
  // what fetch() sent for a text body with no type of its own
  if (typeof init.body === 'string' && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
    headers['content-type'] = 'text/plain;charset=UTF-8';
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(timeoutError(init.timeoutMs)), init.timeoutMs);
  try {
    const r = await undiciRequest(url, {
      dispatcher: agent,
      method: (init.method ?? 'GET') as 'GET',
      headers,
      body: init.body,
      signal: deadline.signal,
      headersTimeout: init.timeoutMs,
      bodyTimeout: init.timeoutMs,
    });
    const limit = init.answerLimit ?? ANSWER_LIMIT;
    const raw = await readAnswer(r.body, r.headers['content-length'], limit);
    const answerHeaders = new Headers();
    for (const [k, v] of Object.entries(r.headers)) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) answerHeaders.append(k, x);
      else answerHeaders.append(k, v);
    }
    const body = decoded(raw, answerHeaders.get('content-encoding') ?? undefined, limit);
    return {
      res: { status: r.statusCode, ok: r.statusCode >= 200 && r.statusCode <= 299, headers: answerHeaders },
      body,
    };
  } catch (err) {
    throw deadline.signal.aborted ? timeoutError(init.timeoutMs) : err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Why an outbound call failed, for logs and errors: `errno` is the system's code (ECONNREFUSED,
 * ENOTFOUND, ECONNRESET, …; ETIMEDOUT for our own timeout), `why` a few words with it. undici may hide
 * the code in `cause` (an AggregateError when several addresses were tried).
 */
export function unreachable(err: unknown, timeoutMs: number): { errno: string; why: string } {
  const name = (err as Error)?.name;
  if (name === 'TimeoutError') return { errno: 'ETIMEDOUT', why: `timed out after ${timeoutMs} ms (ETIMEDOUT)` };
  if (err instanceof AnswerTooLarge) return { errno: 'E2BIG', why: `answered more than ${err.limit} bytes (E2BIG)` };
  let e = err as { code?: unknown; cause?: unknown; errors?: { code?: unknown }[] } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    const code =
      typeof e.code === 'string' ? e.code : typeof e.errors?.[0]?.code === 'string' ? e.errors[0].code : undefined;
    if (code) return { errno: code, why: `connection failed (${code})` };
    e = e.cause as typeof e;
  }
  return { errno: 'unknown', why: 'connection failed' };
}

/**
 * The log line and the 1005 of a call that got no answer: platform, API, host and errno — never
 * the path or the query (they may carry secrets).
 */
export function unreachableError(
  log: Logger,
  platform: string,
  api: string,
  url: URL | string,
  err: unknown,
  timeoutMs: number,
  started: number,
): RpcError {
  const { errno, why } = unreachable(err, timeoutMs);
  const host = new URL(url).host;
  log.warn({ platform, api, host, errno, ms: Date.now() - started }, `upstream ${platform} ${api}: ${host} ${why}`);
  return new RpcError('UPSTREAM_UNREACHABLE', '', `${platform} ${api}: ${host} ${why}`);
}

/** the body as a JSON object, or null (decoded as fetch's text() decodes: UTF-8, a BOM dropped) */
function jsonObject(body: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(body)) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** the errcode label of a JSON reply: its platform's error-code field (UpstreamRequest.errcodeField), else 0 */
function errcodeLabel(req: UpstreamRequest, b: Record<string, unknown>): string {
  const errcode = b[req.errcodeField ?? 'errcode'] ?? 0;
  return String(errcode).slice(0, 16);
}

/**
 * The one HTTP client gatehouse uses to reach a platform: a timeout per call, no redirects
 * followed, every call counted in gatehouse_upstream_requests_total / _duration_seconds
 * (errcode label: the reply's errcode, `http_<status>`, `timeout`, `unreachable`, `bad_reply`,
 * `not_json`), a call that got no answer logged with its errno and answered 1005. Two modes:
 *   - json(): JSON (or a form) in, a JSON object out; non-2xx → 1005, unparsable → 1007.
 *     Platform error codes inside a 2xx JSON reply are the platform client's business.
 *   - raw(): the answer as it came, any status, for the signed proxies that relay it.
 */
export class Upstream {
  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  private count(req: UpstreamRequest, errcode: string, started: number): void {
    this.record(req.platform, req.api, errcode, started);
  }

  /**
   * Counts a platform call made by other means (the token proxies stream through node:http): the same
   * gatehouse_upstream_requests_total / _duration_seconds series, the same errcode labels.
   */
  record(platform: string, api: string, errcode: string, started: number): void {
    if (!this.metrics) return;
    this.metrics.upstream.inc({ platform, api, errcode });
    this.metrics.upstreamSeconds.observe({ platform, api }, (Date.now() - started) / 1000);
  }

  /** sends the request and reads the whole answer; a call that got no answer is counted, logged and a 1005 */
  private async send(req: UpstreamRequest, started: number): Promise<{ url: URL; res: Answer; body: Buffer }> {
    const url = new URL(req.url);
    if (req.query instanceof URLSearchParams) for (const [k, v] of req.query) url.searchParams.append(k, v);
    else for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    let type: string | undefined;
    let body: string | undefined;
    if (req.json !== undefined) {
      type = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      type = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    const headers = type || req.headers ? { ...(type ? { 'content-type': type } : {}), ...req.headers } : undefined;
    try {
      const { res, body: answer } = await outboundCall(url, {
        method: req.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        body,
        timeoutMs: this.timeoutMs,
      });
      return { url, res, body: answer };
    } catch (err) {
      this.count(req, (err as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable', started);
      throw unreachableError(this.log, req.platform, req.api, url, err, this.timeoutMs, started);
    }
  }

  /** JSON mode: the reply's JSON object; non-2xx → 1005, not a JSON object → 1007 */
  async json<T = Record<string, unknown>>(req: UpstreamRequest): Promise<T> {
    const started = Date.now();
    const { url, res, body } = await this.send(req, started);
    if (res.status < 200 || res.status > 299) {
      this.count(req, `http_${res.status}`, started);
      this.log.warn(
        { platform: req.platform, api: req.api, host: url.host, status: res.status },
        `upstream ${req.platform} ${req.api}: ${url.host} answered HTTP ${res.status}`,
      );
      throw new RpcError('UPSTREAM_UNREACHABLE', '', `${req.platform} ${req.api}: HTTP ${res.status}`);
    }
    const reply = jsonObject(body);
    if (!reply) {
      this.count(req, 'bad_reply', started);
      throw new RpcError('UPSTREAM_BAD_REPLY', '', `${req.platform} ${req.api}: reply is not a JSON object`);
    }
    this.count(req, errcodeLabel(req, reply), started);
    return reply as T;
  }

  /**
   * Raw mode: the answer as it came — any status, the whole body — for callers that relay it or
   * read it their own way. Only a call that got no answer throws (1005).
   */
  async raw(req: UpstreamRequest): Promise<RawReply> {
    const started = Date.now();
    const { res, body } = await this.send(req, started);
    const json = jsonObject(body);
    const label =
      res.status < 200 || res.status > 299 ? `http_${res.status}` : json ? errcodeLabel(req, json) : 'not_json';
    this.count(req, label, started);
    return { res, body, json };
  }
}
