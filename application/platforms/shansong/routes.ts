import type Router from '@koa/router';
import { readBody } from '../../../system/body';
import { Codes, type RpcError } from '../../../system/errors';
import type { Services } from '../../contract';
import {
  authorizedPage,
  badStatePage,
  failurePage,
  forwardTo,
  htmlPage,
  pageRateLimit,
  returnedAuthorization,
} from '../../services/pages';
import { ProxyRefused, merchantProxyRequest, proxyRoute, relay } from '../../services/proxy';
import { PUSH_LIMIT, jsonTextTooDeep, pushRoute } from '../../services/pushes';
import { PLATFORM, Shansong } from './service';
import { routeApp } from '../../controllers/route-app';

/** the authorization pages' answer to a failed step */
const failure = {
  title: '授权失败 / Authorization failed',
  detail: (e?: RpcError) =>
    `Shansong did not answer as expected (${e ? e.message : 'internal error'}). Please authorize again.`,
  warnRefused: true,
};

export function routes(router: Router, sv: Services, rt: Shansong): void {
  const limited = pageRateLimit(sv.publicLimiter);

  router.get('/shansong/:codeName/authorize/:merchantCode', limited, async (ctx) => {
    const app = await routeApp(ctx, sv, PLATFORM);
    if (!app) return;
    const merchantCode = String(ctx.params.merchantCode);
    if (!Shansong.validMerchantCode(merchantCode)) {
      htmlPage(
        ctx,
        400,
        '商户编号无效 / Invalid merchant code',
        'A merchant code is 1 to 128 characters of A–Z, a–z, 0–9, _ . @ -.',
      );
      return;
    }
    // the merchant travels in the single-use state nonce (§7 trust), not in the redirect
    const state = await sv.authStates.issue({ platform: PLATFORM, codeName: app.codeName, subject: merchantCode });
    forwardTo(ctx, '前往闪送授权 / Authorize on Shansong', rt.authorizationUrl(app, state));
  });

  router.get('/shansong/:codeName/authorized', limited, async (ctx) => {
    const app = await routeApp(ctx, sv, PLATFORM);
    if (!app) return;
    const returned = await returnedAuthorization(ctx, sv.authStates, app, 'code', 'Shansong sends the merchant back');
    if (!returned) return;
    const { code, issued } = returned;
    if (!Shansong.validMerchantCode(issued.subject)) return badStatePage(ctx);
    const merchantCode = issued.subject;
    try {
      await rt.authorize(app, merchantCode, code);
    } catch (err) {
      failurePage(ctx, sv.log, err, 'shansong authorization exchange', failure);
      return;
    }
    // redirectUrl sees the merchant code as `state`, as it did before the nonce
    const query = { ...ctx.query, state: merchantCode };
    authorizedPage(
      ctx,
      app,
      query,
      '授权成功 / Authorized',
      `Merchant ${merchantCode} is now authorized for ${app.codeName}.`,
    );
  });

  router.post(
    '/shansong/:codeName/callback',
    pushRoute(sv.log, async (ctx) => {
      const app = await routeApp(ctx, sv, PLATFORM);
      if (!app) return;
      const text = await readBody(ctx.req, PUSH_LIMIT);
      let fields: unknown;
      try {
        // the text's nesting is checked first: JSON.parse is slow on absurd nesting (unauthenticated route)
        fields = jsonTextTooDeep(text) ? undefined : JSON.parse(text);
      } catch {
        fields = undefined;
      }
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        ctx.status = 400;
        ctx.body = { status: 400, msg: 'body is not a JSON object of reasonable depth' };
        return;
      }
      await rt.onCallback(app, fields as Record<string, unknown>);
      ctx.body = { status: 200, msg: '' };
    }),
  );

  router.post(
    '/proxy/shansong/:codeName/:merchantCode{/*path}',
    proxyRoute(sv, async (ctx) => {
      const req = await merchantProxyRequest(ctx, sv, PLATFORM, 'merchantCode', Shansong.validMerchantCode);
      const { app: known, merchant: merchantCode, path, body } = req;
      // the body is the business parameter `data`, passed on exactly as received (a JSON object)
      const text = body && body.length ? body.toString('utf8') : '';
      if (text.trim() !== '') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          throw new ProxyRefused(400, Codes.REQUEST_IS_NOT_JSON);
      }
      const query = new URLSearchParams(ctx.querystring);
      const reply = await rt.developer(known, merchantCode, path, text.trim() === '' ? undefined : text, query);
      relay(ctx, reply.res, reply.body);
    }),
  );
}
