import { field } from '../../controllers/platform-fields';
import type Koa from 'koa';
import type Router from '@koa/router';
import { appRefs, out, s, tokenPara, rpc } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import type { AppConfig } from '../../services/apps';
import { PushRejected } from '../../services/crypto/msgcrypt';
import { authorizedPage, forwardTo, htmlPage, pageRateLimit, returnedAuthorization } from '../../services/pages';
import { pushRoute, readEncryptedPush } from '../../services/pushes';
import { INSTALL_STATE } from './tp';
import { Codes, RpcError, StoreError } from '../../../system/errors';
import { routeApp } from '../../controllers/route-app';
import { tokenInterface } from '../../controllers/token-interface';
import type { WecomParts } from './parts';

const { codeName } = tokenPara;
const { str, int } = out;
const corpId = field.id;

/** a caller's apps claim may name the codeName or the suite id (tpauth: or the corpid) */
const bySuite = appRefs('wecom_tp');

export const tpInterfaces = (rt: WecomParts): Interface[] => [
  tokenInterface({
    name: 'wecom.tp.token',
    summary: 'suite_access_token of a WeCom third-party suite (get_suite_token with the pushed suite_ticket).',
    platform: 'wecom_tp',
    ids: { suiteId: (tp) => tp.appId },
    get: (sv, tp, p) => rt.tp.suiteToken(tp, p),
  }),
  rpc({
    name: 'wecom.tp.authorizers',
    access: 'backend',
    summary: 'The corps that installed the suite, and whether their tokens can be served.',
    para: s.obj({ codeName }, ['codeName']),
    result: s.obj(
      {
        corps: s.array(
          s.obj({ corpId: str, authorized: s.bool(), updatedAt: int }, ['corpId', 'authorized', 'updatedAt']),
        ),
      },
      ['corps'],
    ),
    apps: bySuite,
    handler: async (p) => ({
      corps: await rt.tp.listCorps(await rt.tp.require(p.codeName)),
    }),
  }),
  tokenInterface({
    name: 'wecom.tpauth.token',
    summary:
      'Access token of a corp that installed the suite (get_corp_token with its permanent code); 1014 once it ' +
      'cancelled.',
    platform: 'wecom_tp',
    subject: { corpId },
    ids: { suiteId: (tp) => tp.appId, corpId: (_tp, p) => p.corpId },
    get: (sv, tp, p) => rt.tp.corpToken(tp, p.corpId, p),
  }),
];

// ---- routes

const one = (ctx: Koa.Context, k: string): string | undefined => {
  const v = (ctx.query as Record<string, unknown>)[k];
  return typeof v === 'string' ? v : undefined;
};

/** a page for a failed authorization step: never a 500, never a secret */
function failurePage(sv: Services, ctx: Koa.Context, err: unknown, what: string): void {
  if (err instanceof RpcError && err.code === Codes.NOT_READY) {
    htmlPage(
      ctx,
      503,
      '暂时无法安装 / Not ready',
      'The suite has not received its suite_ticket from WeCom yet. Please try again in a few minutes.',
    );
    return;
  }
  if (err instanceof RpcError && err.code === Codes.UPSTREAM_ERROR) {
    const errcode = (err.data as { errcode?: unknown }).errcode;
    sv.log.warn({ path: ctx.path, what, errcode }, 'wecom suite authorization step refused by WeCom');
    htmlPage(
      ctx,
      502,
      '企业微信拒绝了请求 / Refused by WeCom',
      `WeCom answered errcode ${String(errcode)}. Please start the installation again.`,
    );
    return;
  }
  const detail = err instanceof StoreError || err instanceof RpcError ? err.detail : (err as Error)?.message;
  sv.log.error({ path: ctx.path, what, error: detail }, 'wecom suite authorization step failed');
  htmlPage(ctx, 503, '暂时无法完成 / Try again', 'Please try again in a moment.');
}

export function tpRoutes(router: Router, sv: Services, rt: WecomParts): void {
  const log = sv.log;

  // URL verification (GET) and 指令回调 pushes (POST): receiver id = suite id
  router.get(
    '/wecom-tp/:codeName/events',
    pushRoute(log, async (ctx) => {
      const tp = await routeApp(ctx, sv, 'wecom_tp');
      if (!tp) return;
      // base64 has no spaces: a "+" that arrived unencoded was read as one
      const echostr = (one(ctx, 'echostr') ?? '').replace(/ /g, '+');
      if (!echostr) throw new PushRejected(400, 'no echostr');
      const crypt = rt.tp.crypt(tp);
      crypt.verify(one(ctx, 'msg_signature') ?? '', one(ctx, 'timestamp') ?? '', one(ctx, 'nonce') ?? '', echostr);
      const plain = crypt.decrypt(echostr);
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = plain;
    }),
  );

  router.post(
    '/wecom-tp/:codeName/events',
    pushRoute(log, async (ctx) => {
      const tp = await routeApp(ctx, sv, 'wecom_tp');
      if (!tp) return;
      const push = await readEncryptedPush(ctx, rt.tp.crypt(tp));
      await rt.tp.onEvent(tp, push.fields);
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'success';
    }),
  );

  const page = (handler: (ctx: Koa.Context, tp: AppConfig) => Promise<void>, what: string): Koa.Middleware => {
    return async (ctx) => {
      let tp: AppConfig | null;
      try {
        tp = await routeApp(ctx, sv, 'wecom_tp');
      } catch (err) {
        return failurePage(sv, ctx, err, what);
      }
      if (!tp) return;
      try {
        await handler(ctx, tp);
      } catch (err) {
        failurePage(sv, ctx, err, what);
      }
    };
  };

  const limited = pageRateLimit(sv.publicLimiter);

  // the install link (从服务商网站发起): a page that goes on to WeCom with a fresh pre_auth_code.
  // WeCom gets the page's single-use nonce as `state` (§7 trust); the caller's state is bound to it.
  router.get(
    '/wecom-tp/:codeName/install',
    limited,
    page(async (ctx, tp) => {
      const state = one(ctx, 'state') ?? '';
      if (!INSTALL_STATE.test(state))
        return htmlPage(ctx, 400, '参数错误 / Bad request', 'state: at most 128 of a-z, A-Z, 0-9, "_" and "-".');
      const nonce = await sv.authStates.issue({ platform: 'wecom_tp', codeName: tp.codeName, callerState: state });
      const url = await rt.tp.installUrl(tp, nonce);
      forwardTo(ctx, '安装企业微信应用 / Install the app', url);
    }, 'install'),
  );

  // WeCom's redirect after the install: the auth code is exchanged at once
  router.get(
    '/wecom-tp/:codeName/installed',
    limited,
    page(async (ctx, tp) => {
      const returned = await returnedAuthorization(
        ctx,
        sv.authStates,
        tp,
        'auth_code',
        'WeCom sends the administrator back',
      );
      if (!returned) return;
      const { code, issued } = returned;
      const corp = await rt.tp.authorize(tp, code);
      // redirectUrl gets the caller's own state back, as before the nonce
      const query = { ...ctx.query, state: issued.callerState ?? '', auth_corpid: corp };
      authorizedPage(ctx, tp, query, '安装成功 / Installed', `The app is installed for corp ${corp}.`);
    }, 'installed'),
  );
}
