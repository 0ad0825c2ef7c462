import { definePlatform } from '../../contract';
import { configSchema, field } from '../../controllers/platform-fields';
import { AES_SAMPLE } from '../../services/apps';
import { interfaces } from './interfaces';
import { buildWecom } from './parts';
import { wecomProxies } from './proxies';
import { tpInterfaces, tpRoutes } from './tp-interfaces';

/** WeCom (企业微信) corp agents (wecom_corp) and third-party suites (wecom_tp). */
export default definePlatform({
  name: 'wecom',
  upstreams: {
    api: { env: 'GATEHOUSE_WECOM_API', url: 'https://qyapi.weixin.qq.com' },
    open: { env: 'GATEHOUSE_WECOM_OPEN', url: 'https://open.work.weixin.qq.com' },
  },
  apps: [
    {
      platform: 'wecom_corp',
      idField: 'corpId',
      secrets: ['secret'],
      schema: configSchema({ corpId: field.id, agentId: field.digits, secret: field.secret }, [
        'corpId',
        'agentId',
        'secret',
      ]),
      normalize: (c) => {
        c.agentId = String(c.agentId);
      },
      identity: (c) => `${String(c.corpId)}:${String(c.agentId)}`,
      identityLabel: 'corpId:agentId',
      sample: { corpId: 'ww0000000000000001', agentId: 1000002, secret: 'corp-secret-0001' },
    },
    {
      platform: 'wecom_tp',
      idField: 'suiteId',
      secrets: ['secret', 'token', 'aesKey'],
      schema: configSchema(
        { suiteId: field.id, secret: field.secret, token: field.secret, aesKey: field.aesKey, redirectUrl: field.url },
        ['suiteId', 'secret', 'token', 'aesKey'],
      ),
      sample: {
        suiteId: 'wwsuite000000001',
        secret: 'suite-secret-0001',
        token: 'suite-token-1',
        aesKey: AES_SAMPLE,
        redirectUrl: 'https://example.com/installed',
      },
    },
  ],
  build: buildWecom,
  interfaces: (rt) => [...interfaces(rt), ...tpInterfaces(rt)],
  routes: (router, sv, rt) => {
    tpRoutes(router, sv, rt);
    wecomProxies(router, sv, rt);
  },
});
