import { appRefs, s, tokenPara, unixSeconds, type Interface } from '../../area';
import { MERCHANT_ID_PATTERN, PLATFORM } from '../../services/fengniao';

const { codeName, force, invalidToken } = tokenPara;
const str = { type: 'string' };
const int = { type: 'integer' };

interface MerchantPara {
  codeName: string;
  merchantId: string;
  force?: boolean;
  invalidToken?: string;
}

/** a caller's `apps` claim must name the app (by codeName or appId) */
const byCodeName = appRefs(PLATFORM);

export const interfaces: Interface[] = [
  {
    name: 'fengniao.merchant.token',
    access: 'backend',
    summary: "A Fengniao merchant's access token (refresh grant with the stored refresh token, which rotates); 1014 until the merchant authorized, or once its refresh token expired.",
    para: s.obj({ codeName, merchantId: { type: 'string', pattern: MERCHANT_ID_PATTERN }, force, invalidToken }, ['codeName', 'merchantId']),
    result: s.obj({ appId: str, merchantId: str, token: str, expiresAt: int }, ['appId', 'merchantId', 'token', 'expiresAt']),
    apps: byCodeName,
    handler: async (p: MerchantPara, { services: sv }) => {
      const app = await sv.fengniao.require(p.codeName);
      const t = await sv.fengniao.merchantToken(app, p.merchantId, p);
      return { appId: app.appId, merchantId: p.merchantId, token: t.value, expiresAt: unixSeconds(t.expiresAt) };
    },
  },
];
