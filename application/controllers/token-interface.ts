import type { Static, TProperties } from '@sinclair/typebox';
import { appRefs, out, rpc, s, tokenPara, unixSeconds, type TokenPara } from '../schema';
import type { Interface, Services } from '../contract';
import type { AppConfig } from '../services/apps';
import type { CurrentToken } from '../services/tokens/engine';

/** the para of a token interface: codeName, force, invalidToken, its subject fields and its options */
export type TokenParaOf<S extends TProperties, O extends TProperties> = TokenPara & {
  [k in keyof S]: Static<S[k]>;
} & { [k in keyof O]?: Static<O[k]> };

/** A token (or ticket) interface of an app addressed by codeName (§3.2). */
export interface TokenInterface<S extends TProperties, O extends TProperties> {
  name: string;
  summary: string;
  /** the app's platform: `codeName` names an enabled app of it (1012), the `apps` claim covers it */
  platform: string;
  /** required para fields naming what lies below the app (an authorizer, a corp, a merchant) */
  subject?: S;
  /** optional para fields (a ticket's type) */
  options?: O;
  /** the answer fields before the token, in answer order, with their values */
  ids: Record<string, (app: AppConfig, p: TokenParaOf<S, O>) => string>;
  /** the answer field of the token: `token` (default) or `ticket` */
  value?: string;
  /** the token or ticket, through the engine (`p` carries force / invalidToken) */
  get(sv: Services, app: AppConfig, p: TokenParaOf<S, O>): Promise<CurrentToken>;
}

/**
 * para `{codeName, …subject, …options, force, invalidToken}`, answer `{…ids, token, expiresAt}`
 * (expiresAt in unix seconds).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- no subject / no options by default
export function tokenInterface<S extends TProperties = {}, O extends TProperties = {}>(
  d: TokenInterface<S, O>,
): Interface {
  const { codeName, force, invalidToken } = tokenPara;
  const value = d.value ?? 'token';
  const ids = Object.keys(d.ids);
  const required: string[] = ['codeName', ...Object.keys(d.subject ?? {})];
  return rpc({
    name: d.name,
    access: 'backend',
    summary: d.summary,
    para: s.obj<TProperties, string>({ codeName, ...d.subject, ...d.options, force, invalidToken }, required),
    result: s.obj({ ...Object.fromEntries(ids.map((k) => [k, out.str])), [value]: out.str, expiresAt: out.int }, [
      ...ids,
      value,
      'expiresAt',
    ]),
    apps: appRefs(d.platform),
    handler: async (para, { services: sv }) => {
      // the schema above is this type: codeName and the subject fields required, the rest optional
      const p = para as TokenParaOf<S, O>;
      const app = await sv.apps.require(d.platform, p.codeName);
      const t = await d.get(sv, app, p);
      return {
        ...Object.fromEntries(ids.map((k) => [k, d.ids[k](app, p)])),
        [value]: t.value,
        expiresAt: unixSeconds(t.expiresAt),
      };
    },
  });
}
