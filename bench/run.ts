/**
 * `npm run bench [-- --duration 5 --connections 50 --warmup 2 --cpu-prof --no-mariadb --only tokens,fleet,proxy]`
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
 * Every gatehouse that is loaded (sessions, tokens, callbacks, stampede, proxy) first does the mixed
 * functional workload of bench/warm.ts — cold stampedes, forces, invalidations, platform failures
 * with their retries, JS-SDK configs, qcloud.work.*, unknown codeNames — as a node in production
 * has (issue 14); `--fresh` leaves that out.
 *
 * Then, per store, the cold stampede (1,000 concurrent wechat.app.token for a cold key from another
 * process, fake upstream latency 200 ms: wall time <= latency + 250 ms, exactly one upstream call),
 * and once, on MariaDB when reachable (else SQLite), the token fleet: 10,000 classic-mode apps with
 * 40–60 s tokens kept fresh by the background refresher (bench/tokens.ts has the details).
 *
 * The platform-facing routes under load:
 *
 *   proxy        GET /proxy/wechat-app/{codeName}/cgi-bin/menu/get through gatehouse (SQLite) vs the
 *                same GET through a plain Node keep-alive reverse proxy (bench/plain-proxy.ts, the
 *                anchor: no auth, no token work) and straight to the fake platform (bench/fake-wechat.ts
 *                as its own process), same connections: target >= 80 % of the plain proxy's req/s and
 *                p50 added <= 1 ms over it (bench/proxy.ts); plus the latencies without queueing
 *                (one connection)
 *   callbacks    POST /wechat-tp/tp/events: one signed, encrypted component_verify_ticket push
 *                (built once with wechat-crypto, bench/pushes.ts), answered `success`, vs bare Koa
 *                answering `success` to the same request; per store, no target (the ratio is shown)
 *
 * and, after the fleet and like it, the authorizers (on SQLite unless --authorizers-store mariadb):
 * 10,000 authorizers of a WeChat third-party platform with 40–60 s tokens and refresh tokens
 * rotated on every refresh (bench/authorizers.ts).
 *
 * `--soak S` runs only the soak instead (bench/soak.ts): mixed traffic (auth, token, jsconfig, proxy,
 * callbacks) against one gatehouse process for S seconds after a warm-up, with the gatehouse RSS
 * sampled every 5 s (target: growth <= 10 % after the warm-up, zero 5xx, zero bad bodies).
 *
 * Defaults keep the whole run near 4 minutes on a 2-core machine: 5 s loads, a 50 s fleet watch, a
 * 25 s authorizers watch; priming the 2 x 10,000 tokens and waiting for them to come due take most
 * of the rest. (A watch starts when the first primed token enters its refresh-ahead window, when
 * priming was quicker than that: before, nothing can be due.)
 *
 * A missed target is marked in the table but is not a failure: the exit code is 0 unless a
 * scenario could not run at all. Child processes and the MariaDB database are cleaned up on every
 * way out, Ctrl-C included.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onTeardown, teardown } from './children';
import { FakeWechat, MENU_BODY, type FakeStats } from './fake-wechat';
import { cpuTimeUs, machineBusy } from './machine';
import { gcLines, gcTotals, gcWindow } from './gc';
import { loadCommand, runLoad, shellQuote, type LoadOptions } from './load';
import { nowUs, summarizeProfiles, type Window } from './profile';
import { checkTable, failedRequests, table, verdict, type Check, type Row, type TableOptions } from './report';
import { authorizers } from './authorizers';
import {
  PROXY_APP,
  PROXY_CODE_NAME,
  proxyCallerToken,
  sequentialGets,
  TARGET_PROXY_P50_ADD_MS,
  TARGET_PROXY_PCT,
} from './proxy';
import { soak, type SoakSettings } from './soak';
import { warmUp } from './warm';
import { PUSH_CONTENT_TYPE, signedPush, TP, verifyTicketXml, type SignedPush } from './pushes';
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
  get,
  liveSession,
  mariadbDatabase,
  post,
  putApp,
  putWechatApp,
  rpcBody,
  sqliteDatabase,
  startBareKoa,
  startFakeWechatProcess,
  startGatehouse,
  startPlainProxy,
  type BenchDatabase,
  type Reply,
  type Target,
} from './targets';

const GROUPS = ['sessions', 'tokens', 'stampede', 'fleet', 'proxy', 'callbacks', 'authorizers', 'startup'] as const;
type Group = (typeof GROUPS)[number];

const USAGE = `usage: npm run bench -- [--duration S] [--connections N] [--warmup S] [--cpu-prof] [--fresh] [--no-mariadb]
                        [--only G,..] [--skip G,..] [--stampede N] [--stampede-latency MS]
                        [--fleet-apps N] [--fleet-concurrency N] [--fleet-scan-ms MS] [--fleet-latency MS]
                        [--fleet-life S-S] [--fleet-watch S] [--fleet-samples N] [--fleet-prime N]
                        [--authorizers N] [--authorizers-watch S] [--authorizers-store sqlite|mariadb]
       npm run bench -- --soak S [--soak-store sqlite|mariadb] [--soak-warmup S] [--connections N]

  --duration S      measured seconds per load scenario (default 5)
  --connections N   concurrent connections (default 50)
  --warmup S        unmeasured warm-up seconds before each load scenario (default 2; 0 = none)
  --cpu-prof        write V8 CPU profiles of the gatehouse children and print where the time goes
  --fresh           load fresh gatehouse nodes: no warm-up with the mixed functional workload of
                    bench/warm.ts (by default every node of the sessions, tokens, callbacks, stampede
                    and proxy groups does that workload first, as a node in production has)
  --no-mariadb      skip the MariaDB variants (the fleet then runs on SQLite)
  --only G,..       run only these groups; --skip G,.. leaves them out. Groups (all by default):
                      sessions  qcloud.cam.auth and the error path under load
                      tokens    cached wechat.app.token under load
                      stampede  cold stampede
                      fleet     the token fleet kept fresh by the refresher
                      proxy     GET through /proxy/wechat-app vs the same GET through a plain Node
                                reverse proxy (the anchor) and direct to the fake platform
                      callbacks signed, encrypted component_verify_ticket pushes under load
                      authorizers  third-party-platform authorizers kept fresh by the refresher
                      startup   node dist/index.js serve to /readyz 200 with 1,000 apps (bench/startup.ts)
                    (bare Koa runs whenever sessions, tokens or callbacks do: it is their baseline)
  --stampede N            concurrent requests of the stampede (default 1000)
  --stampede-latency MS   the fake's token latency for it (default 200)
  --fleet-apps N          apps in the fleet (default 10000)
  --fleet-concurrency N   GATEHOUSE_REFRESH_CONCURRENCY (default 8)
  --fleet-scan-ms MS      GATEHOUSE_REFRESH_SCAN_MS (default 200)
  --fleet-latency MS      the fake's token latency (default 20)
  --fleet-life S-S        expires_in of the fleet's tokens, fixed per app, spread over the range (default 40-60)
  --fleet-watch S         seconds the refresher is watched after priming (default 50; the watch starts
                          no earlier than the first primed token's refresh-ahead window)
  --fleet-samples N       wechat.app.token calls sampled during the watch (default 200)
  --fleet-prime N         wechat.app.token calls in flight while priming (default 32)
  --authorizers N         authorizers in the authorizers scenario (default 10000); it takes the
                          --fleet-concurrency, -scan-ms, -latency, -life, -samples and -prime settings
  --authorizers-watch S   seconds the refresher is watched there after priming (default 25)
  --authorizers-store S   sqlite (default) or mariadb (falls back to SQLite when unreachable or --no-mariadb)
  --soak S                run ONLY the soak, S measured seconds (e.g. 300): auth, token, jsconfig, proxy and
                          callbacks at once against one gatehouse, --connections split over 5 autocannon
                          processes; RSS growth after the warm-up (target <= 10 %), 5xx and bad bodies
  --soak-store S          sqlite (default) or mariadb (fails when MariaDB is unreachable)
  --soak-warmup S         the soak's warm-up, excluded from the RSS baseline (default 25)

MariaDB: root with an empty password on 127.0.0.1:3306 (BENCH_MARIADB_HOST / BENCH_MARIADB_PORT to
change); a database gh_bench_<random> is created and dropped. Unreachable: the variant is skipped.`;

interface Settings {
  durationS: number;
  connections: number;
  warmupS: number;
  cpuProf: boolean;
  /** --fresh: no warm-up of the gatehouse nodes before they are loaded */
  fresh: boolean;
  mariadb: boolean;
  groups: Set<Group>;
  stampede: StampedeSettings;
  fleet: FleetSettings;
  authorizers: number;
  /** the fleet settings with the authorizers' watch */
  authorizersFleet: FleetSettings;
  authorizersOnMariadb: boolean;
  /** --soak: run only the soak */
  soak?: SoakSettings;
}

function settings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '5' },
      connections: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '2' },
      'cpu-prof': { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
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
      authorizers: { type: 'string', default: '10000' },
      'authorizers-watch': { type: 'string', default: '25' },
      'authorizers-store': { type: 'string', default: 'sqlite' },
      soak: { type: 'string' },
      'soak-store': { type: 'string', default: 'sqlite' },
      'soak-warmup': { type: 'string', default: '25' },
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
    v
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean)
      .map((g) => {
        if (!(GROUPS as readonly string[]).includes(g))
          throw new Error(`--${name}: unknown group "${g}" (one of ${GROUPS.join(', ')})`);
        return g as Group;
      });
  const skip = new Set(groups('skip', values.skip));
  const store = (name: string, v: string) => {
    if (v !== 'sqlite' && v !== 'mariadb') throw new Error(`--${name}: expected sqlite or mariadb, got "${v}"`);
    return v === 'mariadb';
  };
  const life = /^(\d+)-(\d+)$/.exec(values['fleet-life']);
  if (!life || Number(life[1]) < 10 || Number(life[2]) < Number(life[1]))
    throw new Error(`--fleet-life: expected MIN-MAX seconds, MIN >= 10, got "${values['fleet-life']}"`);
  const fleet: FleetSettings = {
    apps: int('fleet-apps', values['fleet-apps'], 1),
    concurrency: int('fleet-concurrency', values['fleet-concurrency'], 1),
    scanMs: int('fleet-scan-ms', values['fleet-scan-ms'], 50),
    latencyMs: int('fleet-latency', values['fleet-latency'], 0),
    lifeMinS: Number(life[1]),
    lifeMaxS: Number(life[2]),
    watchS: int('fleet-watch', values['fleet-watch'], 1),
    samples: int('fleet-samples', values['fleet-samples'], 0),
    primeConcurrency: int('fleet-prime', values['fleet-prime'], 1),
  };
  return {
    durationS: int('duration', values.duration, 1),
    connections: int('connections', values.connections, 1),
    warmupS: int('warmup', values.warmup, 0),
    cpuProf: values['cpu-prof'],
    fresh: values.fresh,
    mariadb: !values['no-mariadb'],
    groups: new Set(groups('only', values.only).filter((g) => !skip.has(g))),
    stampede: {
      requests: int('stampede', values.stampede, 1),
      latencyMs: int('stampede-latency', values['stampede-latency'], 0),
    },
    fleet,
    authorizers: int('authorizers', values.authorizers, 1),
    authorizersFleet: { ...fleet, watchS: int('authorizers-watch', values['authorizers-watch'], 1) },
    authorizersOnMariadb: store('authorizers-store', values['authorizers-store']),
    soak:
      values.soak === undefined
        ? undefined
        : {
            durationS: int('soak', values.soak, 1),
            warmupS: int('soak-warmup', values['soak-warmup'], 1),
            connections: int('connections', values.connections, 5),
            mariadb: store('soak-store', values['soak-store']),
          },
  };
}

const TARGET_AUTH_PCT = 50;
/** issue 14: qcloud.cam.auth on MariaDB at 75 % of the anchor (SQLite keeps the earlier 50 %) */
const TARGET_AUTH_MARIADB_PCT = 75;
const TARGET_ERROR_PCT = 80;

let interrupted = false;
const say = (s: string) => {
  if (!interrupted) process.stdout.write(`${s}\n`);
};

/** the GC lines of a table's gatehouse rows (bench/gc.ts), when there are any */
function sayGc(rows: Row[]): void {
  const lines = gcLines(rows);
  if (!lines.length) return;
  say("  Garbage collection over each gatehouse load (warm-up included; the server's own nodejs_gc_duration_seconds):");
  for (const l of lines) say(l);
  say('');
}
const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/** what one load sends */
type Request = Pick<LoadOptions, 'url' | 'method' | 'body' | 'contentType' | 'headers'>;

const TARGET_CALLBACK_NOTE = 'no target: the ratio is reported';

class Bench {
  readonly rows: Row[] = [];
  /** the stampede, fleet and authorizers results */
  readonly checks: Check[] = [];
  /** the proxy group: [direct, through gatehouse], and what else it measured */
  readonly proxyRows: Row[] = [];
  readonly proxyChecks: Check[] = [];
  /** the callbacks group: bare Koa first (its baseline), then one row per store */
  readonly callbackRows: Row[] = [];
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
  private async scenario(
    row: Row,
    target: Target,
    body: string,
    expectCode: number,
    opts: { headers?: Record<string, string>; check?: (r: Reply) => void } = {},
  ): Promise<void> {
    await this.measure(row, target, { url: target.url, body, headers: opts.headers }, this.s.durationS, async () => {
      const sample = await expectReturnCode(row.scenario, target.url, body, expectCode, opts.headers);
      opts.check?.(sample);
      return sample.text;
    });
  }

  /**
   * `sample` sends one request and returns the body every request under load must get (it throws
   * when that one is wrong); then the load, with the server's CPU time per request counted for
   * `target` (and for `also`, returned). Fills row.result or row.failed.
   */
  private async measure(
    row: Row,
    target: Target,
    req: Request,
    durationS: number,
    sample: () => Promise<string>,
    also?: Target,
  ): Promise<number | undefined> {
    try {
      const expectBody = await sample();
      const load: LoadOptions = {
        ...req,
        expectBody,
        connections: this.s.connections,
        durationS,
        warmupS: this.s.warmupS,
      };
      this.commands.push(`# ${row.scenario}\n${loadCommand(load)}`);
      say(`  ${row.scenario}: ${this.s.warmupS} s warm-up + ${durationS} s at ${this.s.connections} connections ...`);
      const gcBefore = await gcTotals(target.url);
      const started = nowUs();
      const cpuBefore = cpuTimeUs(target.child.proc.pid);
      const alsoBefore = cpuTimeUs(also?.child.proc.pid);
      row.result = await runLoad(load);
      const cpuAfter = cpuTimeUs(target.child.proc.pid);
      const alsoAfter = cpuTimeUs(also?.child.proc.pid);
      row.gc = gcWindow(gcBefore, await gcTotals(target.url), (nowUs() - started) / 1000);
      const served = row.result.total + row.result.warmupTotal;
      if (cpuBefore !== undefined && cpuAfter !== undefined && served > 0)
        row.cpuUsPerRequest = (cpuAfter - cpuBefore) / served;
      this.windows.push({
        label: row.scenario.replace(/\s+/g, ' '),
        fromUs: started + this.s.warmupS * 1e6,
        toUs: nowUs(),
      });
      if (target.child.done()) throw new Error(`${target.name} died under load:\n${target.child.output().trim()}`);
      if (also?.child.done()) throw new Error(`${also.name} died under load:\n${also.child.output().trim()}`);
      return alsoBefore !== undefined && alsoAfter !== undefined && served > 0
        ? (alsoAfter - alsoBefore) / served
        : undefined;
    } catch (err) {
      row.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: ${row.scenario}: ${(err as Error).message ?? err}\n`);
      return undefined;
    }
  }

  /**
   * The mixed functional workload of bench/warm.ts, run against a gatehouse before it is loaded (a
   * node that has worked, as in production; --fresh leaves it out)
   */
  private async warm(gh: Target): Promise<void> {
    if (this.s.fresh) return;
    const w = await warmUp(gh.url);
    const codes = Object.entries(w.codes)
      .map(([c, k]) => `${k} x ${c}`)
      .join(', ');
    say(`  warm-up: ${w.requests} requests in ${(w.ms / 1000).toFixed(1)} s (returnCodes: ${codes})`);
  }

  /** the callbacks load: the same signed push over and over; the sample must be HTTP 200 `success` */
  private async callbackLoad(row: Row, target: Target, push: SignedPush): Promise<void> {
    const url = `${target.url}${push.path}`;
    await this.measure(
      row,
      target,
      { url, body: push.body, contentType: PUSH_CONTENT_TYPE },
      this.s.durationS,
      async () => {
        const r = await post(url, push.body, { 'content-type': PUSH_CONTENT_TYPE });
        if (r.status !== 200 || r.text !== 'success')
          throw new Error(
            `${row.scenario}: expected HTTP 200 with exactly "success", got HTTP ${r.status}: ${r.text.slice(0, 300)}`,
          );
        return r.text;
      },
    );
  }

  /**
   * The baselines: POST / with its JSON body read and parsed (koa-bodyparser: the RPC rows'
   * anchor, as issue 14 measures them), POST / answered without reading the body (the ceiling,
   * shown beside it), and the push route (callbacks).
   */
  async bareKoa(): Promise<void> {
    const g = this.s.groups;
    const parsed: Row = { scenario: 'bare Koa + koa-bodyparser  POST /' };
    const row: Row = { scenario: 'bare Koa  POST / (body not read)' };
    const push: Row = { scenario: 'bare Koa  POST /wechat-tp/tp/events' };
    const rpc = g.has('sessions') || g.has('tokens') ? [parsed, row] : [];
    const rows = [...rpc, ...(g.has('callbacks') ? [push] : [])];
    this.rows.push(...rpc);
    if (rows.includes(push)) this.callbackRows.push(push);
    for (const [label, parse, mine] of [
      ['bare Koa + koa-bodyparser', true, [parsed]],
      ['bare Koa', false, [row, push]],
    ] as const) {
      const todo = mine.filter((r) => rows.includes(r));
      if (!todo.length) continue;
      say(label);
      let koa: Target | undefined;
      try {
        koa = await startBareKoa(parse);
        for (const r of todo)
          if (r === push) await this.callbackLoad(r, koa, signedPush(verifyTicketXml('ticket@@@bench')));
          else await this.scenario(r, koa, rpcBody('bench', {}), 0);
      } catch (err) {
        for (const r of todo) if (!r.result && !r.failed) r.failed = firstLine(err);
        if (!interrupted) process.stderr.write(`bench: ${(err as Error).message}\n`);
      } finally {
        await koa?.stop();
      }
    }
  }

  async gatehouse(store: string, db: BenchDatabase | string, fake: FakeWechat): Promise<void> {
    const g = this.s.groups;
    const auth: Row = {
      scenario: `gatehouse ${store}  qcloud.cam.auth`,
      targetPct: store === 'MariaDB' ? TARGET_AUTH_MARIADB_PCT : TARGET_AUTH_PCT,
    };
    const error: Row = { scenario: `gatehouse ${store}  error path (1010)`, targetPct: TARGET_ERROR_PCT };
    const token: Row = {
      scenario: `gatehouse ${store}  wechat.app.token (cached)`,
      targetPct: TARGET_TOKEN_PCT,
      targetP99x: TARGET_TOKEN_P99X,
    };
    const callbacks: Row = { scenario: `gatehouse ${store}  POST /wechat-tp/tp/events` };
    const rows = [...(g.has('sessions') ? [auth, error] : []), ...(g.has('tokens') ? [token] : [])];
    this.rows.push(...rows);
    if (g.has('callbacks')) {
      rows.push(callbacks);
      this.callbackRows.push(callbacks);
    }
    if (typeof db === 'string') {
      for (const r of rows) r.failed = `skipped (${store} unavailable)`;
      this.notes.push(`${store} variant skipped: ${db}`);
      say(`gatehouse on ${store}: SKIPPED — ${db}`);
      return;
    }
    say(`gatehouse on ${store} (${db.url})`);
    let gh: Target | undefined;
    const profDir = this.s.cpuProf
      ? fs.mkdtempSync(path.join(os.tmpdir(), `gh-bench-prof-${store.toLowerCase()}-`))
      : undefined;
    try {
      gh = await startGatehouse({
        name: `gatehouse (${store})`,
        databaseUrl: db.url,
        wechatApi: fake.url,
        cpuProfDir: profDir,
      });
      await this.warm(gh);
      if (g.has('sessions')) {
        const session = await liveSession(gh);
        await this.scenario(auth, gh, rpcBody('qcloud.cam.auth', session), 0);
        await this.scenario(error, gh, rpcBody('no.such.interface', {}), 1010);
      }
      if (g.has('tokens')) {
        await putWechatApp(gh, 'bench', { appId: 'wxbench0000000001', secret: 's' });
        await this.scenario(token, gh, tokenBody('bench'), 0, {
          headers: callerHeaders(),
          check: (r) => void expectToken(token.scenario, r),
        });
      }
      if (g.has('callbacks')) {
        // every request is the same push: verified, decrypted, parsed; the ticket written
        // conditionally (CreateTime) and a push-log row added; answered `success`
        await putApp(gh, 'wechat_tp', TP.codeName, { ...TP.config });
        await this.callbackLoad(callbacks, gh, signedPush(verifyTicketXml('ticket@@@bench')));
      }
      if (g.has('stampede')) {
        const label = `stampede ${store}`;
        say(
          `  ${label}: ${this.s.stampede.requests} concurrent wechat.app.token for a cold key, fake latency ${this.s.stampede.latencyMs} ms ...`,
        );
        try {
          const r = await stampede(label, gh, fake, this.s.stampede);
          this.windows.push(r.burst);
          this.checks.push(...r.checks);
          this.commands.push(
            `# ${label} (warms up ${this.s.stampede.requests} connections first; the codeName is the cold app this run configured)\n${r.command}`,
          );
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
    say(
      `token fleet on ${store} (${db.url}): ${f.apps} apps, tokens of ${f.lifeMinS}-${f.lifeMaxS} s, fake latency ${f.latencyMs} ms`,
    );
    try {
      this.checks.push(...(await fleet(store, db, f, say)));
    } catch (err) {
      this.checks.push({ scenario: `fleet ${store}`, what: 'NOT RUN', value: firstLine(err) });
      if (!interrupted) process.stderr.write(`bench: fleet: ${(err as Error).message}\n`);
    } finally {
      await db.drop();
    }
  }

  /**
   * GET /proxy/wechat-app/proxy/cgi-bin/menu/get through gatehouse (SQLite, warmed up) vs the same GET
   * through a plain Node keep-alive reverse proxy (bench/plain-proxy.ts, the anchor) and direct to the
   * fake platform, a process of its own, all with the token gatehouse holds
   */
  async proxy(): Promise<void> {
    const plain: Row = { scenario: 'plain reverse proxy  GET /cgi-bin/menu/get' };
    const direct: Row = { scenario: 'direct to the fake  GET /cgi-bin/menu/get' };
    const via: Row = {
      scenario: 'gatehouse SQLite  GET /proxy/wechat-app/proxy/cgi-bin/menu/get',
      targetPct: TARGET_PROXY_PCT,
      targetP50AddMs: TARGET_PROXY_P50_ADD_MS,
    };
    this.proxyRows.push(plain, direct, via);
    const label = 'proxy SQLite';
    const add = (what: string, value: string, target?: string, met?: boolean) =>
      this.proxyChecks.push({ scenario: label, what, value, target, met });
    say('proxy: gatehouse on SQLite, a plain Node reverse proxy, the fake platform as its own process');
    const db = sqliteDatabase();
    let fake: Target | undefined;
    let gh: Target | undefined;
    let anchor: Target | undefined;
    const profDir = this.s.cpuProf ? fs.mkdtempSync(path.join(os.tmpdir(), 'gh-bench-prof-proxy-')) : undefined;
    try {
      fake = await startFakeWechatProcess();
      anchor = await startPlainProxy(fake.url);
      gh = await startGatehouse({
        name: 'gatehouse proxy (SQLite)',
        databaseUrl: db.url,
        wechatApi: fake.url,
        cpuProfDir: profDir,
      });
      await this.warm(gh);
      await putApp(gh, 'wechat_app', PROXY_CODE_NAME, PROXY_APP);
      const headers = { authorization: `Bearer ${proxyCallerToken()}` };
      const viaUrl = `${gh.url}/proxy/wechat-app/${PROXY_CODE_NAME}/cgi-bin/menu/get`;
      const expectMenu = (what: string) => async (r: Promise<Reply>) => {
        const x = await r;
        if (x.status !== 200 || x.text !== MENU_BODY)
          throw new Error(
            `${what}: expected HTTP 200 with ${MENU_BODY}, got HTTP ${x.status}: ${x.text.slice(0, 300)}`,
          );
      };
      await expectMenu('proxied GET')(get(viaUrl, headers));
      // the token gatehouse holds (and just used): the direct and plain-proxy requests present the same one
      const held = expectToken('wechat.app.token', await post(gh.url, tokenBody(PROXY_CODE_NAME), callerHeaders()));
      const platformPath = `/cgi-bin/menu/get?access_token=${encodeURIComponent(held.token)}`;
      const directUrl = `${fake.url}${platformPath}`;
      const plainUrl = `${anchor.url}${platformPath}`;
      await expectMenu('direct GET')(get(directUrl));
      await expectMenu('GET through the plain proxy')(get(plainUrl));
      const before = JSON.parse((await get(`${fake.url}/__bench/stats`)).text) as FakeStats;

      const n = 1000;
      const seqDirect = await sequentialGets(directUrl, {}, MENU_BODY, n);
      const seqPlain = await sequentialGets(plainUrl, {}, MENU_BODY, n);
      const seqVia = await sequentialGets(viaUrl, headers, MENU_BODY, n);
      const bad = seqDirect.bad + seqPlain.bad + seqVia.bad;
      const ms = (x: { p50Ms: number; p99Ms: number }) => `${x.p50Ms.toFixed(2)} / ${x.p99Ms.toFixed(2)} ms`;
      add(
        `one connection, ${n} GETs one after another: p50 / p99 direct; plain proxy; gatehouse`,
        `${ms(seqDirect)}; ${ms(seqPlain)}; ${ms(seqVia)}: gatehouse +${(seqVia.p50Ms - seqPlain.p50Ms).toFixed(2)} ms at p50 over the plain proxy (the plain proxy +${(seqPlain.p50Ms - seqDirect.p50Ms).toFixed(2)} ms over direct)${bad ? ` (${bad} wrong answers)` : ''}`,
        `p50 +<= ${TARGET_PROXY_P50_ADD_MS} ms over the plain proxy`,
        seqVia.p50Ms - seqPlain.p50Ms <= TARGET_PROXY_P50_ADD_MS && bad === 0,
      );

      const sample = (what: string, url: string, h: Record<string, string>) => async () => {
        await expectMenu(what)(get(url, h));
        return MENU_BODY;
      };
      const fakeCpuPlain = await this.measure(
        plain,
        anchor,
        { url: plainUrl, method: 'GET' },
        this.s.durationS,
        sample(plain.scenario, plainUrl, {}),
        fake,
      );
      await this.measure(
        direct,
        fake,
        { url: directUrl, method: 'GET' },
        this.s.durationS,
        sample(direct.scenario, directUrl, {}),
      );
      const fakeCpuVia = await this.measure(
        via,
        gh,
        { url: viaUrl, method: 'GET', headers },
        this.s.durationS,
        sample(via.scenario, viaUrl, headers),
        fake,
      );
      const stats = JSON.parse((await get(`${fake.url}/__bench/stats`)).text) as FakeStats;
      const us = (x?: number) => (x === undefined ? '?' : `${x.toFixed(1)} us`);
      add(
        'srv CPU per request: the plain proxy + the fake; the fake (direct); gatehouse + the fake (proxied)',
        `${us(plain.cpuUsPerRequest)} + ${us(fakeCpuPlain)}; ${us(direct.cpuUsPerRequest)}; ${us(via.cpuUsPerRequest)} + ${us(fakeCpuVia)}`,
      );
      add(
        'the fake, during the loads: menu/get calls answered 40001 / token calls (TCP connections it accepted)',
        `${stats.menuRejected - before.menuRejected} of ${stats.menuCalls - before.menuCalls} / ${stats.tokenCalls - before.tokenCalls} (${stats.connections - before.connections})`,
        '0 / 0',
        stats.menuRejected === before.menuRejected && stats.tokenCalls === before.tokenCalls,
      );
    } catch (err) {
      for (const r of [plain, direct, via]) if (!r.result && !r.failed) r.failed = firstLine(err);
      if (!interrupted) process.stderr.write(`bench: proxy: ${(err as Error).message}\n`);
    } finally {
      await gh?.stop();
      await anchor?.stop();
      await fake?.stop();
      await db.drop();
      if (profDir) this.profileDirs.push({ store: 'proxy, SQLite', dir: profDir });
    }
  }

  /**
   * the authorizers, on SQLite unless --authorizers-store mariadb (then on MariaDB when reachable
   * and not --no-mariadb). SQLite by default: the fleet covers the refresher on MariaDB already,
   * and its priming is about twice as fast, which keeps the default run short.
   */
  async authorizers(): Promise<void> {
    let db: BenchDatabase | string = !this.s.authorizersOnMariadb
      ? 'sqlite'
      : this.s.mariadb
        ? await mariadbDatabase()
        : 'not tried (--no-mariadb)';
    let store = 'MariaDB';
    if (typeof db === 'string') {
      if (db !== 'sqlite') this.notes.push(`the authorizers ran on SQLite: MariaDB ${db}`);
      db = sqliteDatabase();
      store = 'SQLite';
    }
    const f = this.s.authorizersFleet;
    say(
      `authorizers on ${store} (${db.url}): ${this.s.authorizers} authorizers of one third-party platform, tokens of ${f.lifeMinS}-${f.lifeMaxS} s, fake latency ${f.latencyMs} ms`,
    );
    try {
      this.checks.push(...(await authorizers(store, db, this.s.authorizers, f, say)));
    } catch (err) {
      this.checks.push({ scenario: `authorizers ${store}`, what: 'NOT RUN', value: firstLine(err) });
      if (!interrupted) process.stderr.write(`bench: authorizers: ${(err as Error).message}\n`);
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
      say(
        `Results (${this.s.connections} connections, ${this.s.durationS} s each after ${this.s.warmupS} s warm-up; ${os.cpus().length} CPUs, Node ${process.version}; CPUs busy before start: ${busy}):`,
      );
      say('');
      say(table(this.rows, baseline, baselineCpu, { baselineName: 'Koa+bodyparser', baselineShort: 'Koa+bp' }));
      say('');
      say(
        '  req/s: mean of autocannon\'s per-second samples; "vs Koa+bodyparser" compares it with the first row, bare Koa',
      );
      say(
        '  reading and parsing the JSON body with koa-bodyparser (the anchor issue 14 names: every RPC call has a body to',
      );
      say(
        '  read), and the targets apply to that ratio; the row after it answers without reading the body (the ceiling).',
      );
      say('  errors: connection errors and timeouts; bad body: a response other than the');
      say(
        '  one sampled before the load (wrong returnCode). srv CPU us/req: user + system CPU of the server process per',
      );
      say(
        '  request (warm-up included; MariaDB\'s own CPU not included); "CPU vs Koa+bp": the anchor\'s CPU per request',
      );
      say(
        '  divided by this one — the throughput ratio to expect if the server had a core to itself. p99 vs Koa+bp: p99',
      );
      say("  divided by the anchor's p99 (taken as >= 1 ms: autocannon reports whole milliseconds).");
      say('');
      sayGc(this.rows);
    }
    const proxyBase = this.proxyRows[0]?.result;
    const proxyOpts: TableOptions = { baselineName: 'plain proxy', baselineShort: 'plain', p50Added: true };
    if (this.proxyRows.length) {
      say(
        `Proxy (${this.s.connections} connections, ${this.s.durationS} s each after ${this.s.warmupS} s warm-up; the fake platform and the plain reverse proxy are processes of their own):`,
      );
      say('');
      say(table(this.proxyRows, proxyBase, this.proxyRows[0]?.cpuUsPerRequest, proxyOpts));
      say('');
      if (this.proxyChecks.length) {
        say(checkTable(this.proxyChecks));
        say('');
      }
      say(
        '  Every load presents the access token gatehouse holds (the proxied GET gets it added by gatehouse). The anchor is',
      );
      say(
        '  bench/plain-proxy.ts: node:http with a keep-alive Agent, no auth, no token work, answers streamed back. "vs plain',
      );
      say(
        '  proxy": req/s / req/s through the plain proxy; "p50 added": p50 minus the plain proxy\'s (whole ms, as autocannon',
      );
      say(
        '  reports them; the one-connection line has them without queueing, to 0.01 ms). srv CPU us/req: of the proxy (the',
      );
      say("  fake for the direct row); the fake's share of the proxied rows is in the line below the table.");
      say('');
      sayGc(this.proxyRows);
    }
    const callbackBase = this.callbackRows[0]?.result;
    if (this.callbackRows.length) {
      say(
        `Event callbacks (${this.s.connections} connections, ${this.s.durationS} s each after ${this.s.warmupS} s warm-up; ${TARGET_CALLBACK_NOTE}):`,
      );
      say('');
      say(table(this.callbackRows, callbackBase, this.callbackRows[0]?.cpuUsPerRequest, { p50Added: true }));
      say('');
      say(
        '  Every request is the same component_verify_ticket push to the wechat_tp app "tp", encrypted and signed once with',
      );
      say(
        '  wechat-crypto before the load: gatehouse checks msg_signature, decrypts, parses both XML layers, writes the ticket',
      );
      say(
        '  (one upsert, conditional on CreateTime: after the first push it changes nothing) and a push-log row, and answers',
      );
      say(
        '  `success` (every answer is compared with it: "bad body"). Bare Koa answers `success` to the same request without',
      );
      say('  reading it. req/s = pushes/s.');
      say('');
      sayGc(this.callbackRows);
    }
    if (this.checks.length) {
      say(
        'Token engine (stampede: one burst from bench/stampede.ts in its own process; fleet: bench/tokens.ts; authorizers: bench/authorizers.ts):',
      );
      say('');
      say(checkTable(this.checks));
      say('');
    }
    if (this.checks.some((c) => c.scenario.startsWith('fleet'))) {
      say(
        `  fleet: classic-mode apps (every refresh is a new token); each app's expires_in is fixed, spread evenly over`,
      );
      say(
        `  ${this.s.fleet.lifeMinS}-${this.s.fleet.lifeMaxS} s; "live": the fake still accepts the token. Refreshes and lapses are counted by the fake over the`,
      );
      say(
        '  watch (after priming). Calls a sampled request started itself (its token was in the refresh-ahead window) are',
      );
      say(
        '  not the refresher\'s and are left out of its concurrency. "waited": the sample got a token the fake issued',
      );
      say(
        "  while that request was in progress and took at least the fake's latency. RSS: VmRSS of the gatehouse process",
      );
      say(
        '  (the built server, node dist/index.js serve, as in every scenario here; BENCH_FROM_SOURCE=1 runs index.ts through tsx).',
      );
      say('');
    }
    if (this.checks.some((c) => c.scenario.startsWith('authorizers'))) {
      say(
        `  authorizers: ${this.s.authorizers} authorizations the fake platform knew before gatehouse, adopted with one`,
      );
      say(
        '  wechat.tp.authorizers {sync: true} after one signed component_verify_ticket push; each api_authorizer_token call',
      );
      say(
        "  rotates the refresh token (the old one then gets 61023) and issues an access token with the authorizer's fixed",
      );
      say(
        `  expires_in (${this.s.fleet.lifeMinS}-${this.s.fleet.lifeMaxS} s). Priming, watch (${this.s.authorizersFleet.watchS} s), refreshes, lapses and samples as for the fleet. The`,
      );
      say(
        '  stored refresh tokens are read from the database after the watch, gatehouse still running: one that is not the',
      );
      say(
        "  fake's current token is stale unless the fake rotated it during the read or under 2 s before (its write may be",
      );
      say('  under way).');
      say('');
    }
    const missed = [
      ...this.rows.filter((r) => verdict(r, baseline).met === false).map((r) => r.scenario.replace(/\s+/g, ' ')),
      ...this.proxyRows.filter((r) => verdict(r, proxyBase).met === false).map((r) => r.scenario.replace(/\s+/g, ' ')),
      ...this.proxyChecks.filter((c) => c.met === false).map((c) => `${c.scenario}: ${c.what}`),
      ...this.checks.filter((c) => c.met === false).map((c) => `${c.scenario}: ${c.what}`),
    ];
    const bad = [...this.rows, ...this.proxyRows, ...this.callbackRows].filter(
      (r) => r.result && failedRequests(r.result) > 0,
    );
    if (!baseline && this.rows.length) say('No bare Koa baseline: ratios and targets could not be computed.');
    if (!proxyBase && this.proxyRows.length)
      say('No plain-proxy baseline: the proxy ratio and targets could not be computed.');
    if (missed.length) say(`TARGETS MISSED (${missed.length}): ${missed.join('; ')}`);
    else say('All targets that could be measured were met.');
    if (bad.length) say(`FAILED REQUESTS under load in: ${bad.map((r) => r.scenario.replace(/\s+/g, ' ')).join('; ')}`);
    if (this.busyAtStart !== undefined && this.busyAtStart > 0.15) {
      say(
        `Note: the machine was not idle when the bench started (${busy} of its CPUs busy); other processes compete for the cores and make req/s noisy. "srv CPU us/req" is less sensitive to that.`,
      );
    }
    if (this.s.cpuProf)
      say('Note: --cpu-prof slows the gatehouse children down; compare their numbers only with other profiled runs.');
    for (const n of this.notes) say(`Note: ${n}`);
    say('');
    say('Benchmark command (from the repository root):');
    say(`  node --require tsx/cjs bench/run.ts ${process.argv.slice(2).map(shellQuote).join(' ')}`.trimEnd());
    say(
      'Load commands (autocannon, one child process per scenario; the session id/skey and caller JWTs were minted for this run):',
    );
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
  if (s.soak) {
    const code = await soak(s.soak, say);
    say('');
    say('Benchmark command (from the repository root):');
    say(`  node --require tsx/cjs bench/run.ts ${process.argv.slice(2).map(shellQuote).join(' ')}`.trimEnd());
    return code;
  }
  const bench = new Bench(s);
  bench.busyAtStart = await machineBusy();
  const fake = await new FakeWechat().start();
  onTeardown('stop the fake WeChat', () => fake.stop());

  const g = s.groups;
  if (g.has('sessions') || g.has('tokens') || g.has('callbacks')) await bench.bareKoa();
  if (g.has('sessions') || g.has('tokens') || g.has('stampede') || g.has('callbacks')) {
    await bench.gatehouse('SQLite', sqliteDatabase(), fake);
    if (s.mariadb) await bench.gatehouse('MariaDB', await mariadbDatabase(), fake);
    else bench.notes.push('MariaDB variant skipped (--no-mariadb)');
  }
  if (g.has('proxy')) await bench.proxy();
  if (g.has('fleet')) await bench.fleet();
  if (g.has('authorizers')) await bench.authorizers();
  // start-up: its own script (7 starts of the built server beside a bare node:http server)
  let startup: string | undefined;
  if (g.has('startup')) {
    try {
      startup = execFileSync(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, 'startup.ts')], {
        encoding: 'utf8',
        timeout: 300_000,
      });
    } catch (err) {
      startup = `NOT RUN: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  await teardown();
  bench.report();
  if (startup !== undefined) {
    say('');
    say('Start-up (bench/startup.ts, target <= 500 ms):');
    say(startup.trimEnd());
  }
  const notRun =
    [...bench.rows, ...bench.proxyRows, ...bench.callbackRows].some(
      (r) => !r.result && !r.failed?.startsWith('skipped'),
    ) ||
    bench.checks.some((c) => c.what === 'NOT RUN') ||
    Boolean(startup?.startsWith('NOT RUN'));
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
