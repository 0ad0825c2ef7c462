/**
 * Skips that say why (issue 11 item 5): skipBecause (test/helpers/skip.ts) records the reason, puts
 * it in mocha's line, and under any truthy CI fails instead of skipping what installing would fix.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli';
import { inCi } from '../helpers/skip';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'skips.fixture.ts');

function runFixture(ci: string | undefined) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-skips-')), 'skips.jsonl');
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'CI' && k !== 'TEST_SKIPS_FILE'),
  ) as Record<string, string>;
  if (ci !== undefined) env.CI = ci;
  env.TEST_SKIPS_FILE = file;
  const r = spawnSync(
    process.execPath,
    [
      require.resolve('mocha/bin/mocha.js'),
      '--no-config',
      '--require',
      'tsx/cjs',
      '--reporter',
      'spec',
      '--no-color',
      FIXTURE,
    ],
    { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 },
  );
  const lines = fs.existsSync(file)
    ? fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
  return { status: r.status, out: r.stdout + r.stderr, lines };
}

describe('skipBecause (issue 11 item 5)', function () {
  this.timeout(120_000);

  it('CI counts when truthy: true, 1, yes, anything else; not unset, empty, 0, false, no, off', () => {
    for (const v of ['true', '1', 'yes', 'TRUE', 'on', 'github']) expect(inCi(v), v).to.equal(true);
    for (const v of [undefined, '', '0', 'false', 'FALSE', 'no', 'off', ' '])
      expect(inCi(v), String(v)).to.equal(false);
  });

  it('outside CI: pending, each with its reason in the line mocha prints and in TEST_SKIPS_FILE', () => {
    const r = runFixture(undefined);
    expect(r.status, r.out).to.equal(0);
    expect(r.out)
      .to.match(/1 passing/)
      .and.match(/4 pending/);
    expect(r.out).to.include('cannot run without a tool (skipped: no frobnicator on PATH (install frobnicator))');
    expect(r.out).to.include('is left alone deliberately (skipped: a reason nothing can fix)');
    expect(r.out).to.include('one (skipped: the suite needs a server (install server))');
    expect(r.lines).to.deep.equal([
      {
        title: 'fixture cannot run without a tool',
        reason: 'no frobnicator on PATH (install frobnicator)',
        fixable: 'frobnicator',
        tests: 1,
      },
      { title: 'fixture is left alone deliberately', reason: 'a reason nothing can fix', fixable: null, tests: 1 },
      {
        title: 'fixture a suite whose hook skips',
        reason: 'the suite needs a server (install server)',
        fixable: 'server',
        tests: 2,
      },
    ]);
  });

  for (const ci of ['true', '1', 'yes']) {
    it(`CI=${ci}: a skip installing would fix is a failure; the other one is still a skip`, () => {
      const r = runFixture(ci);
      expect(r.status, r.out).to.not.equal(0);
      expect(r.out)
        .to.match(/1 passing/)
        .and.match(/1 pending/)
        .and.match(/2 failing/);
      expect(r.out).to.include(`not skipped under CI=${ci}: no frobnicator on PATH (install frobnicator)`);
      expect(r.out).to.include(`not skipped under CI=${ci}: the suite needs a server (install server)`);
      expect(r.lines).to.deep.equal([
        { title: 'fixture is left alone deliberately', reason: 'a reason nothing can fix', fixable: null, tests: 1 },
      ]);
    });
  }
});
