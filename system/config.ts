import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import dotenv from 'dotenv';
import { hostUrls } from '../db/hosts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  jwtSecret?: string;
  masterKey?: Buffer;
  appsFile?: string;
  publicUrl: string;
  logLevel: LogLevel;
  upstreamTimeoutMs: number;
  publicRateLimit: number;
  trustProxy: boolean;
  /**
   * WeChat Cloud Hosting: accept the decrypted JSON pushes its internal network delivers with an
   * `x-wx-source` header on the WeChat callback routes (never trusted otherwise)
   */
  cloudHosting: boolean;
  metricsToken?: string;
  pushRetentionDays: number;
  /** largest request body a proxy route forwards (bytes) */
  proxyBodyLimit: number;
  /** how long a node may answer `auth` from its memory before re-reading the session row */
  sessionCacheMs: number;
  /** token engine: upstream refreshes the background refresher keeps in flight at once */
  refreshConcurrency: number;
  /** token engine: how often the background refresher looks for tokens due */
  refreshScanMs: number;
  /**
   * whether this node runs the background refresher; off (serverless, where the process may be
   * frozen between requests), tokens are refreshed on demand by the same engine and leases
   */
  backgroundRefresh: boolean;
  /** the path prefix every route is served under ('' = none; e.g. /release behind API Gateway) */
  basePath: string;
  /** after SIGTERM / SIGINT: how long /readyz answers 503 while the node still serves, before it stops listening */
  drainMs: number;
  /**
   * varys-compatible routes (application/controllers/varys): off unless GATEHOUSE_VARYS_COMPAT=true;
   * served under `basePath` (varys's ContextPath); a caller without a caller token must connect from
   * one of the `allow` CIDRs (default loopback)
   */
  varys: VarysCompat;
  /**
   * the environment the config was read from: the platforms read their upstream base URLs from it
   * (GATEHOUSE_WECHAT_API …, declared in each platform's contract and checked at start-up)
   */
  env: Readonly<Env>;
}

export interface VarysCompat {
  enabled: boolean;
  basePath: string;
  /** CIDRs, normalised (`127.0.0.0/8`, `::1/128`, `10.1.2.3/32` …) */
  allow: string[];
}

/** A configuration problem: the message names the variable, the process prints it and exits 1. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** the variables that hold credentials: read into their own fields above, never kept in `env` */
const CREDENTIALS = new Set([
  'GATEHOUSE_MASTER_KEY',
  'GATEHOUSE_JWT_SECRET',
  'GATEHOUSE_DATABASE_URL',
  'GATEHOUSE_METRICS_TOKEN',
]);

function str(env: Env, name: string, def: string): string {
  const v = env[name];
  return v === undefined || v === '' ? def : v;
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}: must be a whole number, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(`${name}: must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}: must be true or false, got "${raw}"`);
}

/** an http(s) URL from the environment (trailing slashes dropped), or a ConfigError naming the variable */
export function httpUrl(env: Env, name: string, def: string): string {
  const raw = str(env, name, def);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: not a valid URL: "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConfigError(`${name}: must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

function databaseUrl(env: Env): string {
  const name = 'GATEHOUSE_DATABASE_URL';
  const raw = str(env, name, 'sqlite:./data/gatehouse.db');
  if (raw.startsWith('sqlite:')) {
    if (raw.length === 'sqlite:'.length) throw new ConfigError(`${name}: sqlite: needs a file path`);
    return raw;
  }
  // several hosts (h1:3306,h2:3306,…: failover order) are checked one by one, each as its own URL
  for (const one of hostUrls(raw)) {
    let u: URL;
    try {
      u = new URL(one);
    } catch {
      throw new ConfigError(`${name}: must be sqlite:<path> or mariadb://user:pass@host:port[,host:port…]/db`);
    }
    if (u.protocol !== 'mariadb:' && u.protocol !== 'mysql:') {
      throw new ConfigError(`${name}: unsupported scheme "${u.protocol}" (use sqlite: or mariadb://)`);
    }
    if (!u.hostname) throw new ConfigError(`${name}: missing host`);
    if (u.port !== '' && !/^\d+$/.test(u.port))
      throw new ConfigError(`${name}: port must be a number, got "${u.port}"`);
    if (u.pathname.replace(/^\//, '') === '') throw new ConfigError(`${name}: missing database name`);
    for (const [k, v] of u.searchParams) {
      if (k !== 'connectionLimit')
        throw new ConfigError(`${name}: unknown parameter "${k}" (the only one is connectionLimit)`);
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000) {
        throw new ConfigError(`${name}: connectionLimit must be a whole number from 1 to 1000, got "${v}"`);
      }
    }
  }
  return raw;
}

/**
 * Where a GATEHOUSE_DATABASE_URL points, for humans (start-up line, errors): the kind, and the
 * SQLite file's absolute path or MariaDB's user@host:port/db — never the password.
 */
export function databaseLocation(url: string): { kind: 'sqlite' | 'mariadb'; location: string } {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    return { kind: 'sqlite', location: file === ':memory:' ? file : path.resolve(file) };
  }
  const hosts = hostUrls(url).map((one) => new URL(one));
  const u = hosts[0];
  const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
  return {
    kind: 'mariadb',
    location: `${user}${hosts.map((h) => `${h.hostname}:${h.port || 3306}`).join(',')}/${decodeURIComponent(
      u.pathname.replace(/^\//, ''),
    )}`,
  };
}

/** an IPv4 address written as four numbers must have each from 0 to 255 (999.1.1.1 is not a name) */
function listenHost(env: Env): string {
  const host = str(env, 'GATEHOUSE_HOST', '0.0.0.0');
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new ConfigError(`GATEHOUSE_HOST: not a host name or address: "${host}"`);
  if (
    /^[\d.]+$/.test(host) &&
    !(/^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split('.').every((o) => Number(o) <= 255))
  ) {
    throw new ConfigError(
      `GATEHOUSE_HOST: not an IPv4 address: "${host}" (four numbers 0-255, e.g. 127.0.0.1 or 0.0.0.0)`,
    );
  }
  return host;
}

export function masterKey(env: Env, name = 'GATEHOUSE_MASTER_KEY'): Buffer | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const trimmed = raw.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw new ConfigError(`${name}: must be base64`);
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new ConfigError(`${name}: must be base64 of 32 bytes, got ${key.length} bytes`);
  return key;
}

/**
 * GATEHOUSE_BASE_PATH: '' (unset), or a path of one or more segments of URL-safe characters, starting
 * with / and without a trailing slash (/release, /api/gatehouse)
 */
function basePath(env: Env, name = 'GATEHOUSE_BASE_PATH'): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return '';
  const segments = raw.split('/').slice(1);
  if (!raw.startsWith('/') || segments.some((s) => !/^[A-Za-z0-9._~-]+$/.test(s) || s === '.' || s === '..')) {
    throw new ConfigError(
      `${name}: must be a path such as /release (starting with /, no trailing slash, segments of letters, digits ` +
        `and . _ ~ -), got "${raw}"`,
    );
  }
  return raw;
}

/** one CIDR (or a bare address: /32, /128), normalised; a ConfigError naming the variable otherwise */
export function parseCidr(raw: string, name: string): string {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(raw.trim());
  const addr = m?.[1] ?? '';
  const family = net.isIPv4(addr) ? 4 : net.isIPv6(addr) ? 6 : 0;
  const max = family === 4 ? 32 : 128;
  const bits = m?.[2] === undefined ? max : Number(m[2]);
  if (!family || bits > max) {
    throw new ConfigError(`${name}: not a CIDR: "${raw.trim()}" (e.g. 127.0.0.0/8, 10.0.0.0/8, ::1/128)`);
  }
  return `${addr}/${bits}`;
}

function varysCompat(env: Env): VarysCompat {
  const raw = env.GATEHOUSE_VARYS_ALLOW;
  const list =
    raw === undefined || raw.trim() === '' ? ['127.0.0.0/8', '::1/128'] : raw.split(/[\s,]+/).filter(Boolean);
  return {
    enabled: bool(env, 'GATEHOUSE_VARYS_COMPAT', false),
    basePath: basePath(env, 'GATEHOUSE_VARYS_BASE_PATH'),
    allow: list.map((c) => parseCidr(c, 'GATEHOUSE_VARYS_ALLOW')),
  };
}

function logLevel(env: Env): LogLevel {
  const raw = str(env, 'GATEHOUSE_LOG_LEVEL', 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError(`GATEHOUSE_LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  }
  return raw as LogLevel;
}

/** Builds the configuration from an environment (validated; throws ConfigError). */
export function configFromEnv(env: Env): Config {
  const appsFile = env.GATEHOUSE_APPS_FILE || undefined;
  if (appsFile !== undefined && !fs.existsSync(appsFile)) {
    throw new ConfigError(`GATEHOUSE_APPS_FILE: no such file "${appsFile}"`);
  }
  const host = listenHost(env);
  return {
    port: int(env, 'GATEHOUSE_PORT', 4236, 0, 65535),
    host,
    databaseUrl: databaseUrl(env),
    jwtSecret: env.GATEHOUSE_JWT_SECRET || undefined,
    masterKey: masterKey(env),
    appsFile: appsFile && path.resolve(appsFile),
    publicUrl: httpUrl(env, 'GATEHOUSE_PUBLIC_URL', 'http://localhost:4236'),
    logLevel: logLevel(env),
    upstreamTimeoutMs: int(env, 'GATEHOUSE_UPSTREAM_TIMEOUT_MS', 3000, 1, 600000),
    publicRateLimit: int(env, 'GATEHOUSE_PUBLIC_RATE_LIMIT', 100, 0, 10_000_000),
    trustProxy: bool(env, 'GATEHOUSE_TRUST_PROXY', false),
    cloudHosting: bool(env, 'GATEHOUSE_CLOUD_HOSTING', false),
    metricsToken: env.GATEHOUSE_METRICS_TOKEN || undefined,
    pushRetentionDays: int(env, 'GATEHOUSE_PUSH_RETENTION_DAYS', 7, 1, 3650),
    proxyBodyLimit: int(env, 'GATEHOUSE_PROXY_BODY_LIMIT', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    sessionCacheMs: int(env, 'GATEHOUSE_SESSION_CACHE_MS', 1000, 0, 60_000),
    refreshConcurrency: int(env, 'GATEHOUSE_REFRESH_CONCURRENCY', 8, 1, 1000),
    refreshScanMs: int(env, 'GATEHOUSE_REFRESH_SCAN_MS', 1000, 50, 3_600_000),
    backgroundRefresh: bool(env, 'GATEHOUSE_BACKGROUND_REFRESH', true),
    basePath: basePath(env),
    drainMs: int(env, 'GATEHOUSE_DRAIN_MS', 5000, 0, 600_000),
    varys: varysCompat(env),
    env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('GATEHOUSE_') && !CREDENTIALS.has(k))),
  };
}

/** process.env plus `.env` in the working directory (the real environment wins). */
export function loadConfig(): Config {
  dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);
  return configFromEnv(process.env);
}
