import fs from 'node:fs';
import NodeCache from 'node-cache';
import { ConfigError } from '../../system/config';
import { RpcError, StoreError, paraError } from '../../system/errors';
import { assertValid, compileSchema, type JsonSchema } from '../../system/registry';
import type { SecretBox } from '../../system/secretbox';
import type { AppRow, Store } from '../../db/store';
import type { ValidateFunction } from 'ajv';

/** One kind of app config (wechat_app, wecom_tp …): its JSON Schema, its id field, its secret fields. */
export interface AppKind {
  platform: string;
  /** the config field that holds the platform-side id (appId, corpId, suiteId …) */
  idField: string;
  /** config fields stored sealed and masked when shown */
  secrets: string[];
  /** JSON Schema of the platform's config fields (without platform / codeName / enabled) */
  schema: JsonSchema;
  /** normalises a validated config in place (e.g. WeCom agentId number → string) */
  normalize?: (config: Record<string, unknown>) => void;
  /**
   * The app's identity on the platform, owned by exactly one codeName (§6, trust): by default the
   * `idField` value; a WeCom agent is corpId + agentId, a COS profile appId + secretId.
   */
  identity?: (config: Record<string, unknown>) => string;
  /** how the identity is named in errors (default: the id field) */
  identityLabel?: string;
  /** a valid config, for the documentation's examples and the tests' per-kind fixtures */
  sample: Record<string, unknown>;
}

export interface AppConfig {
  platform: string;
  codeName: string;
  appId: string;
  enabled: boolean;
  isDefault: boolean;
  /** config fields, secrets in clear */
  config: Record<string, unknown>;
  updatedAt: number;
}

export interface AppEntry {
  platform: string;
  codeName: string;
  enabled?: boolean;
  [field: string]: unknown;
}

/** a valid 43-character EncodingAESKey, for the samples of the kinds that take one */
export const AES_SAMPLE = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

export const CODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$';
const CACHE_SECONDS = 5;

/** the message of a 1003's first error */
export function firstError(err: RpcError): string {
  return ((err.data as { errors?: { message: string }[] })?.errors ?? [])[0]?.message ?? err.message;
}

export function mask(value: unknown): string {
  const s = String(value ?? '');
  return '****' + s.slice(-4);
}

/**
 * App configs (§6): validated against their platform's schema, secrets sealed at rest, and a
 * small per-node cache in front of the store (another node's change is seen within seconds).
 */
export class AppService {
  private readonly defs = new Map<string, AppKind & { config: JsonSchema; validate: ValidateFunction }>();
  private readonly cache = new NodeCache({ stdTTL: CACHE_SECONDS, checkperiod: 0, useClones: false });
  private readonly lastKnown = new Map<string, unknown>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  defineKind(def: AppKind): void {
    const schema = {
      ...def.schema,
      properties: { ...(def.schema.properties as object), enabled: { type: 'boolean' } },
    };
    this.defs.set(def.platform, { ...def, config: schema, validate: compileSchema(schema) });
  }

  platforms(): string[] {
    return [...this.defs.keys()].sort();
  }

  platformDef(platform: string): AppKind | undefined {
    return this.defs.get(platform);
  }

  /** the config schema of a platform (fields + enabled), for para schemas and /openrpc.json */
  configSchema(platform: string): JsonSchema {
    const d = this.defs.get(platform);
    if (!d) throw new Error(`unknown platform ${platform}`);
    return d.config;
  }

  /** validates and normalises a config; throws a 1003 whose paths start with `pathPrefix` */
  validate(platform: string, config: Record<string, unknown>, pathPrefix = '/config'): Record<string, unknown> {
    const def = this.defs.get(platform);
    if (!def) throw new RpcError('PARA_ERROR', { errors: [{ path: '/platform', message: 'unknown platform' }] });
    const copy = { ...config };
    assertValid(def.validate, copy, pathPrefix);
    def.normalize?.(copy);
    return copy;
  }

  /** how the identity of a platform's apps is named in errors: corpId:agentId, suiteId, appId … */
  private identityLabel(platform: string): string {
    const d = this.defs.get(platform);
    return d?.identityLabel ?? d?.idField ?? 'appId';
  }

  /** the identity a validated config claims on its platform (§6, trust) */
  identityOf(platform: string, config: Record<string, unknown>): string {
    const def = this.defs.get(platform)!;
    return def.identity ? def.identity(config) : String(config[def.idField]);
  }

  /**
   * A 1003 when the identity of a config is owned by another codeName of its platform: one
   * identity, one codeName (§6, trust). Otherwise a second codeName could alias another app —
   * its tokens, its sessions, its secret.
   */
  private async checkIdentity(
    platform: string,
    codeName: string,
    identity: string,
    pathPrefix = '/config',
  ): Promise<void> {
    let owner: AppRow | null;
    try {
      owner = await this.store.appByIdentity(platform, identity);
    } catch (err) {
      // part of an admin write: a store failure here is that write failing (1013)
      if (err instanceof StoreError) throw new RpcError('APP_WRITE_FAILED', '', err.detail);
      throw err;
    }
    if (!owner || owner.codeName === codeName) return;
    const field = this.defs.get(platform)!.idField;
    throw paraError([
      {
        path: `${pathPrefix}/${field}`,
        message: `${this.identityLabel(platform)} ${identity} is already configured as codeName "${owner.codeName}"`,
      },
    ]);
  }

  async put(platform: string, codeName: string, rawConfig: Record<string, unknown>): Promise<{ created: boolean }> {
    const def = this.defs.get(platform);
    const config = this.validate(platform, rawConfig);
    const identity = this.identityOf(platform, config);
    await this.checkIdentity(platform, codeName, identity);
    const { enabled, ...fields } = config as { enabled?: boolean } & Record<string, unknown>;
    for (const s of def!.secrets) if (typeof fields[s] === 'string') fields[s] = this.box.seal(fields[s] as string);
    const now = Date.now();
    const row: AppRow = {
      platform,
      codeName,
      appId: String(fields[def!.idField]),
      enabled: enabled !== false,
      isDefault: fields.default === true,
      config: JSON.stringify(fields),
      identity,
      createdAt: now,
      updatedAt: now,
    };
    try {
      return await this.write(() => this.store.putApp(row));
    } catch (err) {
      // another node put the same identity under another codeName since the check: name it
      await this.checkIdentity(platform, codeName, identity);
      throw err;
    } finally {
      // an insert the unique index ignored (SQLite / MariaDB INSERT IGNORE) is no success either
      const stored = await this.store.getApp(platform, codeName).catch(() => undefined);
      if (stored === null || (stored && stored.identity !== identity))
        await this.checkIdentity(platform, codeName, identity);
    }
  }

  async delete(platform: string, codeName: string): Promise<boolean> {
    return this.write(() => this.store.deleteApp(platform, codeName));
  }

  /** an admin write: a store failure is a 1013, and this node's caches start afresh */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw new RpcError('APP_WRITE_FAILED', '', err.detail);
      throw err;
    } finally {
      this.cache.flushAll();
      this.lastKnown.clear();
    }
  }

  private open(row: AppRow): AppConfig {
    const def = this.defs.get(row.platform);
    const config = JSON.parse(row.config) as Record<string, unknown>;
    for (const s of def?.secrets ?? [])
      if (typeof config[s] === 'string') config[s] = this.box.open(config[s] as string);
    return {
      platform: row.platform,
      codeName: row.codeName,
      appId: row.appId,
      enabled: row.enabled,
      isDefault: row.isDefault,
      config,
      updatedAt: row.updatedAt,
    };
  }

  /**
   * Cached per node; concurrent misses share one load, failures are not kept. While the store is
   * down the last value loaded keeps being used, so cached tokens stay servable (§5.5).
   */
  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get<{ v: Promise<T> }>(key);
    if (hit) return hit.v;
    const v = load().then(
      (value) => {
        if (this.lastKnown.size >= 100_000 && !this.lastKnown.has(key)) this.lastKnown.clear();
        this.lastKnown.set(key, value);
        return value;
      },
      (err: unknown) => {
        // the fallback stays cached for its TTL: requests do not each wait on a dead database
        if (err instanceof StoreError && this.lastKnown.has(key)) return this.lastKnown.get(key) as T;
        this.cache.del(key);
        throw err;
      },
    );
    this.cache.set(key, { v });
    return v;
  }

  /** the app, enabled or not; null when not configured */
  async get(platform: string, codeName: string): Promise<AppConfig | null> {
    return this.cached(`c:${platform}:${codeName}`, async () => {
      const row = await this.store.getApp(platform, codeName);
      return row ? this.open(row) : null;
    });
  }

  /** the enabled app, or a 1012 */
  async require(platform: string, codeName: string): Promise<AppConfig> {
    const app = await this.get(platform, codeName);
    if (!app || !app.enabled) throw new RpcError('NO_APP', '', `${platform} ${codeName}`);
    return app;
  }

  /** the enabled app with this platform-side id (appId / corpId …), or null */
  async byAppId(platform: string, appId: string): Promise<AppConfig | null> {
    return (await this.allByAppId(platform, appId))[0] ?? null;
  }

  /** every enabled app with this platform-side id (e.g. the agents of one WeCom corp), cached */
  async allByAppId(platform: string, appId: string): Promise<AppConfig[]> {
    return this.cached(`A:${platform}:${appId}`, async () => {
      const rows = await this.store.findApps(platform, appId);
      return rows.filter((r) => r.enabled).map((r) => this.open(r));
    });
  }

  /** the one enabled app of a platform, or the one marked default; null when ambiguous */
  async defaultApp(platform: string): Promise<AppConfig | null> {
    return this.cached(`d:${platform}`, async () => {
      const rows = (await this.store.listApps(platform)).filter((r) => r.enabled);
      if (rows.length === 1) return this.open(rows[0]);
      const defaults = rows.filter((r) => r.isDefault);
      return defaults.length === 1 ? this.open(defaults[0]) : null;
    });
  }

  /** whether the platform has an enabled app, cached */
  hasEnabled(platform: string): Promise<boolean> {
    return this.cached(`e:${platform}`, async () => (await this.store.listApps(platform)).some((r) => r.enabled));
  }

  async list(platform?: string): Promise<AppRow[]> {
    return this.store.listApps(platform);
  }

  /** the app as an apps-file entry with every secret masked */
  masked(app: AppConfig): Record<string, unknown> {
    const def = this.defs.get(app.platform);
    const out: Record<string, unknown> = { platform: app.platform, codeName: app.codeName, enabled: app.enabled };
    for (const [k, v] of Object.entries(app.config)) out[k] = def?.secrets.includes(k) ? mask(v) : v;
    return out;
  }

  /** validates every entry of an apps file (array of §6 entries) without writing */
  parseEntries(entries: unknown, source: string): AppEntry[] {
    if (!Array.isArray(entries)) throw new ConfigError(`${source}: must be a JSON array of app configs`);
    const re = new RegExp(CODE_NAME_PATTERN);
    return entries.map((e, i) => {
      const where = `${source}[${i}]`;
      if (e === null || typeof e !== 'object' || Array.isArray(e)) throw new ConfigError(`${where}: must be an object`);
      const { platform, codeName, ...config } = e as Record<string, unknown>;
      if (typeof platform !== 'string' || !this.defs.has(platform)) {
        throw new ConfigError(
          `${where}.platform: unknown platform ${JSON.stringify(platform)} (one of ${this.platforms().join(', ')})`,
        );
      }
      if (typeof codeName !== 'string' || !re.test(codeName)) {
        throw new ConfigError(`${where}.codeName: must match ${CODE_NAME_PATTERN}`);
      }
      try {
        this.validate(platform, config, '');
      } catch (err) {
        const first = ((err as RpcError).data as { errors?: { path: string; message: string }[] })?.errors?.[0];
        const field = first ? first.path.replace(/^\//, '').replace(/\//g, '.') : '';
        throw new ConfigError(`${where}${field ? '.' + field : ''}: ${first?.message ?? 'invalid'}`);
      }
      return { platform, codeName, ...config };
    });
  }

  /** reads, validates (all entries first) and upserts an apps file */
  async loadFile(file: string, source = 'GATEHOUSE_APPS_FILE'): Promise<number> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      // the parser's message may quote the file (and so a secret): name the file only
      throw new ConfigError(`${source}: ${file} is not readable as JSON`);
    }
    const entries = this.parseEntries(parsed, source);
    // one identity, one codeName — within the file and against the store — before anything is written
    const seen = new Map<string, string>();
    for (const [i, { platform, codeName, ...config }] of entries.entries()) {
      const identity = this.identityOf(platform, this.validate(platform, config, ''));
      const where = `${source}[${i}].${this.defs.get(platform)!.idField}`;
      const first = seen.get(`${platform}\n${identity}`);
      if (first !== undefined && first !== codeName) {
        throw new ConfigError(
          `${where}: ${this.identityLabel(platform)} ${identity} is also given to codeName "${first}" in this file ` +
            `(one identity, one codeName)`,
        );
      }
      seen.set(`${platform}\n${identity}`, codeName);
      try {
        await this.checkIdentity(platform, codeName, identity);
      } catch (err) {
        if (err instanceof RpcError && err.code === 1003) throw new ConfigError(`${where}: ${firstError(err)}`);
        throw err;
      }
    }
    for (const { platform, codeName, ...config } of entries) await this.put(platform, codeName, config);
    return entries.length;
  }
}
