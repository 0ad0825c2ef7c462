import { definePlatform } from '../../contract';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { s } from '../../schema';
import { interfaces } from './interfaces';
import { buildFeishu } from './parts';
import { feishuEvents, feishuProxies } from './routes';

/** Feishu / Lark (飞书) apps (feishu_app): self-built and store apps, their tokens, JSSDK, login and events. */
export default definePlatform({
  name: 'feishu',
  upstreams: { api: 'https://open.feishu.cn', lark: 'https://open.larksuite.com' },
  // issue 18's name for the Lark host
  upstreamAliases: { lark: 'GATEHOUSE_LARK_API' },
  apps: [
    appKind(
      'feishu_app',
      'appId',
      {
        appId: s.match('^cli_[A-Za-z0-9]{1,64}$'),
        appSecret: field.secret,
        kind: s.oneOf(['self_built', 'store'] as const),
        encryptKey: optional(field.secret),
        verificationToken: optional(field.secret),
        domain: optional(s.oneOf(['feishu', 'lark'] as const)),
      },
      {
        appId: 'cli_a0000000000001',
        appSecret: 'feishu-app-secret-0001',
        kind: 'self_built',
        encryptKey: 'feishu-encrypt-key-1',
        verificationToken: 'feishu-verification-1',
        domain: 'feishu',
      },
    ),
  ],
  build: buildFeishu,
  interfaces,
  routes: [feishuEvents, feishuProxies],
});
