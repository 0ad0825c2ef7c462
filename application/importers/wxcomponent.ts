import crypto from 'node:crypto';
import { ConfigError } from '../../system/config';
import type { Services } from '../contract';
import { accountStep, appStep, ownerApp, ruleStep, ticketStep, type Step } from './plan';
import { str, time, type Source, type SourceRow } from './source';
import { RULE_DEFAULTS } from '../services/rules';

/**
 * wxcloudrun-wxcomponent (WeixinCloud/wxcloudrun-wxcomponent, its gorm models and table DDL) →
 * gatehouse: one WeChat third-party platform (wechat_tp) from
 *   - `comm` key `secret` (AES-256-CBC with wxcomponent's AesKey, IV = its first 16 bytes, PKCS#7,
 *     base64: dao.SetCommKvEncrypt) and key `ticket` (the component_verify_ticket, in clear);
 *     key `authinfo` ({name, desc, redirectUrl}) gives the redirect URL
 *   - the component appid: --appid, else `wxtoken` type 2 (the component's own token row)
 *   - `authorizers` (appid, refreshtoken, funcinfo, authtime / updatetime): every authorizer with its
 *     refresh token (decrypted with the same key when wxcomponent stored it encrypted)
 *   - `wxcallback_rules` (infotype / msgtype / event, open, info {port, path}): forwarding rules
 *     delivering to http://127.0.0.1:{port}{path} as gatehouse push rules (`wxcomponent-{id}`); a
 *     path with $APPID$ becomes one rule per authorizer
 */

export interface WxcomponentOptions {
  /** wxcomponent's AesKey; default MD5 hex of the source's MySQL password (as wxcomponent derives it) */
  aesKey?: string;
  appId?: string;
  codeName: string;
  token?: string;
  encodingAesKey?: string;
}

/** wxcomponent's encrypt.AesDecrypt of a base64 value: AES-CBC, the key's first block as IV, PKCS#7 */
export function wxcomponentDecrypt(value: string, key: string): string | null {
  const k = Buffer.from(key, 'utf8');
  if (![16, 24, 32].includes(k.length)) return null;
  try {
    const raw = Buffer.from(value, 'base64');
    if (raw.length === 0 || raw.length % 16 !== 0) return null;
    const d = crypto.createDecipheriv(`aes-${k.length * 8}-cbc`, k, k.subarray(0, 16));
    const out = Buffer.concat([d.update(raw), d.final()]).toString('utf8');
    return /^[\x20-\x7e]+$/.test(out) ? out : null;
  } catch {
    return null;
  }
}

/** an EncodingAESKey nobody knows: encrypted pushes cannot be forged until the real one is set */
const randomAesKey = () =>
  crypto
    .randomBytes(48)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 43);

export async function planWxcomponent(sv: Services, src: Source, o: WxcomponentOptions): Promise<Step[]> {
  const steps: Step[] = [];
  const key = o.aesKey ?? crypto.createHash('md5').update(src.password, 'utf8').digest('hex');
  const comm = new Map((await src.rows('comm')).map((r) => [str(r, 'key'), r]));
  const own = (await src.rows('wxtoken')).find((r) => Number(r.type) === 2);
  const appId = o.appId ?? (own ? str(own, 'appid') : '');
  if (!appId) throw new ConfigError('import wxcomponent: the database does not name the component appid: give --appid');
  const sealed = comm.get('secret') ? str(comm.get('secret')!, 'value') : '';
  const secret = sealed ? wxcomponentDecrypt(sealed, key) : null;
  if (sealed && secret === null)
    throw new ConfigError("import wxcomponent: the secret does not decrypt: give wxcomponent's AesKey with --aes-key");
  let redirectUrl: string | undefined;
  try {
    const info = JSON.parse(str(comm.get('authinfo') ?? {}, 'value') || '{}') as { redirectUrl?: unknown };
    if (typeof info.redirectUrl === 'string' && /^https?:\/\//.test(info.redirectUrl)) redirectUrl = info.redirectUrl;
  } catch {
    redirectUrl = undefined;
  }
  const existing = await sv.apps.get('wechat_tp', o.codeName);
  const keep = existing?.appId === appId ? existing.config : {};
  const app = await appStep(sv, 'wechat_tp', o.codeName, {
    appId,
    secret: secret ?? '',
    // wxcomponent on Cloud Hosting gets its pushes decrypted: keep gatehouse's, else ones nobody knows
    token: o.token ?? (keep.token as string | undefined) ?? crypto.randomBytes(16).toString('hex'),
    aesKey: o.encodingAesKey ?? (keep.aesKey as string | undefined) ?? randomAesKey(),
    ...(redirectUrl ? { redirectUrl } : {}),
  });
  steps.push(app);
  if (app.action === 'skip' || app.action === 'conflict') return steps;

  const ticket = comm.get('ticket');
  if (ticket)
    steps.push(await ticketStep(sv, 'wechat_tp', o.codeName, appId, str(ticket, 'value'), time(ticket, 'updatetime')));

  const owner = ownerApp('wechat_tp', o.codeName, appId);
  const authorizers = await src.rows('authorizers', 'appid');
  for (const a of authorizers) {
    let rt = str(a, 'refreshtoken');
    if (rt && !rt.startsWith('refreshtoken@@@')) rt = wxcomponentDecrypt(rt, key) ?? rt;
    let funcInfo: unknown = null;
    try {
      funcInfo = str(a, 'funcinfo') ? (JSON.parse(str(a, 'funcinfo')) as unknown) : null;
    } catch {
      funcInfo = null;
    }
    const at = time(a, 'updatetime') ?? time(a, 'authtime');
    steps.push(
      await accountStep(
        sv,
        'wechat_tp',
        'authorizer',
        owner,
        str(a, 'appid'),
        rt,
        JSON.stringify({ func_info: funcInfo }),
        at,
      ),
    );
  }

  for (const r of await src.rows('wxcallback_rules', 'id'))
    steps.push(...(await rules(sv, o.codeName, r, authorizers)));
  return steps;
}

/** one wxcomponent forwarding rule as gatehouse push rules (one per authorizer when its path names $APPID$) */
async function rules(sv: Services, codeName: string, r: SourceRow, authorizers: SourceRow[]): Promise<Step[]> {
  const id = `wxcomponent-${str(r, 'id')}`;
  let cfg: { port?: unknown; path?: unknown } = {};
  try {
    cfg = JSON.parse(str(r, 'info') || '{}') as typeof cfg;
  } catch {
    cfg = {};
  }
  const port = Number(cfg.port);
  const path = typeof cfg.path === 'string' ? cfg.path : '';
  if (Number(r.type) !== 1 || !Number.isInteger(port) || port < 1 || port > 65535 || !path.startsWith('/')) {
    return [
      {
        platform: 'wechat_tp',
        kind: 'rule',
        name: id,
        action: 'skip',
        detail: 'not an HTTP forward to a port and path',
      },
    ];
  }
  const base = {
    name: (str(r, 'name') || id).slice(0, 128),
    enabled: Number(r.open) !== 0,
    priority: RULE_DEFAULTS.priority,
    platform: 'wechat_tp',
    codeName,
    infoType: str(r, 'infotype') || null,
    msgType: str(r, 'msgtype') || null,
    event: str(r, 'event') || null,
    format: 'json' as const,
    timeoutMs: RULE_DEFAULTS.timeoutMs,
    retries: RULE_DEFAULTS.retries,
    continue: false,
  };
  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  if (!path.includes('$APPID$')) return [await ruleStep(sv, { ...base, id, appId: null, url: url(path) })];
  const out: Step[] = [];
  for (const a of authorizers) {
    const appid = str(a, 'appid');
    out.push(
      await ruleStep(sv, { ...base, id: `${id}-${appid}`, appId: appid, url: url(path.split('$APPID$').join(appid)) }),
    );
  }
  return out;
}
