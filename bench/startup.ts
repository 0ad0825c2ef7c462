/**
 * Start-up (issue 14 item 5): from `node dist/index.js serve` to the first `/readyz` 200, with
 * 1,000 apps in an embedded SQLite store, beside its anchor from the same run — a bare
 * `node:http` server started the same way, to its first 200.
 *
 *   npm run build && node --require tsx/cjs bench/startup.ts [--apps 1000] [--runs 7]
 *
 * Prints min / median / max over the runs for both, and the difference (what gatehouse itself
 * costs). Needs the build output (npm run build): serving never compiles anything.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const { values } = parseArgs({
  options: { apps: { type: 'string', default: '1000' }, runs: { type: 'string', default: '7' } },
});
const APPS = Number(values.apps);
const RUNS = Number(values.runs);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** ms from spawning `args` until GET url answers 200 (polled every 2 ms) */
async function timeToReady(args: string[], env: NodeJS.ProcessEnv, url: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${stderr.slice(0, 500)}`);
      const ok = await fetch(url).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error(`not ready within 30 s: ${stderr.slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const fmt = (x: { min: number; median: number; max: number }) =>
  `${x.median.toFixed(0)} ms median (${x.min.toFixed(0)}–${x.max.toFixed(0)})`;

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist/index.js'))) throw new Error('dist/index.js missing: npm run build first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-startup-'));
  try {
    const env = {
      ...process.env,
      GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, 'gatehouse.db')}`,
      GATEHOUSE_JWT_SECRET: 'bench-startup-jwt-secret-0123456789',
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_HOST: '127.0.0.1',
      GATEHOUSE_DRAIN_MS: '0',
    };
    const apps = Array.from({ length: APPS }, (_, i) => ({
      platform: 'wechat_app',
      codeName: `app${i}`,
      appId: `wx${String(i).padStart(16, '0')}`,
      secret: `secret-${i}`,
    }));
    fs.writeFileSync(path.join(dir, 'apps.json'), JSON.stringify(apps));
    execFileSync(process.execPath, ['dist/index.js', 'app', 'put', '--file', path.join(dir, 'apps.json')], {
      cwd: ROOT,
      env,
      stdio: 'ignore',
    });
    const gatehouse: number[] = [];
    const bare: number[] = [];
    const bareScript =
      "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')";
    for (let i = 0; i < RUNS; i++) {
      const port = await freePort();
      gatehouse.push(
        await timeToReady(
          ['dist/index.js', 'serve'],
          { ...env, GATEHOUSE_PORT: String(port) },
          `http://127.0.0.1:${port}/readyz`,
        ),
      );
      const bport = await freePort();
      bare.push(
        await timeToReady(['-e', bareScript], { ...process.env, PORT: String(bport) }, `http://127.0.0.1:${bport}/`),
      );
    }
    const g = stats(gatehouse);
    const b = stats(bare);
    console.log(
      `start-up to /readyz 200, ${APPS} apps in SQLite, ${RUNS} runs (Node ${process.version}, ${os.cpus().length} cores)`,
    );
    console.log(
      `  gatehouse (node dist/index.js serve): ${fmt(g)}   target <= 500 ms: ${g.median <= 500 ? 'met' : 'MISSED'}`,
    );
    console.log(`  anchor, a bare node:http server:     ${fmt(b)}`);
    console.log(`  gatehouse's own cost:                 ${(g.median - b.median).toFixed(0)} ms (median difference)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
