/**
 * `npm run bench [-- --duration 10 --connections 50 --warmup 2 --cpu-prof --no-mariadb --only tokens,fleet]`
 *
 * Throughput of gatehouse's RPC endpoint against a bare Koa app on the same machine:
 *
 *   bare Koa                      POST / with a fixed envelope                     (the baseline)
 *   gatehouse <store> auth        qcloud.cam.auth with a live session   target >= 50 % of bare Koa
 *   gatehouse <store> error path  unknown interface (returnCode 1010)   target >= 80 % of bare Koa
 *   gatehouse <store> token       cached wechat.app.token, caller JWT   target >= 70 % of bare Koa
 *                                                                         and p99 <= 2x bare Koa's
 *
 * for <store> = SQLite (temp file) and MariaDB (fresh database on 127.0.0.1:3306 as root, dropped
 * afterwards; skipped with a note when unreachable). Each server is its own child process on a
 * free loopback port and runs alone; the load comes from autocannon's CLI in another child process.
 * Every scenario samples one request first (it must carry the expected returnCode) and then
 * requires that exact body from every request under load.
 *
 * Then, per store, the cold stampede (1,000 concurrent wechat.app.token for a cold key from another
 * process, fake upstream latency 200 ms: wall time <= latency + 250 ms, exactly one upstream call),
 * and once, on MariaDB when reachable (else SQLite), the token fleet: 10,000 classic-mode apps with
 * 40–60 s tokens kept fresh by the background refresher (bench/tokens.ts has the details).
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
import { checkTable, table, verdict, type Check, type Row } from './report';
import {
  callerHeaders,
  expectToken,
  fleet,
  stampede,
  TARGET_TOKEN_P99X,
  TARGET_TOKEN_PCT,
  tokenBody,
  type FleetSettings,
  type StampedeSettings,
} from './tokens';
import {
  expectReturnCode,
  liveSession,
  mariadbDatabase,
  putWechatApp,
  rpcBody,
  sqliteDatabase,
  startBareKoa,
  startGatehouse,
  type BenchDatabase,
  type Reply,
  type Target,
} from './targets';

const GROUPS = ['sessions', 'tokens', 'stampede', 'fleet'] as const;
type Group = (typeof GROUPS)[number];

const USAGE = `usage: npm run bench -- [--duration S] [--connections N] [--warmup S] [--cpu-prof] [--no-mariadb]
                        [--only G,..] [--skip G,..] [--stampede N] [--stampede-latency MS]
                        [--fleet-apps N] [--fleet-concurrency N] [--fleet-scan-ms MS] [--fleet-latency MS]
                        [--fleet-life S-S] [--fleet-watch S] [--fleet-samples N] [--fleet-prime N]

  --duration S      measured seconds per load scenario (default 10)
  --connections N   concurrent connections (default 50)
  --warmup S        unmeasured warm-up seconds before each load scenario (default 2; 0 = none)
  --cpu-prof        write V8 CPU profiles of the gatehouse children and print where the time goes
  --no-mariadb      skip the MariaDB variants (the fleet then runs on SQLite)
  --only G,..       run only these groups; --skip G,.. leaves them out. Groups (all by default):
                      sessions  qcloud.cam.auth and the error path under load
                      tokens    cached wechat.app.token under load
                      stampede  cold stampede
                      fleet     the token fleet kept fresh by the refresher
                    (bare Koa runs whenever sessions or tokens do: it is their baseline)
  --stampede N            concurrent requests of the stampede (default 1000)
  --stampede-latency MS   the fake's token latency for it (default 200)
  --fleet-apps N          apps in the fleet (default 10000)
  --fleet-concurrency N   GATEHOUSE_REFRESH_CONCURRENCY (default 8)
  --fleet-scan-ms MS      GATEHOUSE_REFRESH_SCAN_MS (default 200)
  --fleet-latency MS      the fake's token latency (default 20)
  --fleet-life S-S        expires_in of the fleet's tokens, fixed per app, spread over the range (default 40-60)
  --fleet-watch S         seconds the refresher is watched after priming (default 50)
  --fleet-samples N       wechat.app.token calls sampled during the watch (default 200)
  --fleet-prime N         wechat.app.token calls in flight while priming (default 32)

MariaDB: root with an empty password on 127.0.0.1:3306 (BENCH_MARIADB_HOST / BENCH_MARIADB_PORT to
change); a database gh_bench_<random> is created and dropped. Unreachable: the variant is skipped.`;

interface Settings {
  durationS: number;
  connections: number;
  warmupS: number;
  cpuProf: boolean;
  mariadb: boolean;
  groups: Set<Group>;
  stampede: StampedeSettings;
  fleet: FleetSettings;
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
      only: { type: 'string', default: GROUPS.join(',') },
      skip: { type: 'string', default: '' },
      stampede: { type: 'string', default: '1000' },
      'stampede-latency': { type: 'string', default: '200' },
      'fleet-apps': { type: 'string', default: '10000' },
      'fleet-concurrency': { type: 'string', default: '8' },
      'fleet-scan-ms': { type: 'string', default: '200' },
      'fleet-latency': { type: 'string', default: '20' },
      'fleet-life': { type: 'string', default: '40-60' },
      'fleet-watch': { type: 'string', default: '50' },
      'fleet-samples': { type: 'string', default: '200' },
      'fleet-prime': { type: 'string', default: '32' },
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
  const groups = (name: string, v: string): Group[] =>
    v.split(',').map((g) => g.trim()).filter(Boolean).map((g) => {
      if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--${name}: unknown group "${g}" (one of ${GROUPS.join(', ')})`);
      return g as Group;
    });
  const skip = new Set(groups('skip', values.skip));
  const life = /^(\d+)-(\d+)$/.exec(values['fleet-life']);
  if (!life || Number(life[1]) < 10 || Number(life[2]) < Number(life[1])) throw new Error(`--fleet-life: expected MIN-MAX seconds, MIN >= 10, got "${values['fleet-life']}"`);
  return {
    durationS: int('duration', values.duration, 1),
    connections: int('connections', values.connections, 1),
    warmupS: int('warmup', values.warmup, 0),
    cpuProf: values['cpu-prof'],
    mariadb: !values['no-mariadb'],
    groups: new Set(groups('only', values.only).filter((g) => !skip.has(g))),
    stampede: {
      requests: int('stampede', values.stampede, 1),
      latencyMs: int('stampede-latency', values['stampede-latency'], 0),
    },
    fleet: {
      apps: int('fleet-apps', values['fleet-apps'], 1),
      concurrency: int('fleet-concurrency', values['fleet-concurrency'], 1),
      scanMs: int('fleet-scan-ms', values['fleet-scan-ms'], 50),
      latencyMs: int('fleet-latency', values['fleet-latency'], 0),
      lifeMinS: Number(life[1]),
      lifeMaxS: Number(life[2]),
      watchS: int('fleet-watch', values['fleet-watch'], 1),
      samples: int('fleet-samples', values['fleet-samples'], 0),
      primeConcurrency: int('fleet-prime', values['fleet-prime'], 1),
    },
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
  /** the stampede and fleet results */
  readonly checks: Check[] = [];
  readonly commands: string[] = [];
  readonly notes: string[] = [];
  /** share of the CPUs others used just before the bench started: their work skews the numbers */
  busyAtStart: number | undefined;
  private readonly profileDirs: Array<{ store: string; dir: string }> = [];
  /** when each load ran (after its warm-up), to cut the CPU profiles to the measured phases */
  private readonly windows: Window[] = [];

  constructor(private readonly s: Settings) {}

  /**
   * samples one request (it must carry `expectCode` and pass `check`), then loads the target with
   * that exact body expected; fills row.result or row.failed
   */
  private async scenario(row: Row, target: Target, body: string, expectCode: number, opts: { headers?: Record<string, string>; check?: (r: Reply) => void } = {}): Promise<void> {
    try {
      const sample = await expectReturnCode(row.scenario, target.url, body, expectCode, opts.headers);
      opts.check?.(sample);
      const load: LoadOptions = {
        url: target.url,
        body,
        headers: opts.headers,
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
    const g = this.s.groups;
    const auth: Row = { scenario: `gatehouse ${store}  qcloud.cam.auth`, targetPct: TARGET_AUTH_PCT };
    const error: Row = { scenario: `gatehouse ${store}  error path (1010)`, targetPct: TARGET_ERROR_PCT };
    const token: Row = { scenario: `gatehouse ${store}  wechat.app.token (cached)`, targetPct: TARGET_TOKEN_PCT, targetP99x: TARGET_TOKEN_P99X };
    const rows = [...(g.has('sessions') ? [auth, error] : []), ...(g.has('tokens') ? [token] : [])];
    this.rows.push(...rows);
    if (typeof db === 'string') {
      for (const r of rows) r.failed = `skipped (${store} unavailable)`;
      this.notes.push(`${store} variant skipped: ${db}`);
      say(`gatehouse on ${store}: SKIPPED — ${db}`);
      return;
    }
    say(`gatehouse on ${store} (${db.url})`);
    let gh: Target | undefined;
    const profDir = this.s.cpuProf ? fs.mkdtempSync(path.join(os.tmpdir(), `gh-bench-prof-${store.toLowerCase()}-`)) : undefined;
    try {
      gh = await startGatehouse({ name: `gatehouse (${store})`, databaseUrl: db.url, wechatApi: fake.url, cpuProfDir: profDir });
      if (g.has('sessions')) {
        const session = await liveSession(gh);
        await this.scenario(auth, gh, rpcBody('qcloud.cam.auth', session), 0);
        await this.scenario(error, gh, rpcBody('no.such.interface', {}), 1010);
      }
      if (g.has('tokens')) {
        await putWechatApp(gh, 'bench', { appId: 'wxbench0000000001', secret: 's' });
        await this.scenario(token, gh, tokenBody('bench'), 0, { headers: callerHeaders(), check: (r) => void expectToken(token.scenario, r) });
      }
      if (g.has('stampede')) {
        const label = `stampede ${store}`;
        say(`  ${label}: ${this.s.stampede.requests} concurrent wechat.app.token for a cold key, fake latency ${this.s.stampede.latencyMs} ms ...`);
        try {
          const r = await stampede(label, gh, fake, this.s.stampede);
          this.windows.push(r.burst);
          this.checks.push(...r.checks);
          this.commands.push(`# ${label} (warms up ${this.s.stampede.requests} connections first; the codeName is the cold app this run configured)\n${r.command}`);
        } catch (err) {
          this.checks.push({ scenario: label, what: 'NOT RUN', value: firstLine(err) });
          if (!interrupted) process.stderr.write(`bench: ${label}: ${(err as Error).message}\n`);
        }
      }
    } catch (err) {
      for (const r of rows) if (!r.result && !r.failed) r.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: gatehouse on ${store}: ${(err as Error).message}\n`);
    } finally {
      await gh?.stop();
      await db.drop();
      if (profDir) this.profileDirs.push({ store, dir: profDir });
    }
  }

  /** the token fleet, on MariaDB when reachable (and not --no-mariadb), else on SQLite */
  async fleet(): Promise<void> {
    let db: BenchDatabase | string = this.s.mariadb ? await mariadbDatabase() : 'not tried (--no-mariadb)';
    let store = 'MariaDB';
    if (typeof db === 'string') {
      this.notes.push(`the fleet ran on SQLite: MariaDB ${db}`);
      db = sqliteDatabase();
      store = 'SQLite';
    }
    const f = this.s.fleet;
    say(`token fleet on ${store} (${db.url}): ${f.apps} apps, tokens of ${f.lifeMinS}-${f.lifeMaxS} s, fake latency ${f.latencyMs} ms`);
    try {
      this.checks.push(...(await fleet(store, db, f, say)));
    } catch (err) {
      this.checks.push({ scenario: `fleet ${store}`, what: 'NOT RUN', value: firstLine(err) });
      if (!interrupted) process.stderr.write(`bench: fleet: ${(err as Error).message}\n`);
    } finally {
      await db.drop();
    }
  }

  report(): void {
    const baseline = this.rows[0]?.result;
    const baselineCpu = this.rows[0]?.cpuUsPerRequest;
    say('');
    const busy = this.busyAtStart === undefined ? 'unknown' : `${(this.busyAtStart * 100).toFixed(0)} %`;
    if (this.rows.length) {
      say(`Results (${this.s.connections} connections, ${this.s.durationS} s each after ${this.s.warmupS} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}; CPUs busy before start: ${busy}):`);
      say('');
      say(table(this.rows, baseline, baselineCpu));
      say('');
      say('  req/s: mean of autocannon\'s per-second samples; "vs bare Koa" compares it with the bare Koa row, and the');
      say('  targets apply to that ratio. errors: connection errors and timeouts; bad body: a response other than the');
      say('  one sampled before the load (wrong returnCode). srv CPU us/req: user + system CPU of the server process per');
      say('  request (warm-up included; MariaDB\'s own CPU not included); "CPU vs bare": bare Koa\'s CPU per request');
      say('  divided by this one — the throughput ratio to expect if the server had a core to itself. p99 vs bare: p99');
      say('  divided by bare Koa\'s p99 (taken as >= 1 ms: autocannon reports whole milliseconds).');
      say('');
    }
    if (this.checks.length) {
      say('Token engine (stampede: one burst from bench/stampede.ts in its own process; fleet: bench/tokens.ts):');
      say('');
      say(checkTable(this.checks));
      say('');
    }
    if (this.checks.some((c) => c.scenario.startsWith('fleet'))) {
      say(`  fleet: classic-mode apps (every refresh is a new token); each app's expires_in is fixed, spread evenly over`);
      say(`  ${this.s.fleet.lifeMinS}-${this.s.fleet.lifeMaxS} s; "live": the fake still accepts the token. Refreshes and lapses are counted by the fake over the`);
      say('  watch (after priming). Calls a sampled request started itself (its token was in the refresh-ahead window) are');
      say('  not the refresher\'s and are left out of its concurrency. "waited": the sample got a token the fake issued');
      say('  while that request was in progress and took at least the fake\'s latency. RSS: VmRSS of the gatehouse process');
      say('  (index.ts run through tsx, as in every scenario here; a compiled dist/ needs somewhat less).');
      say('');
    }
    const missed = [
      ...this.rows.filter((r) => verdict(r, baseline).met === false).map((r) => r.scenario.replace(/\s+/g, ' ')),
      ...this.checks.filter((c) => c.met === false).map((c) => `${c.scenario}: ${c.what}`),
    ];
    const bad = this.rows.filter((r) => r.result && r.result.errors + r.result.non2xx + r.result.mismatches > 0);
    if (!baseline && this.rows.length) say('No bare Koa baseline: ratios and targets could not be computed.');
    if (missed.length) say(`TARGETS MISSED (${missed.length}): ${missed.join('; ')}`);
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
    say('Load commands (autocannon, one child process per scenario; the session id/skey and caller JWTs were minted for this run):');
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

  const g = s.groups;
  if (g.has('sessions') || g.has('tokens')) await bench.bareKoa();
  if (g.has('sessions') || g.has('tokens') || g.has('stampede')) {
    await bench.gatehouse('SQLite', sqliteDatabase(), fake);
    if (s.mariadb) await bench.gatehouse('MariaDB', await mariadbDatabase(), fake);
    else bench.notes.push('MariaDB variant skipped (--no-mariadb)');
  }
  if (g.has('fleet')) await bench.fleet();

  await teardown();
  bench.report();
  const notRun = bench.rows.some((r) => !r.result && !r.failed?.startsWith('skipped')) || bench.checks.some((c) => c.what === 'NOT RUN');
  return notRun ? 1 : 0;
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
