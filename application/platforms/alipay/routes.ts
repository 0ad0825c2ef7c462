import type Router from '@koa/router';
import { Codes } from '../../../system/errors';
import type { Services } from '../../contract';
import { ProxyRefused, proxyBody, proxyCaller, proxyRoute } from '../../services/proxy';
import { jsonTextTooDeep } from '../../services/pushes';
import { COMMON_PARAMS, type AlipayClient } from './client';

const METHOD = /^[a-z][a-z0-9]*(\.[a-z0-9_]+){1,8}$/;
const PARAM = /^[a-z][a-z0-9_]{0,63}$/;
const refused = () => new ProxyRefused(400, Codes.PARA_ERROR);

/**
 * What a backend asks the gateway: a JSON object with `method` and the method's parameters
 * (`biz_content` an object or its JSON text; other values strings, numbers or booleans). The
 * parameters gatehouse sets (app_id, sign …) may not be sent. Anything else is 400.
 */
export function gatewayRequest(body: Buffer | undefined): { method: string; params: Record<string, string> } {
  const text = body?.toString('utf8') ?? '';
  if (jsonTextTooDeep(text)) throw refused();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ProxyRefused(400, Codes.REQUEST_IS_NOT_JSON);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProxyRefused(400, Codes.REQUEST_IS_NOT_JSON);
  const { method, ...rest } = v as Record<string, unknown>;
  if (typeof method !== 'string' || !METHOD.test(method)) throw refused();
  const params: Record<string, string> = {};
  for (const [k, val] of Object.entries(rest)) {
    if (!PARAM.test(k) || COMMON_PARAMS.includes(k)) throw refused();
    if (typeof val === 'string') params[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') params[k] = String(val);
    else if (k === 'biz_content' && val !== null && typeof val === 'object') params[k] = JSON.stringify(val);
    else throw refused();
  }
  return { method, params };
}

/**
 * POST /proxy/alipay/{codeName}: signs the gateway call a backend sends with the app's private key
 * (RSA2), and relays Alipay's answer as it came once its sign checks out with Alipay's key (an
 * unsigned or badly signed answer is 502 with 1007, never relayed). A caller token whose scope
 * covers `proxy.alipay_app` (and whose apps claim, if any, the codeName).
 */
export function alipayRoutes(router: Router, sv: Services, client: AlipayClient): void {
  router.post(
    '/proxy/alipay/:codeName',
    proxyRoute(sv, async (ctx) => {
      await proxyCaller(ctx, sv, 'alipay_app');
      const app = await sv.apps.require('alipay_app', String(ctx.params.codeName));
      const { method, params } = gatewayRequest(await proxyBody(ctx, sv.config.proxyBodyLimit));
      const answer = await client.call(app, method, params, 'gateway');
      ctx.status = 200;
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = answer.body;
    }),
  );
}
