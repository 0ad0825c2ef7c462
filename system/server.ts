import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import { Codes } from './errors';
import type { Logger } from './log';
import { BodyError, readBody } from './body';
import { BODY_LIMIT, RPC_PATHS, envelope, requestId, rpcDispatch, type RpcOptions } from './rpc';
import type { Registry } from './registry';

export interface ServerOptions<S> extends RpcOptions<S> {
  registry: Registry<S>;
  log: Logger;
  trustProxy: boolean;
  version: string;
  /** resolves when the store answers, rejects otherwise */
  ready: () => Promise<void>;
  /** when set, GET /metrics needs `Authorization: Bearer <it>`; unset, it answers loopback clients only */
  metricsToken?: string;
  /** adds the areas' own routes (callbacks, authorization pages, proxies) */
  routes?: (router: Router) => void;
  /**
   * the path prefix every route is served under ('' or unset: none), e.g. /release behind Tencent API
   * Gateway: /release/healthz is /healthz, /healthz is 404
   */
  basePath?: string;
  /**
   * true once the node is shutting down: /readyz answers 503 (a load balancer takes the node out)
   * while every other route is still served, each answer with `Connection: close`
   */
  draining?: () => boolean;
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x — the socket's own address, never a header */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (net.isIPv4(v4)) return v4.split('.')[0] === '127';
  return net.isIPv6(address) && (address === '::1' || address === '0:0:0:0:0:0:0:1');
}

/** headers by which a reverse proxy says whom it forwards */
export const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * Who may read /metrics (it names codeNames, appIds and authorizers). With a token: whoever sends
 * it. Without: only a client on this machine — decided on the socket's remote address, and not
 * when the request carries a proxy's forwarding header (a reverse proxy on loopback would forward
 * everyone; operators behind one must set GATEHOUSE_METRICS_TOKEN). §7 (trust).
 */
export function metricsAccess(req: {
  remoteAddress: string | undefined;
  headers: IncomingHttpHeaders;
  token?: string;
}): 'ok' | 'forbidden' | 'unauthenticated' {
  if (req.token) {
    const given = Buffer.from(String(req.headers.authorization ?? ''));
    const want = Buffer.from(`Bearer ${req.token}`);
    return given.length === want.length && crypto.timingSafeEqual(given, want) ? 'ok' : 'unauthenticated';
  }
  if (!isLoopback(req.remoteAddress)) return 'forbidden';
  return FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined) ? 'forbidden' : 'ok';
}

const NOT_FOUND = { returnCode: 404, returnMessage: 'NOT_FOUND', returnData: '' };

/**
 * Serves the whole application under `base`: a request for base + path is handled as a request for
 * path (ctx.url and ctx.originalUrl are rewritten, so routes, proxies' path arithmetic and logs see
 * the path below the base), anything else is 404.
 */
export function mountAt(base: string): Koa.Middleware {
  return async (ctx, next) => {
    const p = ctx.path;
    if (p !== base && !p.startsWith(`${base}/`)) {
      ctx.status = 404;
      ctx.body = NOT_FOUND;
      return;
    }
    ctx.path = p.slice(base.length) || '/';
    ctx.originalUrl = ctx.request.originalUrl = ctx.url;
    await next();
  };
}

/**
 * The HTTP face of gatehouse, in the order a request meets it:
 *   0. lifecycle   — while draining every answer carries `Connection: close`; under a base path,
 *                    only paths below it are served (as if it were the root)
 *   1. RPC         — POST /, /mina_auth, /mina_auth/: body (JSON, 64 KiB) → envelope dispatch
 *   2. guard       — for every other route nothing escapes as a 500; errors are logged with a request id
 *   3. routes      — /healthz, /readyz, /openrpc.json, then every area's routes
 */
export function createServer<S>(opts: ServerOptions<S>): Koa {
  const { log } = opts;
  // behind a proxy, the client is the address that proxy appended to X-Forwarded-For (the last entry):
  // entries before it are whatever the client sent (a forged one would dodge the per-IP limits)
  const app = new Koa({ proxy: opts.trustProxy, maxIpsCount: 1 });
  app.silent = true;

  // 0. lifecycle: a draining node lets clients' keep-alive connections go, so that when it stops
  // listening no idle connection is left for a client to send on
  const draining = opts.draining ?? (() => false);
  app.use(async (ctx, next) => {
    if (draining()) ctx.set('Connection', 'close');
    await next();
  });
  if (opts.basePath) app.use(mountAt(opts.basePath));

  // 1. RPC (first: it is the hot path; dispatch answers every failure with an envelope)
  const dispatch = rpcDispatch(opts);
  app.use(async (ctx, next) => {
    if (!RPC_PATHS.has(ctx.path)) return next();
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = envelope(Codes.REQUEST_IS_NOT_JSON);
      return;
    }
    let body: unknown;
    try {
      // parsed as JSON whatever the content type: `curl -d` sends a form type
      const text = await readBody(ctx.req, BODY_LIMIT);
      body = text === '' ? undefined : JSON.parse(text);
    } catch (err) {
      const tooLarge = err instanceof BodyError && err.status === 413;
      ctx.status = tooLarge ? 413 : 200;
      if (tooLarge) ctx.set('Connection', 'close');
      ctx.body = envelope(Codes.REQUEST_IS_NOT_JSON);
      return;
    }
    try {
      await dispatch(ctx, body);
    } catch (err) {
      const reqId = requestId(ctx);
      log.error({ reqId, err }, 'unhandled error');
      ctx.body = envelope(Codes.INTERNAL_ERROR);
    }
  });

  // 2. guard
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = envelope(Codes.REQUEST_IS_NOT_JSON);
        return;
      }
      const reqId = requestId(ctx);
      log.error({ reqId, path: ctx.path, err }, 'unhandled error');
      ctx.status = 503;
      ctx.body = { ...envelope(Codes.INTERNAL_ERROR), requestId: reqId };
    }
  });

  // 3. routes
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    if (draining()) {
      ctx.status = 503;
      ctx.body = { status: 'draining' };
      return;
    }
    try {
      await opts.ready();
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable' };
    }
  });
  const openRpc = JSON.stringify(opts.registry.openRpc(opts.version));
  router.get('/openrpc.json', (ctx) => {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = openRpc;
  });
  router.get('/metrics', async (ctx) => {
    if (!opts.metrics) {
      ctx.status = 404;
      return;
    }
    const access = metricsAccess({
      remoteAddress: ctx.req.socket.remoteAddress,
      headers: ctx.req.headers,
      token: opts.metricsToken,
    });
    if (access === 'unauthenticated') {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.body = { returnCode: Codes.UNAUTHENTICATED, returnMessage: 'UNAUTHENTICATED' };
      return;
    }
    if (access === 'forbidden') {
      ctx.status = 403;
      ctx.body = { returnCode: Codes.FORBIDDEN, returnMessage: 'FORBIDDEN' };
      return;
    }
    ctx.type = opts.metrics.registry.contentType;
    ctx.body = await opts.metrics.registry.metrics();
  });
  opts.routes?.(router);
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = NOT_FOUND;
    }
  });
  return app;
}
