import crypto from 'node:crypto';
import http from 'node:http';
import type Router from '@koa/router';
import { ConfigError, databaseLocation, type Config } from '../system/config';
import { createLogger, type Logger } from '../system/log';
import { Registry } from '../system/registry';
import { SEALED_PREFIX, SecretBox } from '../system/secretbox';
import { KEY_CHECK } from './services/secrets';
import { createServer } from '../system/server';
import { guardStore } from '../system/store-guard';
import { openStore, probeMariaDb } from '../db';
import { DatabaseOpenError, oneLine } from '../db/open-error';
import type { Store } from '../db/store';
import { AREAS } from './areas';
import { each, type Services } from './contract';
import type { AppKind } from './services/apps';
import { PLATFORMS } from './platforms';
import { buildServices, upstreamUrls } from './services';

import pkg from '../package.json';

export const VERSION: string = pkg.version;

/** every kind of app config: the platforms' (platforms.ts), then the areas' own (areas.ts) */
export const APP_KINDS: readonly AppKind[] = [
  ...PLATFORMS.flatMap((p) => p.apps),
  ...AREAS.flatMap((a) => a.apps ?? []),
];

/**
 * Opens and migrates the store. A database that cannot be used is a configuration error of one
 * line with its cause: MariaDB is first reached by one direct connection (refused, access denied,
 * unknown database, host not found, no answer), a SQLite file must open; then migrations run.
 */
export async function openMigratedStore(config: Config): Promise<Store> {
  const { kind, location } = databaseLocation(config.databaseUrl);
  let opened: Store;
  try {
    if (kind === 'mariadb') await probeMariaDb(config.databaseUrl);
    opened = openStore(config.databaseUrl);
  } catch (err) {
    if (err instanceof DatabaseOpenError) throw new ConfigError(`GATEHOUSE_DATABASE_URL: ${err.message}`);
    throw err;
  }
  const store = guardStore(opened);
  try {
    await store.migrate();
  } catch (err) {
    await store.close().catch(() => {});
    const detail = (err as { detail?: string }).detail ?? (err as Error).message;
    throw new ConfigError(
      `GATEHOUSE_DATABASE_URL: cannot migrate the ${kind} database ${location} (${oneLine(detail)})`,
    );
  }
  return store;
}

/**
 * Checks GATEHOUSE_MASTER_KEY against what sealed the store, and returns the JWT secret. A key that
 * is refused writes nothing: the key check (meta master_key_check) is written only by a key that
 * opens every kind of sealed value the store holds, or — when it holds none — by the first key set.
 */
export async function unlock(config: Config, store: Store, log: Logger): Promise<string> {
  const box = new SecretBox(config.masterKey);
  const wrongKey = () => new ConfigError('GATEHOUSE_MASTER_KEY: does not open the secrets in the store (wrong key)');
  const opens = (sealed: string, plain?: string) => {
    try {
      const v = box.open(sealed);
      return plain === undefined || v === plain;
    } catch {
      return false;
    }
  };
  const check = await store.getMeta('master_key_check');
  if (config.masterKey) {
    if (check === null) {
      // no check yet: sealed values (e.g. from a rotation by an older version) must open first
      if (!(await store.sealedSamples(SEALED_PREFIX)).every((v) => opens(v))) throw wrongKey();
    }
    const stored = check ?? (await store.initMeta('master_key_check', box.seal(KEY_CHECK)));
    if (!opens(stored, KEY_CHECK)) throw wrongKey();
  } else {
    // (meta and app configs only: scanning sessions on every keyless start would cost too much)
    if ((check && SecretBox.isSealed(check)) || (await store.sealedSamples(SEALED_PREFIX, false)).length > 0) {
      throw new ConfigError('GATEHOUSE_MASTER_KEY: the store holds sealed secrets; set the key that sealed them');
    }
    log.warn('GATEHOUSE_MASTER_KEY is not set: app secrets and session keys are stored in clear');
  }
  if (config.jwtSecret) return config.jwtSecret;
  const sealed = await store.initMeta('jwt_secret', box.seal(crypto.randomBytes(32).toString('base64url')));
  return box.open(sealed);
}

export interface Gatehouse {
  services: Services;
  registry: Registry<Services>;
  server: http.Server;
  port: number;
  /** the secret that signs caller tokens (configured or generated and kept in the store) */
  jwtSecret: string;
  /** whether the node is shutting down (close() was called): /readyz answers 503 */
  readonly draining: boolean;
  /**
   * Leaves the cluster and stops. First, for `drainMs` (default 0), the node keeps serving while
   * /readyz answers 503, so that load balancers take it out; the background refresher stops at
   * once. Then no new connections, idle keep-alive sockets closed, in-flight requests finish (those
   * still running `graceMs` later are cut), refreshes this node has under way finish (within the
   * same `graceMs`), the refresh leases it still holds are released — another node may refresh
   * those tokens at once instead of waiting for the leases to expire — and the store closes.
   */
  close(graceMs?: number, drainMs?: number): Promise<void>;
  /** ends a drain window under way at once (a second signal): close() goes on to stop listening */
  endDrain(): void;
}

/**
 * Builds the services and every platform's parts (platforms.ts), then the registry and routes from
 * the platforms and the areas (areas.ts); the HTTP server is not started.
 */
export function compose(
  config: Config,
  store: Store,
  log: Logger,
  jwtSecret: string,
  lifecycle: { draining?: () => boolean; started?: () => boolean } = {},
): { services: Services; registry: Registry<Services>; app: ReturnType<typeof createServer> } {
  const services = buildServices(config, store, log, jwtSecret, PLATFORMS, APP_KINDS);
  const registry = new Registry<Services>();
  for (const p of PLATFORMS) for (const f of each(p.interfaces)) for (const d of f(services.parts(p))) registry.add(d);
  for (const a of AREAS) for (const d of a.interfaces?.(services) ?? []) registry.add(d);
  const app = createServer<Services>({
    registry,
    services,
    callers: () => services.callers,
    log: services.log,
    trustProxy: services.config.trustProxy,
    metrics: services.metrics,
    metricsToken: services.config.metricsToken,
    publicRateLimit: services.config.publicRateLimit,
    limiter: services.publicLimiter,
    version: VERSION,
    // /readyz: 503 until the start-up line is out (start() below; a supervisor reading the log sees it
    // before the node reports ready), then whether the store answers
    ready: async () => {
      if (lifecycle.started && !lifecycle.started()) throw new Error('starting');
      await services.store.ping();
    },
    draining: lifecycle.draining,
    basePath: services.config.basePath,
    routes: (router: Router) => {
      for (const p of PLATFORMS) for (const f of each(p.routes)) f(router, services, services.parts(p));
      for (const a of AREAS) a.routes?.(router, services, registry);
    },
  });
  return { services, registry, app };
}

/**
 * Stops accepting connections and waits for the in-flight requests: sockets that are idle (also
 * those that become idle after answering) are closed at once; after graceMs every socket is cut.
 */
export function drain(srv: http.Server, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const idle = setInterval(() => srv.closeIdleConnections(), 50);
    const cut = setTimeout(() => srv.closeAllConnections(), graceMs);
    srv.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
    srv.closeIdleConnections();
  });
}

/**
 * Waits (until `deadline`, epoch ms) for the refreshes this node has under way — the background
 * refresher's, and those requests started ahead of expiry, which outlive their request — to finish:
 * a refresh holds its token's lease until its result is written. Cutting one short would throw its
 * token away and make another node fetch one more.
 */
async function settleRefreshes(services: Services, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
  await Promise.race([services.engine.settled(), late]);
  clearTimeout(timer);
}

/** Boots a node: store, migrations, secrets, apps file, HTTP server. */
export async function start(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Gatehouse> {
  upstreamUrls(config, PLATFORMS); // a bad GATEHOUSE_*_API is a configuration error before the store opens
  const store = await openMigratedStore(config);
  let server: http.Server | undefined;
  let startedEngine: Services['engine'] | undefined;
  let startedCallers: Services['callers'] | undefined;
  let draining = false;
  let started = false;
  try {
    const jwtSecret = await unlock(config, store, log);
    const { services, registry, app } = compose(config, store, log, jwtSecret, {
      draining: () => draining,
      started: () => started,
    });
    if (config.appsFile) {
      const n = await services.apps.loadFile(config.appsFile);
      log.info({ apps: n }, 'apps file loaded');
    }
    await services.callers.start();
    startedCallers = services.callers;
    // off (GATEHOUSE_BACKGROUND_REFRESH=false): tokens are refreshed when requests find them due
    if (config.backgroundRefresh) services.engine.start();
    services.pushes.start();
    startedEngine = services.engine;
    server = http.createServer(app.callback());
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const line = await listening(config, services, port, registry.all().length);
    log.info(line.fields, line.message);
    started = true;
    const srv = server;
    let endDrain = () => {};
    const leave = async (graceMs: number, drainMs: number) => {
      draining = true;
      services.engine.stop(); // no new background refreshes; the other nodes' refreshers cover
      if (drainMs > 0) {
        await new Promise<void>((resolve) => {
          const window = setTimeout(resolve, drainMs);
          endDrain = () => {
            clearTimeout(window);
            resolve();
          };
        });
      }
      const deadline = Date.now() + graceMs;
      await drain(srv, graceMs);
      services.callers.stop();
      services.pushes.stop();
      await settleRefreshes(services, deadline);
      try {
        const released = await store.releaseLeases(services.nodeId);
        if (released > 0) log.info({ released }, 'refresh leases released');
      } catch (err) {
        log.warn({ error: (err as Error).message }, 'could not release the refresh leases; they expire by themselves');
      }
      await store.close();
    };
    let closing: Promise<void> | undefined;
    return {
      services,
      registry,
      server: srv,
      port,
      jwtSecret,
      get draining() {
        return draining;
      },
      endDrain: () => endDrain(),
      close: (graceMs = 5000, drainMs = 0) => (closing ??= leave(graceMs, drainMs)),
    };
  } catch (err) {
    server?.close();
    startedEngine?.stop();
    startedCallers?.stop();
    await store.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ConfigError(`GATEHOUSE_PORT: port ${config.port} is already in use`);
    if (code === 'EACCES')
      throw new ConfigError(`GATEHOUSE_PORT: port ${config.port} needs privileges (EACCES); use a port above 1023`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new ConfigError(
        `GATEHOUSE_HOST: cannot listen on "${config.host}": host not found (${code}); use an address of this ` +
          `machine, e.g. 127.0.0.1 or 0.0.0.0`,
      );
    }
    if (code === 'EADDRNOTAVAIL') {
      throw new ConfigError(
        `GATEHOUSE_HOST: cannot listen on "${config.host}": not an address of this machine (EADDRNOTAVAIL); ` +
          `use one of its addresses, e.g. 127.0.0.1 or 0.0.0.0`,
      );
    }
    throw err;
  }
}

/**
 * The start-up line's fields: where it listens (with the base path), which store (a SQLite file's
 * path or MariaDB's user@host:port/db, never a password), how many apps, whether secrets are sealed,
 * whether the background refresher runs, and what to do next — the message itself reads as one
 * sentence for a person at a terminal.
 */
async function listening(config: Config, services: Services, port: number, interfaces: number) {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const address = `http://${host}:${port}${config.basePath}`;
  const { kind, location } = databaseLocation(config.databaseUrl);
  const apps = (await services.apps.list()).length;
  const masterKey = config.masterKey ? 'on' : 'off';
  const next =
    apps === 0
      ? 'add an app (npx gatehouse app put --platform <platform> --code-name <name> …), then mint a caller ' +
        'token for your backend (npx gatehouse caller token --sub <name> --scope "<patterns>")'
      : 'mint a caller token for your backend: npx gatehouse caller token --sub <name> --scope "<patterns>"';
  return {
    fields: {
      address,
      port,
      host: config.host,
      store: kind,
      location,
      apps,
      masterKeySet: masterKey === 'on',
      interfaces,
      backgroundRefresh: config.backgroundRefresh,
      next,
    },
    message:
      `gatehouse listening on ${address} (${kind} ${location}; ${apps} app${apps === 1 ? '' : 's'}; ` +
      `master key ${masterKey}${config.backgroundRefresh ? '' : '; background refresh off'}); next: ${next}`,
  };
}
