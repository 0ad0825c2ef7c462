// Caller verification and claim coverage as units: every refusal of CallerAuth.verify with the
// reason it logs, the verified-token cache, revocation polling, minting, and the claim rules of
// application/claims.ts against a stub app directory.
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import pino from 'pino';
import { Writable } from 'node:stream';
import {
  CallerAuth,
  appsAllow,
  mintCaller,
  parseTtl,
  scopeCoversInterface,
  signCaller,
  type Caller,
} from '../../system/callers';
import { RpcError } from '../../system/errors';
import { SUBJECT_FIELDS, claimCovers, claimCoversRow, subjectsOf } from '../../application/claims';
import type { Services } from '../../application/contract';

const SECRET = 'unit-secret-0123456789abcdef';
const nowS = () => Math.floor(Date.now() / 1000);
const sign = (payload: string | object, opts: jwt.SignOptions = {}) =>
  jwt.sign(payload, SECRET, { algorithm: 'HS256', ...opts });
const good = (extra: Record<string, unknown> = {}) => sign({ sub: 's', scope: 'a b', exp: nowS() + 600, ...extra });
/** the 4001's detail, or 'ok' */
const refusal = (auth: CallerAuth, header: string | undefined) => {
  try {
    auth.verify(header);
    return 'ok';
  } catch (e) {
    expect(e).to.be.instanceOf(RpcError).with.property('code', 4001);
    expect((e as RpcError).data, 'returnData of a 4001').to.equal('');
    return (e as RpcError).detail ?? '(none)';
  }
};
/** runs fn with Date.now() moved by `ms` */
function later<T>(ms: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => real() + ms;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

describe('CallerAuth.verify: what it refuses and why', () => {
  it('no header, or one that is not "Bearer …"', () => {
    const auth = new CallerAuth(SECRET);
    expect(refusal(auth, undefined)).to.equal('(none)');
    expect(refusal(auth, '')).to.equal('(none)');
    expect(refusal(auth, `bearer ${good()}`)).to.equal('(none)');
    expect(refusal(auth, `Basic ${good()}`)).to.equal('(none)');
  });

  it('accepts a good token (surrounding spaces trimmed); scope split on any whitespace; no apps, no jti unless given', () => {
    const auth = new CallerAuth(SECRET);
    const exp = nowS() + 600;
    const c = auth.verify(`Bearer  ${sign({ sub: 'svc', scope: ' a  b\tc ', exp })} `);
    expect(c).to.deep.equal({ sub: 'svc', scope: ['a', 'b', 'c'], apps: undefined, exp });
    expect(c).to.not.have.property('jti');
    const d = auth.verify(`Bearer ${good({ apps: [], jti: 'j-1' })}`);
    expect(d).to.include({ jti: 'j-1' });
    expect(d.apps).to.deep.equal([]);
  });

  it('a bad signature, another algorithm, alg none, an expired token, a string payload', () => {
    const auth = new CallerAuth(SECRET);
    expect(refusal(auth, `Bearer ${jwt.sign({ sub: 's', scope: 'a', exp: nowS() + 60 }, 'other-secret')}`)).to.equal(
      'caller token rejected: invalid signature',
    );
    expect(
      refusal(auth, `Bearer ${jwt.sign({ sub: 's', scope: 'a', exp: nowS() + 60 }, SECRET, { algorithm: 'HS512' })}`),
    ).to.equal('caller token rejected: invalid algorithm');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 's', scope: 'a', exp: nowS() + 60 })).toString('base64url')}.`;
    expect(refusal(auth, `Bearer ${none}`)).to.match(/^caller token rejected: /);
    expect(refusal(auth, `Bearer ${sign({ sub: 's', scope: 'a', exp: nowS() - 1 })}`)).to.equal(
      'caller token rejected: jwt expired',
    );
    expect(refusal(auth, `Bearer ${sign('just a string')}`)).to.equal(
      'caller token rejected: payload is not an object',
    );
  });

  it('claims: exp, sub and scope required; apps an array of strings; jti 1–64 visible ASCII characters', () => {
    const auth = new CallerAuth(SECRET);
    const exp = nowS() + 600;
    expect(refusal(auth, `Bearer ${sign({ sub: 's', scope: 'a' })}`)).to.equal('caller token has no exp');
    for (const p of [
      { scope: 'a', exp },
      { sub: 's', exp },
      { sub: 1, scope: 'a', exp },
      { sub: 's', scope: ['a'], exp },
    ]) {
      expect(refusal(auth, `Bearer ${sign(p)}`), JSON.stringify(p)).to.equal('caller token lacks sub or scope');
    }
    for (const apps of ['a', [1], ['a', null], { 0: 'a' }]) {
      expect(refusal(auth, `Bearer ${good({ apps })}`), JSON.stringify(apps)).to.equal(
        'caller token apps claim is not an array of strings',
      );
    }
    for (const jti of [7, '', 'x'.repeat(65), 'has space', 'tab\t', 'é']) {
      expect(refusal(auth, `Bearer ${good({ jti })}`), JSON.stringify(jti)).to.equal(
        'caller token jti claim is malformed',
      );
    }
    for (const jti of ['x'.repeat(64), '!', '~', 'a'])
      expect(refusal(auth, `Bearer ${good({ jti })}`), jti).to.equal('ok');
  });

  it('a verified token is cached until it expires; then it is refused and verified afresh', () => {
    const auth = new CallerAuth(SECRET);
    const token = sign({ sub: 's', scope: 'a', exp: nowS() + 5 });
    const first = auth.verify(`Bearer ${token}`);
    expect(auth.verify(`Bearer ${token}`)).to.equal(first); // the same object: from the cache
    // expired at its exp second exactly
    const exp = (jwt.decode(token) as { exp: number }).exp;
    expect(later(exp * 1000 - Date.now(), () => refusal(auth, `Bearer ${token}`))).to.equal('caller token expired');
    expect(later(10_000, () => refusal(auth, `Bearer ${token}`))).to.equal('caller token rejected: jwt expired');
  });

  it('the cache keeps at most maxCached tokens: the one used longest ago makes room', () => {
    const auth = new CallerAuth(SECRET, undefined, undefined, 2);
    const [t1, t2, t3] = ['a', 'b', 'c'].map((sub) => `Bearer ${good({ sub })}`);
    const first = auth.verify(t1);
    const second = auth.verify(t2);
    expect(auth.verify(t1)).to.equal(first); // two fit; t1 is now the most recently used
    auth.verify(t3); // full: t2, used longest ago, goes
    expect(auth.cached).to.equal(2);
    expect(auth.verify(t1)).to.equal(first);
    const again = auth.verify(t2);
    expect(again).to.not.equal(second);
    expect(again).to.deep.equal(second);
    expect(auth.cached).to.equal(2);
  });

  it('revoked jtis are refused, before and after the token was cached', () => {
    const auth = new CallerAuth(SECRET);
    const cached = good({ jti: 'cached' });
    auth.verify(`Bearer ${cached}`);
    auth.revoke('cached');
    auth.revoke('early');
    expect(auth.isRevoked('cached')).to.equal(true);
    expect(auth.isRevoked('other')).to.equal(false);
    expect(refusal(auth, `Bearer ${cached}`)).to.equal('caller token revoked');
    expect(refusal(auth, `Bearer ${good({ jti: 'early' })}`)).to.equal('caller token revoked');
    expect(refusal(auth, `Bearer ${good({ jti: 'other' })}`)).to.equal('ok');
  });
});

describe('CallerAuth revocation polling', () => {
  const logged: { level: number; msg: string }[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({ write: (chunk, _e, cb) => (logged.push(JSON.parse(String(chunk))), cb()) }),
  );

  it('learns revoked jtis from the store, keeps them when the store fails (warning once), says when it reads again', async () => {
    let answer: () => Promise<string[]> = async () => ['r1'];
    const seen: number[] = [];
    const auth = new CallerAuth(SECRET, { revokedCallers: (n) => (seen.push(n), answer()) }, log);
    await auth.loadRevocations();
    expect(auth.isRevoked('r1')).to.equal(true);
    expect(seen[0]).to.be.within(nowS() - 1, nowS());
    answer = () => Promise.reject(new Error('store down'));
    await auth.loadRevocations();
    await auth.loadRevocations();
    expect(auth.isRevoked('r1')).to.equal(true);
    expect(logged.filter((l) => l.msg === 'cannot read caller revocations; keeping the last known set')).to.have.length(
      1,
    );
    answer = async () => ['r2'];
    await auth.loadRevocations();
    expect(auth.isRevoked('r1') && auth.isRevoked('r2')).to.equal(true);
    expect(logged.filter((l) => l.msg === 'caller revocations readable again')).to.have.length(1);
  });

  it('concurrent loads share one read; start() loads, then polls every pollMs until stop()', async () => {
    let reads = 0;
    const auth = new CallerAuth(SECRET, { revokedCallers: async () => (reads++, []) });
    await Promise.all([auth.loadRevocations(), auth.loadRevocations(), auth.loadRevocations()]);
    expect(reads).to.equal(1);
    await auth.start(20);
    expect(reads).to.equal(2);
    await new Promise((r) => setTimeout(r, 110));
    auth.stop();
    const polled = reads;
    expect(polled).to.be.within(5, 8);
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).to.equal(polled);
    await new CallerAuth(SECRET).loadRevocations(); // no source: nothing to do
  });
});

describe('minting caller tokens', () => {
  it('HS256 with sub, scope, a fresh 22-character jti, iat and exp; apps only when given; the record never holds the token', () => {
    const now = 1_700_000_000_500;
    const m = mintCaller(SECRET, { sub: 'svc', scope: 'a b', ttlSeconds: 60 }, now);
    const p = jwt.verify(m.token, SECRET, { algorithms: ['HS256'], clockTimestamp: 1_700_000_000 }) as Record<
      string,
      unknown
    >;
    expect(Object.keys(p).sort()).to.deep.equal(['exp', 'iat', 'jti', 'scope', 'sub']);
    expect(p).to.include({ sub: 'svc', scope: 'a b', iat: 1_700_000_000, exp: 1_700_000_060 });
    expect(p.jti).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(m.record).to.deep.equal({
      jti: p.jti,
      sub: 'svc',
      scope: 'a b',
      apps: null,
      exp: 1_700_000_060,
      createdAt: now,
      revokedAt: null,
    });
    const n = mintCaller(SECRET, { sub: 'svc', scope: 'a', apps: ['shop'], ttlSeconds: 60 }, now);
    expect(jwt.decode(n.token)).to.include({ sub: 'svc' }).and.have.deep.property('apps', ['shop']);
    expect(n.record.apps).to.deep.equal(['shop']);
    expect(n.record.jti).to.not.equal(m.record.jti);
    const signed = signCaller(SECRET, { sub: 'x', scope: 'y', ttlSeconds: 60 });
    expect(new CallerAuth(SECRET).verify(`Bearer ${signed}`)).to.include({ sub: 'x' });
  });

  it('ttls: s, m, h, d, w or plain seconds, spaces allowed; anything else says what it expected', () => {
    const cases: Record<string, number> = {
      '45s': 45,
      '15m': 900,
      '12h': 43200,
      '30d': 2592000,
      '2w': 1209600,
      ' 90 ': 90,
      '1 d': 86400,
      '0': 0,
    };
    for (const [ttl, seconds] of Object.entries(cases)) expect(parseTtl(ttl), ttl).to.equal(seconds);
    for (const bad of ['', 'soon', '-1', '1y', '1.5h', 'd', '1dd', 'x1d']) {
      expect(() => parseTtl(bad), bad).to.throw(`--ttl: expected e.g. 30d, 12h, 15m or seconds, got "${bad}"`);
    }
  });
});

describe('scopes and apps claims', () => {
  it('an admin interface is covered by its name or by any pattern that covers all of admin.*', () => {
    const initagent = { name: 'qcloud.work.initagent', access: 'admin' };
    for (const s of ['*', 'admin.*', 'admin*', 'adm*', 'a*', 'qcloud.work.initagent', 'qcloud.work.*'])
      expect(scopeCoversInterface([s], initagent), s).to.equal(true);
    for (const s of ['admin.app.*', 'admin.', 'admin', 'b*', 'qcloud.*x'])
      expect(scopeCoversInterface([s], initagent), s).to.equal(false);
    // a backend interface only by its name or a pattern over its name
    for (const s of ['admin.*', 'admin*'])
      expect(scopeCoversInterface([s], { name: 'qcloud.mimi.access_token', access: 'backend' }), s).to.equal(false);
    expect(
      scopeCoversInterface(['nothing', 'qcloud.mimi.*'], { name: 'qcloud.mimi.access_token', access: 'backend' }),
    ).to.equal(true);
    expect(scopeCoversInterface(['nothing', 'admin.*'], initagent)).to.equal(true);
  });

  it('every ref must be covered under one of its names; undefined and empty refs touch nothing', () => {
    const c: Caller = { sub: 's', scope: ['*'], exp: 0, apps: ['shop', 'wx1'] };
    expect(appsAllow({ ...c, apps: undefined }, ['anything'])).to.equal(true);
    expect(appsAllow(c, [])).to.equal(true);
    expect(appsAllow(c, [undefined, [], [undefined]])).to.equal(true);
    expect(appsAllow(c, [['other', 'wx1'], 'shop'])).to.equal(true);
    expect(appsAllow(c, [['other', undefined]])).to.equal(false);
    expect(appsAllow(c, ['shop', 'other'])).to.equal(false);
    expect(appsAllow({ ...c, apps: [] }, ['shop'])).to.equal(false);
  });
});

describe('claim coverage (application/claims.ts) against a stub app directory', () => {
  // one app: wechat-tpauth "tp" with appId "wxtp" and identity "wxtp" (corp apps: corpId:agentId)
  const apps: Record<string, { appId: string; config: Record<string, unknown> }> = {
    'wechat-tpauth/tp': { appId: 'wxtp', config: { appId: 'wxtp' } },
    'wecom/crm': { appId: 'wwcorp', config: { corpId: 'wwcorp', agentId: 1000002 } },
  };
  const sv = {
    apps: {
      get: async (platform: string, codeName: string) => apps[`${platform}/${codeName}`] ?? null,
      identityOf: (platform: string, config: Record<string, unknown>) =>
        platform === 'wecom' ? `${String(config.corpId)}:${String(config.agentId)}` : String(config.appId),
    },
  } as unknown as Services;
  const caller = (claim?: string[]): Caller => ({ sub: 's', scope: ['*'], exp: 0, apps: claim });

  it('the subjects of a request: the app under all its names, then each subject field (strings and numbers)', async () => {
    expect(SUBJECT_FIELDS).to.deep.equal(['authorizerAppId', 'corpId', 'merchantId', 'merchantCode', 'tenantKey']);
    expect(
      await subjectsOf(sv, 'wecom', { codeName: 'crm', corpId: 'wwx', merchantId: 42, merchantCode: true, other: 'x' }),
    ).to.deep.equal([['crm', 'wwcorp', 'wwcorp:1000002'], 'wwx', '42']);
    // a Feishu store app's tenant (issue 18) is a subject of its own
    expect(await subjectsOf(sv, 'feishu', { codeName: 'ghost', tenantKey: 'tk1' })).to.deep.equal([['ghost'], 'tk1']);
    expect(await subjectsOf(sv, 'wecom', { codeName: 'ghost' })).to.deep.equal([['ghost']]);
    expect(await subjectsOf(sv, 'wecom', { codeName: 7, authorizerAppId: 'wxa' })).to.deep.equal(['wxa']);
  });

  it('claimCovers: no claim covers all; a claim must cover the app and every subject below it', async () => {
    expect(await claimCovers(caller(undefined), sv, 'wecom', { codeName: 'crm', corpId: 'x' })).to.equal(true);
    expect(await claimCovers(caller(['wwcorp:1000002']), sv, 'wecom', { codeName: 'crm' })).to.equal(true);
    expect(await claimCovers(caller(['crm']), sv, 'wecom', { codeName: 'crm', corpId: 'wwx' })).to.equal(false);
    expect(await claimCovers(caller(['crm', 'wwx']), sv, 'wecom', { codeName: 'crm', corpId: 'wwx' })).to.equal(true);
  });

  it('claimCoversRow: the app’s own id names nothing below it; a subject "appId:below" is claimed as "below"', async () => {
    expect(await claimCoversRow(undefined, sv, 'wechat-tpauth', 'tp', 'wxauth')).to.equal(true);
    expect(await claimCoversRow(caller(undefined), sv, 'wechat-tpauth', 'tp', 'wxauth')).to.equal(true);
    const tpOnly = caller(['tp']);
    for (const named of [null, '', 'wxtp'])
      expect(await claimCoversRow(tpOnly, sv, 'wechat-tpauth', 'tp', named), String(named)).to.equal(true);
    expect(await claimCoversRow(tpOnly, sv, 'wechat-tpauth', 'tp', 'wxauth')).to.equal(false);
    expect(await claimCoversRow(caller(['tp', 'wxauth']), sv, 'wechat-tpauth', 'tp', 'wxtp:wxauth')).to.equal(true);
    expect(await claimCoversRow(caller(['tp', 'wxtp:wxauth']), sv, 'wechat-tpauth', 'tp', 'wxtp:wxauth')).to.equal(
      false,
    );
    expect(await claimCoversRow(caller(['wwcorp:1000002']), sv, 'wecom', 'crm', 'wwcorp:1000002')).to.equal(true);
    expect(await claimCoversRow(caller(['crm']), sv, 'wecom', 'crm', 'wwcorp')).to.equal(true); // its appId, not its identity
    expect(await claimCoversRow(caller(['wxauth']), sv, 'wechat-tpauth', 'tp', 'wxauth')).to.equal(false); // the app itself too
    // an app that is gone: its codeName alone names it, and the named subject is taken whole
    expect(await claimCoversRow(caller(['gone', 'x:y']), sv, 'wechat-tpauth', 'gone', 'x:y')).to.equal(true);
    expect(await claimCoversRow(caller(['gone', 'y']), sv, 'wechat-tpauth', 'gone', 'x:y')).to.equal(false);
  });
});
