import type { Shansong } from './service';
import { s } from '../../schema';
import { MERCHANT_CODE_PATTERN, PLATFORM } from './service';
import { tokenInterface } from '../../controllers/token-interface';

/** the app by codeName or clientId, and the merchant (a caller's `apps` claim must cover both) */
export const interfaces = (rt: Shansong) => [
  tokenInterface({
    name: 'shansong.merchant.token',
    summary:
      "A Shansong merchant's access token (refreshed with its rotated refresh token; 1014 until the merchant " +
      'authorized, or after its refresh token was rejected).',
    platform: PLATFORM,
    subject: { merchantCode: s.match(MERCHANT_CODE_PATTERN) },
    ids: { appId: (app) => app.appId, merchantCode: (_app, p) => p.merchantCode },
    get: (sv, app, p) => rt.merchantToken(app, p.merchantCode, p),
  }),
];
