import type Koa from 'koa';
import { readBody } from '../../system/body';
import { PUSH_LIMIT, parsePushJson } from './pushes';

/** a JSON value with every number and boolean as the text an XML push would carry */
function asPushFields(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(asPushFields);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asPushFields(x)]));
  return v;
}

/**
 * A push as WeChat Cloud Hosting (微信云托管) delivers it: already decrypted, as a JSON object whose
 * keys are the XML element names (`InfoType`, `CreateTime`, `ComponentVerifyTicket` …), over its
 * internal network with an `x-wx-source` header that its gateway sets. Read only when the node runs
 * there (`GATEHOUSE_CLOUD_HOSTING=true`) and the header is present; otherwise undefined, and the
 * route reads the encrypted, signed XML as everywhere else. The fields come back as an XML push's
 * would (numbers as text), so the handlers — ticket ordering, state stored before `success` — are
 * the same.
 */
export async function cloudHostingPush(
  ctx: Koa.Context,
  enabled: boolean,
): Promise<Record<string, unknown> | undefined> {
  // (Cloud Hosting may also pass an encrypted XML push on: that is read and verified as everywhere)
  if (!enabled || !ctx.get('x-wx-source') || !ctx.is('json')) return undefined;
  return asPushFields(parsePushJson(await readBody(ctx.req, PUSH_LIMIT))) as Record<string, unknown>;
}
