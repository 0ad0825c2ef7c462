/**
 * Fresh vs worked node, side by side: `node --require tsx/cjs bench/worked.ts [--rounds N]
 * [--duration S] [--connections N] [--cpu-prof] [--heap]`
 *
 * Starts two gatehouse nodes (SQLite, each its own database) against one in-process fake, runs the
 * mixed functional workload of bench/warm.ts against one of them (the worked node), then loads cached
 * wechat.app.token, qcloud.cam.auth and the error path on each node in turn, fresh and worked
 * alternating, `rounds` times (alternating spreads whatever else the machine does over both).
 * Prints req/s and the server's CPU per request of each load, and worked / fresh over all rounds.
 * `--cpu-prof`: V8 CPU profiles of both nodes, summarised per load; `--heap`: a heap snapshot of each
 * node after the loads (written into the temp directories printed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { onTeardown, teardown } from './children';
import { FakeWechat } from './fake-wechat';
import { runLoad } from './load';
import { cpuTimeUs, rssBytes } from './machine';
import { nowUs, summarizeProfiles, type Window } from './profile';
import { callerHeaders, tokenBody } from './tokens';
import {
  expectReturnCode,
  liveSession,
  putWechatApp,
  rpcBody,
  sqliteDatabase,
  startGatehouse,
  type Target,
} from './targets';
import { warmUp } from './warm';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    'cpu-prof': { type: 'boolean', default: false },
    heap: { type: 'boolean', default: false },
    'no-warm': { type: 'boolean', default: false },
  },
});
const durationS = Number(values.duration);
const connections = Number(values.connections);
const say = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Node {
  label: 'fresh' | 'worked';
  gh: Target;
  dir: string;
  windows: Window[];
  scenarios: Array<{ name: string; body: string; code: number; headers?: Record<string, string> }>;
  /** per scenario: requests, CPU µs, seconds measured */
  sums: Map<string, { requests: number; cpuUs: number; rps: number[]; failed: number }>;
}

async function load(n: Node, s: Node['scenarios'][number]): Promise<string> {
  const sample = await expectReturnCode('sample', n.gh.url, s.body, s.code, s.headers);
  const before = cpuTimeUs(n.gh.child.proc.pid)!;
  const started = nowUs();
  const r = await runLoad({
    url: n.gh.url,
    body: s.body,
    headers: s.headers,
    expectBody: sample.text,
    connections,
    durationS,
    warmupS: 1,
  });
  n.windows.push({ label: `${n.label} ${s.name}`, fromUs: started + 1e6, toUs: nowUs() });
  const served = r.total + r.warmupTotal;
  const cpu = cpuTimeUs(n.gh.child.proc.pid)! - before;
  const sum = n.sums.get(s.name) ?? { requests: 0, cpuUs: 0, rps: [], failed: 0 };
  sum.requests += served;
  sum.cpuUs += cpu;
  sum.rps.push(r.requestsPerSec);
  sum.failed += r.errors + r.timeouts + r.non2xx + r.mismatches;
  n.sums.set(s.name, sum);
  return `${r.requestsPerSec.toFixed(0).padStart(6)}/s ${(cpu / served).toFixed(1).padStart(6)} us/req`;
}

async function node(label: Node['label'], fake: FakeWechat): Promise<Node> {
  const db = sqliteDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gh-${label}-`));
  const gh = await startGatehouse({
    name: `gatehouse ${label}`,
    databaseUrl: db.url,
    wechatApi: fake.url,
    cpuProfDir: values['cpu-prof'] ? dir : undefined,
    nodeArgs: values.heap ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`] : [],
  });
  onTeardown(`drop ${label}`, () => db.drop());
  const session = await liveSession(gh);
  await putWechatApp(gh, 'bench', { appId: 'wxbench0000000001', secret: 's' });
  return {
    label,
    gh,
    dir,
    windows: [],
    sums: new Map(),
    scenarios: [
      { name: 'token', body: tokenBody('bench'), code: 0, headers: callerHeaders() },
      { name: 'auth', body: rpcBody('qcloud.cam.auth', session), code: 0 },
      { name: 'error', body: rpcBody('no.such.interface', {}), code: 1010 },
    ],
  };
}

async function snapshot(n: Node): Promise<void> {
  const before = new Set(fs.readdirSync(n.dir));
  n.gh.child.proc.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const made = fs.readdirSync(n.dir).filter((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!made.length) continue;
    const f = path.join(n.dir, made[0]);
    let size = -1;
    while (size !== fs.statSync(f).size) {
      size = fs.statSync(f).size;
      await sleep(500);
    }
    const to = path.join(n.dir, `${n.label}.heapsnapshot`);
    fs.renameSync(f, to);
    say(`heap snapshot: ${to}`);
    return;
  }
}

async function main() {
  const fake = await new FakeWechat().start();
  onTeardown('fake', () => fake.stop());
  const fresh = await node('fresh', fake);
  const worked = await node('worked', fake);
  if (!values['no-warm']) {
    const w = await warmUp(worked.gh.url);
    say(`warm-up of the worked node: ${w.requests} requests in ${w.ms} ms, returnCodes ${JSON.stringify(w.codes)}`);
  }
  await sleep(1000);
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (let i = 0; i < fresh.scenarios.length; i++) {
      // alternate which node goes first
      const order = round % 2 ? [fresh, worked] : [worked, fresh];
      for (const n of order)
        say(`round ${round} ${n.label.padEnd(6)} ${n.scenarios[i].name.padEnd(6)} ${await load(n, n.scenarios[i])}`);
    }
  }
  say('');
  for (const n of [fresh, worked]) say(`${n.label}: RSS ${(rssBytes(n.gh.child.proc.pid)! / 2 ** 20).toFixed(0)} MB`);
  for (const s of fresh.scenarios) {
    const a = fresh.sums.get(s.name)!;
    const b = worked.sums.get(s.name)!;
    const ratios = a.rps.map((x, i) => (b.rps[i] / x) * 100);
    say(
      `${s.name.padEnd(6)} worked/fresh: req/s ${ratios.map((r) => r.toFixed(0)).join(', ')} % (mean ${(ratios.reduce((x, y) => x + y, 0) / ratios.length).toFixed(0)} %); CPU/req ${(a.cpuUs / a.requests).toFixed(1)} -> ${(b.cpuUs / b.requests).toFixed(1)} us (${((b.cpuUs / b.requests / (a.cpuUs / a.requests)) * 100).toFixed(0)} %)${a.failed + b.failed ? `; FAILED ${a.failed} / ${b.failed}` : ''}`,
    );
  }
  if (values.heap) for (const n of [fresh, worked]) await snapshot(n);
  for (const n of [fresh, worked]) await n.gh.stop();
  if (values['cpu-prof'])
    for (const n of [fresh, worked]) {
      say(`\nCPU profile of the ${n.label} node (${n.dir}):`);
      say(summarizeProfiles(n.dir, n.windows, 25));
    }
}

main().then(
  () => teardown().then(() => process.exit(0)),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    void teardown().then(() => process.exit(1));
  },
);
