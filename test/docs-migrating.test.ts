import { expect } from 'chai';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakes, type Fakes } from './helpers/fakes';
import { ROOT } from './helpers/cli';
import { freshDatabase, requireMariadb, type TestDatabase } from './helpers/db';
import { startNode, type TestNode } from './helpers/gatehouse';
import { loadDdl } from './helpers/sources';

/**
 * docs/MIGRATING.md's examples are executed: every ```sh block, in order, each in its own
 * `bash -euo pipefail`, with `gatehouse` the CLI from source on a temp SQLite store,
 * `$VARYS_DB`, `$WXCOMPONENT_DB`, `$WAFER_DB` MariaDB databases built from each project's DDL
 * (test/fixtures/sources/) holding a few rows, and `$GATEHOUSE_URL` a node with the varys routes on.
 */

const GUIDE = fs.readFileSync(path.join(ROOT, 'docs/MIGRATING.md'), 'utf8');
const BLOCKS = [...GUIDE.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => ({
  text: m[1].trim(),
  line: GUIDE.slice(0, m.index).split('\n').length + 1,
}));
const MASTER = crypto.randomBytes(32).toString('base64');
const SHOP = 'wxshopmigrating01';
const SHOP_SECRET = 'shop-secret-migrating';

/** runs a block in `bash -euo pipefail`; its exit status and output */
function bash(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('docs/MIGRATING.md examples', function () {
  this.timeout(120_000);
  let f: Fakes;
  let gh: TestDatabase;
  const sources: Record<string, TestDatabase> = {};
  let node: TestNode;
  let bin: string;

  before(async function () {
    await requireMariadb(this);
    f = await startFakes();
    f.fake.app(SHOP, SHOP_SECRET);
    gh = await freshDatabase('sqlite');
    for (const [name, ddl] of [
      ['varys', 'varys.sql'],
      ['wxcomponent', 'wxcomponent.sql'],
      ['wafer', 'wafer-fork.sql'],
    ]) {
      sources[name] = await freshDatabase('mariadb');
      await loadDdl(sources[name], ddl);
    }
    const v = sources.varys;
    await v.exec('INSERT INTO wechat_app_config VALUES (?, ?, ?, 1)', ['shop', SHOP, SHOP_SECRET]);
    await v.exec('INSERT INTO wechat_corp_config VALUES (?, ?, ?, 1)', ['corp', 'wwcorpmigrating01', 'corp-secret-01']);
    const key = crypto.createHash('md5').update('').digest('hex');
    const k = Buffer.from(key);
    const c = crypto.createCipheriv('aes-256-cbc', k, k.subarray(0, 16));
    const sealed = Buffer.concat([c.update('component-secret-01'), c.final()]).toString('base64');
    const w = sources.wxcomponent;
    await w.exec('INSERT INTO comm (`key`, value) VALUES (?, ?)', ['secret', sealed]);
    await w.exec('INSERT INTO comm (`key`, value) VALUES (?, ?)', ['ticket', 'ticket@@@migrating']);
    await w.exec("INSERT INTO authorizers (appid, refreshtoken, funcinfo) VALUES (?, ?, '')", [
      'wxauthorizermig01',
      'refreshtoken@@@migrating',
    ]);
    const wf = sources.wafer;
    await wf.exec('INSERT INTO cAppinfo (appid, secret) VALUES (?, ?)', ['wxforkmigrating01', 'fork-secret-01']);
    const now = new Date();
    await wf.exec(
      'INSERT INTO cSessionInfo (uuid, skey, create_time, last_visit_time, open_id, session_key, appid) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        '0123456789abcdef0123456789abcdef',
        'fedcba9876543210fedcba9876543210',
        now,
        now,
        'o_mig',
        'c2Vzc2lvbmtleQ==',
        'wxforkmigrating01',
      ],
    );
    node = await startNode({
      dialect: 'sqlite',
      db: gh,
      fake: f.fake,
      env: { GATEHOUSE_MASTER_KEY: MASTER, GATEHOUSE_VARYS_COMPAT: 'true' },
    });
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-migrating-'));
    fs.writeFileSync(
      path.join(bin, 'gatehouse'),
      `#!/bin/sh\nexec "${process.execPath}" --require "${require.resolve('tsx/cjs')}" "${path.join(ROOT, 'index.ts')}" "$@"\n`,
      { mode: 0o755 },
    );
  });
  after(async () => {
    await node?.close();
    for (const s of Object.values(sources)) await s.drop();
    await gh?.drop();
    await f?.fake.stop();
    if (bin) fs.rmSync(bin, { recursive: true, force: true });
  });

  it('has examples for every source', () => {
    const all = BLOCKS.map((b) => b.text).join('\n');
    for (const s of ['import varys', 'import wxcomponent', 'import wafer-fork']) expect(all).to.include(s);
  });

  for (const [i, b] of BLOCKS.entries()) {
    it(`docs/MIGRATING.md:${b.line} ${b.text.split('\n')[0].slice(0, 70)}`, async () => {
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
      // asynchronously: the node answering `$GATEHOUSE_URL` runs in this process
      const r = await bash(b.text, {
        ...clean,
        PATH: `${bin}:${process.env.PATH}`,
        GATEHOUSE_DATABASE_URL: gh.url,
        GATEHOUSE_MASTER_KEY: MASTER,
        GATEHOUSE_URL: node.url,
        VARYS_DB: sources.varys.url,
        WXCOMPONENT_DB: sources.wxcomponent.url,
        WAFER_DB: sources.wafer.url,
      });
      expect(r.status, `block ${i + 1}:\n${r.stdout}\n${r.stderr}`).to.equal(0);
      // a varys answer is never an error here
      expect(r.stdout).to.not.match(/"error"/);
    });
  }
});
