import { definePlatform } from '../../contract';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces } from './interfaces';
import { routes } from './routes';
import { Fengniao } from './service';

/** Fengniao (蜂鸟, Ele.me delivery) apps and their merchants (fengniao_app). */
export default definePlatform({
  name: 'fengniao',
  upstreams: {
    api: { env: 'GATEHOUSE_FENGNIAO_API', url: 'https://open-anubis.ele.me' },
    open: { env: 'GATEHOUSE_FENGNIAO_OPEN', url: 'https://open.ele.me' },
  },
  apps: [
    {
      platform: 'fengniao_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, devId: field.id, secret: field.secret, callbackUrl: field.url }, [
        'appId',
        'devId',
        'secret',
      ]),
      sample: { appId: '3000001', devId: 'dev001', secret: 'fengniao-secret-1', callbackUrl: 'https://example.com/fn' },
    },
  ],
  build: (d, urls) => new Fengniao(d, urls),
  interfaces,
  routes,
});
