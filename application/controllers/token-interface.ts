import type { Static, TProperties } from '@sinclair/typebox';
import { appRefs, out, rpc, s, tokenPara, unixSeconds, type TokenPara } from '../schema';
import type { Interface, Services } from '../contract';
import type { AppConfig } from '../services/apps';
import type { CurrentToken, GetOptions } from '../services/tokens/engine';
import type { AppTokens } from '../services/tokens/app-tokens';

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

/**
 * The `<prefix>.token`, `.ticket` and `.jsconfig` interfaces of a platform's apps (wechat.app.*,
 * wecom.corp.*), from what its `AppTokens` declare: the ids that name the app in the answers, the
 * ticket types, the ticket types a page can be signed with (a `type` para when there are several).
 */
export function appTokenInterfaces<T extends string>(
  tokens: AppTokens<T>,
  prefix: string,
  summary: { token: string; ticket: string; jsconfig: string },
): Interface[] {
  const { platform, ids, ticketIds, ticketTypes, pageTypes } = tokens.kinds;
  const answer = (fields: readonly string[]) => Object.fromEntries(fields.map((k) => [k, ids[k]]));
  const pageType: TProperties = pageTypes.length > 1 ? { type: s.oneOf(pageTypes) } : {};
  const fields = [...Object.keys(ids), 'timestamp', 'nonceStr', 'signature'];
  return [
    tokenInterface({
      name: `${prefix}.token`,
      summary: summary.token,
      platform,
      ids: ids,
      get: (sv, app, p) => tokens.token(app, p),
    }),
    tokenInterface({
      name: `${prefix}.ticket`,
      summary: summary.ticket,
      platform,
      options: { type: s.oneOf(ticketTypes) },
      ids: answer(ticketIds ?? Object.keys(ids)),
      value: 'ticket',
      get: (sv, app, p) => tokens.ticket(app, p.type ?? ticketTypes[0], p),
    }),
    rpc({
      name: `${prefix}.jsconfig`,
      access: 'backend',
      summary: summary.jsconfig,
      para: s.obj<TProperties, string>({ codeName: tokenPara.codeName, url: tokenPara.url, ...pageType }, [
        'codeName',
        'url',
      ]),
      result: s.obj<TProperties, string>(
        {
          ...Object.fromEntries(Object.keys(ids).map((k) => [k, out.str])),
          timestamp: out.int,
          nonceStr: out.str,
          signature: out.str,
        },
        fields,
      ),
      apps: appRefs(platform),
      handler: async (para, { services: sv }) => {
        // the schema above is this type: codeName and url required, type one of the page types
        const p = para as { codeName: string; url: string; type?: T };
        return tokens.jsconfig(await sv.apps.require(platform, p.codeName), p.url, p.type);
      },
    }),
  ];
}

/** A platform whose apps' merchants authorize it (Fengniao, Shansong): what its merchant token interface needs. */
export interface MerchantTokens {
  /** the app kind: `codeName` names an app of it */
  readonly platform: string;
  /** the para field naming the merchant, its pattern, and the interface's summary */
  readonly merchant: { field: string; pattern: string; summary: string };
  merchantToken(app: AppConfig, merchant: string, opts: GetOptions): Promise<CurrentToken>;
}

/**
 * `<name>`: a merchant's access token — para `{codeName, <field>}`, answer `{appId, <field>, token,
 * expiresAt}`; a caller's `apps` claim must cover the app and the merchant.
 */
export function merchantTokenInterface(name: string, m: MerchantTokens): Interface {
  const { field, pattern, summary } = m.merchant;
  return tokenInterface({
    name,
    summary,
    platform: m.platform,
    subject: { [field]: s.match(pattern) },
    ids: { appId: (app) => app.appId, [field]: (_app, p) => String(p[field]) },
    get: (sv, app, p) => m.merchantToken(app, String(p[field]), p),
  });
}
