import type Koa from 'koa';
import { BodyError, readBody } from '../../system/body';
import { StoreError } from '../../system/errors';
import { GroupCommit } from '../../system/group-commit';
import { outboundCall } from '../../system/upstream';
import type { Logger } from '../../system/log';
import { accessLine } from '../../system/rpc';
import { ENVELOPE_LIMITS, XmlRejected, parsePushXml, text } from '../../system/xml';
import type { PushFilter, PushRow, Store } from '../../db/store';
import { ruleStore, type DeliveryRow } from '../../db/rules';
import { type MsgCrypt, PushRejected } from './crypto/msgcrypt';
import { mask } from './apps';

export const PUSH_LIMIT = 64 * 1024;

/**
 * Which fields of a push are credentials, by name: any case, "_" and "-" ignored, at any depth.
 * Every code, ticket, token and secret (ComponentVerifyTicket, AuthorizationCode, auth_code,
 * PreAuthCode, SuiteTicket, AuthCode, PermanentCode, RegisterCode, WelcomeCode, Ticket,
 * AccessToken, …) is shown as "****" + its last 4 characters in the push log; everything under
 * such a field is masked too. A few "…code" fields that are plain data stay readable.
 */
const SECRET_SUFFIXES = [
  'ticket',
  'code',
  'token',
  'secret',
  'password',
  'passwd',
  'aeskey',
  'sessionkey',
  'secretkey',
  'apikey',
];
const DATA_CODES = new Set([
  'errcode',
  'returncode',
  'statuscode',
  'resultcode',
  'reasoncode',
  'countrycode',
  'areacode',
  'citycode',
  'zipcode',
  'postcode',
  'postalcode',
  'langcode',
  'currencycode',
]);

function isSecretField(name: string): boolean {
  const n = name.toLowerCase().replace(/[_-]/g, '');
  return !DATA_CODES.has(n) && SECRET_SUFFIXES.some((suffix) => n.endsWith(suffix));
}

/** a push's fields as the push log shows them: every credential masked, at any depth */
export function maskPush(fields: Record<string, unknown>): Record<string, unknown> {
  return maskValue(fields, false) as Record<string, unknown>;
}

function maskValue(v: unknown, secret: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => maskValue(x, secret));
  if (v !== null && typeof v === 'object') {
    // fromEntries defines own properties: a JSON key "__proto__" stays data
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x, secret || isSecretField(k))]));
  }
  return secret && v !== null && v !== undefined ? mask(v) : v;
}

/**
 * Authorization events (authorized / unauthorized, create_auth / cancel_auth …) apply in the order
 * they happened, per authorizer or corp: one older than the last applied changes nothing. A push
 * carries whole seconds (CreateTime / TimeStamp): its event time is that second, in ms (events of
 * the same second apply in arrival order); one without a usable time counts as now.
 */
export function pushEventAt(seconds: string | undefined): number {
  const s = Number(seconds);
  return s > 0 && Number.isSafeInteger(s * 1000) ? s * 1000 : Date.now();
}

/**
 * Stores a pushed ticket (component_verify_ticket, suite_ticket) of `ownerId` before the push is
 * answered, when the push carries one and its time (`seconds`); the store keeps the newest only.
 */
export async function storePushedTicket(
  store: Store,
  platform: string,
  ownerId: string,
  ticket: string | undefined,
  seconds: number | undefined,
): Promise<void> {
  if (ticket && seconds !== undefined && Number.isFinite(seconds))
    await store.putTicket(platform, ownerId, ticket, seconds, Date.now());
}

/**
 * Whether an authorization event at `eventAt` (ms) is not older than the last one applied to the
 * authorizer / corp: a stale push's code is not even exchanged. (The write itself is ordered in
 * the store: applyAuthorizerEvent.)
 */
export async function eventIsCurrent(
  store: Store,
  platform: string,
  ownerId: string,
  authorizerId: string,
  eventAt: number,
): Promise<boolean> {
  const last = await store.lastAuthorizerEvent(platform, ownerId, authorizerId);
  return last === null || last <= eventAt;
}

/**
 * The event time of an authorization that gatehouse exchanged itself (authorization page redirect,
 * install redirect, sync), which the exchange just proved current: the start of the current
 * second, like a push of that second. (The platforms' clocks and ours are assumed right to the
 * second: keep NTP on.)
 */
export function exchangeEventAt(now = Date.now()): number {
  return Math.floor(now / 1000) * 1000;
}

export interface DecryptedPush {
  /** the decrypted message's elements (text kept as received) */
  fields: Record<string, unknown>;
  /** the outer envelope (ToUserName / AppId / AgentID …) */
  outer: Record<string, unknown>;
}

/**
 * Reads an encrypted platform push: body ≤ 64 KiB (413), safe XML (400), msg_signature over
 * Encrypt (403), decryption and receiver id (400). Nothing is written before all of it passed.
 * Before the signature is verified only the small outer envelope is read, by a linear parser
 * that gives up after a few dozen nodes; the message itself is parsed once it is authenticated.
 */
export async function readEncryptedPush(ctx: Koa.Context, crypt: MsgCrypt): Promise<DecryptedPush> {
  const xml = await readBody(ctx.req, PUSH_LIMIT);
  const outer = parsePushXml(xml, ENVELOPE_LIMITS);
  const encrypt = text(outer, 'Encrypt');
  if (!encrypt) throw new PushRejected(400, 'no Encrypt element');
  const q = ctx.query as Record<string, string | string[] | undefined>;
  const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
  crypt.verify(one('msg_signature'), one('timestamp'), one('nonce'), encrypt);
  const decrypted = crypt.decrypt(encrypt);
  const fields = parsePushXml(decrypted);
  DECRYPTED_XML.set(fields, decrypted);
  return { fields, outer };
}

/** the decrypted XML of the fields readEncryptedPush answered, for the forwarding rules that deliver XML */
const DECRYPTED_XML = new WeakMap<object, string>();

/** the decrypted XML these fields were parsed from (undefined for a push that came as JSON: Cloud Hosting) */
export function decryptedXml(fields: Record<string, unknown>): string | undefined {
  return DECRYPTED_XML.get(fields);
}

/**
 * Wraps a callback route: refusals become 400 / 403 / 413 with a short text body, a store
 * failure becomes 503 (the platform retries), anything else is logged and answered 503.
 */
export function pushRoute(log: Logger, handler: (ctx: Koa.Context) => Promise<void>): Koa.Middleware {
  return async (ctx) => {
    const started = performance.now();
    try {
      await handler(ctx);
      accessLine(log, ctx, started);
    } catch (err) {
      ctx.type = 'text/plain; charset=utf-8';
      if (err instanceof PushRejected) {
        ctx.status = err.status;
        ctx.body = err.message;
      } else if (err instanceof XmlRejected) {
        ctx.status = 400;
        ctx.body = err.message;
      } else if (err instanceof BodyError) {
        ctx.status = err.status === 413 ? 413 : 400;
        if (err.status === 413) ctx.set('Connection', 'close');
        ctx.body = err.status === 413 ? 'body too large' : 'bad body';
      } else {
        log.error(
          { path: ctx.path, error: err instanceof StoreError ? err.detail : (err as Error).message },
          'push handling failed',
        );
        ctx.status = 503;
        ctx.body = 'try again';
      }
      accessLine(log, ctx, started);
    }
  };
}

/** The log of pushes received (admin.push.list), kept GATEHOUSE_PUSH_RETENTION_DAYS days. */
export class PushLog {
  private timer?: NodeJS.Timeout;
  private readonly commits = new GroupCommit<PushRow>((rows) => this.store.addPushes(rows));

  constructor(
    private readonly store: Store,
    private readonly retentionDays: number,
    private readonly log: Logger,
  ) {}

  /**
   * records a push; answers its time (epoch ms), which its deliveries are stored under. Resolves once
   * the row is committed; rows recorded while another write is in flight are committed with the next
   * one, in one statement (group commit: system/group-commit.ts). The info type's column bound is kept
   * here (an unsigned callback names its own): a row the store refused would fail the pushes written
   * with it. The other columns come from app configs and signed pushes, within their bounds.
   */
  async record(p: Omit<PushRow, 'at' | 'body'> & { fields: Record<string, unknown> }): Promise<number> {
    const { fields, ...row } = p;
    const at = Date.now();
    await this.commits.add({ ...row, infoType: row.infoType.slice(0, 64), at, body: JSON.stringify(maskPush(fields)) });
    return at;
  }

  list(filter: PushFilter): Promise<PushRow[]> {
    return this.store.listPushes(filter);
  }

  /** the outcomes of the forwarding rules' deliveries of each of these pushes (services/rules.ts) */
  deliveries(rows: PushRow[]): Promise<DeliveryRow[][]> {
    return ruleStore(this.store).deliveriesOf(rows);
  }

  async prune(): Promise<number> {
    const before = Date.now() - this.retentionDays * 86_400_000;
    const pruned = await this.store.prunePushes(before);
    await ruleStore(this.store).pruneDeliveries(before);
    return pruned;
  }

  start(): void {
    if (this.timer) return;
    const run = () =>
      this.prune().catch((err: unknown) => this.log.warn({ error: (err as Error).message }, 'push pruning failed'));
    void run();
    this.timer = setInterval(run, 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Posts JSON to a configured forward URL in the background: retried with backoff, logged when it
 * finally fails, never awaited by the push it came from.
 */
export function forwardJson(
  log: Logger,
  url: string | undefined,
  body: unknown,
  what: string,
  attempts = 4,
  timeoutMs = 5000,
): void {
  if (!url) return;
  const payload = JSON.stringify(body);
  void (async () => {
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 500 * 2 ** (i - 1)));
      try {
        const { res } = await outboundCall(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: payload,
          timeoutMs,
        });
        if (res.ok) return;
      } catch {
        // retried below
      }
    }
    log.warn({ what, attempts }, 'forward failed; the push itself is stored');
  })();
}

/**
 * One POST of a push to a forward target (the forwarding rules' deliveries, services/rules.ts):
 * through outboundCall (a redirect is an answer, never followed), within `timeoutMs`, the answer's
 * body read and dropped. Throws when there is no answer (see unreachable()).
 */
export async function postPush(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<{ ok: boolean; status: number }> {
  const { res } = await outboundCall(url, { method: 'POST', headers, body, timeoutMs });
  return { ok: res.ok, status: res.status };
}

/**
 * A JSON callback body as an object: its nesting checked on the text first (jsonTextTooDeep), then
 * parsed; anything else is a 400 (PushRejected).
 */
export function parsePushJson(text: string): Record<string, unknown> {
  if (jsonTextTooDeep(text)) throw new PushRejected(400, 'too deep');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new PushRejected(400, 'not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new PushRejected(400, 'not a JSON object');
  return v as Record<string, unknown>;
}

/**
 * Whether JSON text nests deeper than `max`, by one linear scan of the text. Callbacks check this
 * before JSON.parse, which spends tens of milliseconds on a 64 KiB body of nothing but brackets.
 */
export function jsonTextTooDeep(json: string, max = 64): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
