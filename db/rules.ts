import type { PushRow, Store } from './store';

type Row = Record<string, unknown>;
type Param = string | number | null;

/** How a matched push is delivered: its JSON fields (as the old forwards sent them) or its decrypted XML. */
export type RuleFormat = 'json' | 'xml';

/**
 * A push forwarding rule. Each match field is exact, or a prefix when it ends in `*`
 * (`weapp_audit_*`); null matches anything.
 */
export interface RuleRow {
  id: string;
  name: string;
  enabled: boolean;
  /** lower first; rules of equal priority in id order */
  priority: number;
  platform: string;
  codeName: string | null;
  /** the authorizer appid (WeChat) / corp id (WeCom) the push is about */
  appId: string | null;
  infoType: string | null;
  msgType: string | null;
  event: string | null;
  url: string;
  format: RuleFormat;
  timeoutMs: number;
  /** further attempts after the first fails (0–5) */
  retries: number;
  /** when it matches, later rules are evaluated too (else the first match is the last) */
  continue: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The outcome of one delivery of one push through one rule. */
export interface DeliveryRow {
  /** when the delivery finished, epoch ms */
  at: number;
  /** the push it delivered: its time and fields as in the push log */
  pushAt: number;
  platform: string;
  codeName: string;
  infoType: string;
  appId: string | null;
  ruleId: string;
  ruleName: string;
  /** the target's host (never its path or query: they may carry the receiver's secret) */
  host: string;
  delivered: boolean;
  /** the last HTTP status answered, if any */
  status: number | null;
  /** why the last attempt failed, if it did */
  error: string | null;
  attempts: number;
  ms: number;
}

/** what a SqlStore runs statements with (protected there, used here so that these tables live in their own file) */
interface Runner {
  all(sql: string, params?: Param[]): Promise<Row[]>;
  run(sql: string, params?: Param[]): Promise<number>;
}

const RULE_COLS =
  'id, name, enabled, priority, platform, code_name, app_id, info_type, msg_type, event, url, format, timeout_ms, ' +
  'retries, continue_after, created_at, updated_at';
const DELIVERY_COLS =
  'at, push_at, platform, code_name, info_type, app_id, rule_id, rule_name, host, delivered, status, error, ' +
  'attempts, ms';

const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function ruleRow(r: Row): RuleRow {
  return {
    id: String(r.id),
    name: String(r.name),
    enabled: Boolean(Number(r.enabled)),
    priority: Number(r.priority),
    platform: String(r.platform),
    codeName: strOrNull(r.code_name),
    appId: strOrNull(r.app_id),
    infoType: strOrNull(r.info_type),
    msgType: strOrNull(r.msg_type),
    event: strOrNull(r.event),
    url: String(r.url),
    format: String(r.format) === 'xml' ? 'xml' : 'json',
    timeoutMs: Number(r.timeout_ms),
    retries: Number(r.retries),
    continue: Boolean(Number(r.continue_after)),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function deliveryRow(r: Row): DeliveryRow {
  return {
    at: Number(r.at),
    pushAt: Number(r.push_at),
    platform: String(r.platform),
    codeName: String(r.code_name),
    infoType: String(r.info_type),
    appId: strOrNull(r.app_id),
    ruleId: String(r.rule_id),
    ruleName: String(r.rule_name),
    host: String(r.host),
    delivered: Boolean(Number(r.delivered)),
    status: r.status === null || r.status === undefined ? null : Number(r.status),
    error: strOrNull(r.error),
    attempts: Number(r.attempts),
    ms: Number(r.ms),
  };
}

/** whether a delivery row belongs to a push row (same time, platform, codeName, infoType, appId) */
export const deliveryOf = (d: DeliveryRow, p: PushRow): boolean =>
  d.pushAt === p.at &&
  d.platform === p.platform &&
  d.codeName === p.codeName &&
  d.infoType === p.infoType &&
  d.appId === p.appId;

/**
 * The push rules and their deliveries (tables push_rules, push_deliveries: migration 009), on the
 * statements of the SQL store they live in. Ids and keys are compared exactly in JS as well
 * (MariaDB's PAD SPACE collations compare 'x' and 'x ' as equal).
 */
export class RuleStore {
  constructor(private readonly q: Runner) {}

  async list(): Promise<RuleRow[]> {
    return (await this.q.all(`SELECT ${RULE_COLS} FROM push_rules ORDER BY priority, id`)).map(ruleRow);
  }

  async get(id: string): Promise<RuleRow | null> {
    const rows = await this.q.all(`SELECT ${RULE_COLS} FROM push_rules WHERE id = ?`, [id]);
    const r = rows.find((x) => x.id === id);
    return r ? ruleRow(r) : null;
  }

  /** creates or replaces a rule (its createdAt kept); whether it was new */
  async put(r: Omit<RuleRow, 'createdAt' | 'updatedAt'>, now: number): Promise<boolean> {
    const values: Param[] = [
      r.name,
      r.enabled ? 1 : 0,
      r.priority,
      r.platform,
      r.codeName,
      r.appId,
      r.infoType,
      r.msgType,
      r.event,
      r.url,
      r.format,
      r.timeoutMs,
      r.retries,
      r.continue ? 1 : 0,
    ];
    if (await this.get(r.id)) {
      await this.q.run(
        'UPDATE push_rules SET name = ?, enabled = ?, priority = ?, platform = ?, code_name = ?, app_id = ?, ' +
          'info_type = ?, msg_type = ?, event = ?, url = ?, format = ?, timeout_ms = ?, retries = ?, ' +
          'continue_after = ?, updated_at = ? WHERE id = ?',
        [...values, now, r.id],
      );
      return false;
    }
    await this.q.run(
      `INSERT INTO push_rules (${RULE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [r.id, ...values, now, now],
    );
    return true;
  }

  async delete(id: string): Promise<boolean> {
    if (!(await this.get(id))) return false;
    return (await this.q.run('DELETE FROM push_rules WHERE id = ?', [id])) > 0;
  }

  async addDelivery(d: DeliveryRow): Promise<void> {
    await this.q.run(
      `INSERT INTO push_deliveries (${DELIVERY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        d.at,
        d.pushAt,
        d.platform,
        d.codeName,
        d.infoType,
        d.appId,
        d.ruleId,
        d.ruleName,
        d.host,
        d.delivered ? 1 : 0,
        d.status,
        d.error,
        d.attempts,
        d.ms,
      ],
    );
  }

  /** the deliveries of these pushes, each push's in the order they finished */
  async deliveriesOf(pushes: PushRow[]): Promise<DeliveryRow[][]> {
    if (pushes.length === 0) return [];
    const times = [...new Set(pushes.map((p) => p.at))];
    const rows = (
      await this.q.all(
        `SELECT ${DELIVERY_COLS} FROM push_deliveries WHERE push_at IN (${times.map(() => '?').join(', ')}) ` +
          'ORDER BY at, id',
        times,
      )
    ).map(deliveryRow);
    return pushes.map((p) => rows.filter((d) => deliveryOf(d, p)));
  }

  /** deletes deliveries of pushes older than `before` (the push log's retention); how many */
  pruneDeliveries(before: number): Promise<number> {
    return this.q.run('DELETE FROM push_deliveries WHERE push_at < ?', [before]);
  }
}

const stores = new WeakMap<Store, RuleStore>();

/**
 * The rule store of a SQL store (SqliteStore, MariaDbStore): one per store object. It runs its
 * statements with the store's own `all` / `run`, so it shares its connection pool (MariaDB) or
 * database handle (SQLite) and its migrations.
 */
export function ruleStore(store: Store): RuleStore {
  let r = stores.get(store);
  if (!r) {
    const q = store as unknown as Partial<Runner>;
    if (typeof q.all !== 'function' || typeof q.run !== 'function')
      throw new Error('push rules need a SQL store (sqlite: or mariadb://)');
    r = new RuleStore({ all: q.all.bind(store), run: q.run.bind(store) });
    stores.set(store, r);
  }
  return r;
}
