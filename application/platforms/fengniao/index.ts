import { definePlatform } from '../../contract';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { merchantTokenInterface } from '../../controllers/token-interface';
import { routes } from './routes';
import { Fengniao } from './service';

/** Fengniao (蜂鸟, Ele.me delivery) apps and their merchants (fengniao_app). */
export default definePlatform({
  name: 'fengniao',
  upstreams: { api: 'https://open-anubis.ele.me', open: 'https://open.ele.me' },
  apps: [
    appKind(
      'fengniao_app',
      'appId',
      { appId: field.id, devId: field.id, secret: field.secret, callbackUrl: optional(field.url) },
      { appId: '3000001', devId: 'dev001', secret: 'fengniao-secret-1', callbackUrl: 'https://example.com/fn' },
    ),
  ],
  build: (d, urls) => new Fengniao(d, urls),
  interfaces: (rt) => [merchantTokenInterface('fengniao.merchant.token', rt)],
  routes,
});
