import type Router from '@koa/router';
import type Koa from 'koa';
import { appRefs, out, s, tokenPara, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import type { AppConfig } from '../../services/apps';
import { authorizedPage, failurePage, forwardTo, pageRateLimit, returnedAuthorization } from '../../services/pages';
import { cloudHostingPush } from '../../services/cloud-hosting';
import { PushRejected } from '../../services/crypto/msgcrypt';
import { pushRoute, readEncryptedPush } from '../../services/pushes';
import { Codes, type RpcError } from '../../../system/errors';
import { routeApp } from '../../controllers/route-app';
import { tokenInterface } from '../../controllers/token-interface';
import type { WechatParts } from './parts';

const { codeName, url } = tokenPara;
const authorizerAppId = s.str(128);
const { str, int } = out;

const tp = (rt: WechatParts, p: { codeName: string }) => rt.tp.require(p.codeName);
/** a caller's apps claim may name the codeName or the appId (tpauth: and the authorizer) */
const byCodeName = appRefs('wechat_tp');

export const tpInterfaces = (rt: WechatParts): Interface[] => [
  tokenInterface({
    name: 'wechat.tp.token',
    summary: 'component_access_token of a third-party platform (1014 until the first component_verify_ticket).',
    platform: 'wechat_tp',
    ids: { appId: (t) => t.appId },
    get: (sv, t, p) => rt.tp.componentToken(t, p),
  }),
  rpc({
    name: 'wechat.tp.authorizers',
    access: 'backend',
    summary:
      'The accounts that authorized the platform; sync: true first adopts those WeChat knows ' +
      '(api_get_authorizer_list).',
    para: s.obj({ codeName, sync: s.bool() }, ['codeName']),
    result: s.obj(
      {
        authorizers: s.array(
          s.obj({ authorizerAppId: str, authorized: s.bool(), updatedAt: int }, [
            'authorizerAppId',
            'authorized',
            'updatedAt',
          ]),
        ),
      },
      ['authorizers'],
    ),
    apps: byCodeName,
    handler: async (p) => {
      const t = await tp(rt, p);
      if (p.sync) await rt.tp.sync(t);
      return { authorizers: await rt.tp.listAuthorizers(t) };
    },
  }),
  tokenInterface({
    name: 'wechat.tpauth.token',
    summary: "An authorizer's access token (api_authorizer_token, refresh token rotated and kept).",
    platform: 'wechat_tp',
    subject: { authorizerAppId },
    ids: { appId: (t) => t.appId, authorizerAppId: (_t, p) => p.authorizerAppId },
    get: (sv, t, p) => rt.tp.authorizerToken(t, p.authorizerAppId, p),
  }),
  tokenInterface({
    name: 'wechat.tpauth.ticket',
    summary: "An authorizer's jsapi (default) or wx_card ticket.",
    platform: 'wechat_tp',
    subject: { authorizerAppId },
    options: { type: s.oneOf(['jsapi', 'wx_card']) },
    ids: { authorizerAppId: (_t, p) => p.authorizerAppId },
    value: 'ticket',
    get: (sv, t, p) => rt.tp.ticket(t, p.authorizerAppId, p.type ?? 'jsapi', p),
  }),
  rpc({
    name: 'wechat.tpauth.jsconfig',
    access: 'backend',
    summary: "wx.config parameters for an authorizer's page (appId = the authorizer).",
    para: s.obj({ codeName, authorizerAppId, url }, ['codeName', 'authorizerAppId', 'url']),
    result: s.obj({ appId: str, timestamp: int, nonceStr: str, signature: str }, [
      'appId',
      'timestamp',
      'nonceStr',
      'signature',
    ]),
    apps: byCodeName,
    handler: async (p) => rt.tp.jsconfig(await tp(rt, p), p.authorizerAppId, p.url),
  }),
  rpc({
    name: 'wechat.tpauth.code2session',
    access: 'backend',
    summary: 'jscode2session for an authorizer mini program, with the component token.',
    para: s.obj({ codeName, authorizerAppId, jsCode: s.str(512) }, ['codeName', 'authorizerAppId', 'jsCode']),
    result: s.obj({ openid: str, sessionKey: str, unionid: str }, ['openid', 'sessionKey']),
    apps: byCodeName,
    handler: async (p) => rt.tp.code2session(await tp(rt, p), p.authorizerAppId, p.jsCode),
  }),
];

/** the authorization pages' answer to a failed step */
const failure = {
  title: '授权暂不可用 / Authorization unavailable',
  detail: (e?: RpcError) =>
    e?.code === Codes.NOT_READY
      ? 'The platform has not received its component_verify_ticket yet. Try again in a few minutes.'
      : `WeChat did not answer as expected (${e?.message ?? 'internal error'}).`,
};

export function tpRoutes(router: Router, sv: Services, rt: WechatParts): void {
  // a push to the platform: decrypted (or delivered decrypted by Cloud Hosting), handled, answered `success`
  const push = (handle: (t: AppConfig, fields: Record<string, unknown>, ctx: Koa.Context) => Promise<void>) =>
    pushRoute(sv.log, async (ctx) => {
      const t = await routeApp(ctx, sv, 'wechat_tp');
      if (!t) return;
      const hosted = await cloudHostingPush(ctx, sv.config.cloudHosting);
      // a decrypted push names its platform only in AppId: another platform's is refused
      if (hosted && typeof hosted.AppId === 'string' && hosted.AppId !== t.appId)
        throw new PushRejected(403, 'another platform');
      const fields = hosted ?? (await readEncryptedPush(ctx, rt.tp.crypt(t))).fields;
      await handle(t, fields, ctx);
      ctx.type = 'text/plain';
      ctx.body = 'success';
    });
  router.post(
    '/wechat-tp/:codeName/events',
    push((t, fields) => rt.tp.onEvent(t, fields)),
  );
  router.post(
    '/wechat-tp/:codeName/messages/:appid',
    push((t, fields, ctx) => rt.tp.onMessage(t, String(ctx.params.appid), fields)),
  );

  const limited = pageRateLimit(sv.publicLimiter);

  router.get('/wechat-tp/:codeName/authorize', limited, async (ctx) => {
    const t = await routeApp(ctx, sv, 'wechat_tp');
    if (!t) return;
    const mode = ctx.query.mode === 'link' ? 'link' : 'scan';
    try {
      const state = await sv.authStates.issue({ platform: 'wechat_tp', codeName: t.codeName });
      const target = await rt.tp.authorizationUrl(t, mode, state);
      forwardTo(ctx, '前往微信授权 / Authorize on WeChat', target);
    } catch (err) {
      failurePage(ctx, sv.log, err, 'authorization page', failure);
    }
  });

  router.get('/wechat-tp/:codeName/authorized', limited, async (ctx) => {
    const t = await routeApp(ctx, sv, 'wechat_tp');
    if (!t) return;
    try {
      const returned = await returnedAuthorization(
        ctx,
        sv.authStates,
        t,
        'auth_code',
        'WeChat sends the administrator back',
      );
      if (!returned) return;
      const appid = await rt.tp.authorize(t, returned.code);
      // the spent nonce is gatehouse's own: redirectUrl gets WeChat's query without it
      const { state: _nonce, ...query } = ctx.query;
      const done = `${appid} is now authorized for ${t.codeName}.`;
      authorizedPage(ctx, t, { ...query, authorizer_appid: appid }, '授权成功 / Authorized', done);
    } catch (err) {
      failurePage(ctx, sv.log, err, 'authorization exchange', failure);
    }
  });
}
