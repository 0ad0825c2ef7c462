import type Router from '@koa/router';
import type Koa from 'koa';
import { scopeCovers, type Caller } from '../../../system/callers';
import { Codes, RpcError, UpstreamError } from '../../../system/errors';
import type { Registry } from '../../../system/registry';
import { accessLine, invoke, requestId, type Refusal } from '../../../system/rpc';
import type { Area, Services } from '../../contract';
import { claimCovers } from '../../claims';
import { ADMITTED, ProxyRefused, platformPath, proxyBody, relay } from '../../services/proxy';
import shansong from '../../platforms/shansong';
import { PLATFORM as SHANSONG } from '../../platforms/shansong/service';
import { NetworkAllowList, VarysRefusal, admit } from './guard';

/**
 * varys-compatible routes (GATEHOUSE_VARYS_COMPAT=true; docs/MIGRATING.md): the paths, methods,
 * parameters and answers of CharLemAznable/varys and its Java and Go drivers, under
 * GATEHOUSE_VARYS_BASE_PATH (varys's ContextPath), served by gatehouse's own interfaces, proxies,
 * callbacks and pages — the same engine, stores and services; nothing here fetches a token itself.
 *
 *   - caller routes (query-*, proxy-*): a caller token when one is sent (its scope must cover the
 *     interface or `proxy.<platform>` the route stands for, its `apps` claim the app and the subject
 *     the path names), otherwise only clients in GATEHOUSE_VARYS_ALLOW (default loopback);
 *     answers in varys's shapes (`{"appId","token","ticket"}` …, `{"error":"…"}`)
 *   - platform routes (accept-*, the authorization pages and callbacks): gatehouse's own routes
 *     under varys's paths, with their own checks (signatures, decryption, state nonces)
 */

/** a varys answer for an error: `{"error": …}` (HTTP 200 as varys answered, 401/403 for refusals) */
function answerError(ctx: Koa.Context, sv: Services, err: unknown): void {
  if (err instanceof VarysRefusal) {
    ctx.status = err.status;
    ctx.body = { error: err.message };
    return;
  }
  if (err instanceof ProxyRefused) {
    ctx.status = err.status === 401 || err.status === 403 ? err.status : 200;
    ctx.body = { error: err.message };
    return;
  }
  ctx.status = 200;
  if (err instanceof RpcError) {
    ctx.body = { error: errorText(err) };
    return;
  }
  sv.log.error({ path: ctx.path, err }, 'varys-compatible route failed');
  ctx.body = { error: 'INTERNAL_ERROR' };
}

/** an RpcError as varys's error text: `NO_APP: wechat_app shop`, `UPSTREAM_ERROR: wechat errcode 40013 (…)` */
function errorText(err: RpcError): string {
  if (err.code === Codes.PARA_ERROR) {
    const first = (err.data as { errors?: { path: string; message: string }[] })?.errors?.[0];
    return first ? `PARA_ERROR: ${first.path.replace(/^\//, '')} ${first.message}` : err.message;
  }
  if (err instanceof UpstreamError) {
    const errmsg = (err.data as { errmsg?: string })?.errmsg;
    return errmsg ? `${err.message} (${errmsg})` : err.message;
  }
  return err.message;
}

/** a query parameter as one string ('' when absent or repeated) */
function one(ctx: Koa.Context, name: string): string {
  const v = (ctx.query as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * the raw (still encoded) path of the request after `prefix`, without its leading slash: `ctx.path`,
 * the path the router matched (`originalUrl` keeps an absolute-form target's scheme and host)
 */
function restAfter(ctx: Koa.Context, prefix: string): string {
  return ctx.path.slice(prefix.length).replace(/^\//, '');
}

/**
 * The path parameters of a varys query route, read as varys read them (TrimPrefixPath, then
 * strings.Split): one name takes the whole rest; two or more must be exactly that many segments.
 */
function pathIds(ctx: Koa.Context, prefix: string, names: readonly string[]): string[] {
  const rest = restAfter(ctx, prefix);
  if (names.length === 1) {
    if (rest === '') throw new VarysRefusal(200, `${names[0]} is Empty`);
    return [decode(rest)];
  }
  if (rest === '') throw new VarysRefusal(200, 'Path Params is Empty');
  const ids = rest.split('/');
  if (ids.length !== names.length || ids.some((i) => i === '')) {
    throw new VarysRefusal(200, `Missing param ${names.join('/')}`);
  }
  return ids.map(decode);
}

type Answer = Record<string, unknown>;
/** calls a gatehouse interface as the RPC endpoint would for this caller (scope, `apps` claim, para) */
type InterfaceCall = (name: string, para: Record<string, unknown>) => Promise<Answer>;

function interfaceCall(
  ctx: Koa.Context,
  sv: Services,
  registry: Registry<Services>,
  caller: Caller | undefined,
): InterfaceCall {
  const refuse = (name: string) => (why: Refusal) =>
    new VarysRefusal(
      403,
      why === 'scope'
        ? `caller token scope does not cover ${name}`
        : why === 'claim-closed'
          ? `${name} is not open to callers limited by an apps claim`
          : 'caller token apps claim does not cover the app',
    );
  return async (name, para) => {
    const def = registry.get(name);
    if (!def) throw new RpcError('UNKNOWN_INTERFACE', '', name);
    const call = { services: sv, caller, requestId: requestId(ctx), ip: ctx.ip, log: sv.log };
    return ((await invoke(registry, def, para, call, refuse(name))) ?? {}) as Answer;
  };
}

/** how long a ticket that could not be had (a mini program has none) is answered as '' without asking again */
const NO_TICKET_MS = 5 * 60_000;
const TRANSIENT: ReadonlySet<number> = new Set([Codes.STORE_ERROR, Codes.UPSTREAM_UNREACHABLE, Codes.RATE_LIMITED]);

/**
 * The compat routes on `router`. `dispatch` is the router's own dispatch: a route that stands for
 * a gatehouse route rewrites the request to that route's path and dispatches it again.
 */
function declare(router: Router, sv: Services, registry: Registry<Services>): void {
  const { basePath: base, allow: cidrs } = sv.config.varys;
  const allow = new NetworkAllowList(cidrs);
  const trust = sv.config.trustProxy;
  const dispatch = router.routes();
  const noTicket = new Map<string, number>();

  /** a jsapi ticket for varys's `ticket` field: '' when the app has none (varys answered '' too) */
  const ticketOf = async (call: InterfaceCall, name: string, para: Record<string, unknown>): Promise<string> => {
    const key = `${name}\n${JSON.stringify(para)}`;
    const until = noTicket.get(key);
    if (until !== undefined && until > Date.now()) return '';
    try {
      return String((await call(name, { ...para, type: 'jsapi' })).ticket ?? '');
    } catch (err) {
      // remembered only when the platform or gatehouse said no (a mini program has no ticket), not
      // when it could not answer for a moment: that would hide a real ticket for minutes
      if (err instanceof RpcError && !TRANSIENT.has(err.code) && !(err instanceof UpstreamError && err.transient)) {
        if (noTicket.size >= 10_000) noTicket.clear();
        noTicket.set(key, Date.now() + NO_TICKET_MS);
      }
      return '';
    }
  };

  /** a varys query route: admission, path parameters, an answer in varys's shape */
  const query = (
    name: string,
    ids: readonly string[],
    run: (ids: string[], call: InterfaceCall, ctx: Koa.Context) => Promise<Answer>,
  ) => {
    const prefix = `${base}/${name}`;
    router.all(`${prefix}{/*rest}`, async (ctx) => {
      const started = performance.now();
      try {
        const caller = admit(ctx, sv.callers, allow, trust);
        const values = pathIds(ctx, prefix, ids);
        ctx.body = await run(values, interfaceCall(ctx, sv, registry, caller), ctx);
      } catch (err) {
        answerError(ctx, sv, err);
      }
      accessLine(sv.log, ctx, started);
    });
  };

  /** WeChat's jscode2session answer, as varys relayed it: `{openid, session_key, unionid}` or `{errcode, errmsg}` */
  const login = async (call: InterfaceCall, name: string, para: Record<string, unknown>, ctx: Koa.Context) => {
    const jsCode = one(ctx, 'js_code');
    if (!jsCode) throw new VarysRefusal(200, 'js_code is Empty');
    try {
      const r = await call(name, { ...para, jsCode });
      return { openid: r.openid, session_key: r.sessionKey, ...(r.unionid ? { unionid: r.unionid } : {}) };
    } catch (err) {
      if (err instanceof UpstreamError && err.platform === 'wechat') {
        const errmsg = (err.data as { errmsg?: string })?.errmsg ?? '';
        return { errcode: Number(err.errcode), errmsg };
      }
      throw err;
    }
  };

  const jsConfig = async (call: InterfaceCall, name: string, para: Record<string, unknown>, ctx: Koa.Context) => {
    const url = one(ctx, 'url');
    if (!url) throw new VarysRefusal(200, 'url is Empty');
    const c = await call(name, { ...para, url });
    return { appId: c.appId, nonceStr: c.nonceStr, timestamp: c.timestamp, signature: c.signature };
  };

  // ---- WeChat official accounts and mini programs (wechat_app)

  query('query-wechat-app-token', ['codeName'], async ([codeName], call) => {
    const t = await call('wechat.app.token', { codeName });
    return { appId: t.appId, token: t.token, ticket: await ticketOf(call, 'wechat.app.ticket', { codeName }) };
  });
  query('query-wechat-app-js-config', ['codeName'], ([codeName], call, ctx) =>
    jsConfig(call, 'wechat.app.jsconfig', { codeName }, ctx),
  );
  for (const name of ['proxy-wechat-app-mp-login', 'proxy-wechat-mp-login']) {
    query(name, ['codeName'], ([codeName], call, ctx) => login(call, 'wechat.app.code2session', { codeName }, ctx));
  }

  // ---- WeChat third-party platforms (wechat_tp) and their authorizers

  query('query-wechat-tp-token', ['codeName'], async ([codeName], call) => {
    const t = await call('wechat.tp.token', { codeName });
    return { appId: t.appId, token: t.token };
  });
  for (const name of ['query-wechat-tp-auth-token', 'query-wechat-app-authorizer-token']) {
    query(name, ['codeName', 'authorizerAppId'], async ([codeName, authorizerAppId], call) => {
      const para = { codeName, authorizerAppId };
      const t = await call('wechat.tpauth.token', para);
      return {
        appId: t.appId,
        authorizerAppId: t.authorizerAppId,
        token: t.token,
        ticket: await ticketOf(call, 'wechat.tpauth.ticket', para),
      };
    });
  }
  query('query-wechat-tp-auth-js-config', ['codeName', 'authorizerAppId'], ([codeName, authorizerAppId], call, ctx) =>
    jsConfig(call, 'wechat.tpauth.jsconfig', { codeName, authorizerAppId }, ctx),
  );
  // varys asked for a third segment here (SplitN 3); both forms are taken
  const tpLogin = `${base}/proxy-wechat-tp-auth-mp-login`;
  router.all(`${tpLogin}{/*rest}`, async (ctx) => {
    const started = performance.now();
    try {
      const caller = admit(ctx, sv.callers, allow, trust);
      const ids = restAfter(ctx, tpLogin).split('/').map(decode);
      if (ids.length < 2 || !ids[0] || !ids[1] || ids.length > 3 || (ids.length === 3 && ids[2] !== '')) {
        throw new VarysRefusal(200, 'Missing param codeName/authorizerAppId/proxy-path');
      }
      const call = interfaceCall(ctx, sv, registry, caller);
      ctx.body = await login(call, 'wechat.tpauth.code2session', { codeName: ids[0], authorizerAppId: ids[1] }, ctx);
    } catch (err) {
      answerError(ctx, sv, err);
    }
    accessLine(sv.log, ctx, started);
  });
  // varys's cluster cache invalidation: gatehouse nodes share one store and need none
  for (const name of ['clean-wechat-tp-auth-token', 'clean-wechat-corp-tp-auth-token']) {
    query(name, ['codeName', 'id'], async () => ({ result: 'OK' }));
  }

  // ---- WeCom self-built apps (wecom_corp) and suites (wecom_tp)

  query('query-wechat-corp-token', ['codeName'], async ([codeName], call) => {
    const t = await call('wecom.corp.token', { codeName });
    return { corpId: t.corpId, token: t.token };
  });
  for (const name of ['query-wechat-corp-tp-auth-token', 'query-wechat-corp-authorizer-token']) {
    query(name, ['codeName', 'corpId'], async ([codeName, corpId], call) => {
      const t = await call('wecom.tpauth.token', { codeName, corpId });
      return { suiteId: t.suiteId, corpId: t.corpId, token: t.token };
    });
  }

  // ---- ByteDance, Fengniao, Shansong

  query('query-toutiao-app-token', ['codeName'], async ([codeName], call) => {
    const t = await call('toutiao.app.token', { codeName });
    return { appId: t.appId, token: t.token };
  });
  query('query-fengniao-app-token', ['codeName', 'merchantId'], async ([codeName, merchantId], call) => {
    const t = await call('fengniao.merchant.token', { codeName, merchantId });
    return { appId: t.appId, merchantId: t.merchantId, token: t.token };
  });
  query('query-shansong-app-token', ['codeName', 'merchantCode'], async ([codeName, merchantCode], call) => {
    const t = await call('shansong.merchant.token', { codeName, merchantCode });
    return { appId: t.appId, merchantCode: t.merchantCode, token: t.token };
  });

  // ---- token proxies: rewritten to gatehouse's own (services/proxy.ts), answered as they came

  /**
   * `/<name>/{codeName}[/{subject}]/<path>` → `<target>/{codeName}[/{subject}]/<path>` with its
   * query: gatehouse's proxy route checks a sent caller token (scope `proxy.<platform>`, the `apps`
   * claim over the path's subjects) or takes the admission by address, adds the token, relays.
   */
  const proxy = (name: string, subject: string | undefined, target: string, methods: 'all' | 'post' = 'all') => {
    const prefix = `${base}/${name}`;
    const names = subject ? ['codeName', subject, 'proxy-path'] : ['codeName', 'proxy-path'];
    router[methods](`${prefix}{/*rest}`, async (ctx, next) => {
      try {
        const caller = admit(ctx, sv.callers, allow, trust);
        const parts = restAfter(ctx, prefix).split('/');
        if (!parts[0]) throw new VarysRefusal(200, 'codeName is Empty');
        if (parts.length < names.length || (subject && !parts[1]))
          throw new VarysRefusal(200, `Missing param ${names.join('/')}`);
        if (parts.slice(names.length - 1).join('/') === '') throw new VarysRefusal(200, 'proxy PATH is Empty');
        if (!caller) (ctx.state as Record<symbol, unknown>)[ADMITTED] = true;
        rewrite(ctx, `${target}/${parts.join('/')}`);
        await dispatch(ctx, next);
        varysShaped(ctx);
      } catch (err) {
        answerError(ctx, sv, err);
      }
    });
  };
  proxy('proxy-wechat-app', undefined, '/proxy/wechat-app');
  proxy('proxy-wechat-tp', undefined, '/proxy/wechat-tp');
  proxy('proxy-wechat-tp-auth', 'authorizerAppId', '/proxy/wechat-tpauth');
  proxy('proxy-wechat-corp', undefined, '/proxy/wecom-corp');
  proxy('proxy-fengniao-app', 'merchantId', '/proxy/fengniao', 'post');
  proxy('proxy-shansong-app-developer', 'merchantCode', '/proxy/shansong', 'post');

  // Shansong's merchant registration API is signed with the app's own secret (no merchant token)
  const merchant = `${base}/proxy-shansong-app-merchant`;
  router.post(`${merchant}{/*rest}`, async (ctx) => {
    const started = performance.now();
    try {
      const caller = admit(ctx, sv.callers, allow, trust);
      const parts = restAfter(ctx, merchant).split('/');
      const codeName = decode(parts[0] ?? '');
      if (!codeName) throw new VarysRefusal(200, 'codeName is Empty');
      if (parts.slice(1).join('/') === '') throw new VarysRefusal(200, 'proxy PATH is Empty');
      if (caller && !scopeCovers(caller.scope, `proxy.${SHANSONG}`))
        throw new VarysRefusal(403, `caller token scope does not cover proxy.${SHANSONG}`);
      if (caller && !(await claimCovers(caller, sv, SHANSONG, { codeName })))
        throw new VarysRefusal(403, 'caller token apps claim does not cover the app');
      const rt = sv.parts(shansong);
      const app = await rt.require(codeName);
      const path = platformPath(parts.slice(1).join('/'));
      const body = await proxyBody(ctx, sv.config.proxyBodyLimit);
      const data = body && body.length ? body.toString('utf8') : undefined;
      const reply = await rt.merchantRegister(app, path, data, new URLSearchParams(ctx.querystring));
      relay(ctx, reply.res, reply.body);
    } catch (err) {
      answerError(ctx, sv, err);
    }
    accessLine(sv.log, ctx, started);
  });
  query('proxy-shansong-app-file', ['codeName'], async () => {
    throw new VarysRefusal(
      200,
      'proxy-shansong-app-file is not served by gatehouse: upload files to Shansong directly',
    );
  });

  // ---- platform routes: gatehouse's own, under varys's paths (their checks are theirs)

  const alias = (method: 'get' | 'post' | 'all', path: string, target: (p: Record<string, string>) => string) => {
    router[method](`${base}${path}`, async (ctx, next) => {
      const p = Object.fromEntries(
        Object.entries(ctx.params as Record<string, string>).map(([k, v]) => [k, encodeURIComponent(v)]),
      );
      rewrite(ctx, target(p));
      await dispatch(ctx, next);
    });
  };
  alias('post', '/accept-wechat-tp-info/:codeName', (p) => `/wechat-tp/${p.codeName}/events`);
  alias('post', '/accept-wechat-tp-msg/:codeName/:appid', (p) => `/wechat-tp/${p.codeName}/messages/${p.appid}`);
  alias('get', '/wechat-tp-authorize-scan/:codeName', (p) => `/wechat-tp/${p.codeName}/authorize?mode=scan`);
  alias('get', '/wechat-tp-authorize-link/:codeName', (p) => `/wechat-tp/${p.codeName}/authorize?mode=link`);
  alias('get', '/wechat-tp-authorize-redirect/:codeName', (p) => `/wechat-tp/${p.codeName}/authorized`);
  alias('all', '/accept-wechat-corp-tp-info/:codeName', (p) => `/wecom-tp/${p.codeName}/events`);
  alias('get', '/wechat-corp-tp-authorize-component/:codeName', (p) => `/wecom-tp/${p.codeName}/install`);
  alias('get', '/wechat-corp-tp-authorize-redirect/:codeName', (p) => `/wecom-tp/${p.codeName}/installed`);
  alias('get', '/fengniao-app-auth/:codeName', (p) => `/fengniao/${p.codeName}/authorize`);
  alias('post', '/fengniao-app-auth-callback/:codeName', (p) => `/fengniao/${p.codeName}/auth-callback`);
  alias('post', '/fengniao-app-callback/:codeName', (p) => `/fengniao/${p.codeName}/callback`);
  alias(
    'get',
    '/shansong-app-auth/:codeName/:merchantCode',
    (p) => `/shansong/${p.codeName}/authorize/${p.merchantCode}`,
  );
  alias('get', '/shansong-app-auth-redirect/:codeName', (p) => `/shansong/${p.codeName}/authorized`);
  alias('post', '/shansong-app-callback/:codeName', (p) => `/shansong/${p.codeName}/callback`);
}

/**
 * Rewrites the request to a gatehouse path (its query kept, and the target's own query added
 * before it) and forgets the compat route's parameters, for the router to dispatch it again.
 */
function rewrite(ctx: Koa.Context, target: string): void {
  const [path, own] = target.split('?');
  const query = [own, ctx.querystring].filter(Boolean).join('&');
  const url = query ? `${path}?${query}` : path;
  ctx.url = url;
  ctx.originalUrl = ctx.request.originalUrl = url;
  ctx.params = {};
}

/** a refusal gatehouse's proxy answered (`{"returnCode","returnMessage"}`) as varys's `{"error": …}` */
function varysShaped(ctx: Koa.Context): void {
  const b = ctx.body as { returnCode?: unknown; returnMessage?: unknown } | undefined;
  if (b === null || typeof b !== 'object' || Buffer.isBuffer(b) || typeof (b as { pipe?: unknown }).pipe === 'function')
    return;
  if (typeof b.returnCode !== 'number') return;
  const status = ctx.status;
  ctx.body = { error: String(b.returnMessage ?? 'INTERNAL_ERROR') };
  ctx.status = status === 401 || status === 403 ? status : 200;
}

/** the varys-compatible routes, registered only with GATEHOUSE_VARYS_COMPAT=true */
const varys: Area = {
  name: 'varys',
  routes(router, services, registry) {
    if (services.config.varys.enabled) declare(router, services, registry);
  },
};

export default varys;
