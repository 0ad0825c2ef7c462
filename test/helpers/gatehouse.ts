import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configFromEnv } from '../../system/config';
import { mintCaller } from '../../system/callers';
import { createLogger } from '../../system/log';
import { start, type Gatehouse } from '../../application';
import { freshDatabase, type Dialect, type TestDatabase } from './db';
import { FakePlatform } from '../fake/platform';
import { registerLog } from './log-scan';

export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef';

export interface Envelope {
  returnCode: number;
  returnMessage: string;
  returnData: any;
  version?: unknown;
  componentName?: unknown;
}

export interface TestNode {
  gh: Gatehouse;
  db: TestDatabase;
  url: string;
  logFile: string;
  /** a caller JWT; scope "*" unless told otherwise */
  token(scope?: string, apps?: string[], ttlSeconds?: number): string;
  /** resolves once every token minted so far is recorded in the store (token() records it in the background) */
  recorded(): Promise<void>;
  rpc(interfaceName: string, para: unknown, token?: string): Promise<Envelope>;
  /** raw POST to the RPC endpoint */
  post(
    body: string,
    headers?: Record<string, string>,
    route?: string,
  ): Promise<{ status: number; body: any; text: string }>;
  close(): Promise<void>;
}

export interface NodeOptions {
  dialect: Dialect;
  fake?: FakePlatform;
  env?: Record<string, string>;
  /** reuse this database instead of a fresh one (several nodes on one store) */
  db?: TestDatabase;
}

/** Starts gatehouse in this process on an ephemeral loopback port against a fresh database. */
export async function startNode(opts: NodeOptions): Promise<TestNode> {
  const db = opts.db ?? (await freshDatabase(opts.dialect));
  const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gh-log-')), 'gatehouse.log');
  registerLog(logFile);
  const env: Record<string, string> = {
    GATEHOUSE_PORT: '0',
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_DATABASE_URL: db.url,
    GATEHOUSE_JWT_SECRET: JWT_SECRET,
    GATEHOUSE_LOG_LEVEL: 'debug',
    GATEHOUSE_UPSTREAM_TIMEOUT_MS: '1000',
    ...(opts.fake ? { GATEHOUSE_WECHAT_API: opts.fake.url, GATEHOUSE_WECOM_API: opts.fake.url } : {}),
    ...opts.env,
  };
  const config = configFromEnv(env);
  const log = createLogger(config.logLevel, (await import('pino')).default.destination({ dest: logFile, sync: true }));
  const gh = await start(config, log);
  const url = `http://127.0.0.1:${gh.port}`;
  const post = async (body: string, headers: Record<string, string> = {}, route = '/') => {
    const res = await fetch(url + route, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };
  // minted like `gatehouse caller token`: with a jti, recorded in the store (awaited before close)
  const recording: Promise<unknown>[] = [];
  const token = (scope = '*', apps?: string[], ttlSeconds = 3600) => {
    const minted = mintCaller(gh.jwtSecret, { sub: 'test', scope, apps, ttlSeconds });
    recording.push(gh.services.store.recordCaller(minted.record).catch(() => undefined));
    return minted.token;
  };
  return {
    gh,
    db,
    url,
    logFile,
    token,
    async recorded() {
      await Promise.all(recording);
    },
    post,
    async rpc(interfaceName, para, tok) {
      const res = await post(
        JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } }),
        tok ? { authorization: `Bearer ${tok}` } : {},
      );
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
      return res.body as Envelope;
    },
    async close() {
      await Promise.all(recording);
      await gh.close();
      if (!opts.db) await db.drop();
    },
  };
}

/** a fake WeChat that knows one app, and a SQLite node with that app configured (wechat_app `codeName`) */
export async function nodeWithWechatApp(
  appId: string,
  secret: string,
  codeName = 'shop',
): Promise<{ fake: FakePlatform; node: TestNode; close(): Promise<void> }> {
  const fake = await new FakePlatform().start();
  fake.app(appId, secret);
  const node = await startNode({ dialect: 'sqlite', fake });
  const put = await node.rpc(
    'admin.app.put',
    { platform: 'wechat_app', codeName, config: { appId, secret } },
    node.token('admin.*'),
  );
  if (put.returnCode !== 0) throw new Error(`admin.app.put: ${JSON.stringify(put)}`);
  return {
    fake,
    node,
    async close() {
      await node.close();
      await fake.stop();
    },
  };
}
