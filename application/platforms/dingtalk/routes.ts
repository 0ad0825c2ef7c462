import type Router from '@koa/router';
import type Koa from 'koa';
import { readBody } from '../../../system/body';
import type { Services } from '../../contract';
import { routeApp } from '../../controllers/route-app';
import type { AppConfig } from '../../services/apps';
import { MsgCrypt, PushRejected } from '../../services/crypto/msgcrypt';
import { nonceStr } from '../../services/crypto/jssdk';
import { restOfPath, tokenProxy } from '../../services/proxy';
import { PUSH_LIMIT, maskPush, parsePushJson, pushRoute } from '../../services/pushes';
import { forwardPush } from '../../services/rules';
import { DINGTALK_ERRCODES } from './client';
import type { DingtalkParts } from './parts';
import { PLATFORM } from './tokens';

type Obj = Record<string, unknown>;

const one = (ctx: Koa.Context, k: string): string => {
  const v = (ctx.query as Obj)[k];
  return typeof v === 'string' ? v : '';
};

/**
 * The message crypts of an app's callbacks: DingTalk's callback encryption is WXBizMsgCrypt's
 * (services/crypto/msgcrypt.ts), the receiver id the appKey (an app made before DingTalk's new
 * console: the corpId). 403 when the app has no token / aesKey.
 */
function cryptsOf(app: AppConfig): MsgCrypt[] {
  const token = app.config.token;
  const aesKey = app.config.aesKey;
  if (typeof token !== 'string' || !token || typeof aesKey !== 'string' || !aesKey)
    throw new PushRejected(403, 'no token / aesKey configured');
  return [app.appId, String(app.config.corpId)].map((id) => new MsgCrypt(token, aesKey, id));
}

/** decrypts with the first receiver id that matches (the AES and padding checks are the same for both) */
function decrypt(crypts: MsgCrypt[], encrypt: string): { crypt: MsgCrypt; plain: string } {
  let last: unknown;
  for (const crypt of crypts) {
    try {
      return { crypt, plain: crypt.decrypt(encrypt) };
    } catch (err) {
      last = err;
      if (!(err instanceof PushRejected) || err.message !== 'receiver id differs') throw err;
    }
  }
  throw last;
}

/**
 * POST /dingtalk/{codeName}/events?signature=&timestamp=&nonce=, body `{"encrypt"}`: the signature
 * (SHA-1 over the sorted token, timestamp, nonce and encrypt) is checked before anything is
 * decrypted; the event is decrypted (AES-256-CBC, the 43-character aesKey), recorded in the push
 * log and, but check_url, given to the forwarding rules; the answer is `success` encrypted and
 * signed as DingTalk wants it: `{msg_signature, timeStamp, nonce, encrypt}`.
 */
export function dingtalkEvents(router: Router, sv: Services, rt: DingtalkParts): void {
  router.post(
    '/dingtalk/:codeName/events',
    pushRoute(sv.log, async (ctx) => {
      const app = await routeApp(ctx, sv, PLATFORM);
      if (!app) return;
      const crypts = cryptsOf(app);
      const body = parsePushJson(await readBody(ctx.req, PUSH_LIMIT));
      const encrypt = body.encrypt;
      if (typeof encrypt !== 'string' || !encrypt) throw new PushRejected(400, 'no encrypt field');
      const timestamp = one(ctx, 'timestamp');
      crypts[0].verify(one(ctx, 'signature') || one(ctx, 'msg_signature'), timestamp, one(ctx, 'nonce'), encrypt);
      const { crypt, plain } = decrypt(crypts, encrypt);
      const event = parsePushJson(plain);
      const eventType = (typeof event.EventType === 'string' && event.EventType ? event.EventType : 'unknown').slice(
        0,
        64,
      );
      if (eventType !== 'check_url') {
        const pushAt = await rt.d.pushes.record({
          platform: PLATFORM,
          codeName: app.codeName,
          infoType: eventType,
          appId: app.appId,
          verified: true,
          fields: event,
        });
        const masked = maskPush(event);
        forwardPush(rt.d, {
          platform: PLATFORM,
          codeName: app.codeName,
          appId: app.appId,
          infoType: eventType,
          pushAt,
          fields: masked,
          json: masked,
        });
      }
      const timeStamp = String(Date.now());
      const nonce = nonceStr(8);
      const reply = crypt.encrypt('success');
      ctx.type = 'application/json';
      ctx.body = { msg_signature: crypt.signature(timeStamp, nonce, reply), timeStamp, nonce, encrypt: reply };
    }),
  );
}

/**
 * /proxy/dingtalk/{codeName}/… (scope `proxy.dingtalk_app`): a path under `v1.0/` or `v2.0/` goes
 * to the new API host with the token as `x-acs-dingtalk-access-token` (an HTTP 401 refuses it),
 * any other to oapi with `access_token` in the query (40001 / 40014 / 42001 refuse it); a refused
 * token is compare-and-refreshed and the call sent once more.
 */
export function dingtalkProxies(router: Router, sv: Services, rt: DingtalkParts): void {
  const resolve = async (ctx: Koa.Context) => ({
    spec: rt.tokens.accessSpec(await sv.apps.require(PLATFORM, String(ctx.params.codeName))),
  });
  const common = { platform: PLATFORM, upstream: 'dingtalk', rules: DINGTALK_ERRCODES, fixed: 3, resolve };
  const oapi = tokenProxy(sv, { ...common, base: rt.urls.oapi, param: 'access_token' });
  const api = tokenProxy(sv, {
    ...common,
    base: rt.urls.api,
    header: (token) => ['x-acs-dingtalk-access-token', token],
    errcodeField: 'code',
    refused: (status) => status === 401,
  });
  router.all('/proxy/dingtalk/:codeName/*rest', (ctx, next) =>
    (/^v[12]\.0\//.test(restOfPath(ctx, 3)) ? api : oapi)(ctx, next),
  );
}
