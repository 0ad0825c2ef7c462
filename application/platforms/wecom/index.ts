import { definePlatform } from '../../contract';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { AES_SAMPLE } from '../../services/apps';
import { interfaces } from './interfaces';
import { buildWecom } from './parts';
import { wecomProxies } from './proxies';
import { tpInterfaces, tpRoutes } from './tp-interfaces';

/** WeCom (企业微信) corp agents (wecom_corp) and third-party suites (wecom_tp). */
export default definePlatform({
  name: 'wecom',
  upstreams: { api: 'https://qyapi.weixin.qq.com', open: 'https://open.work.weixin.qq.com' },
  apps: [
    appKind(
      'wecom_corp',
      'corpId',
      { corpId: field.id, agentId: field.digits, secret: field.secret },
      { corpId: 'ww0000000000000001', agentId: 1000002, secret: 'corp-secret-0001' },
      {
        normalize: (c) => void (c.agentId = String(c.agentId)),
        identity: (c) => `${String(c.corpId)}:${String(c.agentId)}`,
        identityLabel: 'corpId:agentId',
      },
    ),
    appKind(
      'wecom_tp',
      'suiteId',
      {
        suiteId: field.id,
        secret: field.secret,
        token: field.secret,
        aesKey: field.aesKey,
        redirectUrl: optional(field.url),
      },
      {
        suiteId: 'wwsuite000000001',
        secret: 'suite-secret-0001',
        token: 'suite-token-1',
        aesKey: AES_SAMPLE,
        redirectUrl: 'https://example.com/installed',
      },
    ),
  ],
  build: buildWecom,
  interfaces: [interfaces, tpInterfaces],
  routes: [tpRoutes, wecomProxies],
});
