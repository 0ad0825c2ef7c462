import type { Config } from '../../system/config';
import type { Logger } from '../../system/log';
import { unreachable, type Upstream } from '../../system/upstream';
import { text } from '../../system/xml';
import { ruleStore, type RuleRow, type RuleStore } from '../../db/rules';
import type { PlatformDeps } from './deps';
import { postPush } from './pushes';

/**
 * Push forwarding rules (`admin.rule.*`): which pushes a third-party platform receives are
 * delivered where, as JSON or as the decrypted XML, with per-rule retries and timeout.
 *
 * Semantics (README "Push forwarding rules"):
 *   - the enabled rules are evaluated in `priority` order (then id); a rule matches when every match
 *     field it sets matches (exact, or a prefix when it ends in `*`);
 *   - the first rule that matches is the last one evaluated, unless it says `continue: true`, in
 *     which case the following rules are evaluated too (all the rules chosen are delivered to at once);
 *   - the app's old `authForwardUrl` / `msgForwardUrl` are implicit rules after every stored rule
 *     (JSON, 3 retries, 5 s, as the forward always was): an app configured the old way forwards
 *     exactly as before, and a stored rule that matches and does not continue takes its place.
 * Deliveries run in the background (never before the push is answered and recorded), through
 * system/upstream.ts's outbound fetch (pushes.ts postPush: no redirects followed, a timeout per attempt, counted in
 * gatehouse_upstream_requests_total with api `forward`), and each outcome is stored with its push.
 */

/** ms between attempts: 500, 1000, 2000 … (as the old forward) */
export const BACKOFF_MS = 500;
/** a node delivers at most this many pushes at once; more are recorded as failed, not queued */
export const MAX_IN_FLIGHT = 1000;
/** rules are read from the store at most this often per node (a change is seen by every node within it) */
export const RULE_CACHE_MS = 5000;
export const RULE_DEFAULTS = { enabled: true, priority: 100, format: 'json', timeoutMs: 5000, retries: 3 } as const;

/** what the push paths offer the rules: the push as recorded, and what a delivery sends */
export interface OfferedPush {
  platform: string;
  codeName: string;
  /** as in the push log: the authorizer appid / corp id, or the platform's own id for a push about none */
  appId: string | null;
  /** as in the push log (its `infoType` column) */
  infoType: string;
  /** the push log's time of the push (PushLog.record's answer), to show the deliveries with it */
  pushAt: number;
  /** the decrypted fields: InfoType, MsgType and Event are matched on them */
  fields: Record<string, unknown>;
  /** the JSON a `json` rule delivers (what the old forward sent: the fields, or {appid, message}) */
  json: unknown;
  /** the decrypted XML an `xml` rule delivers; absent: written from `fields` */
  xml?: string;
  /** the app's old forward for this kind of push (authForwardUrl / msgForwardUrl), evaluated last */
  legacy?: { name: string; url: string | undefined };
}

/** the outcome of delivering one push through one rule */
export interface Outcome {
  delivered: boolean;
  status: number | null;
  error: string | null;
  attempts: number;
  ms: number;
}

/** the match fields of a rule, and of a push */
type MatchKey = 'platform' | 'codeName' | 'appId' | 'infoType' | 'msgType' | 'event';
export const MATCH_KEYS: readonly MatchKey[] = ['platform', 'codeName', 'appId', 'infoType', 'msgType', 'event'];

/** exact, or a prefix when the pattern ends in `*`; a null pattern matches anything (absent values too) */
export function matchesPattern(pattern: string | null, value: string | null | undefined): boolean {
  if (pattern === null) return true;
  if (value === null || value === undefined) return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

/** a push's values of the match fields */
export function matchValues(p: OfferedPush): Record<MatchKey, string | null> {
  return {
    platform: p.platform,
    codeName: p.codeName,
    appId: p.appId,
    infoType: text(p.fields, 'InfoType') ?? null,
    msgType: text(p.fields, 'MsgType') ?? null,
    event: text(p.fields, 'Event') ?? null,
  };
}

/** the rules a push is delivered through, in order: first match, or on past every match that continues */
export function selectRules(rules: readonly RuleRow[], p: OfferedPush): RuleRow[] {
  const v = matchValues(p);
  const chosen: RuleRow[] = [];
  for (const r of rules) {
    if (!r.enabled || !MATCH_KEYS.every((k) => matchesPattern(r[k], v[k]))) continue;
    chosen.push(r);
    if (!r.continue) return chosen;
  }
  if (p.legacy?.url) chosen.push(legacyRule(p, p.legacy.name, p.legacy.url));
  return chosen;
}

/** the implicit rules made of an app's old forward URLs (their deliveries carry no gatehouse headers) */
const LEGACY = new WeakSet<RuleRow>();

/**
 * an app's old forward URL as the implicit rule it is (JSON, as forwardJson sent it: 4 attempts, 5 s
 * each); its id `app:authForwardUrl` / `app:msgForwardUrl` (a stored rule's id has no colon)
 */
function legacyRule(p: OfferedPush, name: string, url: string): RuleRow {
  const rule: RuleRow = {
    id: `app:${name}`,
    name: `${p.codeName} ${name}`,
    enabled: true,
    priority: Number.MAX_SAFE_INTEGER,
    platform: p.platform,
    codeName: p.codeName,
    appId: null,
    infoType: null,
    msgType: null,
    event: null,
    url,
    format: 'json',
    timeoutMs: 5000,
    retries: 3,
    continue: false,
    createdAt: 0,
    updatedAt: 0,
  };
  LEGACY.add(rule);
  return rule;
}

const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

/** XML of push fields as WeChat writes them (each text in CDATA, nested elements, repeated elements for arrays) */
export function fieldsXml(fields: Record<string, unknown>, root = 'xml'): string {
  const el = (name: string, v: unknown): string => {
    if (Array.isArray(v)) return v.map((x) => el(name, x)).join('');
    if (v !== null && typeof v === 'object')
      return `<${name}>${Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => el(k, x))
        .join('')}</${name}>`;
    return `<${name}>${cdata(v === null || v === undefined ? '' : String(v))}</${name}>`;
  };
  return el(root, fields);
}

/** what a rule sends for a push: the body, its content type, and gatehouse's headers (not on the old forwards) */
export function payload(rule: RuleRow, p: OfferedPush): { body: string; headers: Record<string, string> } {
  const extra: Record<string, string> = LEGACY.has(rule)
    ? {}
    : { 'x-gatehouse-rule': rule.id, ...(p.appId ? { 'x-gatehouse-appid': p.appId } : {}) };
  if (rule.format === 'xml')
    return { body: p.xml ?? fieldsXml(p.fields), headers: { 'content-type': 'text/xml; charset=utf-8', ...extra } };
  return { body: JSON.stringify(p.json), headers: { 'content-type': 'application/json', ...extra } };
}

/** whether a URL is gatehouse itself (its public URL, or this node's port on a loopback address) */
export function isGatehouse(url: string, config: Pick<Config, 'publicUrl' | 'port'>): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  try {
    if (u.origin === new URL(config.publicUrl).origin) return true;
  } catch {
    // no usable public URL: only the port check below
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const local =
    host === 'localhost' || host === '::1' || host === '0.0.0.0' || host === '::' || host.startsWith('127.');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  return local && config.port !== 0 && port === config.port;
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host.slice(0, 255);
  } catch {
    return '';
  }
};

/**
 * Delivers a body through one rule: up to 1 + retries attempts (backoff 500 ms, 1 s, 2 s …), each
 * with the rule's timeout, through outboundCall (a 3xx is an answer: not followed). Never throws.
 * Logs a final failure with the rule, the host, the status or errno — never the URL's path or
 * query, nor the body.
 */
export async function deliver(
  rule: RuleRow,
  body: { body: string; headers: Record<string, string> },
  platform: string,
  d: { upstream: Upstream; log: Logger; config: Pick<Config, 'publicUrl' | 'port'> },
): Promise<Outcome> {
  const started = Date.now();
  const host = hostOf(rule.url);
  if (isGatehouse(rule.url, d.config))
    return { delivered: false, status: null, error: 'refused: the target is gatehouse itself', attempts: 0, ms: 0 };
  let status: number | null = null;
  let error: string | null = null;
  let attempts = 0;
  for (let i = 0; i <= rule.retries; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** (i - 1)));
    attempts++;
    const t0 = Date.now();
    try {
      const res = await postPush(rule.url, body.headers, body.body, rule.timeoutMs);
      status = res.status;
      d.upstream.record(platform, 'forward', res.ok ? '0' : `http_${res.status}`, t0);
      if (res.ok) return { delivered: true, status, error: null, attempts, ms: Date.now() - started };
      error =
        res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirect not followed)` : `HTTP ${res.status}`;
    } catch (err) {
      const { errno, why } = unreachable(err, rule.timeoutMs);
      d.upstream.record(platform, 'forward', errno === 'ETIMEDOUT' ? 'timeout' : 'unreachable', t0);
      status = null;
      error = why;
    }
  }
  d.log.warn({ rule: rule.id, host, status, error, attempts }, 'push delivery failed; the push itself is stored');
  return { delivered: false, status, error, attempts, ms: Date.now() - started };
}

/** a node's rule engine: the rules (cached), the deliveries in flight */
export class PushRules {
  readonly store: RuleStore;
  private cached?: { at: number; rules: Promise<RuleRow[]> };
  private readonly flights = new Set<Promise<void>>();
  private inFlight = 0;

  constructor(private readonly d: PlatformDeps) {
    this.store = ruleStore(d.store);
  }

  /** the stored rules in evaluation order, read at most every RULE_CACHE_MS */
  rules(): Promise<RuleRow[]> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at >= RULE_CACHE_MS) {
      const rules = this.store.list();
      this.cached = { at: now, rules };
      rules.catch(() => {
        if (this.cached?.rules === rules) this.cached = undefined;
      });
    }
    return this.cached.rules;
  }

  /** forget the cached rules (after a change on this node) */
  changed(): void {
    this.cached = undefined;
  }

  /**
   * Delivers a push through the rules it matches, in the background: returns at once, never
   * throws. Each outcome is stored with the push (admin.push.list `deliveries`).
   */
  offer(p: OfferedPush): void {
    const flight = this.route(p).catch((err: unknown) =>
      this.d.log.warn({ error: (err as Error).message }, 'push rules failed; the push itself is stored'),
    );
    this.flights.add(flight);
    void flight.finally(() => this.flights.delete(flight));
  }

  /** resolves when every delivery offered so far has finished and been recorded (tests, shutdown) */
  async settled(): Promise<void> {
    while (this.flights.size > 0) await Promise.all([...this.flights]);
  }

  private async route(p: OfferedPush): Promise<void> {
    const chosen = selectRules(await this.rules(), p);
    await Promise.all(
      chosen.map(async (rule) => {
        let outcome: Outcome;
        if (this.inFlight >= MAX_IN_FLIGHT) {
          outcome = { delivered: false, status: null, error: 'too many deliveries in flight', attempts: 0, ms: 0 };
        } else {
          this.inFlight++;
          try {
            outcome = await deliver(rule, payload(rule, p), p.platform, this.d);
          } finally {
            this.inFlight--;
          }
        }
        await this.store
          .addDelivery({
            at: Date.now(),
            pushAt: p.pushAt,
            platform: p.platform,
            codeName: p.codeName,
            infoType: p.infoType,
            appId: p.appId,
            ruleId: rule.id,
            ruleName: rule.name.slice(0, 128),
            host: hostOf(rule.url),
            ...outcome,
            error: outcome.error?.slice(0, 255) ?? null,
          })
          .catch((err: unknown) =>
            this.d.log.warn({ rule: rule.id, error: (err as Error).message }, 'push delivery outcome not recorded'),
          );
      }),
    );
  }

  /**
   * `admin.rule.test`: a sample push made from the rule's match fields (a prefix becomes
   * `<prefix>test`), delivered through the rule at once (header `x-gatehouse-test: 1`), its outcome
   * answered. Nothing is recorded: neither a push nor a delivery.
   */
  async test(rule: RuleRow): Promise<Outcome & { sent: { contentType: string; body: string } }> {
    const p = samplePush(rule);
    const body = payload(rule, p);
    body.headers['x-gatehouse-test'] = '1';
    const outcome = await deliver(rule, body, rule.platform, this.d);
    return { ...outcome, sent: { contentType: body.headers['content-type'], body: body.body } };
  }
}

/** a value for a match field: its pattern, a prefix completed with "test", or `fallback` */
const sample = (pattern: string | null, fallback: string): string =>
  pattern === null ? fallback : pattern.endsWith('*') ? `${pattern.slice(0, -1)}test` : pattern;

/** the push admin.rule.test sends: an event (InfoType) or, when the rule names MsgType / Event, a message */
export function samplePush(rule: RuleRow): OfferedPush {
  const now = Math.floor(Date.now() / 1000);
  const appId = sample(rule.appId, 'wxgatehousetest0');
  const codeName = sample(rule.codeName, 'test');
  if (rule.msgType !== null || rule.event !== null || rule.infoType === null) {
    const msgType = sample(rule.msgType, rule.event !== null ? 'event' : 'text');
    const message: Record<string, unknown> = {
      ToUserName: 'gh_gatehousetest',
      FromUserName: 'o_gatehouse_test_user',
      CreateTime: String(now),
      MsgType: msgType,
      ...(msgType === 'event' ? { Event: sample(rule.event, 'test') } : { Content: 'gatehouse test push' }),
    };
    return {
      platform: rule.platform,
      codeName,
      appId,
      infoType: text(message, 'Event') ?? msgType,
      pushAt: now * 1000,
      fields: message,
      json: { appid: appId, message },
    };
  }
  const fields: Record<string, unknown> = {
    AppId: 'wxgatehousecomponent',
    CreateTime: String(now),
    InfoType: sample(rule.infoType, 'test'),
    AuthorizerAppid: appId,
  };
  return {
    platform: rule.platform,
    codeName,
    appId,
    infoType: String(fields.InfoType),
    pushAt: now * 1000,
    fields,
    json: fields,
  };
}

const engines = new WeakMap<object, PushRules>();

/** the node's rule engine (one per set of services: keyed by its push log) */
export function rulesOf(d: PlatformDeps): PushRules {
  let e = engines.get(d.pushes);
  if (!e) {
    e = new PushRules(d);
    engines.set(d.pushes, e);
  }
  return e;
}

/**
 * Hands a recorded push to the node's rules (and the app's old forward URL), in the background.
 * The push paths call this where they used to call forwardJson.
 */
export function forwardPush(d: PlatformDeps, p: OfferedPush): void {
  rulesOf(d).offer(p);
}
