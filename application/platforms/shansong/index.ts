import { definePlatform } from '../../contract';
import { appKind, field, optional } from '../../controllers/platform-fields';
import { merchantTokenInterface } from '../../controllers/token-interface';
import { routes } from './routes';
import { Shansong } from './service';

/** Shansong (闪送) apps and their merchants (shansong_app). */
export default definePlatform({
  name: 'shansong',
  upstreams: { api: 'http://open.ishansong.com' },
  apps: [
    appKind(
      'shansong_app',
      'appId',
      { appId: field.id, secret: field.secret, redirectUrl: optional(field.url), callbackUrl: optional(field.url) },
      {
        appId: 'ss0000000001',
        secret: 'shansong-secret-1',
        redirectUrl: 'https://example.com/ss',
        callbackUrl: 'https://example.com/sscb',
      },
    ),
  ],
  build: (d, urls) => new Shansong(d, urls),
  interfaces: (rt) => [merchantTokenInterface('shansong.merchant.token', rt)],
  routes,
});
