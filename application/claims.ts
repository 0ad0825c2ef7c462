import { appsAllow, type AppRef, type Caller } from '../system/callers';
import type { Services } from './contract';

/**
 * The subjects below an app that a request can name, by the para field / route parameter that
 * names them: a third-party platform's authorizer, a suite's corp, a delivery platform's merchant,
 * a Feishu store app's tenant.
 * A caller's `apps` claim must cover each one a request names, besides the app itself (§4, trust).
 */
export const SUBJECT_FIELDS = ['authorizerAppId', 'corpId', 'merchantId', 'merchantCode', 'tenantKey'] as const;

/**
 * Every subject a request to `platform`'s app `named.codeName` touches: the app (under its codeName,
 * its platform-side id or its identity) and every subject named by a SUBJECT_FIELDS entry of `named` (an
 * interface's para or a route's parameters). Interfaces and proxies alike take their subjects here.
 */
export async function subjectsOf(sv: Services, platform: string, named: Record<string, unknown>): Promise<AppRef[]> {
  const refs: AppRef[] = [];
  if (typeof named.codeName === 'string') refs.push(await appNames(sv, platform, named.codeName));
  for (const f of SUBJECT_FIELDS) {
    const v = named[f];
    if (typeof v === 'string' || typeof v === 'number') refs.push(String(v));
  }
  return refs;
}

/** the names an app may be claimed under: its codeName, its platform-side id, its identity (corpId:agentId …) */
async function appNames(sv: Services, platform: string, codeName: string): Promise<string[]> {
  const app = await sv.apps.get(platform, codeName);
  return app ? [codeName, app.appId, sv.apps.identityOf(platform, app.config)] : [codeName];
}

/** whether the caller's `apps` claim (if any) covers every subject of a request (§4, trust) */
export async function claimCovers(
  caller: Caller,
  sv: Services,
  platform: string,
  named: Record<string, unknown>,
): Promise<boolean> {
  // Stryker disable next-line ConditionalExpression: equivalent — appsAllow answers the same; this saves the app lookups
  if (!caller.apps) return true;
  return appsAllow(caller, await subjectsOf(sv, platform, named));
}

/**
 * Whether the caller's `apps` claim covers a stored row (a push, a token) of `platform`'s app
 * `codeName` that names `named`: the app's own id or identity (nothing below the app), or what
 * lies below it — an authorizer, corp or merchant, bare or as a token subject `appId:below`. The
 * lists show such a caller what it could have asked for one by one, and nothing more.
 */
export async function claimCoversRow(
  caller: Caller | undefined,
  sv: Services,
  platform: string,
  codeName: string,
  named: string | null,
): Promise<boolean> {
  if (!caller?.apps) return true;
  const app = await sv.apps.get(platform, codeName);
  const refs: AppRef[] = [await appNames(sv, platform, codeName)];
  if (
    named !== null &&
    named !== '' &&
    (!app || (named !== app.appId && named !== sv.apps.identityOf(platform, app.config)))
  ) {
    refs.push(app && named.startsWith(`${app.appId}:`) ? named.slice(app.appId.length + 1) : named);
  }
  return appsAllow(caller, refs);
}
