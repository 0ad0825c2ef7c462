import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type Koa from 'koa';
import { scopeCovers, type Caller } from '../../system/callers';
import { Codes, RpcError, httpStatusOf, messageOf, type ErrcodeRules } from '../../system/errors';
import { accessLine } from '../../system/rpc';
import { unreachableError, type Answer } from '../../system/upstream';
import { claimCovers } from '../claims';
import type { AppConfig } from './apps';
import type { Services } from '../contract';
import type { TokenSpec } from './tokens/engine';
import { sendWithToken } from './tokens/spec';

/** A proxy call gatehouse itself refuses: `{"returnCode","returnMessage"}` with an HTTP status (§7). */
export class ProxyRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
  ) {
    super(messageOf(code));
  }
}

export function answerRefusal(ctx: Koa.Context, err: ProxyRefused): void {
  ctx.status = err.status;
  ctx.body = { returnCode: err.code, returnMessage: messageOf(err.code) };
}

/**
 * Set in `ctx.state` (a symbol: no request can set it) by a route's own guard that admitted a
 * request without a caller token — the varys-compatible routes, for a client in
 * GATEHOUSE_VARYS_ALLOW. A request that sends a token is still checked as below.
 */
export const ADMITTED: unique symbol = Symbol('gatehouse.admitted');

/**
 * Checks the caller of a proxy route: a valid JWT (401), whose scope covers `proxy.<platform>`
 * and whose `apps` claim covers every subject the route names — the app of `:codeName` and any
 * authorizer, corp or merchant in its parameters (403; the same rule as interfaces: claims.ts).
 * Runs before the app is looked up, so a caller learns nothing about apps it may not touch.
 */
export async function proxyCaller(ctx: Koa.Context, sv: Services, platform: string): Promise<Caller | undefined> {
  // admitted by the route's own guard (the varys-compatible routes' network allowlist) and no token sent
  if ((ctx.state as Record<symbol, unknown>)[ADMITTED] === true && !ctx.get('authorization')) return undefined;
  let caller: Caller;
  try {
    caller = sv.callers.verify(ctx.get('authorization') || undefined);
  } catch {
    throw new ProxyRefused(401, Codes.UNAUTHENTICATED);
  }
  if (!scopeCovers(caller.scope, `proxy.${platform}`)) throw new ProxyRefused(403, Codes.FORBIDDEN);
  // without an `apps` claim every subject is covered: no lookups, no await
  if (caller.apps && !(await claimCovers(caller, sv, platform, ctx.params as Record<string, unknown>)))
    throw new ProxyRefused(403, Codes.FORBIDDEN);
  return caller;
}

/**
 * The platform path of a proxy URL (what follows the route's fixed segments), refused (400) when
 * it could leave the platform's base URL: `..` or `.` segments, encoded slashes or backslashes,
 * an absolute URL, a scheme or a host.
 */
export function platformPath(rawPath: string): string {
  if (/%2f|%5c|\\/i.test(rawPath)) throw new ProxyRefused(400, Codes.PARA_ERROR);
  const segments = rawPath.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw new ProxyRefused(400, Codes.PARA_ERROR);
  for (const seg of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(seg);
    } catch {
      throw new ProxyRefused(400, Codes.PARA_ERROR);
    }
    if (
      decoded === '..' ||
      decoded === '.' ||
      decoded.includes('/') ||
      decoded.includes(':') ||
      /[\u0000-\u001f]/.test(decoded)
    ) {
      throw new ProxyRefused(400, Codes.PARA_ERROR);
    }
  }
  return `/${segments.join('/')}`;
}

/** the raw (still encoded) part of the request path after `prefixSegments` segments */
export function restOfPath(ctx: Koa.Context, prefixSegments: number): string {
  const raw = ctx.originalUrl.split('?')[0];
  const parts = raw.split('/');
  // parts[0] is '' (leading slash): skip it and the fixed segments
  return parts.slice(1 + prefixSegments).join('/');
}

/** reads the request body for forwarding, at most `limit` bytes (413 beyond) */
export async function proxyBody(ctx: Koa.Context, limit: number): Promise<Buffer | undefined> {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return undefined;
  const announced = Number(ctx.get('content-length') || 0);
  if (announced > limit) throw new ProxyRefused(413, Codes.REQUEST_IS_NOT_JSON);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ProxyRefused(413, Codes.REQUEST_IS_NOT_JSON);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** What a merchant's signed proxy (Fengniao, Shansong) forwards: the app, the merchant, the platform path, the body. */
export interface MerchantProxyRequest {
  app: AppConfig;
  merchant: string;
  path: string;
  body: Buffer | undefined;
}

/**
 * The checks every merchant proxy makes first, in this order: the caller (scope and `apps` claim,
 * 4001 / 4003), the enabled app of `:codeName` (404), the merchant of route parameter `param`
 * (400 unless `valid`), the platform path after `/proxy/<platform>/{codeName}/{merchant}` (400), the
 * body within GATEHOUSE_PROXY_BODY_LIMIT (413).
 */
export async function merchantProxyRequest(
  ctx: Koa.Context,
  sv: Services,
  platform: string,
  param: string,
  valid: (merchant: string) => boolean,
): Promise<MerchantProxyRequest> {
  await proxyCaller(ctx, sv, platform);
  const app = await sv.apps.get(platform, String(ctx.params.codeName));
  if (!app?.enabled) throw new ProxyRefused(404, Codes.NO_APP);
  const merchant = String(ctx.params[param]);
  if (!valid(merchant)) throw new ProxyRefused(400, Codes.PARA_ERROR);
  const path = platformPath(restOfPath(ctx, 4));
  return { app, merchant, path, body: await proxyBody(ctx, sv.config.proxyBodyLimit) };
}

/** headers of one connection (RFC 9110 §7.6.1): never relayed in either direction */
const HOP_BY_HOP_ONLY = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
];
/** …and, on answers outboundCall() has read and decoded already, the headers that described the body as it was sent */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_ONLY, 'content-encoding', 'content-length']);

/** passes a platform response through: status, headers (less hop-by-hop ones) and body */
export function relay(ctx: Koa.Context, res: Answer, body: Buffer | ReadableStream<Uint8Array> | null): void {
  ctx.status = res.status;
  res.headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k)) ctx.set(k, v);
  });
  if (body === null) ctx.body = null;
  else if (Buffer.isBuffer(body)) ctx.body = body;
  else ctx.body = Readable.fromWeb(body as WebReadableStream);
}

/** a wrapper for proxy routes: refusals become their JSON error, platform failures a 502 */
export function proxyRoute(sv: Services, handler: (ctx: Koa.Context) => Promise<void>): Koa.Middleware {
  return async (ctx) => {
    const started = performance.now();
    try {
      await handler(ctx);
      accessLine(sv.log, ctx, started);
    } catch (err) {
      answerProxyError(sv, ctx, err);
      accessLine(sv.log, ctx, started);
    }
  };
}

function answerProxyError(sv: Services, ctx: Koa.Context, err: unknown): void {
  if (err instanceof ProxyRefused) return answerRefusal(ctx, err);
  if (err instanceof RpcError) {
    ctx.status = httpStatusOf(err);
    ctx.body = {
      returnCode: err.code,
      returnMessage: messageOf(err.code),
      ...(err.code === Codes.UPSTREAM_ERROR ? { returnData: err.data } : {}),
    };
    return;
  }
  sv.log.error({ path: ctx.path, err }, 'proxy failed');
  ctx.status = 502;
  ctx.body = { returnCode: Codes.INTERNAL_ERROR, returnMessage: messageOf(Codes.INTERNAL_ERROR) };
}

/** What a token proxy needs to know about the app named in its URL. */
export interface ProxyTarget {
  spec: TokenSpec;
}

export interface TokenProxy {
  /** app platform: the caller's scope must cover `proxy.<platform>` */
  platform: string;
  /** the platform's name in the upstream metrics and logs (`wechat`) */
  upstream: string;
  /** the platform's base URL */
  base: string;
  /** the query parameter that carries the token */
  param?: string;
  /** or the request header that carries it, with its value (Feishu: `authorization: Bearer …`) */
  header?: (token: string) => [string, string];
  /** the field of a JSON answer holding the platform's error code (default `errcode`; Feishu: `code`) */
  errcodeField?: string;
  /** whether an answer refused the token, when errcodes do not say it (DingTalk's new API: HTTP 401) */
  refused?: (status: number, body: Buffer) => boolean;
  /** fixed path segments before the platform path (`proxy`, `wechat-app`, `{codeName}` = 3) */
  fixed: number;
  /** the app and token spec named by the URL; throws 1012 (→ 404) / 1014 (→ 503) */
  resolve(ctx: Koa.Context): Promise<ProxyTarget>;
  /** the platform's errcode rules: which errcodes in an answer refuse the token sent */
  rules: ErrcodeRules;
}

/** how long a proxied platform call may take (uploads and downloads included) */
const PROXY_TIMEOUT_MS = 60_000;
/** platform answers up to this size are read to look for an invalid-token errcode */
const INSPECT_LIMIT = 1024 * 1024;
const FORWARDED_HEADERS = ['content-type', 'accept', 'accept-language', 'user-agent'];
const RELAY_SKIP = new Set(HOP_BY_HOP_ONLY);
/**
 * keep-alive connections to the platforms: one undici Pool per origin, shared by every proxy route
 * (several times cheaper per call than node:http's client, which was several times cheaper than
 * fetch). Bounded: one per platform base URL the node forwards to.
 */
const pools = new Map<string, Pool>();
function poolFor(origin: string): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, {
      connections: 256,
      headersTimeout: PROXY_TIMEOUT_MS,
      bodyTimeout: PROXY_TIMEOUT_MS,
    });
    pools.set(origin, pool);
  }
  return pool;
}

/**
 * The errcode of a read platform answer. Only an answer that names `errcode` is parsed: most answers
 * (menus, media, lists) carry none, and parsing them to find out costs more than the rest of the relay.
 */
function errcodeIn(body: Buffer, field = 'errcode', quoted: Buffer = ERRCODE): number | undefined {
  if (body.indexOf(quoted) < 0) return undefined;
  try {
    const j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    return typeof j[field] === 'number' ? j[field] : undefined;
  } catch {
    return undefined;
  }
}
const ERRCODE = Buffer.from('"errcode"');

/** where a proxy forwards: its base URL taken apart once, not per request */
interface Base {
  pool: Pool;
  /** the path the base URL has of its own ('' for a bare origin) */
  prefix: string;
}

function parseBase(base: string): Base {
  const u = new URL(base);
  return { pool: poolFor(u.origin), prefix: u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '') };
}

/** characters a checked platform path (platformPath) may hold as they are in a request line */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/** undici's own timeouts are reported as what they are to the logs: ETIMEDOUT */
function timeoutAsErrno(err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('UND_ERR_') && code.endsWith('TIMEOUT')
    ? Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })
    : err;
}

/** one platform call over the shared keep-alive pool; resolves with the answer's head, its body unread */
async function platformCall(
  base: Base,
  path: string,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<Dispatcher.ResponseData> {
  try {
    return await base.pool.request({ path, method: method as Dispatcher.HttpMethod, headers, body });
  } catch (err) {
    throw timeoutAsErrno(err);
  }
}

/** passes a platform response through verbatim: status, headers (less hop-by-hop ones), body */
function relayMessage(ctx: Koa.Context, reply: ProxyReply): void {
  ctx.status = reply.status;
  const out = ctx.res;
  const headers = reply.headers;
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined && !RELAY_SKIP.has(k)) out.setHeader(k, v);
  }
  ctx.body = reply.body;
}

/** a platform answer: its head, and its body read (to inspect it) or still to stream */
interface ProxyReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer | Readable;
}

/** whether a read platform answer says the token is invalid (WeChat: 40001/40014/42001 …) */
function tokenRefused(p: TokenProxy, reply: ProxyReply, field: string, quoted: Buffer): boolean {
  if (!Buffer.isBuffer(reply.body)) return false;
  if (p.refused?.(reply.status, reply.body)) return true;
  const errcode = errcodeIn(reply.body, field, quoted);
  return errcode !== undefined && (p.rules.tokenRejected?.(errcode) ?? false);
}

function readAll(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

/**
 * A token-adding proxy (§7): method, platform path, query, body and content type go through, the
 * token is put in `param` (replacing one the caller sent), the platform's answer comes back as it
 * came. An answer saying the token is invalid (40001/40014/42001 …) compare-and-refreshes exactly
 * that token (§5.4) and the call is sent once more.
 */
export function tokenProxy(sv: Services, p: TokenProxy): Koa.Middleware {
  const base = parseBase(p.base);
  const field = p.errcodeField ?? 'errcode';
  const quoted: Buffer = field === 'errcode' ? ERRCODE : Buffer.from(JSON.stringify(field));
  return proxyRoute(sv, async (ctx) => {
    await proxyCaller(ctx, sv, p.platform);
    const target = await p.resolve(ctx);
    const path = platformPath(restOfPath(ctx, p.fixed));
    const body = await proxyBody(ctx, sv.config.proxyBodyLimit);
    const headers: Record<string, string> = {};
    const given = ctx.req.headers;
    for (const h of FORWARDED_HEADERS) {
      const v = given[h];
      if (v) headers[h] = String(v);
    }
    // the request line to the platform: the base's own path, the platform path, the caller's query
    // less any `param` it sent, then the token (in the order URLSearchParams keeps)
    const where = PLAIN_PATH.test(path) ? `${base.prefix}${path}` : new URL(p.base + path).pathname;
    let attempt = 0;
    // the first answer is read when it could say the token is invalid; a retried one streams through
    const send = async (token: string): Promise<ProxyReply> => {
      const first = attempt++ === 0;
      const query = new URLSearchParams(ctx.querystring);
      if (p.param !== undefined) {
        query.delete(p.param);
        query.append(p.param, token);
      }
      if (p.header) {
        const [name, value] = p.header(token);
        headers[name] = value;
      }
      let res: Dispatcher.ResponseData;
      const started = Date.now();
      try {
        const q = query.toString();
        res = await platformCall(base, q ? `${where}?${q}` : where, ctx.method, headers, body);
      } catch (err) {
        sv.upstream.record(p.upstream, 'proxy', 'unreachable', started);
        // logged like every other platform call: platform, host, errno — never the path or query
        throw unreachableError(sv.log, p.platform, 'proxy', p.base, err, PROXY_TIMEOUT_MS, started);
      }
      const status = res.statusCode;
      const head = { status, headers: res.headers };
      // counted at the answer's head: a platform error code when a 2xx answer is read below
      const counted = (label: string) => sv.upstream.record(p.upstream, 'proxy', label, started);
      if (status < 200 || status > 299) counted(`http_${status}`);
      const type = String(res.headers['content-type'] ?? '');
      const length = Number(res.headers['content-length'] ?? 0);
      if (!first || !/json|text\/plain/i.test(type) || length > INSPECT_LIMIT || res.headers['content-encoding']) {
        if (status >= 200 && status <= 299) counted('0');
        return { ...head, body: res.body };
      }
      try {
        const read = await readAll(res.body);
        if (status >= 200 && status <= 299) counted(String(errcodeIn(read, field, quoted) ?? 0));
        return { ...head, body: read };
      } catch {
        throw new RpcError('UPSTREAM_UNREACHABLE', '', `${p.platform} proxy: platform answer cut off`);
      }
    };
    // nothing renewed (one was refreshed within the last 30 s, §5.3): the platform's answer stands
    const reply = await sendWithToken(sv.engine, target.spec, send, (r) => tokenRefused(p, r, field, quoted));
    relayMessage(ctx, reply);
  });
}
