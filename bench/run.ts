/**
 * `npm run bench [-- --duration 10 --connections 50 --warmup 2 --cpu-prof --no-mariadb]`
 *
 * Throughput of gatehouse's RPC endpoint against a bare Koa app on the same machine:
 *
 *   bare Koa                      POST / with a fixed envelope                     (the baseline)
 *   gatehouse <store> auth        qcloud.cam.auth with a live session   target >= 50 % of bare Koa
 *   gatehouse <store> error path  unknown interface (returnCode 1010)   target >= 80 % of bare Koa
 *
 * for <store> = SQLite (temp file) and MariaDB (fresh database on 127.0.0.1:3306 as root, dropped
 * afterwards; skipped with a note when unreachable). Each server is its own child process on a
 * free loopback port and runs alone; the load comes from autocannon's CLI in another child process.
 * Every scenario samples one request first (it must carry the expected returnCode) and then
 * requires that exact body from every request under load.
 *
 * A missed target is marked in the table but is not a failure: the exit code is 0 unless a
 * scenario could not run at all. Child processes and the MariaDB database are cleaned up on every
 * way out, Ctrl-C included.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onTeardown, teardown } from './children';
import { FakeWechat } from './fake-wechat';
import { cpuTimeUs, machineBusy } from './machine';
import { loadCommand, runLoad, shellQuote, type LoadOptions } from './load';
import { nowUs, summarizeProfiles, type Window } from './profile';
import { table, verdict, type Row } from './report';
import {
  expectReturnCode,
  liveSession,
  mariadbDatabase,
  rpcBody,
  sqliteDatabase,
  startBareKoa,
  startGatehouse,
  type BenchDatabase,
  type Target,
} from './targets';

const USAGE = `usage: npm run bench -- [--duration S] [--connections N] [--warmup S] [--cpu-prof] [--no-mariadb]

  --duration S      measured seconds per scenario (default 10)
  --connections N   concurrent connections (default 50)
  --warmup S        unmeasured warm-up seconds before each scenario (default 2; 0 = none)
  --cpu-prof        write V8 CPU profiles of the gatehouse children and print where the time goes
  --no-mariadb      skip the MariaDB variant

MariaDB: root with an empty password on 127.0.0.1:3306 (BENCH_MARIADB_HOST / BENCH_MARIADB_PORT to
change); a database gh_bench_<random> is created and dropped. Unreachable: the variant is skipped.`;

interface Settings {
  durationS: number;
  connections: number;
  warmupS: number;
  cpuProf: boolean;
  mariadb: boolean;
}

function settings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      'cpu-prof': { type: 'boolean', default: false },
      'no-mariadb': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${v}"`);
    return n;
  };
  return {
    durationS: int('duration', values.duration, 1),
    connections: int('connections', values.connections, 1),
    warmupS: int('warmup', values.warmup, 0),
    cpuProf: values['cpu-prof'],
    mariadb: !values['no-mariadb'],
  };
}

const TARGET_AUTH_PCT = 50;
const TARGET_ERROR_PCT = 80;

let interrupted = false;
const say = (s: string) => {
  if (!interrupted) process.stdout.write(`${s}\n`);
};
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

class Bench {
  readonly rows: Row[] = [];
  readonly commands: string[] = [];
  readonly notes: string[] = [];
  /** share of the CPUs others used just before the bench started: their work skews the numbers */
  busyAtStart: number | undefined;
  private readonly profileDirs: Array<{ store: string; dir: string }> = [];
  /** when each load ran (after its warm-up), to cut the CPU profiles to the measured phases */
  private readonly windows: Window[] = [];

  constructor(private readonly s: Settings) {}

  /** samples one request, then loads the target; fills row.result or row.failed */
  private async scenario(row: Row, target: Target, body: string, expectCode: number): Promise<void> {
    try {
      const sample = await expectReturnCode(row.scenario, target.url, body, expectCode);
      const load: LoadOptions = {
        url: target.url,
        body,
        expectBody: sample.text,
        connections: this.s.connections,
        durationS: this.s.durationS,
        warmupS: this.s.warmupS,
      };
      this.commands.push(`# ${row.scenario}\n${loadCommand(load)}`);
      say(`  ${row.scenario}: ${this.s.warmupS} s warm-up + ${this.s.durationS} s at ${this.s.connections} connections ...`);
      const started = nowUs();
      const cpuBefore = cpuTimeUs(target.child.proc.pid);
      row.result = await runLoad(load);
      const cpuAfter = cpuTimeUs(target.child.proc.pid);
      const served = row.result.total + row.result.warmupTotal;
      if (cpuBefore !== undefined && cpuAfter !== undefined && served > 0) row.cpuUsPerRequest = (cpuAfter - cpuBefore) / served;
      this.windows.push({ label: row.scenario.replace(/\s+/g, ' '), fromUs: started + this.s.warmupS * 1e6, toUs: nowUs() });
      if (target.child.done()) throw new Error(`${target.name} died under load:\n${target.child.output().trim()}`);
    } catch (err) {
      row.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: ${row.scenario}: ${(err as Error).message ?? err}\n`);
    }
  }

  async bareKoa(): Promise<void> {
    const row: Row = { scenario: 'bare Koa  POST /' };
    this.rows.push(row);
    say('bare Koa');
    let koa: Target | undefined;
    try {
      koa = await startBareKoa();
      await this.scenario(row, koa, rpcBody('bench', {}), 0);
    } catch (err) {
      row.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: ${(err as Error).message}\n`);
    } finally {
      await koa?.stop();
    }
  }

  async gatehouse(store: string, db: BenchDatabase | string, fake: FakeWechat): Promise<void> {
    const auth: Row = { scenario: `gatehouse ${store}  qcloud.cam.auth`, targetPct: TARGET_AUTH_PCT };
    const error: Row = { scenario: `gatehouse ${store}  error path (1010)`, targetPct: TARGET_ERROR_PCT };
    this.rows.push(auth, error);
    if (typeof db === 'string') {
      auth.failed = error.failed = `skipped (${store} unavailable)`;
      this.notes.push(`${store} variant skipped: ${db}`);
      say(`gatehouse on ${store}: SKIPPED — ${db}`);
      return;
    }
    say(`gatehouse on ${store} (${db.url})`);
    let gh: Target | undefined;
    const profDir = this.s.cpuProf ? fs.mkdtempSync(path.join(os.tmpdir(), `gh-bench-prof-${store.toLowerCase()}-`)) : undefined;
    try {
      gh = await startGatehouse({ name: `gatehouse (${store})`, databaseUrl: db.url, wechatApi: fake.url, cpuProfDir: profDir });
      const session = await liveSession(gh);
      await this.scenario(auth, gh, rpcBody('qcloud.cam.auth', session), 0);
      await this.scenario(error, gh, rpcBody('no.such.interface', {}), 1010);
    } catch (err) {
      for (const r of [auth, error]) if (!r.result && !r.failed) r.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: gatehouse on ${store}: ${(err as Error).message}\n`);
    } finally {
      await gh?.stop();
      await db.drop();
      if (profDir) this.profileDirs.push({ store, dir: profDir });
    }
  }

  report(): void {
    const baseline = this.rows[0]?.result?.requestsPerSec;
    const baselineCpu = this.rows[0]?.cpuUsPerRequest;
    say('');
    const busy = this.busyAtStart === undefined ? 'unknown' : `${(this.busyAtStart * 100).toFixed(0)} %`;
    say(`Results (${this.s.connections} connections, ${this.s.durationS} s each after ${this.s.warmupS} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}; CPUs busy before start: ${busy}):`);
    say('');
    say(table(this.rows, baseline, baselineCpu));
    say('');
    say('  req/s: mean of autocannon\'s per-second samples; "vs bare Koa" compares it with the bare Koa row, and the');
    say('  targets apply to that ratio. errors: connection errors and timeouts; bad body: a response other than the');
    say('  one sampled before the load (wrong returnCode). srv CPU us/req: user + system CPU of the server process per');
    say('  request (warm-up included; MariaDB\'s own CPU not included); "CPU vs bare": bare Koa\'s CPU per request');
    say('  divided by this one — the throughput ratio to expect if the server had a core to itself.');
    say('');
    const missed = this.rows.filter((r) => verdict(r, baseline).met === false);
    const bad = this.rows.filter((r) => r.result && r.result.errors + r.result.non2xx + r.result.mismatches > 0);
    if (!baseline) say('No bare Koa baseline: ratios and targets could not be computed.');
    else if (missed.length) say(`TARGETS MISSED (${missed.length}): ${missed.map((r) => r.scenario.replace(/\s+/g, ' ')).join('; ')}`);
    else say('All targets that could be measured were met.');
    if (bad.length) say(`FAILED REQUESTS under load in: ${bad.map((r) => r.scenario.replace(/\s+/g, ' ')).join('; ')}`);
    if (this.busyAtStart !== undefined && this.busyAtStart > 0.15) {
      say(`Note: the machine was not idle when the bench started (${busy} of its CPUs busy); other processes compete for the cores and make req/s noisy. "srv CPU us/req" is less sensitive to that.`);
    }
    if (this.s.cpuProf) say('Note: --cpu-prof slows the gatehouse children down; compare their numbers only with other profiled runs.');
    for (const n of this.notes) say(`Note: ${n}`);
    say('');
    say('Benchmark command (from the repository root):');
    say(`  node --require tsx/cjs bench/run.ts ${process.argv.slice(2).map(shellQuote).join(' ')}`.trimEnd());
    say('Load commands (autocannon, one child process per scenario; the session id/skey were minted for this run):');
    for (const c of this.commands) say(c.replace(/^/gm, '  '));
    for (const { store, dir } of this.profileDirs) {
      say('');
      say(`CPU profile of gatehouse (${store}) during the measured phases — ${dir}`);
      say(summarizeProfiles(dir, this.windows));
    }
  }
}

async function main(): Promise<number> {
  let s: Settings;
  try {
    s = settings(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const bench = new Bench(s);
  bench.busyAtStart = await machineBusy();
  const fake = await new FakeWechat().start();
  onTeardown('stop the fake WeChat', () => fake.stop());

  await bench.bareKoa();
  await bench.gatehouse('SQLite', sqliteDatabase(), fake);
  if (s.mariadb) await bench.gatehouse('MariaDB', await mariadbDatabase(), fake);
  else bench.notes.push('MariaDB variant skipped (--no-mariadb)');

  await teardown();
  bench.report();
  return bench.rows.some((r) => !r.result && !r.failed?.startsWith('skipped')) ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up ...\n`);
    teardown().finally(() => process.exit(130));
  });
}

main().then(
  (code) => teardown().finally(() => process.exit(code)),
  (err) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? err}\n`);
    teardown().finally(() => process.exit(1));
  },
);
