import fs from 'node:fs';
import jwt from 'jsonwebtoken';
import { startChild, type Child } from './children';
import { MENU_BODY, type FakeStats } from './fake-wechat';
import { rssBytes } from './machine';
import { shellQuote } from './load';
import { PROXY_APP, PROXY_CODE_NAME } from './proxy';
import { PUSH_CONTENT_TYPE, signedPush, TP, verifyTicketXml } from './pushes';
import type { SoakLoadResult, SoakLoadSpec } from './soak-load';
import {
  get,
  JWT_SECRET,
  liveSession,
  mariadbDatabase,
  post,
  putApp,
  putWechatApp,
  REPO,
  rpcBody,
  sqliteDatabase,
  startFakeWechatProcess,
  startGatehouse,
  type BenchDatabase,
  type Reply,
  type Target,
} from './targets';

/**
 * `npm run bench -- --soak S [--soak-store sqlite|mariadb] [--soak-warmup W] [--connections N]`
 *
 * Mixed traffic against ONE gatehouse process (SQLite temp file, or a fresh MariaDB database) with
 * the fake WeChat as a process of its own, for W s of warm-up and then S s measured. Five traffic
 * kinds, each from its own autocannon process (bench/soak-load.ts), N/5 connections each, all at
 * the same time:
 *
 *   auth       qcloud.cam.auth with a live session (mini program "bench")
 *   token      wechat.app.token of the wechat_app "soak" (cached), caller JWT
 *   jsconfig   wechat.app.jsconfig of "soak", url https://example.com/page (cached jsapi ticket)
 *   proxy      GET /proxy/wechat-app/proxy/cgi-bin/menu/get (forwarded to the fake)
 *   callbacks  POST /wechat-tp/tp/events: one signed, encrypted component_verify_ticket push, replayed
 *
 * Every response body is checked (autocannon's verifyBody, in the load process): RPC answers must
 * be a JSON envelope with returnCode 0 (another returnCode, e.g. 1001, is an error envelope), the
 * push's answer exactly `success`, the proxied GET exactly the fake's menu JSON. The gatehouse RSS
 * (VmRSS) is sampled every 5 s; the baseline is the sample at the end of the warm-up. Targets:
 * RSS growth <= SOAK_RSS_GROWTH_PCT, and no failed request in the measured run: zero non-2xx (5xx
 * or not), zero error envelopes, zero bad bodies, zero connection errors / timeouts.
 */

export const SOAK_RSS_GROWTH_PCT = 10;
const SAMPLE_MS = 5000;
const JSCONFIG_URL = 'https://example.com/page';
const SOAK_APP = { codeName: 'soak', appId: 'wxsoak0000000001', secret: 's' };

export interface SoakSettings {
  durationS: number;
  warmupS: number;
  connections: number;
  mariadb: boolean;
}

interface Kind {
  name: string;
  what: string;
  spec: SoakLoadSpec;
  child?: Child;
  result?: SoakLoadResult;
  failed?: string;
}

const mb = (b: number | undefined) => (b === undefined ? '?' : (b / 1048576).toFixed(1));

/** runs the soak; returns the process exit code (1: it could not run) */
export async function soak(s: SoakSettings, say: (line: string) => void): Promise<number> {
  const db: BenchDatabase | string = s.mariadb ? await mariadbDatabase() : sqliteDatabase();
  if (typeof db === 'string') {
    process.stderr.write(`bench: soak: --soak-store mariadb, but ${db}\n`);
    return 1;
  }
  const store = s.mariadb ? 'MariaDB' : 'SQLite';
  const perKind = Math.max(1, Math.round(s.connections / 5));
  say(
    `soak: gatehouse on ${store} (${db.url}), the fake WeChat as its own process; ${s.warmupS} s warm-up + ${s.durationS} s, 5 kinds x ${perKind} connections`,
  );
  let fake: Target | undefined;
  let gh: Target | undefined;
  try {
    fake = await startFakeWechatProcess();
    gh = await startGatehouse({ name: `gatehouse soak (${store})`, databaseUrl: db.url, wechatApi: fake.url });
    const pid = gh.child.proc.pid;

    // the apps, and one good answer of each kind before the load
    const session = await liveSession(gh);
    await putWechatApp(gh, SOAK_APP.codeName, { appId: SOAK_APP.appId, secret: SOAK_APP.secret });
    await putApp(gh, 'wechat_app', PROXY_CODE_NAME, PROXY_APP);
    await putApp(gh, 'wechat_tp', TP.codeName, { ...TP.config });
    const lifeS = s.warmupS + s.durationS + 3600;
    const caller = {
      authorization: `Bearer ${jwt.sign({ scope: '*' }, JWT_SECRET, { algorithm: 'HS256', subject: 'bench', expiresIn: lifeS })}`,
    };
    const proxyCaller = {
      authorization: `Bearer ${jwt.sign({ sub: 'bench-proxy', scope: 'proxy.*' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: lifeS })}`,
    };
    const push = signedPush(verifyTicketXml('ticket@@@soak'));
    const base = { connections: perKind, warmupS: s.warmupS, durationS: s.durationS };
    const rpc = (name: string, what: string, body: string, headers: Record<string, string> = {}): Kind => ({
      name,
      what,
      spec: {
        ...base,
        url: gh!.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        check: 'envelope',
      },
    });
    const kinds: Kind[] = [
      rpc('auth', 'qcloud.cam.auth, live session', rpcBody('qcloud.cam.auth', session)),
      rpc('token', 'wechat.app.token (cached)', rpcBody('wechat.app.token', { codeName: SOAK_APP.codeName }), caller),
      rpc(
        'jsconfig',
        `wechat.app.jsconfig ${JSCONFIG_URL}`,
        rpcBody('wechat.app.jsconfig', { codeName: SOAK_APP.codeName, url: JSCONFIG_URL }),
        caller,
      ),
      {
        name: 'proxy',
        what: `GET /proxy/wechat-app/${PROXY_CODE_NAME}/cgi-bin/menu/get`,
        spec: {
          ...base,
          url: `${gh.url}/proxy/wechat-app/${PROXY_CODE_NAME}/cgi-bin/menu/get`,
          method: 'GET',
          headers: proxyCaller,
          check: 'exact',
          expect: MENU_BODY,
        },
      },
      {
        name: 'callbacks',
        what: `POST /wechat-tp/${TP.codeName}/events (signed push)`,
        spec: {
          ...base,
          url: `${gh.url}${push.path}`,
          method: 'POST',
          headers: { 'content-type': PUSH_CONTENT_TYPE },
          body: push.body,
          check: 'exact',
          expect: 'success',
        },
      },
    ];
    for (const k of kinds) {
      const x = k.spec;
      const r: Reply = x.method === 'GET' ? await get(x.url, x.headers) : await post(x.url, x.body!, x.headers);
      const ok =
        x.check === 'exact' ? r.status === 200 && r.text === x.expect : r.status === 200 && r.body?.returnCode === 0;
      if (!ok)
        throw new Error(`soak ${k.name}: the sample before the load failed: HTTP ${r.status}: ${r.text.slice(0, 300)}`);
    }

    // the load: five autocannon processes at once; the RSS every 5 s
    const samples: Array<{ t: number; rss: number | undefined }> = [];
    const t0 = Date.now();
    const sample = () => samples.push({ t: (Date.now() - t0) / 1000, rss: rssBytes(pid) });
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    let baseline: number | undefined;
    const warmTimer = setTimeout(() => (baseline = rssBytes(pid)), s.warmupS * 1000);
    for (const k of kinds)
      k.child = startChild(
        `soak load ${k.name}`,
        ['--require', 'tsx/cjs', 'bench/soak-load.ts', JSON.stringify(k.spec)],
        { cwd: REPO, stdoutOnly: true },
      );
    let lastProgress = Date.now();
    const progress = setInterval(() => {
      if (Date.now() - lastProgress < 60_000) return;
      lastProgress = Date.now();
      const t = Math.round((Date.now() - t0) / 1000);
      say(`  t=${t} s: gatehouse RSS ${mb(rssBytes(pid))} MB`);
    }, 1000);
    await Promise.all(
      kinds.map(async (k) => {
        const code = await k.child!.exited;
        const out = k.child!.output();
        const line = out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .pop();
        if (code !== 0 || !line) k.failed = `load process exited ${code}: ${out.trim().slice(-500)}`;
        else k.result = JSON.parse(line) as SoakLoadResult;
      }),
    );
    clearInterval(timer);
    clearInterval(progress);
    clearTimeout(warmTimer);
    const end = rssBytes(pid);
    samples.push({ t: (Date.now() - t0) / 1000, rss: end });
    const died = gh.child.done() ? `${gh.name} died under load:\n${gh.child.output().trim()}` : undefined;
    const stats = JSON.parse((await get(`${fake.url}/__bench/stats`)).text) as FakeStats;
    const dbBytes = db.url.startsWith('sqlite:') ? sqliteSize(db.url.slice('sqlite:'.length)) : undefined;

    // the report
    const after = samples.filter((x) => x.t >= s.warmupS && x.rss !== undefined).map((x) => x.rss!);
    const max = after.length ? Math.max(...after) : undefined;
    const growth = baseline !== undefined && end !== undefined ? ((end - baseline) / baseline) * 100 : undefined;
    say('');
    say(
      `Soak (gatehouse on ${store}; ${s.warmupS} s warm-up, then ${s.durationS} s measured; 5 autocannon processes x ${perKind} connections, all at once):`,
    );
    say('');
    const head = [
      'kind',
      'requests',
      'req/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'non-2xx',
      '5xx',
      'errors',
      'bad body',
      'rc != 0',
    ];
    const rows = kinds.map((k) => {
      const m = k.result?.measured;
      if (!m) return [k.name, `FAILED: ${k.failed ?? '?'}`.slice(0, 80)];
      return [
        k.name,
        String(m.total),
        m.requestsPerSec.toFixed(0),
        String(m.p50),
        String(m.p99),
        String(m.max),
        String(m.non2xx),
        String(m.s5xx),
        String(m.errors + m.timeouts),
        String(m.badBodies),
        String(m.nonZero),
      ];
    });
    const total = kinds.reduce(
      (a, k) => {
        const m = k.result?.measured;
        return m ? { n: a.n + m.total, rps: a.rps + m.requestsPerSec } : a;
      },
      { n: 0, rps: 0 },
    );
    rows.push(['all', String(total.n), total.rps.toFixed(0)]);
    say(grid(head, rows));
    say('');
    for (const k of kinds) say(`  ${k.name.padEnd(9)} ${k.what}`);
    const warm = kinds.map((k) => k.result?.warmup).filter((w) => w !== undefined);
    const sum = (f: (w: (typeof warm)[number]) => number) => warm.reduce((a, w) => a + f(w), 0);
    say(
      `  warm-up (not in the table): ${sum((w) => w.total)} requests, ${sum((w) => w.non2xx)} non-2xx, ${sum((w) => w.s5xx)} 5xx, ${sum((w) => w.badBodies)} bad bodies, ${sum((w) => w.errors + w.timeouts)} errors`,
    );
    say(
      "  bad body: not a JSON envelope with a numeric returnCode (RPC), not exactly `success` (callbacks), not the fake's",
    );
    say(
      '  menu JSON (proxy); every response is checked (autocannon verifyBody). rc != 0: error envelopes (returnCode != 0).',
    );
    say(
      "  Every non-2xx, error envelope, bad body and connection error is a failed request: the soak's targets allow none.",
    );
    for (const k of kinds) {
      if (k.result?.firstBad) say(`  ${k.name}: first bad body: ${k.result.firstBad}`);
      if (k.result?.firstNonZero) say(`  ${k.name}: first returnCode != 0: ${k.result.firstNonZero}`);
      const codes = k.result ? { ...k.result.warmup.statusCodes } : {};
      for (const [c, n] of Object.entries(k.result?.measured.statusCodes ?? {})) codes[c] = (codes[c] ?? 0) + n;
      if (Object.keys(codes).some((c) => c !== '200'))
        say(`  ${k.name}: status codes (warm-up + measured): ${JSON.stringify(codes)}`);
    }
    say('');
    say(
      `Gatehouse RSS (VmRSS of pid ${pid}, every ${SAMPLE_MS / 1000} s): at start ${mb(samples[0].rss)} MB; after warm-up ${mb(baseline)} MB; at the end ${mb(end)} MB; max after warm-up ${mb(max)} MB`,
    );
    const growthOk = growth !== undefined && growth <= SOAK_RSS_GROWTH_PCT;
    say(
      `  growth after warm-up: ${growth === undefined ? '?' : `${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %`} (target <= ${SOAK_RSS_GROWTH_PCT} %) ${growthOk ? 'met' : 'MISSED'}`,
    );
    say(`  timeline (s: MB): ${samples.map((x) => `${Math.round(x.t)}: ${mb(x.rss)}`).join(', ')}`);
    say(
      `The fake WeChat: ${stats.tokenCalls} token calls, ${stats.ticketCalls} getticket calls, ${stats.menuCalls} menu/get calls (${stats.menuRejected} answered 40001), ${stats.connections} TCP connections accepted`,
    );
    if (dbBytes !== undefined) say(`SQLite file at the end (db + -wal + -shm): ${mb(dbBytes)} MB`);
    say('');
    const problems = soakProblems(kinds, { died: !!died, growthPct: growth });
    say(
      problems.length
        ? `SOAK TARGETS MISSED: ${problems.join('; ')}`
        : 'Soak targets met: RSS growth, zero non-2xx, zero error envelopes, zero bad bodies, zero connection errors.',
    );
    if (died) say(died);
    say('');
    say(
      'Load commands (one process per kind, from the repository root; the session and caller JWTs were minted for this run):',
    );
    for (const k of kinds)
      say(`  # ${k.name}\n  node --require tsx/cjs bench/soak-load.ts ${shellQuote(JSON.stringify(k.spec))}`);
    return kinds.some((k) => k.failed) || died ? 1 : 0;
  } catch (err) {
    process.stderr.write(`bench: soak: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await gh?.stop();
    await fake?.stop();
    await db.drop();
  }
}

/**
 * Why the soak missed its targets (empty: met). Every failed request counts: non-2xx of any kind
 * (5xx among them), error envelopes (returnCode != 0, e.g. 1001), bad bodies, connection errors and
 * timeouts; and a kind that did not run, a gatehouse that died, RSS growth over the target.
 */
export function soakProblems(
  kinds: Array<{ name: string; failed?: string; result?: Pick<SoakLoadResult, 'measured'> }>,
  o: { died: boolean; growthPct: number | undefined },
): string[] {
  const all = kinds.map((k) => k.result?.measured).filter((m) => m !== undefined);
  const sum = (f: (m: (typeof all)[number]) => number) => all.reduce((a, m) => a + f(m), 0);
  const non2xx = sum((m) => m.non2xx);
  const s5xx = sum((m) => m.s5xx);
  const envelopes = sum((m) => m.nonZero);
  const bad = sum((m) => m.badBodies);
  const errors = sum((m) => Math.max(m.errors, m.timeouts));
  const growthOk = o.growthPct !== undefined && o.growthPct <= SOAK_RSS_GROWTH_PCT;
  return [
    ...kinds.filter((k) => k.failed || !k.result).map((k) => `${k.name} did not run`),
    ...(o.died ? ['gatehouse died'] : []),
    ...(growthOk ? [] : [`RSS growth ${o.growthPct?.toFixed(1) ?? '?'} % > ${SOAK_RSS_GROWTH_PCT} %`]),
    ...(non2xx ? [`${non2xx} non-2xx (${s5xx} of them 5xx)`] : []),
    ...(envelopes ? [`${envelopes} error envelopes (returnCode != 0)`] : []),
    ...(bad ? [`${bad} bad bodies`] : []),
    ...(errors ? [`${errors} connection errors/timeouts`] : []),
  ];
}

function sqliteSize(file: string): number | undefined {
  let n = 0;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      n += fs.statSync(f).size;
    } catch {
      // not there
    }
  }
  return n || undefined;
}

function grid(head: string[], rows: string[][]): string {
  const w = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[1]?.startsWith('FAILED') && i >= 1 ? 0 : (r[i] ?? '').length))),
  );
  const line = (r: string[]) =>
    `  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : r[1]?.startsWith('FAILED') ? c : c.padStart(w[i]))).join('  ')}`.trimEnd();
  return [line(head), `  ${w.map((n) => '-'.repeat(n)).join('  ')}`, ...rows.map(line)].join('\n');
}
