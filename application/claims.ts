import { appsAllow, type AppRef, type Caller } from '../system/callers';
import type { Services } from './services';

/**
 * The subjects below an app that a request can name, by the para field / route parameter that
 * names them: a third-party platform's authorizer, a suite's corp, a delivery platform's merchant.
 * A caller's `apps` claim must cover each one a request names, besides the app itself (§4, trust).
 */
export const SUBJECT_FIELDS = ['authorizerAppId', 'corpId', 'merchantId', 'merchantCode'] as const;

/**
 * Every subject a request to `platform`'s app `named.codeName` touches: the app (under its codeName
 * or its platform-side id) and every subject named by a SUBJECT_FIELDS entry of `named` (an
 * interface's para or a route's parameters). Interfaces and proxies alike take their subjects here.
 */
export async function subjectsOf(sv: Services, platform: string, named: Record<string, unknown>): Promise<AppRef[]> {
  const refs: AppRef[] = [];
  if (typeof named.codeName === 'string') refs.push([named.codeName, (await sv.apps.get(platform, named.codeName))?.appId]);
  for (const f of SUBJECT_FIELDS) {
    const v = named[f];
    if (typeof v === 'string' || typeof v === 'number') refs.push(String(v));
  }
  return refs;
}

/** whether the caller's `apps` claim (if any) covers every subject of a request (§4, trust) */
export async function claimCovers(caller: Caller, sv: Services, platform: string, named: Record<string, unknown>): Promise<boolean> {
  if (!caller.apps) return true;
  return appsAllow(caller, await subjectsOf(sv, platform, named));
}
