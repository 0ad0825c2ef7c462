import { scopeCovers, type Caller } from '../../../system/callers';
import { RpcError } from '../../../system/errors';
import { claimCoversRow } from '../../claims';
import type { Interface, Services } from '../../contract';
import { out, rpc, s, unixSeconds } from '../../schema';
import { CODE_NAME_PATTERN } from '../../services/apps';
import { specKey } from '../../services/tokens/spec';

/** the scope a token value is revealed to: named literally, never through a pattern (`admin.*`, `*`) */
export const REVEAL = 'admin.token.reveal';
const YEAR = 365 * 86400;

/** a stored token, by what admin.token.list shows of it */
const tokenRef = (platforms: string[]) =>
  s.obj({ platform: s.oneOf(platforms), codeName: s.match(CODE_NAME_PATTERN), subject: s.str(300), kind: s.str(64) }, [
    'platform',
    'codeName',
    'subject',
    'kind',
  ]);
type TokenRef = { platform: string; codeName: string; subject: string; kind: string };

/** the stored token `r` names, its spec (from its kind's resolver), after the caller's apps claim */
async function storedToken(sv: Services, caller: Caller | undefined, r: TokenRef) {
  const row = await sv.store.getToken(specKey(r.platform, r.subject, r.kind));
  if (!row || row.codeName !== r.codeName || !(await claimCoversRow(caller, sv, r.platform, r.codeName, r.subject)))
    throw new RpcError('NO_APP', '', 'no such token');
  const spec = await sv.engine.specOf(row);
  if (!spec) throw new RpcError('NO_APP', '', 'the token belongs to no enabled app');
  return spec;
}

/**
 * Whether `caller` may hand out every entry of `scope`: each must be covered by its own scope (a
 * pattern only by an equal or wider one), and the reveal scope only by a caller that holds it.
 */
function mayGrant(caller: Caller | undefined, scope: string[]): boolean {
  if (!caller) return false;
  return scope.every((e) => (e === REVEAL ? caller.scope.includes(REVEAL) : scopeCovers(caller.scope, e)));
}

/** The interfaces the console needs beyond admin.*: minting, revealing, refreshing, the audit log, the app kinds. */
export function consoleInterfaces(services: Services): Interface[] {
  const platforms = services.apps.platforms();
  const ref = tokenRef(platforms);
  return [
    rpc({
      name: 'admin.caller.mint',
      access: 'admin',
      appsFiltered: true,
      summary:
        'Mints a caller token (shown once; its jti is listed and revocable). Its scope must be covered by the ' +
        "caller's own, its apps claim within the caller's; admin.token.reveal only by a caller that holds it.",
      para: s.obj(
        {
          sub: s.match('^[!-~]{1,128}$'),
          scope: s.match('^[!-~]{1,128}( [!-~]{1,128}){0,31}$'),
          apps: s.array(s.str(128)),
          ttlSeconds: s.int(60, YEAR),
        },
        ['sub', 'scope'],
      ),
      result: s.obj({ token: out.str, jti: out.str, exp: out.int }, ['token', 'jti', 'exp']),
      audit: (p) => ({ sub: p.sub, scope: p.scope, apps: p.apps ?? null }),
      handler: async (p, { services: sv, caller }) => {
        const scope = p.scope.split(' ');
        if (!mayGrant(caller, scope)) throw new RpcError('FORBIDDEN', '', 'the scope is wider than your own');
        if (caller?.apps && !(p.apps?.length && p.apps.every((a) => caller.apps!.includes(a))))
          throw new RpcError('FORBIDDEN', '', 'the apps claim is wider than your own');
        const ttlSeconds = p.ttlSeconds ?? 30 * 86400;
        const minted = await sv.consoleAuth.mint({ sub: p.sub, scope: p.scope, apps: p.apps, ttlSeconds });
        return { token: minted.token, jti: minted.record.jti, exp: minted.record.exp! };
      },
    }),
    rpc({
      name: REVEAL,
      access: 'admin',
      summary:
        "A stored token's value, for debugging: only for a caller whose scope names admin.token.reveal itself " +
        '(no pattern covers it); every reveal is in the audit log.',
      para: ref,
      result: s.obj({ value: out.str, expiresAt: out.int }, ['value', 'expiresAt']),
      apps: (p) => [p.codeName],
      audit: (p) => ({ platform: p.platform, codeName: p.codeName, subject: p.subject, kind: p.kind }),
      handler: async (p, { services: sv, caller }) => {
        if (!caller?.scope.includes(REVEAL)) throw new RpcError('FORBIDDEN', '', `only a scope naming ${REVEAL}`);
        const t = await sv.engine.get(await storedToken(sv, caller, p));
        return { value: t.value, expiresAt: unixSeconds(t.expiresAt) };
      },
    }),
    rpc({
      name: 'admin.token.refresh',
      access: 'admin',
      summary:
        'Refreshes a stored token now (a forced refresh: within the shared 30 s budget of §5.3, otherwise the ' +
        'current token stays). Never answers the value.',
      para: ref,
      result: s.obj({ expiresAt: out.int, refreshedAt: s.nullable(out.int) }, ['expiresAt', 'refreshedAt']),
      apps: (p) => [p.codeName],
      audit: (p) => ({ platform: p.platform, codeName: p.codeName, subject: p.subject, kind: p.kind }),
      handler: async (p, { services: sv, caller }) => {
        const spec = await storedToken(sv, caller, p);
        const t = await sv.engine.get(spec, { force: true });
        const row = await sv.store.getToken(spec.key);
        const refreshed = row?.refreshedAt ?? null;
        return { expiresAt: unixSeconds(t.expiresAt), refreshedAt: refreshed === null ? null : unixSeconds(refreshed) };
      },
    }),
    rpc({
      name: 'admin.audit.list',
      access: 'admin',
      appsFiltered: true,
      summary:
        'The audit log, newest first: every admin write — who, through which interface or console session, on what.',
      para: s.obj({ actor: s.str(255), interfaceName: s.str(128), limit: s.int(1, 500) }),
      result: s.obj(
        {
          entries: s.array(
            s.obj(
              {
                at: out.int,
                actor: out.str,
                via: out.str,
                interfaceName: out.str,
                target: s.anyObject(),
                ip: s.nullable(out.str),
                requestId: s.nullable(out.str),
              },
              ['at', 'actor', 'via', 'interfaceName', 'target', 'ip', 'requestId'],
            ),
          ),
        },
        ['entries'],
      ),
      handler: async (p, { services: sv, caller }) => ({
        entries: (await sv.store.listAudit({ actor: p.actor, interfaceName: p.interfaceName, limit: p.limit ?? 100 }))
          // a caller limited by an apps claim sees the writes on apps it holds, nothing else
          .filter((e) => !caller?.apps || caller.apps.includes(String(JSON.parse(e.target).codeName)))
          .map(({ id: _id, at, target, ...e }) => ({
            ...e,
            at: unixSeconds(at),
            target: JSON.parse(target) as Record<string, unknown>,
          })),
      }),
    }),
    rpc({
      name: 'admin.upstream.list',
      access: 'admin',
      appsFiltered: true,
      summary:
        "This node's platform API calls since it started, by platform, API and outcome (errcode, or the " +
        'failure: timeout, http_5xx …), from its metrics; none for a caller limited by an apps claim.',
      para: s.obj({}),
      result: s.obj(
        {
          calls: s.array(
            s.obj({ platform: out.str, api: out.str, errcode: out.str, count: out.int }, [
              'platform',
              'api',
              'errcode',
              'count',
            ]),
          ),
        },
        ['calls'],
      ),
      handler: async (_p: Record<string, never>, { services: sv, caller }) => ({
        calls: caller?.apps
          ? []
          : (await sv.metrics.upstream.get()).values.map((v) => ({
              platform: String(v.labels.platform),
              api: String(v.labels.api),
              errcode: String(v.labels.errcode),
              count: v.value,
            })),
      }),
    }),
    rpc({
      name: 'admin.app.kinds',
      access: 'admin',
      appsFiltered: true,
      summary: "The kinds of app config: each one's JSON Schema, id field and secret (write-only) fields.",
      para: s.obj({}),
      result: s.obj(
        {
          kinds: s.array(
            s.obj({ platform: out.str, idField: out.str, secrets: s.array(out.str), schema: s.anyObject() }, [
              'platform',
              'idField',
              'secrets',
              'schema',
            ]),
          ),
        },
        ['kinds'],
      ),
      handler: (_p: Record<string, never>, { services: sv }) => ({
        kinds: sv.apps.platforms().map((platform) => ({
          platform,
          idField: sv.apps.platformDef(platform)!.idField,
          secrets: sv.apps.platformDef(platform)!.secrets,
          schema: sv.apps.configSchema(platform) as Record<string, unknown>,
        })),
      }),
    }),
  ];
}
