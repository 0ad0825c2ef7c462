import crypto from 'node:crypto';
import os from 'node:os';
import { httpUrl, type Config } from '../../system/config';
import { CallerAuth } from '../../system/callers';
import type { Logger } from '../../system/log';
import { SecretBox } from '../../system/secretbox';
import { Metrics } from '../../system/metrics';
import { RateLimiter } from '../../system/ratelimit';
import { Upstream } from '../../system/upstream';
import type { Store } from '../../db/store';
import { upstreamEnv, type Platform, type Services } from '../contract';
import { AppService, type AppKind } from './apps';
import { AuthStates } from './auth-states';
import type { PlatformDeps } from './deps';
import { PushLog } from './pushes';
import { SessionService } from './sessions';
import { ConsoleAuth } from './console-auth';
import { TokenEngine } from './tokens/engine';

/**
 * The upstream base URLs of every platform, from their GATEHOUSE_* variables or defaults; a
 * ConfigError names the first variable that is not an http(s) URL (checked before the store opens).
 */
export function upstreamUrls(config: Config, platforms: readonly Platform[]): Map<Platform, Record<string, string>> {
  return new Map(
    platforms.map((p) => [
      p,
      Object.fromEntries(
        Object.entries<string>(p.upstreams).map(([k, url]) => {
          const alias = (p.upstreamAliases as Record<string, string | undefined> | undefined)?.[k];
          const own = upstreamEnv(p, k);
          const name = alias && config.env[own] === undefined && config.env[alias] !== undefined ? alias : own;
          return [k, httpUrl(config.env, name, url)];
        }),
      ),
    ]),
  );
}

/** Builds the shared services, then each platform's parts from them; once per process. */
export function buildServices(
  config: Config,
  store: Store,
  log: Logger,
  jwtSecret: string,
  platforms: readonly Platform[],
  kinds: readonly AppKind[],
): Services {
  const urls = upstreamUrls(config, platforms);
  const box = new SecretBox(config.masterKey);
  const metrics = new Metrics();
  const upstream = new Upstream(config.upstreamTimeoutMs, log, metrics);
  const apps = new AppService(store, box);
  for (const kind of kinds) apps.defineKind(kind);
  const pushes = new PushLog(store, config.pushRetentionDays, log);
  const nodeId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const engine = new TokenEngine(store, log, {
    metrics,
    nodeId,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    concurrency: config.refreshConcurrency,
    scanMs: config.refreshScanMs,
  });
  const deps: PlatformDeps = { config, store, log, box, upstream, apps, engine, pushes };
  const parts = new Map<Platform, unknown>(platforms.map((p) => [p, p.build(deps, urls.get(p)!)]));
  const logins = platforms.flatMap((p) =>
    p.miniProgram ? [{ ...p.miniProgram(parts.get(p)), platform: p.name }] : [],
  );
  const callers = new CallerAuth(jwtSecret, store, log);
  return {
    ...deps,
    callers,
    consoleAuth: new ConsoleAuth(store, callers, jwtSecret),
    metrics,
    sessions: new SessionService(store, apps, logins, box, config.sessionCacheMs),
    nodeId,
    authStates: new AuthStates(store, log),
    publicLimiter: new RateLimiter(config.publicRateLimit),
    parts<R>(platform: Platform<R>): R {
      if (!parts.has(platform)) throw new Error(`platform ${platform.name} is not in the platform list`);
      return parts.get(platform) as R;
    },
  };
}
