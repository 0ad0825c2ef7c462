import { appRefs, out, s, tokenPara, unixSeconds, type TokenPara } from '../area';
import type { Interface } from '../contract';
import type { Services } from '../contract';
import type { AppConfig } from '../services/apps';
import type { CurrentToken } from '../services/tokens/engine';

/** A token (or ticket) interface of an app addressed by codeName (§3.2). */
export interface TokenInterface<P extends TokenPara> {
  name: string;
  summary: string;
  /** the app's platform: `codeName` names an enabled app of it (1012), the `apps` claim covers it */
  platform: string;
  /** required para fields naming what lies below the app (an authorizer, a corp, a merchant) */
  subject?: Record<string, unknown>;
  /** optional para fields (a ticket's type) */
  options?: Record<string, unknown>;
  /** the answer fields before the token, in answer order, with their values */
  ids: Record<string, (app: AppConfig, p: P) => string>;
  /** the answer field of the token: `token` (default) or `ticket` */
  value?: string;
  /** the token or ticket, through the engine (`p` carries force / invalidToken) */
  get(sv: Services, app: AppConfig, p: P): Promise<CurrentToken>;
}

/**
 * para `{codeName, …subject, …options, force, invalidToken}`, answer `{…ids, token, expiresAt}`
 * (expiresAt in unix seconds).
 */
export function tokenInterface<P extends TokenPara>(d: TokenInterface<P>): Interface<P> {
  const { codeName, force, invalidToken } = tokenPara;
  const value = d.value ?? 'token';
  const ids = Object.keys(d.ids);
  return {
    name: d.name,
    access: 'backend',
    summary: d.summary,
    para: s.obj({ codeName, ...d.subject, ...d.options, force, invalidToken }, [
      'codeName',
      ...Object.keys(d.subject ?? {}),
    ]),
    result: s.obj({ ...Object.fromEntries(ids.map((k) => [k, out.str])), [value]: out.str, expiresAt: out.int }, [
      ...ids,
      value,
      'expiresAt',
    ]),
    apps: appRefs(d.platform),
    handler: async (p, { services: sv }) => {
      const app = await sv.apps.require(d.platform, p.codeName);
      const t = await d.get(sv, app, p);
      return {
        ...Object.fromEntries(ids.map((k) => [k, d.ids[k](app, p)])),
        [value]: t.value,
        expiresAt: unixSeconds(t.expiresAt),
      };
    },
  };
}
