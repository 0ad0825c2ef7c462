import { onTeardown } from './children';
import { FakeWechat } from './fake-wechat';
import { rssBytes } from './machine';
import { deliver, signedPush, TP, verifyTicketXml } from './pushes';
import type { Check } from './report';
import { callerHeaders, primeAndWatch, type FleetSettings } from './tokens';
import { post, putApp, queryDatabase, rpcBody, startGatehouse, type BenchDatabase, type Target } from './targets';

/**
 * The authorizers scenario of `npm run bench`: `n` authorizers of one WeChat third-party platform
 * (第三方平台), each with short-lived access tokens and a refresh token the platform rotates on every
 * api_authorizer_token call, kept fresh by gatehouse's background refresher — the fleet of
 * bench/tokens.ts, but through the component API:
 *
 *   1. the fake knows the platform and `n` authorizations made before gatehouse (with refresh tokens);
 *   2. gatehouse gets the wechat_tp app (admin.app.put) and one signed, encrypted component_verify_ticket push;
 *   3. wechat.tp.authorizers {sync: true} adopts the `n` authorizers (api_get_authorizer_list, 500 a page);
 *   4. priming: wechat.tpauth.token once for each (cold: api_authorizer_token, refresh token rotated);
 *   5. the watch (as for the fleet: refreshes, upstream calls in flight, lapses, sampled calls);
 *   6. every rotated refresh token must have been kept: the fake's 61023 answers (a refresh token
 *      that is not the current one) must be 0, no authorizer may be marked as needing
 *      re-authorization, and the refresh token stored for each authorizer (read from the database)
 *      must be the one the fake accepts now.
 */

/** a stored refresh token that differs from the fake's is only counted once it was rotated this long ago */
const SETTLE_MS = 2000;

export async function authorizers(
  storeName: string,
  db: BenchDatabase,
  n: number,
  s: FleetSettings,
  say: (line: string) => void,
): Promise<Check[]> {
  const label = `authorizers ${storeName}`;
  const checks: Check[] = [];
  const add = (what: string, value: string, target?: string, met?: boolean) =>
    checks.push({ scenario: label, what, value, target, met });
  const component = TP.config.appId;

  const fake = await new FakeWechat().start();
  const stopFake = onTeardown('stop the authorizers fake WeChat', () => fake.stop());
  const span = s.lifeMaxS - s.lifeMinS + 1;
  const members = Array.from({ length: n }, (_, i) => ({
    appId: `wxauthz${String(i).padStart(10, '0')}`,
    lifeS: s.lifeMinS + ((i * 7919) % span), // spread evenly, neighbours differ
  }));
  const life = new Map(members.map((a) => [a.appId, a.lifeS]));
  fake.addComponent(component, TP.config.secret);
  for (const a of members) fake.preexisting(component, a.appId);
  fake.latency = () => s.latencyMs;
  // the component token lives long (2 h, as on the platform): the authorizers' tokens are the point
  fake.expiresIn = (appId) => life.get(appId) ?? 7200;

  let gh: Target | undefined;
  try {
    say(
      `  starting gatehouse, GATEHOUSE_REFRESH_CONCURRENCY=${s.concurrency}, GATEHOUSE_REFRESH_SCAN_MS=${s.scanMs} ...`,
    );
    gh = await startGatehouse({
      name: `gatehouse authorizers (${storeName})`,
      databaseUrl: db.url,
      wechatApi: fake.url,
      env: {
        GATEHOUSE_REFRESH_CONCURRENCY: String(s.concurrency),
        GATEHOUSE_REFRESH_SCAN_MS: String(s.scanMs),
      },
    });
    const rssStart = rssBytes(gh.child.proc.pid);
    await putApp(gh, 'wechat_tp', TP.codeName, { ...TP.config });
    const ticket = 'ticket@@@bench';
    fake.acceptTicket(component, ticket);
    await deliver('component_verify_ticket push', gh, signedPush(verifyTicketXml(ticket)));

    say(`  wechat.tp.authorizers {sync: true}: adopting ${n} authorizers from api_get_authorizer_list ...`);
    const t = Date.now();
    const sync = await post(
      gh.url,
      rpcBody('wechat.tp.authorizers', { codeName: TP.codeName, sync: true }),
      callerHeaders(),
      600_000,
    );
    const syncS = (Date.now() - t) / 1000;
    const list = (
      sync.body?.returnData as { authorizers?: Array<{ authorizerAppId: string; authorized: boolean }> } | undefined
    )?.authorizers;
    if (sync.body?.returnCode !== 0 || !Array.isArray(list))
      throw new Error(`wechat.tp.authorizers {sync: true}: HTTP ${sync.status}: ${sync.text.slice(0, 300)}`);
    const adopted = list.filter((a) => a.authorized && life.has(a.authorizerAppId)).length;
    add(
      `wechat.tp.authorizers {sync: true}, ${n} authorizations at the platform`,
      `${syncS.toFixed(1)} s, ${adopted} authorized (${fake.componentCallsOf('api_get_authorizer_list')} pages)`,
      `${n}`,
      adopted === n,
    );

    await primeAndWatch({
      gh,
      fake,
      s,
      say,
      add,
      rssStart,
      members: members.map((a) => ({
        name: a.appId,
        subject: a.appId,
        body: rpcBody('wechat.tpauth.token', { codeName: TP.codeName, authorizerAppId: a.appId }),
      })),
      call: 'wechat.tpauth.token',
      noun: 'authorizers',
    });

    // every rotated refresh token kept? (read while gatehouse still runs: it is the state it serves from)
    const rotations = fake.componentCallsOf('api_authorizer_token') - fake.refreshRejected;
    const readAt = Date.now();
    let stored: Array<Record<string, unknown>> | string;
    try {
      stored = await queryDatabase(
        db,
        'SELECT authorizer_id, refresh_token, authorized, needs_reauth FROM authorizers WHERE platform = ? AND owner_id = ?',
        ['wechat_tp', component],
      );
    } catch (err) {
      stored = (err as Error).message;
    }
    add(
      'api_authorizer_token answered 61023 (refresh token not the current one), whole run',
      `${fake.refreshRejected} of ${fake.componentCallsOf('api_authorizer_token')} calls (${rotations} rotations)`,
      '0',
      fake.refreshRejected === 0,
    );
    if (typeof stored === 'string') {
      add(
        'stored refresh token = the one the platform accepts now',
        `could not read the database: ${stored.split('\n')[0]}`,
        `all ${n}`,
        false,
      );
    } else {
      let same = 0;
      let settling = 0;
      let reauth = 0;
      const stale: string[] = [];
      for (const row of stored) {
        const id = String(row.authorizer_id);
        if (!life.has(id)) continue;
        if (Number(row.needs_reauth) || !Number(row.authorized)) reauth++;
        // the fake's state after the read: the stored token must be its newest, or the one before a
        // rotation that happened during the read or just before it (that write may be under way)
        const history = fake.refreshTokens(id);
        const i = history.findIndex((h) => h.value === row.refresh_token);
        if (i >= 0 && i === history.length - 1) same++;
        else if (i >= 0 && history[i + 1].at >= readAt - SETTLE_MS) settling++;
        else stale.push(id);
      }
      const missing = n - stored.filter((r) => life.has(String(r.authorizer_id))).length;
      add(
        'stored refresh token = the one the platform accepts now, after the watch',
        `${same} of ${n}; ${stale.length} stale${stale.length ? ` (first: ${stale[0]})` : ''}, ${settling} rotated during the read or < ${SETTLE_MS / 1000} s before, ${missing} not stored, ${reauth} marked for re-authorization`,
        `all ${n}, 0 stale`,
        stale.length === 0 && missing === 0 && reauth === 0,
      );
    }
    return checks;
  } finally {
    await gh?.stop();
    await db.drop();
    await stopFake();
  }
}
