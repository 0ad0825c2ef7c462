import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SAMPLE_APPS } from './helpers/apps';
import { cli, freePort, serve } from './helpers/cli';
import { freshDatabase, type TestDatabase } from './helpers/db';
import { skipBecause } from './helpers/skip';

describe('command line', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let env: Record<string, string>;
  let dir: string;

  before(async () => {
    db = await freshDatabase('sqlite');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-cli-'));
    env = { GATEHOUSE_DATABASE_URL: db.url, GATEHOUSE_LOG_LEVEL: 'warn' };
  });
  after(async () => db?.drop());

  describe('bad configuration stops the process with one line naming it, exit 1', () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ GATEHOUSE_PORT: 'eighty' }, /^GATEHOUSE_PORT: /],
      [{ GATEHOUSE_PORT: '70000' }, /^GATEHOUSE_PORT: /],
      [{ GATEHOUSE_MASTER_KEY: Buffer.alloc(31).toString('base64') }, /^GATEHOUSE_MASTER_KEY: .*32 bytes/],
      [{ GATEHOUSE_MASTER_KEY: 'not base64!' }, /^GATEHOUSE_MASTER_KEY: /],
      [{ GATEHOUSE_DATABASE_URL: 'postgres://x@y/z' }, /^GATEHOUSE_DATABASE_URL: /],
      [{ GATEHOUSE_DATABASE_URL: 'mariadb://root@127.0.0.1:1/nope' }, /^GATEHOUSE_DATABASE_URL: cannot/],
      [{ GATEHOUSE_WECHAT_API: 'not a url' }, /^GATEHOUSE_WECHAT_API: /],
      [{ GATEHOUSE_PUBLIC_URL: 'ftp://x' }, /^GATEHOUSE_PUBLIC_URL: /],
      [{ GATEHOUSE_LOG_LEVEL: 'loud' }, /^GATEHOUSE_LOG_LEVEL: /],
      [{ GATEHOUSE_TRUST_PROXY: 'maybe' }, /^GATEHOUSE_TRUST_PROXY: /],
      [{ GATEHOUSE_APPS_FILE: '/no/such/file.json' }, /^GATEHOUSE_APPS_FILE: /],
    ];
    for (const [over, line] of bad) {
      it(`${Object.entries(over)[0].join('=')}`, () => {
        const r = cli(['serve'], { ...env, ...over });
        expect(r.status).to.equal(1);
        const lines = r.stderr
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('{'));
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(line);
      });
    }

    it('an apps file with an unknown platform or a 42-char aesKey names the entry and field', () => {
      const f = path.join(dir, 'bad-apps.json');
      fs.writeFileSync(
        f,
        JSON.stringify([
          { platform: 'wechat_app', codeName: 'ok', ...SAMPLE_APPS.wechat_app },
          { platform: 'wechat_game', codeName: 'g' },
        ]),
      );
      let r = cli(['serve'], { ...env, GATEHOUSE_APPS_FILE: f });
      expect(r.status).to.equal(1);
      expect(r.stderr.trim()).to.match(/^GATEHOUSE_APPS_FILE\[1\]\.platform: unknown platform "wechat_game"/m);
      fs.writeFileSync(
        f,
        JSON.stringify([{ platform: 'wecom_tp', codeName: 't', ...SAMPLE_APPS.wecom_tp, aesKey: 'x'.repeat(42) }]),
      );
      r = cli(['serve'], { ...env, GATEHOUSE_APPS_FILE: f });
      expect(r.status).to.equal(1);
      expect(r.stderr).to.match(/^GATEHOUSE_APPS_FILE\[0\]\.aesKey: /m);
    });
  });

  it('migrate applies the schema and exits 0', () => {
    const r = cli(['migrate'], env);
    expect(r.status).to.equal(0);
    expect(r.stdout).to.match(/^schema version \d+ \(sqlite\)/);
  });

  it('app put --file / flags, app list, app rm', async () => {
    const f = path.join(dir, 'apps.json');
    fs.writeFileSync(
      f,
      JSON.stringify([
        { platform: 'wechat_app', codeName: 'shop', ...SAMPLE_APPS.wechat_app },
        { platform: 'cos', codeName: 'files', ...SAMPLE_APPS.cos },
      ]),
    );
    expect(cli(['app', 'put', '--file', f], env).stdout).to.equal('2 app(s) upserted\n');
    const one = cli(
      [
        'app',
        'put',
        '--platform',
        'wecom_corp',
        '--code-name',
        'hr',
        '--app-id',
        'ww01',
        '--secret',
        'corp-s',
        '--set',
        'agentId=1000002',
      ],
      env,
    );
    expect(one.stdout).to.equal('created wecom_corp hr\n');
    const bad = cli(['app', 'put', '--platform', 'wecom_corp', '--code-name', 'hr2', '--app-id', 'ww01'], env);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/^app\[0\]\.(agentId|secret): is required/);
    const list = cli(['app', 'list'], env).stdout.trim().split('\n');
    expect(list).to.deep.equal([
      'cos\tfiles\t1250000000\tenabled',
      'wechat_app\tshop\twx1234567890abcdef\tenabled\tdefault',
      'wecom_corp\thr\tww01\tenabled',
    ]);
    expect(cli(['app', 'list', '--platform', 'cos'], env).stdout.trim().split('\n')).to.have.length(1);
    expect(cli(['app', 'rm', '--platform', 'cos', '--code-name', 'files'], env).stdout).to.equal('removed cos files\n');
    expect(cli(['app', 'list'], env).stdout).to.not.include('files');
    const rows = await db.query('SELECT code_name FROM apps ORDER BY code_name');
    expect(rows.map((r) => r.code_name)).to.deep.equal(['hr', 'shop']);
  });

  it('caller token prints a JWT the server accepts (secret generated and kept in the store)', async () => {
    const r = cli(['caller', 'token', '--sub', 'ops', '--scope', 'admin.*', '--ttl', '1h'], env);
    expect(r.status).to.equal(0);
    const token = r.stdout.trim();
    const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(payload).to.include({ sub: 'ops', scope: 'admin.*' });
    expect(payload.exp - payload.iat).to.equal(3600);
    const port = freePort();
    const srv = await serve({ ...env, GATEHOUSE_PORT: port });
    try {
      const res = await fetch(`${srv.url}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify({ interface: { interfaceName: 'admin.app.list', para: {} } }),
      });
      const body = (await res.json()) as { returnCode: number; returnData: { apps: unknown[] } };
      expect(body.returnCode).to.equal(0);
      expect(body.returnData.apps).to.have.length(2);
      const other = cli(['caller', 'token', '--sub', 'x', '--scope', '*'], {
        ...env,
        GATEHOUSE_JWT_SECRET: 'different',
      }).stdout.trim();
      const denied = await fetch(`${srv.url}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${other}` },
        body: JSON.stringify({ interface: { interfaceName: 'admin.app.list', para: {} } }),
      });
      expect(((await denied.json()) as { returnCode: number }).returnCode).to.equal(4001);
    } finally {
      srv.kill();
      expect(await srv.exited).to.equal(0);
    }
  });

  it('token list prints a header and no values', () => {
    const r = cli(['token', 'list'], env);
    expect(r.status).to.equal(0);
    expect(r.stdout.split('\n')[0]).to.equal('platform\tcodeName\tsubject\tkind\texpiresAt\trefreshedAt\tlastError');
  });

  it('reads .env from the working directory (the real environment wins) and keeps the embedded store under ./data', async () => {
    // a setting only .env holds takes effect: the store goes where .env says; .env's bad port loses to the real one
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-zero-'));
    const port = freePort();
    fs.writeFileSync(
      path.join(cwd, '.env'),
      'GATEHOUSE_DATABASE_URL=sqlite:./from-dotenv/store.db\nGATEHOUSE_PORT=eighty\nGATEHOUSE_LOG_LEVEL=warn\n',
    );
    const srv = await serve({ GATEHOUSE_PORT: port }, cwd);
    try {
      expect(fs.existsSync(path.join(cwd, 'from-dotenv', 'store.db'))).to.equal(true);
      expect(fs.existsSync(path.join(cwd, 'data'))).to.equal(false);
    } finally {
      srv.kill();
      await srv.exited;
    }
    // without the real one, .env's bad port is what the process reads
    const r = cli(['serve'], {}, cwd);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/^GATEHOUSE_PORT: .*"eighty"/m);
    // no .env and no database URL: the embedded store under ./data
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-zero-'));
    const plain = await serve({ GATEHOUSE_PORT: freePort(), GATEHOUSE_LOG_LEVEL: 'warn' }, bare);
    try {
      expect(fs.existsSync(path.join(bare, 'data', 'gatehouse.db'))).to.equal(true);
    } finally {
      plain.kill();
      await plain.exited;
    }
  });

  it('serves on :4236 with no configuration at all', async function () {
    // a developer's own gatehouse on :4236 is left alone; CI owns its machine, so there it is a failure
    if (
      await fetch('http://127.0.0.1:4236/healthz').then(
        () => true,
        () => false,
      )
    )
      skipBecause(this, 'something already answers on 127.0.0.1:4236', { failInCi: true });
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-zero-'));
    const srv = await serve({}, cwd);
    try {
      expect(srv.url).to.equal('http://127.0.0.1:4236');
      expect(fs.existsSync(path.join(cwd, 'data', 'gatehouse.db'))).to.equal(true);
    } finally {
      srv.kill();
      await srv.exited;
    }
  });
});
