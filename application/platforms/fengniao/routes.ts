import type Router from '@koa/router';
import type Koa from 'koa';
import { readBody } from '../../../system/body';
import { Codes } from '../../../system/errors';
import type { Services } from '../../contract';
import { PushRejected } from '../../services/crypto/msgcrypt';
import { MERCHANT_ID, PLATFORM, type Fengniao, type FengniaoCallback } from './service';
import { badStatePage, forwardTo, htmlPage, pageRateLimit } from '../../services/pages';
import { ProxyRefused, merchantProxyRequest, proxyRoute, relay } from '../../services/proxy';
import { PUSH_LIMIT, jsonTextTooDeep, pushRoute } from '../../services/pushes';
import { routeApp } from '../../controllers/route-app';

/** what gatehouse answers Fengniao when a callback was taken (Fengniao only looks for HTTP 200) */
const ACCEPTED = { code: 200, msg: 'success' };

/**
 * A business_data string nested absurdly deep is refused before anything parses it (the body's
 * own text was checked before JSON.parse); nothing is verified yet, so only a linear scan runs.
 */
function shallow(body: Record<string, unknown>): Record<string, unknown> {
  if (typeof body.business_data === 'string' && jsonTextTooDeep(body.business_data))
    throw new PushRejected(400, 'body nested too deeply');
  return body;
}

/** a callback body: JSON (what Fengniao sends) or a form; anything else is a 400 */
async function readCallback(ctx: Koa.Context): Promise<Record<string, unknown>> {
  const text = await readBody(ctx.req, PUSH_LIMIT);
  const form = /application\/x-www-form-urlencoded/i.test(ctx.get('content-type'));
  if (!form) {
    // checked on the text first: JSON.parse is slow on absurd nesting, and nothing is verified yet
    if (jsonTextTooDeep(text)) throw new PushRejected(400, 'body nested too deeply');
    let v: unknown;
    try {
      v = JSON.parse(text) as unknown;
    } catch {
      // perhaps a form sent without its content type
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return shallow(v as Record<string, unknown>);
  }
  if (text.includes('=')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    if (Object.keys(out).length > 0) return out;
  }
  throw new PushRejected(400, 'body is neither JSON nor a form');
}

export function routes(router: Router, sv: Services, rt: Fengniao): void {
  const limited = pageRateLimit(sv.publicLimiter);

  // ?merchant_id= (optional) binds the authorization to that merchant: a callback for another is refused
  router.get('/fengniao/:codeName/authorize', limited, async (ctx) => {
    const app = await routeApp(ctx, sv, PLATFORM);
    if (!app) return;
    const merchant = ctx.query.merchant_id;
    if (merchant !== undefined && (typeof merchant !== 'string' || !MERCHANT_ID.test(merchant))) {
      htmlPage(
        ctx,
        400,
        '商户编号无效 / Invalid merchant id',
        'merchant_id: 1 to 64 characters of A–Z, a–z, 0–9, _ . -.',
      );
      return;
    }
    const state = await sv.authStates.issue({ platform: PLATFORM, codeName: app.codeName, subject: merchant ?? null });
    forwardTo(ctx, '前往蜂鸟授权 / Authorize on Fengniao', rt.authorizationUrl(app, state));
  });

  router.post(
    '/fengniao/:codeName/auth-callback',
    limited,
    pushRoute(sv.log, async (ctx) => {
      const app = await routeApp(ctx, sv, PLATFORM);
      if (!app) return;
      const b = await readCallback(ctx);
      const code = typeof b.code === 'string' ? b.code : '';
      const merchantId =
        typeof b.merchant_id === 'string' || typeof b.merchant_id === 'number' ? String(b.merchant_id) : '';
      if (!code || code.length > 512 || !MERCHANT_ID.test(merchantId))
        throw new PushRejected(400, 'code and merchant_id are required');
      // Fengniao calls this server-to-server. When it echoes the page's state, that nonce must be
      // live, of this app and (when the page named one) of this merchant, and is consumed before the
      // exchange. Without a state the code alone decides: Fengniao binds it to app and merchant, and
      // the exchange is signed with the app's secret (README: "Authorization state").
      if (b.state !== undefined) {
        const issued = await sv.authStates.take(b.state, {
          platform: PLATFORM,
          codeName: app.codeName,
          subject: merchantId,
        });
        if (!issued) return badStatePage(ctx);
      }
      // committed (refresh token stored, token seeded) before Fengniao is answered
      await rt.authorize(app, code, merchantId);
      ctx.body = ACCEPTED;
    }),
  );

  router.post(
    '/fengniao/:codeName/callback',
    pushRoute(sv.log, async (ctx) => {
      const app = await routeApp(ctx, sv, PLATFORM);
      if (!app) return;
      const b = await readCallback(ctx);
      if (!(await rt.onCallback(app, b as FengniaoCallback))) throw new PushRejected(403, 'bad signature');
      ctx.body = ACCEPTED;
    }),
  );

  const proxy = proxyRoute(sv, async (ctx) => {
    const req = await merchantProxyRequest(ctx, sv, PLATFORM, 'merchantId', (m) => MERCHANT_ID.test(m));
    const { app, merchant: merchantId, path, body: raw } = req;
    // the body is the business data: a JSON value, passed on as the exact text the caller sent
    let businessData = raw ? raw.toString('utf8') : '';
    if (businessData.trim() === '') businessData = '{}';
    try {
      JSON.parse(businessData);
    } catch {
      throw new ProxyRefused(400, Codes.REQUEST_IS_NOT_JSON);
    }
    const q = ctx.originalUrl.indexOf('?');
    const search = q >= 0 ? ctx.originalUrl.slice(q) : '';
    const out = await rt.invoke(app, merchantId, path, search, businessData);
    relay(ctx, out.res, out.body);
  });
  router.post('/proxy/fengniao/:codeName/:merchantId{/*path}', proxy);
}
