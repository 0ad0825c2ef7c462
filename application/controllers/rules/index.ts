import crypto from 'node:crypto';
import { RpcError, paraError } from '../../../system/errors';
import type { Caller } from '../../../system/callers';
import { claimCoversRow } from '../../claims';
import { s, rpc, out } from '../../schema';
import type { Area, Interface, Services } from '../../contract';
import type { RuleRow } from '../../../db/rules';
import { RULE_DEFAULTS, isGatehouse, rulesOf } from '../../services/rules';

/** a stored rule's id: given, or made up by admin.rule.put (no colon: `app:…` names the implicit rules) */
export const RULE_ID_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
/** a match field: exact, or a prefix ending in `*` (`*` alone: present, any value) */
export const MATCH_PATTERN = '^(?:[A-Za-z0-9_.:@-]{1,64}\\*?|\\*)$';

const id = s.match(RULE_ID_PATTERN);
const match = s.match(MATCH_PATTERN);
const nullableStr = s.nullable(out.str);

/**
 * Whether a caller limited by an `apps` claim may see or touch a rule: only one that names an exact
 * codeName and an exact appId which its claim covers (as admin.push.list would show it those pushes);
 * a rule over several apps or authorizers is not one app's. A caller without the claim may, always.
 */
async function covers(caller: Caller | undefined, sv: Services, r: Pick<RuleRow, 'platform' | 'codeName' | 'appId'>) {
  if (!caller?.apps) return true;
  const exact = (v: string | null | undefined): v is string => typeof v === 'string' && !v.includes('*');
  return exact(r.codeName) && exact(r.appId) && claimCoversRow(caller, sv, r.platform, r.codeName, r.appId);
}

/** the stored rule `id` when the caller may touch it (null when there is none), else a 4003 */
async function coveredRule(caller: Caller | undefined, sv: Services, id: string): Promise<RuleRow | null> {
  const rule = await rulesOf(sv).store.get(id);
  if (rule && !(await covers(caller, sv, rule)))
    throw new RpcError('FORBIDDEN', '', 'apps claim does not cover that rule');
  return rule;
}

function interfaces(services: Services): Interface[] {
  const platform = s.oneOf(services.apps.platforms());
  const ruleOut = s.obj(
    {
      id: out.str,
      name: out.str,
      enabled: out.bool,
      priority: out.int,
      platform: out.str,
      codeName: nullableStr,
      appId: nullableStr,
      infoType: nullableStr,
      msgType: nullableStr,
      event: nullableStr,
      url: out.str,
      format: s.oneOf(['json', 'xml']),
      timeoutMs: out.int,
      retries: out.int,
      continue: out.bool,
      createdAt: out.int,
      updatedAt: out.int,
    },
    [
      'id',
      'name',
      'enabled',
      'priority',
      'platform',
      'codeName',
      'appId',
      'infoType',
      'msgType',
      'event',
      'url',
      'format',
      'timeoutMs',
      'retries',
      'continue',
      'createdAt',
      'updatedAt',
    ],
  );
  const shown = (r: RuleRow) => ({
    ...r,
    createdAt: Math.floor(r.createdAt / 1000),
    updatedAt: Math.floor(r.updatedAt / 1000),
  });
  const outcome = {
    delivered: out.bool,
    status: s.nullable(out.int),
    error: nullableStr,
    attempts: out.int,
    ms: out.int,
  };

  return [
    rpc({
      name: 'admin.rule.list',
      access: 'admin',
      summary: 'The push forwarding rules, in the order they are evaluated (priority, then id).',
      para: s.obj({ platform }),
      result: s.obj({ rules: s.array(ruleOut) }, ['rules']),
      // a caller limited by an apps claim sees the rules it covers (covers())
      appsFiltered: true,
      handler: async (p, { services: sv, caller }) => {
        const rules = (await rulesOf(sv).store.list()).filter((r) => !p.platform || r.platform === p.platform);
        const seen = await Promise.all(rules.map((r) => covers(caller, sv, r)));
        return { rules: rules.filter((_r, i) => seen[i]).map(shown) };
      },
    }),
    rpc({
      name: 'admin.rule.put',
      access: 'admin',
      summary:
        'Creates (no id, or a new one) or replaces a push forwarding rule: match fields exact or a prefix ending ' +
        'in *, the target URL, json or xml, timeout, retries, priority, continue.',
      para: s.obj(
        {
          id,
          name: s.str(128),
          enabled: s.bool(),
          priority: s.int(0, 1_000_000),
          platform,
          codeName: match,
          appId: match,
          infoType: match,
          msgType: match,
          event: match,
          url: s.match('^https?://[^\\s/?#]+[^\\s]*$', { maxLength: 2048 }),
          format: s.oneOf(['json', 'xml']),
          timeoutMs: s.int(100, 30_000),
          retries: s.int(0, 5),
          continue: s.bool(),
        },
        ['name', 'platform', 'url'],
      ),
      result: s.obj({ id: out.str, created: out.bool }, ['id', 'created']),
      // names only: the URL's query may hold the receiver's secret
      audit: (p) => ({ id: p.id ?? null, name: p.name, platform: p.platform }),
      // a caller limited by an apps claim puts only rules it covers, over none it does not (covers())
      appsFiltered: true,
      handler: async (p, { services: sv, caller }) => {
        if (p.id !== undefined) await coveredRule(caller, sv, p.id);
        if (!(await covers(caller, sv, { platform: p.platform, codeName: p.codeName ?? null, appId: p.appId ?? null })))
          throw new RpcError('FORBIDDEN', '', 'apps claim does not cover the rule: name an exact codeName and appId');
        let host = '';
        try {
          host = new URL(p.url).hostname;
        } catch {
          // refused below
        }
        if (!host) throw paraError([{ path: '/url', message: 'must be an http(s) URL' }]);
        if (isGatehouse(p.url, sv.config))
          throw paraError([{ path: '/url', message: 'is gatehouse itself (GATEHOUSE_PUBLIC_URL or this node)' }]);
        const rules = rulesOf(sv);
        const ruleId = p.id ?? `r-${crypto.randomBytes(5).toString('hex')}`;
        const created = await rules.store.put(
          {
            id: ruleId,
            name: p.name,
            enabled: p.enabled ?? RULE_DEFAULTS.enabled,
            priority: p.priority ?? RULE_DEFAULTS.priority,
            platform: p.platform,
            codeName: p.codeName ?? null,
            appId: p.appId ?? null,
            infoType: p.infoType ?? null,
            msgType: p.msgType ?? null,
            event: p.event ?? null,
            url: p.url,
            format: p.format ?? RULE_DEFAULTS.format,
            timeoutMs: p.timeoutMs ?? RULE_DEFAULTS.timeoutMs,
            retries: p.retries ?? RULE_DEFAULTS.retries,
            continue: p.continue ?? false,
          },
          Date.now(),
        );
        rules.changed();
        return { id: ruleId, created };
      },
    }),
    rpc({
      name: 'admin.rule.delete',
      access: 'admin',
      summary: 'Removes a push forwarding rule (its past deliveries stay in the push log).',
      para: s.obj({ id }, ['id']),
      result: s.obj({ deleted: out.bool }, ['deleted']),
      audit: (p) => ({ id: p.id }),
      appsFiltered: true,
      handler: async (p, { services: sv, caller }) => {
        const rules = rulesOf(sv);
        if (!(await coveredRule(caller, sv, p.id))) return { deleted: false };
        const deleted = await rules.store.delete(p.id);
        rules.changed();
        return { deleted };
      },
    }),
    rpc({
      name: 'admin.rule.test',
      access: 'admin',
      summary:
        'Sends a test push through a rule (enabled or not): a sample made from its match fields, delivered with ' +
        'its format, timeout and retries and header x-gatehouse-test: 1. Answers the outcome and what was sent; ' +
        'records nothing.',
      para: s.obj({ id }, ['id']),
      result: s.obj({ ...outcome, contentType: out.str, body: out.str }, [
        'delivered',
        'status',
        'error',
        'attempts',
        'ms',
        'contentType',
        'body',
      ]),
      audit: (p) => ({ id: p.id }),
      appsFiltered: true,
      handler: async (p, { services: sv, caller }) => {
        const rules = rulesOf(sv);
        const rule = await coveredRule(caller, sv, p.id);
        if (!rule) throw paraError([{ path: '/id', message: `no rule ${p.id}` }]);
        const r = await rules.test(rule);
        return {
          delivered: r.delivered,
          status: r.status,
          error: r.error,
          attempts: r.attempts,
          ms: r.ms,
          contentType: r.sent.contentType,
          body: r.sent.body,
        };
      },
    }),
  ];
}

/** push forwarding rules: admin.rule.* (services/rules.ts is the engine) */
const area: Area = { name: 'rules', interfaces };
export default area;
