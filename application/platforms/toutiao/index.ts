import { definePlatform } from '../../contract';
import { appKind, field } from '../../controllers/platform-fields';
import { ToutiaoClient } from './client';
import { interfaces, toutiaoResolver } from './interfaces';

/** ByteDance / Douyin mini programs (toutiao_app). */
export default definePlatform({
  name: 'toutiao',
  upstreams: { api: 'https://developer.toutiao.com' },
  apps: [
    appKind(
      'toutiao_app',
      'appId',
      { appId: field.id, secret: field.secret },
      {
        appId: 'tt0000000000000001',
        secret: 'toutiao-secret-01',
      },
    ),
  ],
  build: (d, urls) => {
    const client = new ToutiaoClient(d.upstream, urls.api);
    toutiaoResolver(d, client);
    return client;
  },
  interfaces,
});
