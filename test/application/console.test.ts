import { expect } from 'chai';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { startNode, type TestNode } from '../helpers/gatehouse';
import { hashPassword, verifyPassword, LOCKOUT, MAX_PASSWORD_CHECKS } from '../../application/services/console-auth';

const PASSWORD = 'correct horse battery staple';

/** a console client: the cookie jar of one browser, and its CSRF token */
class Browser {
  cookie = '';
  csrf = '';
  constructor(private readonly url: string) {}

  async signIn(body: Record<string, unknown>) {
    const res = await fetch(`${this.url}/console/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie') ?? '';
    if (res.status === 200) {
      this.cookie = setCookie.split(';')[0];
      this.csrf = ((await res.clone().json()) as { csrf: string }).csrf;
    }
    return { status: res.status, setCookie, body: (await res.json()) as Record<string, unknown> };
  }

  async rpc(interfaceName: string, para: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.url}/console/rpc`, {
      method: 'POST',
      headers: { cookie: this.cookie, 'x-csrf-token': this.csrf, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ version: 1, componentName: 'console', interface: { interfaceName, para } }),
    });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as { returnCode: number; returnData: any } };
  }
}

describe('console passwords', () => {
  it('scrypt hashes: salted (two hashes of one password differ), verified, a wrong password or a mangled hash refused', async () => {
    const a = await hashPassword(PASSWORD);
    const b = await hashPassword(PASSWORD);
    expect(a).to.match(/^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).to.not.equal(b);
    expect(await verifyPassword(PASSWORD, a)).to.equal(true);
    expect(await verifyPassword(`${PASSWORD}!`, a)).to.equal(false);
    expect(await verifyPassword(PASSWORD, a.replace('scrypt', 'md5'))).to.equal(false);
    expect(await verifyPassword(PASSWORD, a.slice(0, -2))).to.equal(false);
  });
});

forEachDialect('console (/console): sign-in, sessions, CSRF, audit', (dialect) => {
  let node: TestNode;
  let fake: FakePlatform;
  let admin: string;

  before(async () => {
    fake = await new FakePlatform().start();
    fake.app('wxconsole00000001', 'console-secret-1');
    node = await startNode({ dialect, fake });
    admin = node.token('admin.*');
    const store = node.gh.services.store;
    await store.putOperator(
      { name: 'alice', passwordHash: await hashPassword(PASSWORD), scope: 'admin.*' },
      Date.now(),
    );
    await store.putOperator(
      { name: 'reader', passwordHash: await hashPassword(PASSWORD), scope: 'admin.app.list admin.token.list' },
      Date.now(),
    );
    await store.putOperator(
      { name: 'locky', passwordHash: await hashPassword(PASSWORD), scope: 'admin.*' },
      Date.now(),
    );
    await node.rpc(
      'admin.app.put',
      { platform: 'wechat_app', codeName: 'shop', config: { appId: 'wxconsole00000001', secret: 'console-secret-1' } },
      admin,
    );
  });
  after(async () => {
    await node?.close();
    await fake?.stop();
  });

  it('an operator signs in: an HttpOnly, SameSite=Strict cookie on /console, a CSRF token, a recorded session', async () => {
    const b = new Browser(node.url);
    const r = await b.signIn({ operator: 'alice', password: PASSWORD });
    expect(r.status).to.equal(200);
    expect(r.setCookie).to.match(
      /^gh_console=[\w-]+\.[\w-]+\.[\w-]+; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=(1[0-7]\d\d|1800)$/,
    );
    expect(r.body).to.include({ sub: 'console:alice' });
    expect(r.body.scope).to.deep.equal(['admin.*']);
    expect(r.body.csrf).to.match(/^[\w-]{43}$/);
    expect(r.body.expiresAt).to.be.closeTo(Math.floor(Date.now() / 1000) + 1800, 5);
    const callers = (await node.rpc('admin.caller.list', {}, admin)).returnData.callers;
    expect(callers.map((c: { sub: string }) => c.sub)).to.include('console:alice');
    const me = await fetch(`${node.url}/console/api/session`, { headers: { cookie: b.cookie } });
    expect(me.status).to.equal(200);
    expect(((await me.json()) as { csrf: string }).csrf).to.equal(b.csrf);
  });

  it('a wrong password and an unknown operator get the same 401; no cookie', async () => {
    const b = new Browser(node.url);
    const wrong = await b.signIn({ operator: 'alice', password: 'not the password' });
    const unknown = await b.signIn({ operator: 'mallory', password: PASSWORD });
    expect([wrong.status, unknown.status]).to.deep.equal([401, 401]);
    expect(wrong.body).to.deep.equal(unknown.body);
    expect(wrong.setCookie + unknown.setCookie).to.equal('');
    expect((await b.signIn({ operator: 'alice' })).status).to.equal(400);
  });

  it(`${LOCKOUT.failures} failures in a row lock the operator: then even the right password is refused`, async () => {
    const b = new Browser(node.url);
    for (let i = 0; i < LOCKOUT.failures; i++) await b.signIn({ operator: 'locky', password: `wrong ${i}` });
    const [row] = await node.db.query("SELECT locked_until FROM operators WHERE name = 'locky'");
    expect(Number(row.locked_until)).to.be.greaterThan(Date.now() + LOCKOUT.ms - 60_000);
    expect((await b.signIn({ operator: 'locky', password: PASSWORD })).status).to.equal(401);
    // a success resets the count of another operator
    expect((await b.signIn({ operator: 'alice', password: PASSWORD })).status).to.equal(200);
  });

  it(`at most ${MAX_PASSWORD_CHECKS} password checks at once per node (each ~32 MiB of scrypt); more are 429 on the wire`, async () => {
    const auth = node.gh.services.consoleAuth;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        auth.withPassword('alice', `wrong ${i}`).then(
          () => 'in',
          (e: { code: number }) => e.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 4029)).to.have.length(8 - MAX_PASSWORD_CHECKS);
    expect(outcomes.filter((o) => o === 4001)).to.have.length(MAX_PASSWORD_CHECKS);
    await node.gh.services.store.operatorSignedIn('alice'); // the two failures above do not count on
    const b = new Browser(node.url);
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => b.signIn({ operator: 'nobody', password: 'x' }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 429).length).to.be.at.least(1);
  });

  it('/console/rpc needs the session cookie AND its CSRF token, from the same origin', async () => {
    const b = new Browser(node.url);
    await b.signIn({ operator: 'alice', password: PASSWORD });
    expect((await b.rpc('admin.app.list', {})).body.returnData.apps).to.have.length(1);
    expect((await b.rpc('admin.app.list', {}, { 'x-csrf-token': '' })).status).to.equal(403);
    expect((await b.rpc('admin.app.list', {}, { 'x-csrf-token': b.csrf.replace(/.$/, 'x') })).status).to.equal(403);
    expect((await b.rpc('admin.app.list', {}, { origin: 'https://evil.example' })).status).to.equal(403);
    expect((await b.rpc('admin.app.list', {}, { cookie: '' })).status).to.equal(401);
    // another session's CSRF token does not do
    const other = new Browser(node.url);
    await other.signIn({ operator: 'alice', password: PASSWORD });
    expect((await b.rpc('admin.app.list', {}, { 'x-csrf-token': other.csrf })).status).to.equal(403);
    // the cookie is not a bearer token on the main endpoint
    const main = await fetch(`${node.url}/`, {
      method: 'POST',
      headers: { cookie: b.cookie },
      body: JSON.stringify({ interface: { interfaceName: 'admin.app.list', para: {} } }),
    });
    expect(((await main.json()) as { returnCode: number }).returnCode).to.equal(4001);
  });

  it("a session has its operator's scope, no more: a reader cannot write", async () => {
    const b = new Browser(node.url);
    await b.signIn({ operator: 'reader', password: PASSWORD });
    expect((await b.rpc('admin.app.list', {})).body.returnCode).to.equal(0);
    const put = await b.rpc('admin.app.put', {
      platform: 'toutiao_app',
      codeName: 'tt',
      config: { appId: 'tt1', secret: 's' },
    });
    expect(put.body.returnCode).to.equal(4003);
    expect(await node.db.query("SELECT * FROM apps WHERE code_name = 'tt'")).to.have.length(0);
  });

  it('sign-out revokes the session at once', async () => {
    const b = new Browser(node.url);
    await b.signIn({ operator: 'alice', password: PASSWORD });
    const noCsrf = await fetch(`${node.url}/console/api/session`, { method: 'DELETE', headers: { cookie: b.cookie } });
    expect(noCsrf.status).to.equal(403);
    const out = await fetch(`${node.url}/console/api/session`, {
      method: 'DELETE',
      headers: { cookie: b.cookie, 'x-csrf-token': b.csrf },
    });
    expect(out.status).to.equal(204);
    expect(out.headers.get('set-cookie')).to.match(/^gh_console=; .*Max-Age=0/);
    expect((await b.rpc('admin.app.list', {})).status).to.equal(401);
  });

  it('signs in with a caller token covering admin interfaces (not with a backend-only one)', async () => {
    const b = new Browser(node.url);
    expect((await b.signIn({ token: node.token('wechat.*') })).status).to.equal(403);
    expect((await b.signIn({ token: 'not.a.token' })).status).to.equal(401);
    const r = await b.signIn({ token: node.token('admin.app.list', ['shop']) });
    expect(r.status).to.equal(200);
    expect(r.body.sub).to.match(/^console:/);
    expect(r.body.apps).to.deep.equal(['shop']);
    expect((await b.rpc('admin.app.list', {})).body.returnData.apps).to.have.length(1);
  });

  it('every admin write is in the audit log: who, via console or rpc, which interface, on what — never a secret', async () => {
    const b = new Browser(node.url);
    await b.signIn({ operator: 'alice', password: PASSWORD });
    const config = { appId: 'tt00000000000009', secret: 'toutiao-secret-audit' };
    expect(
      (await b.rpc('admin.app.put', { platform: 'toutiao_app', codeName: 'tt9', config })).body.returnCode,
    ).to.equal(0);
    expect(
      (await node.rpc('admin.app.delete', { platform: 'toutiao_app', codeName: 'tt9' }, admin)).returnCode,
    ).to.equal(0);
    const entries = (await node.rpc('admin.audit.list', { limit: 10 }, admin)).returnData.entries;
    const [del, put] = entries;
    expect(del).to.include({ actor: 'test', via: 'rpc', interfaceName: 'admin.app.delete' });
    expect(del.target).to.deep.equal({ platform: 'toutiao_app', codeName: 'tt9' });
    expect(put).to.include({ actor: 'console:alice', via: 'console', interfaceName: 'admin.app.put' });
    expect(put.requestId).to.be.a('string');
    expect(JSON.stringify(entries)).to.not.include('toutiao-secret-audit');
    expect(entries.map((e: { interfaceName: string }) => e.interfaceName)).to.include('console.signin');
    // a caller limited to tt9 sees the writes on tt9 only
    const limited = (await node.rpc('admin.audit.list', {}, node.token('admin.*', ['tt9']))).returnData.entries;
    expect(limited.map((e: { interfaceName: string }) => e.interfaceName)).to.deep.equal([
      'admin.app.delete',
      'admin.app.put',
    ]);
    // a refused write is not a write
    const before = (await node.rpc('admin.audit.list', {}, admin)).returnData.entries.length;
    await node.rpc('admin.app.put', { platform: 'toutiao_app', codeName: 'bad name', config }, admin);
    expect((await node.rpc('admin.audit.list', {}, admin)).returnData.entries.length).to.equal(before);
  });

  it('every admin interface that writes is audited (the registry says so)', () => {
    const reads = /\.(list|get|kinds)$/;
    for (const def of node.gh.registry.all()) {
      if (def.access !== 'admin' || reads.test(def.name)) continue;
      expect((def as { audit?: unknown }).audit, def.name).to.be.a('function');
    }
  });

  it('admin.token.reveal: only for a scope naming it (admin.* and * do not), audited', async () => {
    const t = (await node.rpc('wechat.app.token', { codeName: 'shop' }, node.token('wechat.*'))).returnData;
    const ref = { platform: 'wechat_app', codeName: 'shop', subject: 'wxconsole00000001', kind: 'access_token' };
    expect((await node.rpc('admin.token.reveal', ref, admin)).returnCode).to.equal(4003);
    expect((await node.rpc('admin.token.reveal', ref, node.token('*'))).returnCode).to.equal(4003);
    const shown = await node.rpc('admin.token.reveal', ref, node.token('admin.token.reveal'));
    expect(shown.returnData).to.deep.equal({ value: t.token, expiresAt: t.expiresAt });
    expect(
      (await node.rpc('admin.token.reveal', { ...ref, kind: 'jsapi_ticket' }, node.token('admin.token.reveal')))
        .returnCode,
    ).to.equal(1012);
    expect(
      (await node.rpc('admin.token.reveal', ref, node.token('admin.token.reveal', ['other']))).returnCode,
    ).to.equal(4003);
    const [last] = (await node.rpc('admin.audit.list', { interfaceName: 'admin.token.reveal' }, admin)).returnData
      .entries;
    expect(last.target).to.deep.equal(ref);
    expect(JSON.stringify(last)).to.not.include(t.token);
  });

  it('admin.token.refresh forces one refresh (the fake is asked once more) and answers no value', async () => {
    const ref = { platform: 'wechat_app', codeName: 'shop', subject: 'wxconsole00000001', kind: 'access_token' };
    const calls = fake.count('stable_token');
    const r = await node.rpc('admin.token.refresh', ref, admin);
    expect(r.returnCode).to.equal(0);
    expect(Object.keys(r.returnData).sort()).to.deep.equal(['expiresAt', 'refreshedAt']);
    expect(fake.count('stable_token')).to.equal(calls + 1);
  });

  it('admin.caller.mint: shown once, listed, usable; never wider than the caller, reveal only from a holder', async () => {
    const minted = await node.rpc(
      'admin.caller.mint',
      { sub: 'svc-a', scope: 'wechat.app.token', ttlSeconds: 3600 },
      node.token('*'),
    );
    expect(minted.returnCode).to.equal(0);
    const ok = await node.rpc('wechat.app.token', { codeName: 'shop' }, minted.returnData.token);
    expect(ok.returnCode).to.equal(0);
    const listed = (await node.rpc('admin.caller.list', {}, admin)).returnData.callers;
    expect(listed.find((c: { jti: string }) => c.jti === minted.returnData.jti)).to.include({
      sub: 'svc-a',
      revoked: false,
    });
    expect(JSON.stringify(listed)).to.not.include(minted.returnData.token);
    // admin.* alone grants no backend scope; a pattern only an equal or wider one
    expect((await node.rpc('admin.caller.mint', { sub: 'x', scope: 'wechat.app.token' }, admin)).returnCode).to.equal(
      4003,
    );
    const narrow = node.token('admin.caller.* wechat.app.token');
    expect((await node.rpc('admin.caller.mint', { sub: 'x', scope: 'wechat.*' }, narrow)).returnCode).to.equal(4003);
    expect((await node.rpc('admin.caller.mint', { sub: 'x', scope: 'admin.token.reveal' }, admin)).returnCode).to.equal(
      4003,
    );
    const limited = node.token('admin.* wechat.app.token', ['shop']);
    expect((await node.rpc('admin.caller.mint', { sub: 'x', scope: 'wechat.app.token' }, limited)).returnCode).to.equal(
      4003,
    );
    expect(
      (await node.rpc('admin.caller.mint', { sub: 'x', scope: 'wechat.app.token', apps: ['shop'] }, limited))
        .returnCode,
    ).to.equal(0);
    const [audit] = (await node.rpc('admin.audit.list', { interfaceName: 'admin.caller.mint' }, admin)).returnData
      .entries;
    expect(JSON.stringify(audit)).to.not.match(/eyJ/);
  });

  it("admin.upstream.list: this node's platform calls by platform, api and outcome; none for a limited caller", async () => {
    const calls = (await node.rpc('admin.upstream.list', {}, admin)).returnData.calls;
    const stable = calls.find((c: { api: string }) => c.api === 'stable_token');
    expect(stable).to.include({ platform: 'wechat', errcode: '0' });
    expect(stable.count).to.equal(fake.count('stable_token'));
    const limited = await node.rpc('admin.upstream.list', {}, node.token('admin.*', ['shop']));
    expect(limited.returnData.calls).to.deep.equal([]);
  });

  it('admin.app.kinds: every kind with its schema, id field and write-only secrets', async () => {
    const kinds = (await node.rpc('admin.app.kinds', {}, admin)).returnData.kinds;
    const tp = kinds.find((k: { platform: string }) => k.platform === 'wechat_tp');
    expect(tp).to.deep.include({ idField: 'appId', secrets: ['secret', 'token', 'aesKey'] });
    expect(tp.schema.properties.secret.writeOnly).to.equal(true);
  });
});
