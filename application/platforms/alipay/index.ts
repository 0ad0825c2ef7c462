import { RpcError } from '../../../system/errors';
import { definePlatform } from '../../contract';
import { s } from '../../schema';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { AlipayClient, openContent } from './client';
import { alipayRoutes } from './routes';
import { SAMPLE_ALIPAY_PUBLIC_KEY, SAMPLE_PRIVATE_KEY } from './sample';
import { rsa2Verify, rsaKey } from './sign';
import { keysOf } from './client';

/** a PEM or base64 key: long enough for RSA 4096 */
const pem = s.str(8192);

/** checks an alipay_app's keys as it is put (1003 naming the field, never the key) */
function checkKeys(config: Record<string, unknown>): void {
  for (const [name, kind] of [
    ['privateKey', 'private'],
    ['alipayPublicKey', 'public'],
  ] as const) {
    try {
      rsaKey(String(config[name]), kind);
    } catch (err) {
      throw new RpcError('PARA_ERROR', { errors: [{ path: `/${name}`, message: (err as Error).message }] });
    }
  }
}

/**
 * Alipay mini programs (alipay_app): login for the Wafer sessions through the open gateway's
 * alipay.system.oauth.token, Alipay-signed content (my.getPhoneNumber, my.getOpenUserInfo) opened
 * by qcloud.cam.decrypt, and a signed proxy to any gateway method. Requests are signed RSA2 with
 * node:crypto; every answer's sign is checked with Alipay's public key.
 */
export default definePlatform({
  name: 'alipay',
  upstreams: { gateway: 'https://openapi.alipay.com/gateway.do' },
  apps: [
    appKind(
      'alipay_app',
      'appId',
      {
        appId: field.id,
        privateKey: { ...pem, writeOnly: true },
        alipayPublicKey: pem,
        aesKey: optional({
          ...s.match('^([A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{32}|[A-Za-z0-9+/]{43}=)$'),
          writeOnly: true,
        }),
        gateway: optional(field.url),
        loginDurationDays: optional(s.int(1, 3650)),
        sessionDurationSeconds: optional(s.int(60, 315_360_000)),
      },
      {
        appId: '2021000000000001',
        privateKey: SAMPLE_PRIVATE_KEY,
        alipayPublicKey: SAMPLE_ALIPAY_PUBLIC_KEY,
        aesKey: 'ICEiIyQlJicoKSorLC0uLw==',
        gateway: 'https://openapi-sandbox.dl.alipaydev.com/gateway.do',
        loginDurationDays: 7,
        sessionDurationSeconds: 3600,
      },
      { normalize: checkKeys },
    ),
  ],
  build: (d, urls) => new AlipayClient(d.upstream, urls.gateway),
  routes: (router, sv, client) => alipayRoutes(router, sv, client),
  // my.getAuthCode's authCode → a session of the user's open_id (user_id when Alipay gives no open_id)
  miniProgram: (client) => ({
    kind: 'alipay_app',
    code2session: async (app, code) => {
      const u = await client.oauthToken(app, code ?? '');
      // no session key: Alipay's content is opened with the app's AES key and Alipay's public key
      return { openid: u.openid, session_key: '', unionid: u.userId !== u.openid ? u.userId : undefined };
    },
    decrypt: (app, _sessionKey, encryptData) => openContent(app, encryptData),
    checkSignature: (app, _sessionKey, rawData, signature) =>
      rsa2Verify(rawData, signature, keysOf(app).alipayPublicKey),
  }),
});
