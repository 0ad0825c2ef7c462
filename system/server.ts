import Koa from 'koa';
import Router from '@koa/router';
import bodyParser from 'koa-bodyparser';
import { Codes } from './errors';
import type { Logger } from './log';
import { BODY_LIMIT, RPC_PATHS, envelope, requestId, rpcDispatch, type RpcOptions } from './rpc';
import type { Registry } from './registry';

export interface ServerOptions<S> extends RpcOptions<S> {
  registry: Registry<S>;
  log: Logger;
  trustProxy: boolean;
  version: string;
  /** resolves when the store answers, rejects otherwise */
  ready: () => Promise<void>;
  /** adds the areas' own routes (callbacks, authorization pages, proxies) */
  routes?: (router: Router) => void;
}

/**
 * The HTTP face of gatehouse, in the order a request meets it:
 *   1. guard       — nothing escapes as a 500; unexpected errors are logged with a request id
 *   2. RPC         — POST /, /mina_auth, /mina_auth/: body (JSON, 64 KiB) → envelope dispatch
 *   3. routes      — /healthz, /readyz, /openrpc.json, then every area's routes
 */
export function createServer<S>(opts: ServerOptions<S>): Koa {
  const { log } = opts;
  const app = new Koa({ proxy: opts.trustProxy });
  app.silent = true;

  // 1. guard
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status && status >= 400 && status < 500) {
        ctx.status = status;
        ctx.body = { returnCode: Codes.REQUEST_IS_NOT_JSON, returnMessage: 'BAD_REQUEST', returnData: '' };
        return;
      }
      const reqId = requestId(ctx);
      log.error({ reqId, path: ctx.path, err }, 'unhandled error');
      ctx.status = 503;
      ctx.body = { ...envelope(Codes.INTERNAL_ERROR), requestId: reqId };
    }
  });

  // 2. RPC
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: `${BODY_LIMIT / 1024}kb`,
    strict: true,
    detectJSON: () => true,
  });
  const noop = async () => {};
  const dispatch = rpcDispatch(opts);
  app.use(async (ctx, next) => {
    if (!RPC_PATHS.has(ctx.path)) return next();
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = envelope(Codes.REQUEST_IS_NOT_JSON);
      return;
    }
    try {
      await parse(ctx, noop);
    } catch (err) {
      ctx.status = (err as { status?: number }).status === 413 ? 413 : 200;
      ctx.body = envelope(Codes.REQUEST_IS_NOT_JSON);
      return;
    }
    await dispatch(ctx, next);
  });

  // 3. routes
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
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
  opts.routes?.(router);
  app.use(router.routes());
  app.use(router.allowedMethods());
  app.use((ctx) => {
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { returnCode: 404, returnMessage: 'NOT_FOUND', returnData: '' };
    }
  });
  return app;
}
