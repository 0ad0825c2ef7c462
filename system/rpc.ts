import crypto from 'node:crypto';
import type Koa from 'koa';
import { appsAllow, scopeCoversInterface, type CallerAuth } from './callers';
import { Codes, RpcError, messageOf } from './errors';
import { accessLogger, type Logger } from './log';
import type { Metrics } from './metrics';
import { RateLimiter } from './ratelimit';
import type { Call, Registered, Registry } from './registry';

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

const NODE_TAG = crypto.randomBytes(4).toString('hex');
let sequence = 0;

/** one access line for a non-RPC call (callbacks, proxies): request id, route, status, duration */
export function accessLine(log: Logger, ctx: Koa.Context, started: number, extra: Record<string, unknown> = {}): void {
  if (!log.isLevelEnabled('info')) return;
  accessLogger(log).info(
    {
      reqId: requestId(ctx),
      method: ctx.method,
      route: ctx.path.slice(0, 256),
      status: ctx.status,
      ms: Math.round((performance.now() - started) * 100) / 100,
      ...extra,
    },
    'http',
  );
}

/** the caller's X-Request-Id when it is sane, else a node-unique one (cheap: no CSPRNG per request) */
export function requestId(ctx: Koa.Context): string {
  const given = ctx.get('x-request-id');
  if (given && /^[A-Za-z0-9._-]{1,64}$/.test(given)) return given;
  sequence = (sequence + 1) % Number.MAX_SAFE_INTEGER;
  return `${NODE_TAG}-${sequence.toString(36)}`;
}

/** why a caller may not make a call: its scope, an `apps` claim where the interface names no apps, or the apps named */
export type Refusal = 'scope' | 'claim-closed' | 'claim-apps';
const REFUSALS: Record<Refusal, string> = {
  scope: 'scope does not cover the interface',
  'claim-closed': 'not open to callers limited by an apps claim',
  'claim-apps': 'apps claim does not cover the app',
};
const forbidden = (why: Refusal) => new RpcError('FORBIDDEN', '', REFUSALS[why]);

/**
 * One call of an interface whose caller is known (undefined: a public interface, or a route that
 * admitted the request otherwise): the caller's scope (4003), an `apps` claim only on interfaces
 * that say which apps a call touches or filter what they show (4003, fail closed), the para schema
 * (1003), the apps the call touches against the claim (4003), then the handler. The RPC endpoint
 * and the varys compatibility routes both call interfaces through this, and nothing else.
 */
export async function invoke<S>(
  registry: Registry<S>,
  def: Registered<S>,
  para: unknown,
  call: Call<S>,
  refuse: (why: Refusal) => Error = forbidden,
): Promise<unknown> {
  const { caller } = call;
  if (caller) {
    if (!scopeCoversInterface(caller.scope, def)) throw refuse('scope');
    if (caller.apps && !def.apps && !def.appsFiltered) throw refuse('claim-closed');
  }
  registry.check(def, para);
  if (caller?.apps && def.apps && !appsAllow(caller, await def.apps(para, call.services))) throw refuse('claim-apps');
  return def.handler(para, call);
}

export interface RpcOptions<S> {
  registry: Registry<S>;
  services: S;
  callers: () => CallerAuth;
  log: Logger;
  metrics?: Metrics;
  /** public interfaces per second per client IP (0 = off); ignored when `limiter` is given */
  publicRateLimit?: number;
  /** the node's one public per-IP limiter, shared with the public page routes */
  limiter?: RateLimiter;
}

/**
 * Dispatches a parsed envelope: 1009 → 1002 → 1010 → 1011 → caller (4001/4003) → para schema
 * (1003) → apps claim (4003) → handler. Always answers HTTP 200 with an envelope.
 */
export function rpcDispatch<S>(opts: RpcOptions<S>): (ctx: Koa.Context, body: unknown) => Promise<void> {
  const { registry, services, log, metrics } = opts;
  const access = accessLogger(log);
  const logged = log.isLevelEnabled('info');
  const line = (reqId: string, name: string | undefined, code: number, sub: string | undefined, started: number) =>
    access.info(
      {
        reqId,
        interfaceName: name?.slice(0, 128),
        returnCode: code,
        sub,
        ms: Math.round((performance.now() - started) * 100) / 100,
      },
      'rpc',
    );
  const limiter = opts.limiter ?? new RateLimiter(opts.publicRateLimit ?? 0);
  const count = (name: string | undefined, known: boolean, code: number, started: number) => {
    if (!metrics) return;
    const label = known && name !== undefined ? name : 'unknown';
    metrics.rpc.inc({ interface: label, code });
    metrics.rpcSeconds.observe({ interface: label }, (performance.now() - started) / 1000);
  };
  return async (ctx, body) => {
    const reqId = requestId(ctx);
    const started = performance.now();
    const echo = isObject(body) ? body : undefined;
    let code: number = Codes.OK;
    let sub: string | undefined;
    // the envelope checks answer without throwing: they are the common error path
    const iface = echo?.interface;
    const name = isObject(iface) && typeof iface.interfaceName === 'string' ? iface.interfaceName : undefined;
    const def = name === undefined ? undefined : registry.get(name);
    const para = def ? (iface as Record<string, unknown>).para : undefined;
    if (!echo) code = Codes.REQUEST_IS_NOT_JSON;
    else if (name === undefined) code = Codes.NO_INTERFACENAME;
    else if (!def) code = Codes.UNKNOWN_INTERFACE;
    else if (!isObject(para)) code = Codes.NO_PARA;
    if (code !== Codes.OK || !def || !isObject(para)) {
      ctx.body = envelope(code, '', echo);
      count(name, false, code, started);
      if (logged) line(reqId, name, code, undefined, started);
      return;
    }
    if (def.access === 'public') {
      const retryAfter = limiter.take(ctx.ip);
      if (retryAfter > 0) {
        ctx.body = envelope(Codes.RATE_LIMITED, { retryAfter }, echo);
        ctx.set('Retry-After', String(retryAfter));
        count(name, true, Codes.RATE_LIMITED, started);
        if (logged) line(reqId, name, Codes.RATE_LIMITED, undefined, started);
        return;
      }
    }
    try {
      const caller = def.access !== 'public' ? opts.callers().verify(ctx.get('authorization') || undefined) : undefined;
      sub = caller?.sub;
      const data = await invoke(registry, def, para, { services, caller, requestId: reqId, ip: ctx.ip, log });
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
    count(name, true, code, started);
    if (logged) line(reqId, name, code, sub, started);
  };
}
