import { definePlatform } from '../../contract';
import { configSchema, field } from '../../controllers/platform-fields';
import { ToutiaoClient } from './client';
import { interfaces, toutiaoResolver } from './interfaces';

/** ByteDance / Douyin mini programs (toutiao_app). */
export default definePlatform({
  name: 'toutiao',
  upstreams: { api: { env: 'GATEHOUSE_TOUTIAO_API', url: 'https://developer.toutiao.com' } },
  apps: [
    {
      platform: 'toutiao_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, secret: field.secret }, ['appId', 'secret']),
      sample: { appId: 'tt0000000000000001', secret: 'toutiao-secret-01' },
    },
  ],
  build: (d, urls) => {
    const client = new ToutiaoClient(d.upstream, urls.api);
    toutiaoResolver(d, client);
    return client;
  },
  interfaces,
});
