import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { onTeardown, startChild } from './children';
import { FakeWechat, type TokenCall } from './fake-wechat';
import { shellQuote } from './load';
import { cpuTimeUs, rssBytes } from './machine';
import { nowUs, type Window } from './profile';
import type { Check } from './report';
import type { StampedeInput, StampedeOutput } from './stampede';
import {
  adminToken,
  post,
  putWechatApp,
  REPO,
  rpcBody,
  startGatehouse,
  type BenchDatabase,
  type Reply,
  type Target,
} from './targets';

/**
 * The token engine scenarios of `npm run bench` (PROTOCOL.md §5), all through the RPC endpoint
 * with a caller JWT, against the fake WeChat of bench/fake-wechat.ts:
 *
 *   cached token   wechat.app.token of a warm token under autocannon (a row of the main table; run.ts)
 *   stampede       n concurrent wechat.app.token for a cold key, from another process: wall time and
 *                  upstream calls (must be exactly one)
 *   fleet          thousands of classic-mode apps with short-lived tokens, kept fresh by the background
 *                  refresher: RSS, upstream concurrency, lapses, and sampled requests
 */

export const TARGET_TOKEN_PCT = 70;
export const TARGET_TOKEN_P99X = 2;
/** the stampede may take the fake's latency plus this */
export const STAMPEDE_SLACK_MS = 250;
export const FLEET_RSS_TARGET_MB = 150;

/** the caller's Authorization header: HS256 with the gatehouse's GATEHOUSE_JWT_SECRET, {sub, scope: "*"}, 1 h */
export const callerHeaders = (): Record<string, string> => ({ authorization: `Bearer ${adminToken()}` });

export const tokenBody = (codeName: string): string => rpcBody('wechat.app.token', { codeName });

export interface TokenData {
  appId: string;
  token: string;
  expiresAt: number;
}

/** the returnData of a wechat.app.token reply, or why it is not one */
export function tokenData(r: Reply): TokenData | string {
  if (r.status !== 200) return `HTTP ${r.status}: ${r.text.slice(0, 300)}`;
  if (r.body?.returnCode !== 0) return `returnCode ${String(r.body?.returnCode)}: ${r.text.slice(0, 300)}`;
  const d = r.body.returnData as Partial<TokenData> | undefined;
  if (typeof d?.token !== 'string' || !d.token || typeof d.appId !== 'string' || typeof d.expiresAt !== 'number') {
    return `no {appId, token, expiresAt} in ${r.text.slice(0, 300)}`;
  }
  return d as TokenData;
}

/** throws unless the reply is a token (the sample before a load) */
export function expectToken(what: string, r: Reply): TokenData {
  const d = tokenData(r);
  if (typeof d === 'string') throw new Error(`${what}: ${d}`);
  return d;
}

const cpuText = (us: number) => (Number.isFinite(us) ? `${(us / 1000).toFixed(2)} ms` : '?');
const mb = (bytes: number | undefined) => (bytes === undefined ? '?' : (bytes / 2 ** 20).toFixed(0));
const ms = (n: number) => n.toFixed(0);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;

// ---- stampede

export interface StampedeSettings {
  requests: number;
  latencyMs: number;
}

/**
 * A fresh app (cold key), the fake's token endpoint slowed to `latencyMs` for it, and `requests`
 * concurrent wechat.app.token calls from bench/stampede.ts in its own process.
 */
export async function stampede(
  label: string,
  gh: Target,
  fake: FakeWechat,
  s: StampedeSettings,
): Promise<{ checks: Check[]; command: string; burst: Window }> {
  const id = crypto.randomBytes(5).toString('hex');
  const codeName = `cold-${id}`;
  const appId = `wxcold${id}`;
  await putWechatApp(gh, codeName, { appId, secret: 's' });
  const input: StampedeInput = {
    url: gh.url,
    body: tokenBody(codeName),
    authorization: callerHeaders().authorization,
    n: s.requests,
  };
  const args = ['--require', 'tsx/cjs', 'bench/stampede.ts'];
  const command = `BENCH_STAMPEDE=${shellQuote(JSON.stringify(input))} node ${args.join(' ')}`;
  const latency = fake.latency;
  fake.latency = (a) => (a === appId ? s.latencyMs : latency(a));
  let out: StampedeOutput;
  try {
    const child = startChild('stampede', args, {
      cwd: REPO,
      env: { ...process.env, BENCH_STAMPEDE: JSON.stringify(input) },
      stdoutOnly: true,
    });
    const code = await child.exited;
    const line = child
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop();
    if (code !== 0 || !line)
      throw new Error(`bench/stampede.ts exited ${code}:\n${child.output().trim().slice(-2000)}`);
    out = JSON.parse(line) as StampedeOutput;
  } finally {
    fake.latency = latency;
  }
  const upstream = fake.callsFor(appId);
  const ok = out.codes['0'] ?? 0;
  const others = Object.entries(out.codes)
    .filter(([c]) => c !== '0')
    .map(([c, n]) => `${n} x ${c}`);
  const limit = s.latencyMs + STAMPEDE_SLACK_MS;
  const checks: Check[] = [
    {
      scenario: label,
      what: `wall time, ${s.requests} concurrent requests, cold key`,
      value: `${ms(out.wallMs)} ms`,
      target: `<= ${limit} ms`,
      met: out.wallMs <= limit,
    },
    {
      scenario: label,
      what: 'upstream token calls (fake)',
      value: String(upstream),
      target: '== 1',
      met: upstream === 1,
    },
    {
      scenario: label,
      what: 'answers',
      value: `${ok}/${s.requests} returnCode 0${others.length ? ` (${others.join(', ')})` : ''}, ${out.tokens.length} distinct token(s)`,
      target: 'all 0, 1 token',
      met: ok === s.requests && out.tokens.length === 1,
    },
    {
      scenario: label,
      what: 'per request p50 / p99 / max',
      value: `${ms(out.p50Ms)} / ${ms(out.p99Ms)} / ${ms(out.maxMs)} ms`,
    },
    {
      scenario: label,
      what: 'client: all requests on the wire after',
      value: `${ms(out.sendMs)} ms (${out.warmSockets} warm connections)`,
    },
  ];
  // the burst on the monotonic clock of the CPU profiles
  const offsetUs = nowUs() - (performance.timeOrigin + performance.now()) * 1000;
  const fromUs = out.startedAt * 1000 + offsetUs;
  return { checks, command, burst: { label, fromUs, toUs: fromUs + out.wallMs * 1000 } };
}

// ---- fleet

export interface FleetSettings {
  apps: number;
  /** GATEHOUSE_REFRESH_CONCURRENCY */
  concurrency: number;
  /** GATEHOUSE_REFRESH_SCAN_MS */
  scanMs: number;
  /** the fake's latency per token call */
  latencyMs: number;
  /** expires_in of an app's tokens: fixed per app, spread evenly over [min, max] */
  lifeMinS: number;
  lifeMaxS: number;
  watchS: number;
  samples: number;
  /** wechat.app.token calls in flight at once while priming */
  primeConcurrency: number;
}

interface Sample {
  appId: string;
  start: number;
  end: number;
  problem?: string;
  expired: boolean;
  /** the token it got was issued by the fake while the request was in progress (a refresh it waited for) */
  waited: boolean;
}

/** the most intervals overlapping at one instant */
function maxOverlap(calls: TokenCall[]): number {
  const edges = calls
    .flatMap((c) => [[c.start, 1] as const, [c.end, -1] as const])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (cur += d));
  return max;
}

/**
 * `s.apps` wechat_app apps (tokenMode classic: every refresh is a new token) from an apps file, one
 * gatehouse with the refresher settings, every token requested once (priming), then `watchS` s in
 * which the refresher alone keeps them fresh while `samples` random wechat.app.token calls check
 * what a caller gets.
 */
export async function fleet(
  storeName: string,
  db: BenchDatabase,
  s: FleetSettings,
  say: (line: string) => void,
): Promise<Check[]> {
  const label = `fleet ${storeName}`;
  const checks: Check[] = [];
  const add = (what: string, value: string, target?: string, met?: boolean) =>
    checks.push({ scenario: label, what, value, target, met });

  const fake = await new FakeWechat().start();
  const stopFake = onTeardown('stop the fleet fake WeChat', () => fake.stop());
  const span = s.lifeMaxS - s.lifeMinS + 1;
  const apps = Array.from({ length: s.apps }, (_, i) => ({
    codeName: `fleet-${String(i).padStart(5, '0')}`,
    appId: `wxfleet${String(i).padStart(10, '0')}`,
    lifeS: s.lifeMinS + ((i * 7919) % span), // spread evenly, neighbours differ
  }));
  const life = new Map(apps.map((a) => [a.appId, a.lifeS]));
  fake.latency = () => s.latencyMs;
  fake.expiresIn = (appId) => life.get(appId) ?? s.lifeMaxS;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-bench-fleet-'));
  const removeDir = onTeardown(`remove ${dir}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  const appsFile = path.join(dir, 'apps.json');
  fs.writeFileSync(
    appsFile,
    JSON.stringify(
      apps.map((a) => ({
        platform: 'wechat_app',
        codeName: a.codeName,
        appId: a.appId,
        secret: `secret-${a.appId}`,
        tokenMode: 'classic',
      })),
    ),
  );

  let gh: Target | undefined;
  try {
    say(
      `  starting gatehouse with ${s.apps} apps (GATEHOUSE_APPS_FILE), GATEHOUSE_REFRESH_CONCURRENCY=${s.concurrency}, GATEHOUSE_REFRESH_SCAN_MS=${s.scanMs} ...`,
    );
    const t = Date.now();
    gh = await startGatehouse({
      name: `gatehouse fleet (${storeName})`,
      databaseUrl: db.url,
      wechatApi: fake.url,
      env: {
        GATEHOUSE_APPS_FILE: appsFile,
        GATEHOUSE_REFRESH_CONCURRENCY: String(s.concurrency),
        GATEHOUSE_REFRESH_SCAN_MS: String(s.scanMs),
      },
      startTimeoutMs: 600_000,
    });
    const rssStart = rssBytes(gh.child.proc.pid);
    add(`start-up, ${s.apps} apps from GATEHOUSE_APPS_FILE`, `${((Date.now() - t) / 1000).toFixed(1)} s`);
    await primeAndWatch({
      gh,
      fake,
      s,
      say,
      add,
      rssStart,
      members: apps.map((a) => ({ name: a.codeName, subject: a.appId, body: tokenBody(a.codeName) })),
      call: 'wechat.app.token',
      noun: 'apps',
    });
    return checks;
  } finally {
    await gh?.stop();
    await db.drop();
    await stopFake();
    await removeDir();
  }
}

/** one token of a fleet: how a caller asks for it, and whose tokens they are at the fake */
export interface FleetMember {
  /** for failure messages (the codeName, the authorizer) */
  name: string;
  /** the appid the fake issues its tokens to */
  subject: string;
  /** the RPC body that asks gatehouse for it */
  body: string;
}

export interface WatchRun {
  gh: Target;
  fake: FakeWechat;
  s: FleetSettings;
  say: (line: string) => void;
  add: (what: string, value: string, target?: string, met?: boolean) => void;
  /** VmRSS right after start-up */
  rssStart: number | undefined;
  members: FleetMember[];
  /** the interface name, and what the members are called in the report ("apps", "authorizers") */
  call: string;
  noun: string;
}

/**
 * Priming (every member's token requested once, cold), then `s.watchS` s in which the refresher
 * alone keeps the tokens fresh while `s.samples` random calls check what a caller gets; the checks
 * of the fleet table (RSS, refreshes, upstream concurrency, lapses, samples) go to `add`.
 */
export async function primeAndWatch({ gh, fake, s, say, add, rssStart, members, call, noun }: WatchRun): Promise<void> {
  const pid = gh.child.proc.pid;
  const n = members.length;

  // priming: every token once, cold (these refreshes are on the request path, not the refresher's)
  say(`  priming: ${n} cold ${call} calls, ${s.primeConcurrency} at a time (fake latency ${s.latencyMs} ms) ...`);
  const headers = callerHeaders();
  const failures: string[] = [];
  let next = 0;
  const t = Date.now();
  const cpuPrimeStart = cpuTimeUs(pid);
  await Promise.all(
    Array.from({ length: s.primeConcurrency }, async () => {
      while (next < members.length) {
        const a = members[next++];
        try {
          const d = tokenData(await post(gh.url, a.body, headers));
          if (typeof d === 'string') failures.push(`${a.name}: ${d}`);
          else if (!fake.isLive(d.token)) failures.push(`${a.name}: a token the fake does not know as live`);
        } catch (err) {
          failures.push(`${a.name}: ${(err as Error).message}`);
        }
      }
    }),
  );
  const primeS = (Date.now() - t) / 1000;
  const primeCpuUs = (cpuTimeUs(pid) ?? NaN) - (cpuPrimeStart ?? NaN);
  const rssPrimed = rssBytes(pid);
  add(
    `priming: ${n} cold ${call}, ${s.primeConcurrency} in flight`,
    `${primeS.toFixed(1)} s (${(n / primeS).toFixed(0)}/s, srv CPU ${cpuText(primeCpuUs / n)}/call), ${failures.length} failed${failures.length ? ` — first: ${failures[0]}` : ''}`,
    'no failures',
    failures.length === 0,
  );
  const primeEnd = Date.now();

  // nothing is due before the first primed token enters its refresh-ahead window (its last 20 %,
  // at most 10 minutes): when priming was quicker than that, the watch starts there
  const firstDue = t + s.lifeMinS * 1000 - Math.min(600_000, s.lifeMinS * 200) - 1000;
  if (firstDue > Date.now()) {
    say(
      `  waiting ${((firstDue - Date.now()) / 1000).toFixed(0)} s until the first primed tokens are due for refresh ...`,
    );
    await sleep(firstDue - Date.now());
    if (gh.child.done()) throw new Error(`${gh.name} died after priming:\n${gh.child.output().trim()}`);
  }

  // the watch: the refresher alone keeps the tokens fresh; samples check what callers get
  say(`  watching ${s.watchS} s: background refresher at work, ${s.samples} sampled ${call} calls ...`);
  const log: TokenCall[] = [];
  fake.log = log;
  fake.resetMaxInFlight();
  const callsBefore = fake.tokenCalls;
  const cpuWatchStart = cpuTimeUs(pid);
  const watchStart = Date.now();
  const watchEnd = watchStart + s.watchS * 1000;
  let rssMax = rssBytes(pid) ?? 0;
  const samples: Sample[] = [];
  const sampler = (async () => {
    for (let k = 0; k < s.samples; k++) {
      const at = watchStart + ((k + 0.5) * s.watchS * 1000) / s.samples;
      await sleep(Math.max(0, at - Date.now()));
      const a = members[crypto.randomInt(members.length)];
      const start = Date.now();
      let d: TokenData | string;
      try {
        d = tokenData(await post(gh.url, a.body, headers));
      } catch (err) {
        d = (err as Error).message;
      }
      const end = Date.now();
      if (typeof d === 'string')
        samples.push({ appId: a.subject, start, end, problem: d, expired: false, waited: false });
      else {
        const issued = fake.token(d.token);
        // waited: the token it got was fetched while it was in progress, and it took that long
        const waited = issued !== undefined && issued.issuedAt >= start && end - start >= s.latencyMs;
        samples.push({ appId: a.subject, start, end, expired: !fake.isLive(d.token, end), waited });
      }
    }
  })();
  let lastSay = watchStart;
  while (Date.now() < watchEnd) {
    await sleep(Math.min(1000, watchEnd - Date.now()));
    rssMax = Math.max(rssMax, rssBytes(pid) ?? 0);
    if (gh.child.done()) throw new Error(`${gh.name} died during the watch:\n${gh.child.output().trim()}`);
    if (Date.now() - lastSay >= 10_000) {
      lastSay = Date.now();
      say(
        `    +${((lastSay - watchStart) / 1000).toFixed(0)} s: ${fake.tokenCalls - callsBefore} refreshes, at most ${fake.maxInFlight} upstream calls at once, RSS ${mb(rssBytes(pid))} MB`,
      );
    }
  }
  await sampler;
  const watchStop = Date.now();
  const watchCpuUs = (cpuTimeUs(pid) ?? NaN) - (cpuWatchStart ?? NaN);
  fake.log = undefined;
  const rssEnd = rssBytes(pid);
  rssMax = Math.max(rssMax, rssEnd ?? 0);

  // what the fake saw
  // a sampled request that finds its token in the refresh-ahead window starts a refresh of its own
  // (on the request path, not bounded by the refresher's concurrency): leave those calls out
  const bySample = (c: TokenCall) =>
    samples.some((x) => x.appId === c.appId && c.start >= x.start && c.start <= x.end + 500);
  const refresherCalls = log.filter((c) => !bySample(c));
  const maxRefresher = maxOverlap(refresherCalls);
  let ahead = 0;
  let late = 0;
  let lapsedApps = 0;
  let gapMs = 0;
  let longestGapMs = 0;
  for (const a of members) {
    const h = fake.history(a.subject);
    let covered = -Infinity; // the app had a live token until then
    let gap = 0;
    for (const tok of h) {
      if (tok.issuedAt >= watchStart && tok.issuedAt < watchStop) {
        if (covered > tok.issuedAt) ahead++;
        else late++;
      }
      const from = Math.max(covered, watchStart);
      const to = Math.min(tok.issuedAt, watchStop);
      if (to > from && covered > -Infinity) {
        gap += to - from;
        longestGapMs = Math.max(longestGapMs, to - from);
      }
      covered = Math.max(covered, tok.expiresAt);
    }
    if (covered < watchStop) {
      const g = watchStop - Math.max(covered, watchStart);
      gap += g;
      longestGapMs = Math.max(longestGapMs, g);
    }
    if (gap > 0) lapsedApps++;
    gapMs += gap;
  }
  const latencies = samples.map((x) => x.end - x.start).sort((x, y) => x - y);
  const failed = samples.filter((x) => x.problem);
  const expired = samples.filter((x) => x.expired);
  const waited = samples.filter((x) => x.waited);
  const meanLife = (s.lifeMinS + s.lifeMaxS) / 2;

  add(
    'refresh rate needed / possible at that concurrency',
    `${(n / meanLife).toFixed(0)}/s (${n} tokens / ${meanLife} s mean life) / ${((s.concurrency * 1000) / Math.max(1, s.latencyMs)).toFixed(0)}/s (${s.concurrency} in flight / ${s.latencyMs} ms)`,
  );
  add(
    'RSS at start / after priming / end (max in watch)',
    `${mb(rssStart)} / ${mb(rssPrimed)} / ${mb(rssEnd)} (${mb(rssMax)}) MB`,
    `<= ${FLEET_RSS_TARGET_MB} MB`,
    Math.max(rssStart ?? 0, rssPrimed ?? 0, rssMax) <= FLEET_RSS_TARGET_MB * 2 ** 20,
  );
  add(
    `refreshes during the ${s.watchS} s watch${watchStart - primeEnd > 1000 ? ` (from ${((watchStart - t) / 1000).toFixed(0)} s after priming began)` : ''}`,
    `${ahead + late} (${((ahead + late) / s.watchS).toFixed(0)}/s): ${ahead} before the old token expired, ${late} after; srv CPU ${((watchCpuUs / 1e6 / s.watchS) * 100).toFixed(0)} %`,
  );
  add(
    'max upstream calls at once, refresher',
    `${maxRefresher} (all calls: ${fake.maxInFlight}; ${log.length - refresherCalls.length} started by sampled requests)`,
    `<= ${s.concurrency}`,
    maxRefresher <= s.concurrency,
  );
  add(
    `${noun} without a live token at some point in the watch`,
    `${lapsedApps} of ${n}${lapsedApps ? ` (${(gapMs / 1000).toFixed(0)} app-s in total, longest ${(longestGapMs / 1000).toFixed(1)} s)` : ''}`,
    '0',
    lapsedApps === 0,
  );
  add(
    `sampled ${call} (${samples.length}, one every ${((s.watchS * 1000) / Math.max(1, s.samples)).toFixed(0)} ms)`,
    `${failed.length} not returnCode 0, ${expired.length} expired token, ${waited.length} waited on the upstream${failed.length ? ` — first: ${failed[0].problem}` : ''}`,
    'all 0 / 0 / 0',
    failed.length + expired.length + waited.length === 0 && samples.length === s.samples,
  );
  add(
    `sampled ${call} p50 / p99 / max`,
    `${ms(quantile(latencies, 0.5))} / ${ms(quantile(latencies, 0.99))} / ${ms(latencies[latencies.length - 1] ?? 0)} ms`,
  );
}
