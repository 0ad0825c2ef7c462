import { RpcError } from '../../../system/errors';
import { JTI_PATTERN, type Caller } from '../../../system/callers';
import { s, rpc, out } from '../../schema';
import { CODE_NAME_PATTERN } from '../../services/apps';
import { claimCoversRow } from '../../claims';
import type { Area, Interface, Services } from '../../contract';

const codeName = s.match(CODE_NAME_PATTERN);
const secondsOrNull = s.nullable(out.int);

function interfaces(services: Services): Interface[] {
  const platforms = services.apps.platforms();
  const platform = s.oneOf(platforms);
  /** the rows a caller limited by an `apps` claim may see (claims.ts: the app and what a row names below it) */
  const visible = async <R>(rows: R[], caller: Caller | undefined, covers: (r: R) => Promise<boolean>): Promise<R[]> =>
    caller?.apps ? (await Promise.all(rows.map(async (r) => ((await covers(r)) ? [r] : [])))).flat() : rows;

  return [
    rpc({
      name: 'admin.app.put',
      access: 'admin',
      summary: 'Creates or replaces an app config (§6); secrets are sealed at rest.',
      // config is checked against the schema of the kind that `platform` names
      para: s.obj({ platform, codeName, config: s.anyObject() }, ['platform', 'codeName', 'config'], {
        allOf: platforms.map((p) => ({
          if: { properties: { platform: { const: p } }, required: ['platform'] },
          then: { properties: { config: services.apps.configSchema(p) } },
        })),
      }),
      result: s.obj({ platform: out.str, codeName: out.str, created: s.bool() }, ['platform', 'codeName', 'created']),
      apps: (p) => [p.codeName],
      audit: (p) => ({ platform: p.platform, codeName: p.codeName }),
      handler: async (p, { services: sv }) => {
        const { created } = await sv.apps.put(p.platform, p.codeName, p.config);
        return { platform: p.platform, codeName: p.codeName, created };
      },
    }),
    rpc({
      name: 'admin.app.get',
      access: 'admin',
      summary: 'One app config, every secret masked as "****" + its last 4 characters.',
      para: s.obj({ platform, codeName }, ['platform', 'codeName']),
      result: s.open({ platform: out.str, codeName: out.str, enabled: s.bool() }),
      apps: (p) => [p.codeName],
      handler: async (p, { services: sv }) => {
        const app = await sv.apps.get(p.platform, p.codeName);
        if (!app) throw new RpcError('NO_APP', '', `${p.platform} ${p.codeName}`);
        return sv.apps.masked(app);
      },
    }),
    rpc({
      name: 'admin.app.list',
      access: 'admin',
      summary: 'The configured apps (no secrets).',
      para: s.obj({ platform }),
      result: s.obj(
        {
          apps: s.array(
            s.obj(
              {
                platform: out.str,
                codeName: out.str,
                appId: out.str,
                enabled: s.bool(),
                updatedAt: out.int,
              },
              ['platform', 'codeName', 'appId', 'enabled', 'updatedAt'],
            ),
          ),
        },
        ['apps'],
      ),
      appsFiltered: true,
      handler: async (p, { services: sv, caller }) => {
        const rows = await sv.apps.list(p.platform);
        return {
          apps: (await visible(rows, caller, (r) => claimCoversRow(caller, sv, r.platform, r.codeName, null))).map(
            (r) => ({
              platform: r.platform,
              codeName: r.codeName,
              appId: r.appId,
              enabled: r.enabled,
              updatedAt: Math.floor(r.updatedAt / 1000),
            }),
          ),
        };
      },
    }),
    rpc({
      name: 'admin.app.delete',
      access: 'admin',
      summary: 'Removes an app config.',
      para: s.obj({ platform, codeName }, ['platform', 'codeName']),
      result: s.obj({ deleted: s.bool() }, ['deleted']),
      apps: (p) => [p.codeName],
      audit: (p) => ({ platform: p.platform, codeName: p.codeName }),
      handler: async (p, { services: sv }) => ({
        deleted: await sv.apps.delete(p.platform, p.codeName),
      }),
    }),
    rpc({
      name: 'admin.token.list',
      access: 'admin',
      summary: 'Every token and ticket gatehouse keeps: expiry, last refresh, last error. Never a value.',
      para: s.obj({ platform, codeName }),
      result: s.obj(
        {
          tokens: s.array(
            s.obj(
              {
                platform: out.str,
                codeName: out.str,
                subject: out.str,
                kind: out.str,
                expiresAt: secondsOrNull,
                refreshedAt: secondsOrNull,
                lastError: s.nullable(out.str),
              },
              ['platform', 'codeName', 'subject', 'kind', 'expiresAt', 'refreshedAt', 'lastError'],
            ),
          ),
        },
        ['tokens'],
      ),
      apps: (p) => [p.codeName],
      handler: async (p, { services: sv, caller }) => {
        const secs = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
        const rows = await sv.store.listTokens({ platform: p.platform, codeName: p.codeName });
        return {
          tokens: (
            await visible(rows, caller, (r) => claimCoversRow(caller, sv, r.platform, r.codeName, r.subject))
          ).map((r) => ({
            platform: r.platform,
            codeName: r.codeName,
            subject: r.subject,
            kind: r.kind,
            expiresAt: secs(r.expiresAt),
            refreshedAt: secs(r.refreshedAt),
            lastError: r.lastError,
          })),
        };
      },
    }),
    rpc({
      name: 'admin.push.list',
      access: 'admin',
      summary: 'The pushes received from the platforms, decrypted, tickets and codes masked, newest first.',
      para: s.obj({ platform, codeName, infoType: s.text(64), limit: s.int(1, 200) }),
      result: s.obj(
        {
          pushes: s.array(
            s.obj(
              {
                at: out.int,
                platform: out.str,
                codeName: out.str,
                infoType: out.str,
                appId: s.nullable(out.str),
                verified: s.bool(),
                body: s.anyObject(),
                // what the forwarding rules did with it (services/rules.ts), in the order the deliveries finished
                deliveries: s.array(
                  s.obj(
                    {
                      at: out.int,
                      ruleId: out.str,
                      ruleName: out.str,
                      host: out.str,
                      delivered: s.bool(),
                      status: s.nullable(out.int),
                      error: s.nullable(out.str),
                      attempts: out.int,
                      ms: out.int,
                    },
                    ['at', 'ruleId', 'ruleName', 'host', 'delivered', 'status', 'error', 'attempts', 'ms'],
                  ),
                ),
              },
              ['at', 'platform', 'codeName', 'infoType', 'appId', 'verified', 'body', 'deliveries'],
            ),
          ),
        },
        ['pushes'],
      ),
      apps: (p) => [p.codeName],
      handler: async (p, { services: sv, caller }) => {
        const rows = await sv.pushes.list({
          platform: p.platform,
          codeName: p.codeName,
          infoType: p.infoType,
          limit: p.limit ?? 50,
        });
        const shown = await visible(rows, caller, (r) => claimCoversRow(caller, sv, r.platform, r.codeName, r.appId));
        const deliveries = await sv.pushes.deliveries(shown);
        return {
          pushes: shown.map((r, i) => ({
            at: Math.floor(r.at / 1000),
            platform: r.platform,
            codeName: r.codeName,
            infoType: r.infoType,
            appId: r.appId,
            verified: r.verified,
            body: JSON.parse(r.body) as Record<string, unknown>,
            deliveries: deliveries[i].map((d) => ({
              at: Math.floor(d.at / 1000),
              ruleId: d.ruleId,
              ruleName: d.ruleName,
              host: d.host,
              delivered: d.delivered,
              status: d.status,
              error: d.error,
              attempts: d.attempts,
              ms: d.ms,
            })),
          })),
        };
      },
    }),
    // ---- caller tokens (§4 trust): list and revoke — owned by the callers work
    ...callerInterfaces(),
  ];
}

/**
 * A caller limited by an `apps` claim sees and revokes only tokens limited to apps it holds itself
 * (never an unlimited token, nor a jti gatehouse did not mint).
 */
const coversTokenClaim = (caller: Caller | undefined, apps: string[] | null) =>
  !caller?.apps || (apps !== null && apps.length > 0 && apps.every((a) => caller.apps!.includes(a)));

function callerInterfaces(): Interface[] {
  return [
    rpc({
      name: 'admin.caller.list',
      access: 'admin',
      // its handler shows / lets touch only tokens the caller's own claim covers (coversTokenClaim)
      appsFiltered: true,
      summary: 'Caller tokens minted by gatehouse and revoked ids: sub, scope, apps, exp, revoked. Never a token.',
      para: s.obj({}),
      result: s.obj(
        {
          callers: s.array(
            s.obj(
              {
                jti: out.str,
                sub: s.nullable(out.str),
                scope: s.nullable(out.str),
                apps: s.nullable(s.array(out.str)),
                exp: secondsOrNull,
                revoked: s.bool(),
              },
              ['jti', 'sub', 'scope', 'apps', 'exp', 'revoked'],
            ),
          ),
        },
        ['callers'],
      ),
      handler: async (_p: Record<string, never>, { services: sv, caller }) => ({
        callers: (await sv.store.listCallers())
          .filter((r) => coversTokenClaim(caller, r.apps))
          .map((r) => ({
            jti: r.jti,
            sub: r.sub,
            scope: r.scope,
            apps: r.apps,
            exp: r.exp,
            revoked: r.revokedAt !== null,
          })),
      }),
    }),
    rpc({
      name: 'admin.caller.revoke',
      access: 'admin',
      appsFiltered: true,
      summary:
        'Revokes a caller token by its jti: every node answers it 4001 within 5 s. A jti gatehouse did not ' +
        'mint is recorded as revoked.',
      para: s.obj({ jti: s.match(JTI_PATTERN) }, ['jti']),
      result: s.obj({ revoked: s.bool() }, ['revoked']),
      audit: (p) => ({ jti: p.jti }),
      handler: async (p, { services: sv, caller, log }) => {
        if (caller?.apps) {
          const row = await sv.store.getCaller(p.jti);
          if (!row || !coversTokenClaim(caller, row.apps))
            throw new RpcError('FORBIDDEN', '', 'apps claim does not cover that caller token');
        }
        const r = await sv.store.revokeCaller(p.jti, Date.now());
        sv.callers.revoke(p.jti);
        log.info({ jti: p.jti, by: caller?.sub, known: r.known, already: r.already }, 'caller token revoked');
        return { revoked: true };
      },
    }),
  ];
}

const area: Area = { name: 'admin', interfaces };
export default area;
