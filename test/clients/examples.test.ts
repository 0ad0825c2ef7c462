import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import type { FakePlatform } from '../fake/platform';
import { nodeWithWechatApp, type TestNode } from '../helpers/gatehouse';
import { skipBecause } from '../helpers/skip';

const EXAMPLES = path.resolve(__dirname, '../../docs/examples');
const WX = 'wx8888888888888888';
const SECRET = 'examples-app-secret';

interface Example {
  name: string;
  /** the programs it needs on PATH */
  needs: string[];
  command: (codeName: string) => [string, string[]];
}

const EXAMPLE_RUNS: Example[] = [
  {
    name: 'curl (docs/examples/curl/token.sh)',
    needs: ['sh', 'curl', 'sed'],
    command: (c) => ['sh', [path.join(EXAMPLES, 'curl', 'token.sh'), c]],
  },
  {
    name: 'Python (docs/examples/python/token.py)',
    needs: ['python3'],
    command: (c) => ['python3', [path.join(EXAMPLES, 'python', 'token.py'), c]],
  },
  {
    name: 'Java (docs/examples/java/Token.java)',
    needs: ['java'],
    command: (c) => ['java', [path.join(EXAMPLES, 'java', 'Token.java'), c]],
  },
];

const onPath = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** runs an example without blocking this process (the gatehouse answering it runs here) */
function runExample(
  ex: Example,
  codeName: string,
  env: Record<string, string>,
): Promise<{ status: number; stdout: string; stderr: string }> {
  const [cmd, args] = ex.command(codeName);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('backend examples in other languages (docs/examples) against a live gatehouse', function () {
  this.timeout(120_000);
  let world: Awaited<ReturnType<typeof nodeWithWechatApp>>;
  let node: TestNode;
  let fake: FakePlatform;
  before(async () => {
    world = await nodeWithWechatApp(WX, SECRET);
    ({ node, fake } = world);
  });
  after(async () => world?.close());

  for (const ex of EXAMPLE_RUNS) {
    describe(ex.name, () => {
      before(function () {
        const missing = ex.needs.filter((t) => !onPath(t));
        if (!missing.length) return;
        skipBecause(this, `${ex.name}: ${missing.join(', ')} not found on PATH`, { fixable: missing.join(', ') });
      });

      it('prints the token of wechat.app.token, given a caller token that covers it', async () => {
        const caller = node.token('wechat.app.token');
        const r = await runExample(ex, 'shop', { GATEHOUSE_URL: node.url, GATEHOUSE_TOKEN: caller });
        expect(r.stderr).to.equal('');
        expect(r.status).to.equal(0);
        const printed = r.stdout.trim();
        expect(printed).to.not.equal('');
        expect(fake.isLive(printed)).to.equal(true);
        const direct = await node.rpc('wechat.app.token', { codeName: 'shop' }, caller);
        expect(printed).to.equal(direct.returnData.token);
        expect(r.stdout).to.equal(`${printed}\n`);
      });

      it('exits 1 with the returnCode on stderr and prints no token when the scope does not cover it', async () => {
        const caller = node.token('qcloud.cam.*');
        const r = await runExample(ex, 'shop', { GATEHOUSE_URL: node.url, GATEHOUSE_TOKEN: caller });
        expect(r.status).to.equal(1);
        expect(r.stdout).to.equal('');
        expect(r.stderr)
          .to.match(/4003/)
          .and.match(/FORBIDDEN/);
        expect(r.stderr).to.not.include(caller);
      });

      it('exits 1 naming 1012 for a codeName that is not configured', async () => {
        const r = await runExample(ex, 'nope', {
          GATEHOUSE_URL: node.url,
          GATEHOUSE_TOKEN: node.token('wechat.app.token'),
        });
        expect(r.status).to.equal(1);
        expect(r.stdout).to.equal('');
        expect(r.stderr)
          .to.match(/1012/)
          .and.match(/NO_APP/);
      });
    });
  }
});
