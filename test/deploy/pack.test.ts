import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/cli';
import { captureChild } from '../helpers/log-scan';
import { skipBecause } from '../helpers/skip';
import { until } from '../helpers/wait';
import { execForm, parseDockerfile } from './files';

/**
 * The npm package holds what runs and nothing else, and runs from where npm installs it (issue 13):
 * the tree is packed as a clean checkout would be (`npm pack`: `files` decides what ships, `prepare`
 * builds dist/), the tarball is installed into an empty directory with production dependencies
 * only — npm's install-script policy strict, better-sqlite3 the one script allowed — and the
 * Dockerfile's command starts it there: /healthz answers, SIGTERM ends it with exit code 0. No
 * devDependency may be needed at run time, and no file the server reads may be missing from
 * `files`. Slow: better-sqlite3 is compiled when no prebuilt binary can be downloaded (about a
 * minute on two cores).
 */

/** top-level entries of the working tree that a clean checkout does not have */
const NOT_IN_A_CHECKOUT = new Set(['node_modules', 'dist', '.git', 'reports', '.stryker-tmp', 'data', '.env']);
/** what may ship: `files` of package.json plus what npm always adds */
const SHIPPABLE = new Set([
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'dist',
  'docs',
  'deploy',
  'scf_bootstrap',
]);

/** the environment of a child npm or node: nothing of this run's npm or gatehouse settings */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(npm_|GATEHOUSE_)/i.test(k) && k !== 'INIT_CWD'),
  );
  return { ...env, ...extra };
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  timeout: number,
): { status: number | null; stdout: string; out: string } {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}\n${r.stderr}` };
}

describe('npm pack: the tarball installs with production dependencies only and serves', function () {
  this.timeout(600_000);
  /** CMD of the Dockerfile's runtime stage: what the image runs, from a directory like the installed package */
  const dockerCmd = () => {
    const { stages } = parseDockerfile(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    return execForm(stages[stages.length - 1].instructions.find((i) => i.op === 'CMD')!.args);
  };
  let work: string;
  let tarball: string;
  let entries: string[];
  let app: string;
  let installed = false;
  let child: ChildProcess | undefined;

  before(function () {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-pack-'));
    // the tree as a checkout has it (the working tree's own dist/ may hold files of removed
    // modules); node_modules is the project's, linked
    const src = path.join(work, 'src');
    fs.cpSync(ROOT, src, {
      recursive: true,
      filter: (from) => {
        const rel = path.relative(ROOT, from);
        return (
          rel === '' ||
          (!NOT_IN_A_CHECKOUT.has(rel.split(path.sep)[0]) && !rel.split(path.sep).includes('node_modules'))
        );
      },
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    const out = path.join(work, 'out');
    fs.mkdirSync(out);
    const packed = run('npm', ['pack', '--json', '--pack-destination', out], src, 300_000);
    expect(packed.status, `npm pack failed:\n${packed.out}`).to.equal(0);
    // --json: the report on stdout (the `prepare` script's output goes to stderr)
    const report = JSON.parse(packed.stdout) as Array<{ filename: string }>;
    expect(report).to.have.length(1);
    const { filename } = report[0];
    tarball = path.join(out, filename);
    const listed = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
    if (listed.error) skipBecause(this, `tar cannot run: ${listed.error.message}`, { fixable: 'tar' });
    entries = listed.stdout
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, ''));
  });

  after(async () => {
    const proc = child;
    if (proc && proc.exitCode === null) {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('ships dist/ with the CLI, every migration and the built console, and no tests, benchmarks, CI or TypeScript sources', () => {
    expect(entries).to.include.members(['package.json', 'dist/index.js', 'dist/package.json']);
    // the server is one bundled file (esbuild) and its schemas are compiled ahead (application/precompile.ts)
    expect(entries).to.include('dist/system/validators.generated.js');
    const bundled = fs.readFileSync(path.join(work, 'src/dist/index.js'), 'utf8');
    expect(bundled.startsWith('#!/usr/bin/env node'), 'the CLI keeps its shebang').to.equal(true);
    expect(bundled).to.match(/\bvalidators\.generated\b/);
    // V8 keeps a script's source in memory: one non-Latin-1 character (a dependency's comment) makes
    // all of it two bytes a character (10 MB instead of 4); comments go (--minify-whitespace, licences
    // into index.js.LEGAL.txt), strings are escaped
    expect(/[^\x00-\x7f]/.test(bundled), 'the bundle is ASCII').to.equal(false);
    expect(entries).to.include.members(['dist/index.js.map', 'dist/index.js.LEGAL.txt']);
    expect(bundled, 'dependencies bundled, the native SQLite binding not').to.not.match(
      /require\("(koa|ajv|@sinclair\/typebox|mariadb|undici)"\)/,
    );
    // what the deployment guides use from an installed package: the SCF entry, the unit, the nginx example
    expect(entries).to.include.members(['scf_bootstrap', 'deploy/gatehouse.service', 'deploy/nginx.conf']);
    // the console, built (no source of it): its page and its hashed assets
    expect(entries).to.include('dist/console/index.html');
    expect(entries.filter((e) => /^dist\/console\/assets\/index-[\w-]+\.js$/.test(e))).to.have.length(1);
    expect(entries.filter((e) => e.startsWith('dist/application/console'))).to.deep.equal([]);
    for (const dialect of ['sqlite', 'mariadb']) {
      const migrations = fs
        .readdirSync(path.join(ROOT, 'db/migrations', dialect))
        .filter((f) => /^\d{3}_.*\.ts$/.test(f) && !f.endsWith('.d.ts'));
      expect(migrations.length, dialect).to.be.at.least(6);
      for (const m of migrations)
        expect(entries, m).to.include(`dist/db/migrations/${dialect}/${m.replace(/\.ts$/, '.js')}`);
    }
    const tops = [...new Set(entries.map((e) => e.split('/')[0]))].sort();
    expect(
      tops.filter((t) => !SHIPPABLE.has(t)),
      'top-level entries outside `files`',
    ).to.deep.equal([]);
    for (const bad of ['test/', 'bench/', '.ci/', 'node_modules/', 'application/', 'system/', 'db/', 'data/'])
      expect(
        entries.filter((e) => e.startsWith(bad)),
        bad,
      ).to.deep.equal([]);
    // (docs/generate.ts, the tables' generator, is a development script: not shipped)
    expect(entries.filter((e) => e.endsWith('.ts') && !e.endsWith('.d.ts'))).to.deep.equal([]);
  });

  it('installs into an empty directory with production dependencies only, the install-script policy strict', function () {
    app = path.join(work, 'app');
    fs.mkdirSync(app);
    // npm's policy is the installing project's: better-sqlite3 builds its binding; gatehouse's own
    // `prepare` (tsc) is listed for a tarball dependency and is not needed (dist/ ships)
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'gatehouse-pack-test',
        private: true,
        allowScripts: { 'better-sqlite3': true, [`file:${tarball}`]: false },
      }),
    );
    const r = run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--strict-allow-scripts', tarball],
      app,
      540_000,
    );
    if (r.status !== 0 && /E(AI_AGAIN|NOTFOUND|CONNREFUSED|CONNRESET|TIMEDOUT)|network/i.test(r.out))
      skipBecause(this, `the npm registry cannot be reached: ${r.out.split('\n').find((l) => /error/i.test(l))}`, {
        failInCi: true,
      });
    expect(r.status, `npm install failed:\n${r.out}`).to.equal(0);
    installed = true;
    const nm = path.join(app, 'node_modules');
    expect(fs.existsSync(path.join(nm, 'gatehouse/dist/index.js'))).to.equal(true);
    expect(fs.existsSync(path.join(nm, 'better-sqlite3/build/Release/better_sqlite3.node'))).to.equal(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies)) expect(fs.existsSync(path.join(nm, dep)), dep).to.equal(true);
    for (const dev of ['typescript', 'tsx', 'mocha', 'chai', '@stryker-mutator/core', 'eslint', 'playwright-core'])
      expect(fs.existsSync(path.join(nm, dev)), `devDependency ${dev}`).to.equal(false);
  });

  it("starts with the Dockerfile's command from the installed package: /healthz answers, SIGTERM exits 0", async function () {
    if (!installed) skipBecause(this, 'the package was not installed (the test before says why)');
    const cmd = dockerCmd();
    expect(cmd).to.deep.equal(['node', 'dist/index.js', 'serve']);
    const store = path.join(work, 'data', 'gatehouse.db');
    const proc = spawn(process.execPath, cmd.slice(1), {
      cwd: path.join(app, 'node_modules/gatehouse'),
      env: cleanEnv({
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_PORT: '0',
        GATEHOUSE_DATABASE_URL: `sqlite:${store}`,
        GATEHOUSE_LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    captureChild(proc, 'pack-serve');
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    // GATEHOUSE_PORT=0: the start-up line says which port the system chose
    let port = 0;
    await until(
      () => {
        if (proc.exitCode !== null) throw new Error(`gatehouse exited ${proc.exitCode}:\n${out}`);
        for (const line of out.split('\n')) {
          try {
            const j = JSON.parse(line) as { port?: number };
            if (typeof j.port === 'number' && j.port > 0) port = j.port;
          } catch {
            /* not a JSON line (yet) */
          }
        }
        return port > 0;
      },
      'the start-up line',
      30_000,
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok' });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).to.equal(200);
    expect(fs.existsSync(store), 'the SQLite store, migrated').to.equal(true);
    const stopping = Date.now();
    proc.kill('SIGTERM');
    expect(await exited, out).to.equal(0);
    expect(Date.now() - stopping, 'exit within the 10 s deadline').to.be.below(10_000);
  });
});
