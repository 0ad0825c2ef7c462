import { appRefs, s, tokenPara, unixSeconds, type Interface } from '../../area';
import { MERCHANT_CODE_PATTERN, PLATFORM } from '../../services/shansong';

const { codeName, force, invalidToken } = tokenPara;
const merchantCode = { type: 'string', pattern: MERCHANT_CODE_PATTERN };
const str = { type: 'string' };
const int = { type: 'integer' };

interface ByMerchant {
  codeName: string;
  merchantCode: string;
  force?: boolean;
  invalidToken?: string;
}

/** the app by codeName or clientId, and the merchant (a caller's `apps` claim must cover both) */
const byMerchant = appRefs(PLATFORM);

export const interfaces: Interface[] = [
  {
    name: 'shansong.merchant.token',
    access: 'backend',
    summary: "A Shansong merchant's access token (refreshed with its rotated refresh token; 1014 until the merchant authorized, or after its refresh token was rejected).",
    para: s.obj({ codeName, merchantCode, force, invalidToken }, ['codeName', 'merchantCode']),
    result: s.obj({ appId: str, merchantCode: str, token: str, expiresAt: int }, ['appId', 'merchantCode', 'token', 'expiresAt']),
    apps: byMerchant,
    handler: async (p: ByMerchant, { services: sv }) => {
      const app = await sv.shansong.require(p.codeName);
      const t = await sv.shansong.merchantToken(app, p.merchantCode, p);
      return { appId: app.appId, merchantCode: p.merchantCode, token: t.value, expiresAt: unixSeconds(t.expiresAt) };
    },
  },
];
