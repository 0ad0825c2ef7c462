import crypto from 'node:crypto';
import type Koa from 'koa';
import { appsAllow, scopeCovers, type CallerAuth } from './callers';
import { Codes, RpcError, messageOf } from './errors';
import type { Logger } from './log';
import type { Registry } from './registry';

export const RPC_PATHS = new Set(['/', '/mina_auth', '/mina_auth/']);
export const BODY_LIMIT = 64 * 1024;

export interface Envelope {
  returnCode: number;
  returnMessage: string;
  returnData: unknown;
  version?: unknown;
  componentName?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const scalar = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? v : undefined);

export function envelope(code: number, data: unknown = '', echo?: Record<string, unknown>): Envelope {
  const env: Envelope = { returnCode: code, returnMessage: messageOf(code), returnData: data };
  if (echo) {
    const version = scalar(echo.version);
    const componentName = scalar(echo.componentName);
    if (version !== undefined) env.version = version;
    if (componentName !== undefined) env.componentName = componentName;
  }
  return env;
}

export function requestId(ctx: Koa.Context): string {
  const given = ctx.get('x-request-id');
  return /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : crypto.randomUUID();
}

export interface RpcOptions<S> {
  registry: Registry<S>;
  services: S;
  callers: () => CallerAuth;
  log: Logger;
}

/**
 * Dispatches a parsed envelope: 1009 → 1002 → 1010 → 1011 → caller (4001/4003) → para schema
 * (1003) → apps claim (4003) → handler. Always answers HTTP 200 with an envelope.
 */
export function rpcDispatch<S>(opts: RpcOptions<S>): Koa.Middleware {
  const { registry, services, log } = opts;
  return async (ctx) => {
    const req = ctx.request as { body?: unknown; rawBody?: string };
    // an empty body parses as {}: it is still not a JSON object
    const body = req.rawBody === '' ? undefined : req.body;
    const reqId = requestId(ctx);
    const started = Date.now();
    const echo = isObject(body) ? body : undefined;
    let name: string | undefined;
    let code: number = Codes.OK;
    let sub: string | undefined;
    try {
      if (!echo) throw new RpcError('REQUEST_IS_NOT_JSON');
      const iface = echo.interface;
      name = isObject(iface) && typeof iface.interfaceName === 'string' ? iface.interfaceName : undefined;
      if (name === undefined) throw new RpcError('NO_INTERFACENAME');
      const def = registry.get(name);
      if (!def) throw new RpcError('UNKNOWN_INTERFACE');
      const para = (iface as Record<string, unknown>).para;
      if (!isObject(para)) throw new RpcError('NO_PARA');
      let caller;
      if (def.access !== 'public') {
        caller = opts.callers().verify(ctx.get('authorization') || undefined);
        sub = caller.sub;
        if (!scopeCovers(caller.scope, def.name)) throw new RpcError('FORBIDDEN', '', 'scope does not cover the interface');
      }
      registry.check(def, para);
      if (caller?.apps && def.apps && !appsAllow(caller, await def.apps(para, services))) {
        throw new RpcError('FORBIDDEN', '', 'apps claim does not cover the app');
      }
      const data = await def.handler(para, { services, caller, requestId: reqId, ip: ctx.ip, log });
      ctx.body = envelope(Codes.OK, data ?? {}, echo);
    } catch (err) {
      const e = err instanceof RpcError ? err : undefined;
      code = e ? e.code : Codes.INTERNAL_ERROR;
      if (!e) log.error({ reqId, interfaceName: name, err }, 'internal error');
      else if (code === Codes.STORE_ERROR || code === Codes.SESSION_WRITE_FAILED || code === Codes.APP_WRITE_FAILED) {
        log.error({ reqId, interfaceName: name, detail: e.detail }, 'store failure');
      }
      ctx.body = envelope(code, e ? e.data : '', echo);
    }
    ctx.status = 200;
    if (log.isLevelEnabled('debug')) {
      log.debug({ reqId, interfaceName: name, returnCode: code, sub, ms: Date.now() - started }, 'rpc');
    }
  };
}
