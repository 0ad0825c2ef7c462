import type { Fengniao } from './service';
import { s } from '../../schema';
import { MERCHANT_ID_PATTERN, PLATFORM } from './service';
import { tokenInterface } from '../../controllers/token-interface';

/** a caller's `apps` claim must name the app (by codeName or appId) */
export const interfaces = (rt: Fengniao) => [
  tokenInterface({
    name: 'fengniao.merchant.token',
    summary:
      "A Fengniao merchant's access token (refresh grant with the stored refresh token, which rotates); 1014 " +
      'until the merchant authorized, or once its refresh token expired.',
    platform: PLATFORM,
    subject: { merchantId: s.match(MERCHANT_ID_PATTERN) },
    ids: { appId: (app) => app.appId, merchantId: (_app, p) => p.merchantId },
    get: (sv, app, p) => rt.merchantToken(app, p.merchantId, p),
  }),
];
