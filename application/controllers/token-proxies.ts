import type Router from '@koa/router';
import type { ErrcodeRules } from '../../system/errors';
import type Koa from 'koa';
import type { Services } from '../contract';
import type { AppConfig } from '../services/apps';
import { tokenProxy } from '../services/proxy';
import type { TokenSpec } from '../services/tokens/engine';

/** One token-adding proxy route of a platform (§7): `/proxy/<segment>/:codeName[/:<subject>]/*rest`. */
export interface ProxyRoute {
  /** the URL segment after `/proxy/` (`wechat-app`) */
  segment: string;
  /** app platform: the app of `:codeName`, and the caller's scope must cover `proxy.<platform>` */
  platform: string;
  /** the query parameter that carries the token */
  param: string;
  /** the route parameter naming a subject below the app (an authorizer, a corp), if any */
  subject?: string;
  /** the token spec of the app (and subject); throws 1012 (→ 404) / 1014 (→ 503) */
  spec(app: AppConfig, subject: string): Promise<TokenSpec> | TokenSpec;
}

/**
 * Registers the token proxies of a platform: `upstream` names it in the metrics, `base` is where they
 * forward, `rules` read its errcodes.
 */
export function tokenProxies(
  router: Router,
  sv: Services,
  { upstream, base, rules }: { upstream: string; base: string; rules: ErrcodeRules },
  routes: ProxyRoute[],
): void {
  for (const r of routes) {
    const path = r.subject
      ? `/proxy/${r.segment}/:codeName/:${r.subject}/*rest`
      : `/proxy/${r.segment}/:codeName/*rest`;
    const resolve = async (ctx: Koa.Context) => {
      const app = await sv.apps.require(r.platform, String(ctx.params.codeName));
      return { spec: await r.spec(app, r.subject ? String(ctx.params[r.subject]) : '') };
    };
    // fixed segments before the platform path: proxy, <segment>, {codeName}[, {subject}]
    router.all(
      path,
      tokenProxy(sv, {
        platform: r.platform,
        upstream,
        base,
        param: r.param,
        fixed: r.subject ? 4 : 3,
        resolve,
        rules,
      }),
    );
  }
}
