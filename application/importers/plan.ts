import type { Store } from '../../db/store';
import { ruleStore, type RuleRow, type RuleStore } from '../../db/rules';
import { RpcError } from '../../system/errors';
import type { SecretBox } from '../../system/secretbox';
import type { Services } from '../contract';
import { APP_KINDS } from '..';
import { AppService, CODE_NAME_PATTERN, firstError, type AppConfig } from '../services/apps';
import { AuthorizedAccounts } from '../services/authorized-accounts';

/**
 * What an import does, step by step: each step is planned against gatehouse's store as it is
 * (create, update, unchanged, conflict, skip, with why) and, with --apply, written in one
 * transaction per platform through a store bound to that transaction and the same services a
 * node uses (AppService validates and seals, AuthorizedAccounts seals refresh tokens, the ticket
 * and session statements are the store's own). A second run finds everything unchanged.
 */

export type Action = 'create' | 'update' | 'unchanged' | 'conflict' | 'skip';

/** the services a step writes with, bound to its platform's transaction */
export interface Writer {
  store: Store;
  apps: AppService;
  box: SecretBox;
  accounts(platform: string): AuthorizedAccounts;
  rules: RuleStore;
}

export interface Step {
  /** the transaction it belongs to: gatehouse's app kind (wechat_tp …) */
  platform: string;
  /** what it is: app, ticket, authorizer, corp, merchant, session, rule */
  kind: string;
  /** which one, never a secret: codeName, authorizer appid, session id … */
  name: string;
  action: Action;
  /** why (conflict, skip), or what changes (update) */
  detail?: string;
  /** the write of a create / update */
  write?(w: Writer): Promise<void>;
}

export interface Outcome {
  steps: Step[];
  counts: Record<Action, number>;
  applied: boolean;
  /** platforms written (one transaction each) */
  transactions: number;
}

const ACTIONS: Action[] = ['create', 'update', 'unchanged', 'conflict', 'skip'];

/** JSON with its keys sorted: two configs compare equal whatever their key order */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : x,
  );
}

const CODE_NAME = new RegExp(CODE_NAME_PATTERN);

/**
 * An app config to import under `codeName`: validated as `gatehouse app put` would; an app of that
 * codeName and the same platform-side id is updated with the imported fields (those the source does
 * not know are kept) when they differ; one with another id, or an identity owned by another
 * codeName, is a conflict and left alone.
 */
export async function appStep(
  sv: Services,
  platform: string,
  codeName: string,
  config: Record<string, unknown>,
): Promise<Step> {
  const step = { platform, kind: 'app', name: codeName };
  if (!CODE_NAME.test(codeName)) return { ...step, action: 'skip', detail: `codeName must match ${CODE_NAME_PATTERN}` };
  let valid: Record<string, unknown>;
  try {
    valid = sv.apps.validate(platform, config, '');
  } catch (err) {
    return { ...step, action: 'skip', detail: err instanceof RpcError ? firstError(err) : String(err) };
  }
  const def = sv.apps.platformDef(platform)!;
  const { enabled: on, ...fields } = valid as { enabled?: boolean } & Record<string, unknown>;
  const enabled = on !== false;
  const identity = sv.apps.identityOf(platform, valid);
  const owner = await sv.store.appByIdentity(platform, identity);
  if (owner && owner.codeName !== codeName) {
    return { ...step, action: 'conflict', detail: `${identity} is codeName "${owner.codeName}" in gatehouse` };
  }
  const existing = await sv.apps.get(platform, codeName);
  if (!existing) {
    return {
      ...step,
      action: 'create',
      detail: `${def.idField} ${String(fields[def.idField])}${enabled ? '' : ', disabled'}`,
      write: async (w) => void (await w.apps.put(platform, codeName, valid)),
    };
  }
  if (existing.appId !== String(fields[def.idField])) {
    return { ...step, action: 'conflict', detail: `codeName is ${def.idField} ${existing.appId} in gatehouse` };
  }
  const merged = { ...existing.config, ...fields };
  if (canonical(merged) === canonical(existing.config) && existing.enabled === enabled) {
    return { ...step, action: 'unchanged' };
  }
  const changed = Object.keys(merged).filter((k) => canonical(merged[k]) !== canonical(existing.config[k]));
  if (existing.enabled !== enabled) changed.push('enabled');
  return {
    ...step,
    action: 'update',
    detail: changed.join(', '),
    write: async (w) => void (await w.apps.put(platform, codeName, { ...merged, enabled })),
  };
}

/** the owner of an account, as AuthorizedAccounts takes it (only its appId and codeName are read) */
export function ownerApp(platform: string, codeName: string, appId: string): AppConfig {
  return { platform, codeName, appId, enabled: true, isDefault: false, config: {}, updatedAt: 0 };
}

/**
 * An account authorized under an app (a WeChat authorizer, a WeCom corp, a merchant) with its
 * refresh token or permanent code (sealed when written). Unchanged when gatehouse holds the same
 * one; when gatehouse holds another, updated only if the source's is newer (`at`, ms), else a
 * conflict (gatehouse's own, rotated since the switch, is kept).
 */
export async function accountStep(
  sv: Services,
  platform: string,
  kind: string,
  owner: AppConfig,
  id: string,
  refreshToken: string,
  info: string | null,
  at: number | null,
): Promise<Step> {
  const step = { platform, kind, name: `${owner.codeName}/${id}` };
  if (!id || id.length > 128) return { ...step, action: 'skip', detail: 'no valid id' };
  if (!refreshToken) return { ...step, action: 'skip', detail: 'no refresh token (must authorize again)' };
  const existing = await sv.store.getAuthorizer(platform, owner.appId, id);
  const write = async (w: Writer) => w.accounts(platform).put(owner, id, refreshToken, info);
  if (!existing) return { ...step, action: 'create', write };
  const live = existing.authorized && !existing.needsReauth && existing.refreshToken;
  if (live) {
    let same = false;
    try {
      same = sv.box.open(existing.refreshToken!) === refreshToken;
    } catch {
      same = false;
    }
    if (same) return { ...step, action: 'unchanged' };
    if (at === null || at <= existing.updatedAt)
      return { ...step, action: 'conflict', detail: "gatehouse's authorization is newer: kept" };
  }
  return { ...step, action: 'update', detail: live ? 'newer refresh token' : 'authorized again', write };
}

/** a pushed ticket (component_verify_ticket, suite_ticket): written unless gatehouse's is as new */
export async function ticketStep(
  sv: Services,
  platform: string,
  codeName: string,
  ownerId: string,
  value: string,
  at: number | null,
): Promise<Step> {
  const step = { platform, kind: 'ticket', name: codeName };
  if (!value) return { ...step, action: 'skip', detail: 'no ticket in the source' };
  const createTime = Math.floor((at ?? Date.now()) / 1000);
  const existing = await sv.store.getTicket(platform, ownerId);
  if (existing?.value === value) return { ...step, action: 'unchanged' };
  if (existing && existing.createTime >= createTime)
    return { ...step, action: 'skip', detail: "gatehouse's ticket is as new or newer" };
  return {
    ...step,
    action: existing ? 'update' : 'create',
    detail: `of ${new Date(createTime * 1000).toISOString()}`,
    write: async (w) => void (await w.store.putTicket(platform, ownerId, value, createTime, Date.now())),
  };
}

/** a push forwarding rule (admin.rule.*), by its id */
export async function ruleStep(sv: Services, rule: Omit<RuleRow, 'createdAt' | 'updatedAt'>): Promise<Step> {
  const step = { platform: rule.platform, kind: 'rule', name: rule.id };
  const existing = await ruleStore(sv.store).get(rule.id);
  if (existing) {
    const { createdAt: _c, updatedAt: _u, ...stored } = existing;
    if (canonical(stored) === canonical(rule)) return { ...step, action: 'unchanged' };
  }
  return {
    ...step,
    action: existing ? 'update' : 'create',
    detail: `${rule.name} → ${new URL(rule.url).host}`,
    write: async (w) => void (await w.rules.put(rule, Date.now())),
  };
}

/**
 * Thrown by a step's write when it finds, inside its transaction, that it must not be written
 * (a session whose user logged in to gatehouse since): the transaction is rolled back, the step
 * becomes a conflict, and the platform's other steps are written again without it.
 */
export class StepConflict extends Error {}

/** the services a transaction writes with */
function writer(tx: Store, box: SecretBox): Writer {
  const apps = new AppService(tx, box);
  for (const k of APP_KINDS) apps.defineKind(k);
  const accounts = new Map<string, AuthorizedAccounts>();
  return {
    store: tx,
    apps,
    box,
    accounts: (platform) => {
      let a = accounts.get(platform);
      if (!a) accounts.set(platform, (a = new AuthorizedAccounts(tx, box, apps, platform)));
      return a;
    },
    rules: ruleStore(tx),
  };
}

/** An app first, then what lies below it: the order steps are written in within a platform. */
const ORDER = ['app', 'ticket', 'authorizer', 'corp', 'merchant', 'session', 'rule'];

/** Carries out a plan: nothing without `apply`; with it, the writes of each platform in one transaction. */
export async function carryOut(sv: Services, steps: Step[], apply: boolean): Promise<Outcome> {
  let transactions = 0;
  if (apply) {
    const platforms = [...new Set(steps.filter((s) => s.write).map((s) => s.platform))];
    for (const platform of platforms) {
      for (;;) {
        const mine = steps
          .filter((s) => s.platform === platform && s.write)
          .sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
        if (mine.length === 0) break;
        // (the store's guard rewraps what the transaction throws: the conflict is kept aside)
        let conflict: { step: Step; why: string } | undefined;
        try {
          await sv.store.atomically(async (tx) => {
            const w = writer(tx, sv.box);
            for (const s of mine) {
              try {
                await s.write!(w);
              } catch (err) {
                if (err instanceof StepConflict) conflict = { step: s, why: err.message };
                throw err;
              }
            }
          });
          transactions++;
          break;
        } catch (err) {
          if (!conflict) throw err;
          conflict.step.action = 'conflict';
          conflict.step.detail = conflict.why;
          delete conflict.step.write;
        }
      }
    }
  }
  const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
  for (const s of steps) counts[s.action]++;
  return { steps, counts, applied: apply, transactions };
}

/** the report: one line per step, then the counts */
export function report(source: string, o: Outcome): string {
  const lines = o.steps.map((s) => {
    const why = s.detail ? ` (${s.detail})` : '';
    return `${s.action.padEnd(9)} ${s.platform.padEnd(12)} ${s.kind.padEnd(10)} ${s.name}${why}`;
  });
  const counts = ACTIONS.map((a) => `${o.counts[a]} ${a}`).join(', ');
  lines.push(
    o.applied
      ? `${source}: applied in ${o.transactions} transaction(s): ${counts}`
      : `${source}: dry run, nothing written (--apply writes it): ${counts}`,
  );
  return lines.join('\n') + '\n';
}
