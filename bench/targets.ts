import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import jwt from 'jsonwebtoken';
import * as mariadb from 'mariadb';
import { onTeardown, startChild, type Child } from './children';

/**
 * The servers under load — each its own child process on a free loopback port — and the
 * databases behind gatehouse.
 */

export const REPO = path.resolve(__dirname, '..');
export const JWT_SECRET = 'bench-secret';
/** the MariaDB the bench creates its database on (BENCH_MARIADB_HOST / _PORT override it) */
const MARIADB = {
  host: process.env.BENCH_MARIADB_HOST || '127.0.0.1',
  port: Number(process.env.BENCH_MARIADB_PORT || 3306),
  user: 'root',
  password: '',
};

export interface Target {
  name: string;
  url: string;
  child: Child;
  /** stops the server (idempotent) */
  stop(): Promise<void>;
}

/** a port nobody listens on right now */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** polls GET /healthz until it answers 200; fails early with the child's output when it dies */
async function waitHealthy(url: string, child: Child, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.done()) {
      throw new Error(
        `${child.name} exited (${await child.exited}) before answering /healthz:\n${child.output().trim()}`,
      );
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `${child.name} did not answer GET /healthz with 200 within ${timeoutMs / 1000} s (last: ${last}):\n${child.output().trim()}`,
  );
}

async function launch(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  timeoutMs?: number,
): Promise<Target> {
  const child = startChild(name, args, { cwd: REPO, env, maxOutput: 16_384 });
  const stop = onTeardown(`stop ${name}`, () => child.stop());
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(url, child, timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }
  return { name, url, child, stop };
}

/** bench/bare-koa.ts: the baselines (`parse`: reading and parsing the JSON body with koa-bodyparser) */
export async function startBareKoa(parse = false): Promise<Target> {
  const port = await freePort();
  return launch(
    parse ? 'bare Koa + koa-bodyparser' : 'bare Koa',
    ['--require', 'tsx/cjs', 'bench/bare-koa.ts'],
    { ...process.env, BENCH_PORT: String(port), BENCH_BODYPARSER: parse ? '1' : '0' },
    port,
  );
}

/** bench/fake-wechat.ts as a process of its own (GET /__bench/stats for its counters) */
export async function startFakeWechatProcess(): Promise<Target> {
  const port = await freePort();
  return launch(
    'fake WeChat',
    ['--require', 'tsx/cjs', 'bench/fake-wechat.ts'],
    { ...process.env, BENCH_PORT: String(port) },
    port,
  );
}

/** bench/plain-proxy.ts in front of `upstream`: the proxy scenario's anchor */
export async function startPlainProxy(upstream: string): Promise<Target> {
  const port = await freePort();
  return launch(
    'plain reverse proxy',
    ['--require', 'tsx/cjs', 'bench/plain-proxy.ts'],
    { ...process.env, BENCH_PORT: String(port), BENCH_UPSTREAM: upstream },
    port,
  );
}

export interface GatehouseOptions {
  name: string;
  databaseUrl: string;
  wechatApi: string;
  /** write a V8 CPU profile of the server into this directory (on exit) */
  cpuProfDir?: string;
  /** more GATEHOUSE_* settings (e.g. GATEHOUSE_APPS_FILE, GATEHOUSE_REFRESH_CONCURRENCY) */
  env?: Record<string, string>;
  /** how long it may take to answer /healthz (an apps file is loaded before it listens) */
  startTimeoutMs?: number;
  /** more node flags (e.g. --trace-gc) */
  nodeArgs?: string[];
}

/**
 * The built server (`npm run build`: one bundled file, schemas compiled ahead), as `npm start` runs it;
 * with a warning when a source file is newer than the build (a stale build measures old code).
 */
let warnedStale = false;
export function builtServer(): string {
  const built = path.join(REPO, 'dist/index.js');
  if (!fs.existsSync(built)) throw new Error('dist/index.js missing: npm run build first (npm run bench does)');
  const builtAt = fs.statSync(built).mtimeMs;
  const newer = (dir: string): string | undefined => {
    for (const e of fs.readdirSync(path.join(REPO, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (rel === path.join('application', 'console')) continue; // the browser side, built by Vite
        const found = newer(rel);
        if (found) return found;
      } else if (e.name.endsWith('.ts') && fs.statSync(path.join(REPO, rel)).mtimeMs > builtAt) return rel;
    }
    return undefined;
  };
  const stale =
    ['application', 'system', 'db'].map(newer).find(Boolean) ??
    (fs.statSync(path.join(REPO, 'index.ts')).mtimeMs > builtAt ? 'index.ts' : undefined);
  if (stale && !warnedStale) {
    warnedStale = true;
    process.stderr.write(`bench: warning: ${stale} is newer than dist/index.js (npm run build; npm run bench does)\n`);
  }
  return built;
}

/** `node dist/index.js serve`, as an operator starts it (`npm start`) */
export async function startGatehouse(o: GatehouseOptions): Promise<Target> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...withoutGatehouseVars(process.env),
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_DATABASE_URL: o.databaseUrl,
    GATEHOUSE_JWT_SECRET: JWT_SECRET,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
    GATEHOUSE_WECHAT_API: o.wechatApi,
    // the fake answers WeCom's gettoken and tickets too (the warm-up's qcloud.work.* calls)
    GATEHOUSE_WECOM_API: o.wechatApi,
    ...o.env,
  };
  const prof = o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  return launch(
    o.name,
    [
      ...prof,
      ...(o.nodeArgs ?? []),
      // BENCH_NODE_ARGS: more node flags for every gatehouse of the run (--cpu-prof-dir=…, --heapsnapshot-signal=…)
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      // BENCH_FROM_SOURCE=1: the sources through tsx, as the bench ran before the build was bundled
      ...(process.env.BENCH_FROM_SOURCE === '1' ? ['--require', 'tsx/cjs', 'index.ts'] : [builtServer()]),
      'serve',
    ],
    env,
    port,
    o.startTimeoutMs,
  );
}

/** the bench's own environment may carry GATEHOUSE_* settings (a .env, a shell); none may leak in */
function withoutGatehouseVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
}

export interface BenchDatabase {
  url: string;
  /** deletes it (idempotent) */
  drop(): Promise<void>;
}

/** a temp-file SQLite store */
export function sqliteDatabase(): BenchDatabase {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-bench-'));
  const drop = onTeardown(`remove ${dir}`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  return { url: `sqlite:${path.join(dir, 'bench.db')}`, drop };
}

/** a fresh MariaDB database gh_bench_<random>; a string saying why when MariaDB is unreachable */
export async function mariadbDatabase(): Promise<BenchDatabase | string> {
  let admin: mariadb.Connection;
  try {
    admin = await mariadb.createConnection({ ...MARIADB, connectTimeout: 2000 });
  } catch (err) {
    return `MariaDB is not reachable at ${MARIADB.host}:${MARIADB.port} as ${MARIADB.user} (${(err as Error).message})`;
  }
  const name = `gh_bench_${crypto.randomBytes(4).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const drop = onTeardown(`drop database ${name}`, async () => {
    const c = await mariadb.createConnection({ ...MARIADB, connectTimeout: 5000 });
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
    } finally {
      await c.end();
    }
  });
  return { url: `mariadb://${MARIADB.user}@${MARIADB.host}:${MARIADB.port}/${name}`, drop };
}

/** a caller token for the admin and backend interfaces: HS256, claims {sub: "bench", scope: "*"}, 1 h */
export function adminToken(): string {
  return jwt.sign({ scope: '*' }, JWT_SECRET, { algorithm: 'HS256', subject: 'bench', expiresIn: 3600 });
}

export interface Reply {
  status: number;
  text: string;
  body: { returnCode?: unknown; returnMessage?: unknown; returnData?: unknown } | undefined;
}

/** the request body of one RPC call */
export function rpcBody(interfaceName: string, para: unknown): string {
  return JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } });
}

/** one POST (JSON unless headers say otherwise), the reply as text and (when it is JSON) parsed */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Reply> {
  return request('POST', url, body, { 'content-type': 'application/json', ...headers }, timeoutMs);
}

/** one GET, the reply as text and (when it is JSON) parsed */
export async function get(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Reply> {
  return request('GET', url, undefined, headers, timeoutMs);
}

async function request(
  method: string,
  url: string,
  body: string | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<Reply> {
  const res = await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let parsed: Reply['body'];
  try {
    parsed = JSON.parse(text) as Reply['body'];
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed };
}

/** POSTs and insists on HTTP 200 with the given returnCode; returns the reply */
export async function expectReturnCode(
  what: string,
  url: string,
  body: string,
  code: number,
  headers?: Record<string, string>,
): Promise<Reply> {
  const r = await post(url, body, headers);
  if (r.status !== 200 || r.body?.returnCode !== code) {
    throw new Error(
      `${what}: expected HTTP 200 with returnCode ${code}, got HTTP ${r.status}: ${r.text.slice(0, 500)}`,
    );
  }
  return r;
}

/**
 * Configures the bench mini program (admin.app.put) and logs in once (qcloud.cam.id_skey against
 * the fake WeChat); returns the live session's credentials.
 */
export async function liveSession(gatehouse: Target): Promise<{ id: string; skey: string }> {
  await putWechatApp(gatehouse, 'bench', { appId: 'wxbench0000000001', secret: 's' });
  const login = await expectReturnCode(
    'qcloud.cam.id_skey',
    gatehouse.url,
    // named: a warmed-up node has more mini programs than this one (bench/warm.ts)
    rpcBody('qcloud.cam.id_skey', { code: 'x', appid: 'wxbench0000000001' }),
    0,
  );
  const data = login.body?.returnData as { id?: unknown; skey?: unknown } | undefined;
  if (typeof data?.id !== 'string' || typeof data.skey !== 'string') {
    throw new Error(`qcloud.cam.id_skey: no id/skey in ${login.text.slice(0, 500)}`);
  }
  return { id: data.id, skey: data.skey };
}

/** admin.app.put of a wechat_app (idempotent: an upsert) */
export async function putWechatApp(
  gatehouse: Target,
  codeName: string,
  config: Record<string, unknown>,
): Promise<void> {
  await putApp(gatehouse, 'wechat_app', codeName, config);
}

/** admin.app.put (idempotent: an upsert) */
export async function putApp(
  gatehouse: Target,
  platform: string,
  codeName: string,
  config: Record<string, unknown>,
): Promise<void> {
  await expectReturnCode(
    `admin.app.put ${platform} ${codeName}`,
    gatehouse.url,
    rpcBody('admin.app.put', { platform, codeName, config }),
    0,
    { authorization: `Bearer ${adminToken()}` },
  );
}

/**
 * Rows of a bench database, read behind gatehouse's back (for checks the RPC interface does not
 * expose, e.g. the stored refresh tokens: stored plain, as the bench sets no GATEHOUSE_MASTER_KEY).
 */
export async function queryDatabase(
  db: BenchDatabase,
  sql: string,
  params: unknown[] = [],
): Promise<Array<Record<string, unknown>>> {
  if (db.url.startsWith('sqlite:')) {
    const conn = new Database(db.url.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
    try {
      return conn.prepare(sql).all(...params) as Array<Record<string, unknown>>;
    } finally {
      conn.close();
    }
  }
  const u = new URL(db.url);
  const conn = await mariadb.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
    connectTimeout: 5000,
  });
  try {
    return (await conn.query(sql, params)) as Array<Record<string, unknown>>;
  } finally {
    await conn.end();
  }
}
