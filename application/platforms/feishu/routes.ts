import type Router from '@koa/router';
import type Koa from 'koa';
import { readBody } from '../../../system/body';
import type { Services } from '../../contract';
import { routeApp } from '../../controllers/route-app';
import type { AppConfig } from '../../services/apps';
import type { TokenSpec } from '../../services/tokens/engine';
import { ProxyRefused, tokenProxy } from '../../services/proxy';
import { Codes, RpcError } from '../../../system/errors';
import { PUSH_LIMIT, pushRoute } from '../../services/pushes';
import { FEISHU_ERRCODES } from './client';
import type { FeishuParts } from './parts';
import { PLATFORM } from './tokens';

/** POST /feishu/{codeName}/events: the app's event callbacks (FeishuEvents) */
export function feishuEvents(router: Router, sv: Services, rt: FeishuParts): void {
  router.post(
    '/feishu/:codeName/events',
    pushRoute(sv.log, async (ctx) => {
      const app = await routeApp(ctx, sv, PLATFORM);
      if (!app) return;
      const body = await readBody(ctx.req, PUSH_LIMIT);
      const answer = await rt.events.handle(app, body, {
        timestamp: ctx.get('x-lark-request-timestamp'),
        nonce: ctx.get('x-lark-request-nonce'),
        signature: ctx.get('x-lark-signature'),
      });
      ctx.type = 'application/json';
      ctx.body = answer ?? {};
    }),
  );
}

/**
 * Signed proxies (§7), the token as `Authorization: Bearer …`; a `code` of 99991663, 99991668 …
 * compare-and-refreshes that token and the call is sent once more:
 *   /proxy/feishu/{codeName}/open-apis/…              a self-built app's tenant_access_token
 *   /proxy/feishu/{codeName}/{tenantKey}/open-apis/…  a store app tenant's tenant_access_token
 *   /proxy/feishu-app/{codeName}/open-apis/…          the app_access_token
 * The app's domain (Feishu or Lark) picks the host. The caller's scope must cover `proxy.feishu_app`
 * and its `apps` claim the app and the tenant.
 */
export function feishuProxies(router: Router, sv: Services, rt: FeishuParts): void {
  const bearer = (token: string): [string, string] => ['authorization', `Bearer ${token}`];
  const proxy = (base: string, fixed: number, spec: (app: AppConfig, ctx: Koa.Context) => Promise<TokenSpec>) =>
    tokenProxy(sv, {
      platform: PLATFORM,
      upstream: 'feishu',
      base,
      header: bearer,
      errcodeField: 'code',
      rules: FEISHU_ERRCODES,
      fixed,
      resolve: async (ctx) => ({ spec: await spec(await sv.apps.require(PLATFORM, String(ctx.params.codeName)), ctx) }),
    });
  const routes: [string, number, (app: AppConfig, ctx: Koa.Context) => Promise<TokenSpec>][] = [
    ['/proxy/feishu/:codeName/open-apis/*rest', 3, tenantOf(rt, false)],
    ['/proxy/feishu/:codeName/:tenantKey/open-apis/*rest', 4, tenantOf(rt, true)],
    ['/proxy/feishu-app/:codeName/open-apis/*rest', 3, async (app) => rt.tokens.appSpec(app)],
  ];
  for (const [path, fixed, spec] of routes) {
    const feishu = proxy(rt.urls.api, fixed, spec);
    const lark = proxy(rt.urls.lark, fixed, spec);
    // the app's domain picks the host (each proxy checks the caller before anything about the app is answered)
    router.all(path, async (ctx, next) => {
      const app = await sv.apps.get(PLATFORM, String(ctx.params.codeName)).catch(() => null);
      return (app?.config.domain === 'lark' ? lark : feishu)(ctx, next);
    });
  }
}

/** the tenant_access_token spec of the app (and the route's tenant), once the tenant is checked */
function tenantOf(rt: FeishuParts, named: boolean) {
  return async (app: AppConfig, ctx: Koa.Context): Promise<TokenSpec> => {
    const tenantKey = named ? String(ctx.params.tenantKey) : undefined;
    try {
      await rt.tokens.requireTenant(app, tenantKey);
    } catch (err) {
      // a tenant named for a self-built app, or none for a store app: the URL is wrong
      if (err instanceof RpcError && err.code === Codes.PARA_ERROR) throw new ProxyRefused(400, Codes.PARA_ERROR);
      throw err;
    }
    return rt.tokens.tenantSpec(app, tenantKey);
  };
}
