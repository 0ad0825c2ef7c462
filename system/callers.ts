import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { CallerRow } from '../db/store';
import { RpcError } from './errors';
import type { Logger } from './log';

export interface Caller {
  sub: string;
  scope: string[];
  /** when present, the only codeNames / appids / corpids this caller may touch */
  apps?: string[];
  exp: number;
  /** the token's id when it has one (every token gatehouse mints does): revocable */
  jti?: string;
}

/** `*` matches everything, a trailing `*` any suffix, anything else itself. */
export function scopeCovers(scope: readonly string[], name: string): boolean {
  for (const s of scope) {
    if (s === name) return true;
    if (s.endsWith('*') && name.startsWith(s.slice(0, -1))) return true; // `*` itself: every name
  }
  return false;
}

/**
 * Whether a scope covers an interface of the given access level: by its name, or — for access
 * level admin — by a pattern that covers all of `admin.*` (`admin.*`, `admin*`, `*` …), whatever
 * the interface is called (`qcloud.work.initagent` is an admin interface too). §4 (trust).
 */
export function scopeCoversInterface(scope: readonly string[], def: { name: string; access: string }): boolean {
  if (scopeCovers(scope, def.name)) return true;
  if (def.access !== 'admin') return false;
  return scope.some((s) => s.endsWith('*') && 'admin.'.startsWith(s.slice(0, -1)));
}

/** An app a call touches, by one or several of its names (codeName, appId …). */
export type AppRef = string | Array<string | undefined> | undefined;

/** every app the call touches must be in the caller's `apps` claim under at least one of its names */
export function appsAllow(caller: Caller, refs: AppRef[]): boolean {
  if (!caller.apps) return true;
  return refs.every((ref) => {
    const names = (Array.isArray(ref) ? ref : [ref]).filter((n): n is string => n !== undefined);
    return names.length === 0 || names.some((n) => caller.apps!.includes(n));
  });
}

export interface CallerClaims {
  sub: string;
  scope: string;
  apps?: string[];
  ttlSeconds: number;
}

/** what a jti may look like: 1–64 visible ASCII characters (gatehouse mints 22 base64url ones) */
export const JTI_PATTERN = '^[!-~]{1,64}$';
const JTI_RE = new RegExp(JTI_PATTERN);

export interface MintedCaller {
  token: string;
  /** what the store keeps about it (never the token) */
  record: CallerRow;
}

/** Signs a caller token with a fresh random `jti`; `record` is what to keep in the store. */
export function mintCaller(secret: string, c: CallerClaims, now = Date.now()): MintedCaller {
  const jti = crypto.randomBytes(16).toString('base64url');
  const exp = Math.floor(now / 1000) + c.ttlSeconds;
  // an undefined `apps` is left out of the JSON
  const payload = { sub: c.sub, scope: c.scope, jti, iat: Math.floor(now / 1000), exp, apps: c.apps };
  // Stryker disable next-line ObjectLiteral: equivalent — HS256 is also jsonwebtoken's default; said for the reader
  const token = jwt.sign(payload, secret, { algorithm: 'HS256' });
  return {
    token,
    record: { jti, sub: c.sub, scope: c.scope, apps: c.apps ?? null, exp, createdAt: now, revokedAt: null },
  };
}

/** A signed caller token (with a `jti`). Record `mintCaller(…).record` to make it listable. */
export function signCaller(secret: string, c: CallerClaims): string {
  return mintCaller(secret, c).token;
}

/** Parses "30d", "12h", "15m", "3600s" or plain seconds. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(ttl.trim());
  if (!m) throw new Error(`--ttl: expected e.g. 30d, 12h, 15m or seconds, got "${ttl}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/** where revocations are kept (the store), shared by every node */
export interface RevocationSource {
  /** revoked jtis that may still be presented (exp unknown or after nowS) */
  revokedCallers(nowS: number): Promise<string[]>;
}

/**
 * Verifies caller JWTs (HS256) and remembers verified ones until they expire (a bounded LRU keyed
 * by the token string), so the hot path pays for the HMAC once per token, not once per request.
 * Every verify — cache hit or not — refuses a token whose `jti` is revoked; the revoked set is
 * learned from the shared store every `pollMs` (2 s), so a revocation made on any node reaches
 * every node within a few seconds (and the node that revoked it at once). When
 * the store does not answer the last known set is kept. Tokens without a `jti` (signed by hand
 * with the JWT secret) cannot be revoked one by one: rotating the secret withdraws them all.
 */
export class CallerAuth {
  private readonly cache = new Map<string, Caller>();
  private readonly revoked = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly secret: string,
    private readonly source?: RevocationSource,
    private readonly log?: Logger,
    /** verified tokens kept at most; when full, the one used longest ago makes room */
    private readonly maxCached = 10_000,
  ) {}

  /** refuses `jti` on this node at once (other nodes learn it from the store) */
  revoke(jti: string): void {
    this.revoked.add(jti);
  }

  isRevoked(jti: string): boolean {
    return this.revoked.has(jti);
  }

  /** reads the revoked set from the store once; keeps the last known set when that fails */
  async loadRevocations(): Promise<void> {
    if (!this.source) return;
    this.polling ??= (async () => {
      try {
        // revocations are never withdrawn: adding is enough (expired ones are refused by exp anyway)
        for (const jti of await this.source!.revokedCallers(Math.floor(Date.now() / 1000))) this.revoked.add(jti);
        if (this.failing) this.log?.info('caller revocations readable again');
        this.failing = false;
      } catch (err) {
        if (!this.failing)
          this.log?.warn(
            { detail: (err as Error).message },
            'cannot read caller revocations; keeping the last known set',
          );
        this.failing = true;
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  /** loads the revoked set, then polls it every pollMs in the background */
  async start(pollMs = 2000): Promise<void> {
    await this.loadRevocations();
    this.stop();
    this.timer = setInterval(() => void this.loadRevocations(), pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  verify(authorization: string | undefined): Caller {
    if (!authorization || !authorization.startsWith('Bearer ')) throw new RpcError('UNAUTHENTICATED');
    const token = authorization.slice(7).trim();
    const nowS = Date.now() / 1000;
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp <= nowS) {
        this.cache.delete(token);
        throw new RpcError('UNAUTHENTICATED', '', 'caller token expired');
      }
      if (hit.jti !== undefined && this.revoked.has(hit.jti))
        throw new RpcError('UNAUTHENTICATED', '', 'caller token revoked');
      // least recently used first: a hit moves to the end (a Map keeps insertion order)
      this.cache.delete(token);
      this.cache.set(token, hit);
      return hit;
    }
    let payload: jwt.JwtPayload;
    try {
      const p = jwt.verify(token, this.secret, { algorithms: ['HS256'] });
      if (typeof p === 'string') throw new Error('payload is not an object');
      payload = p;
    } catch (err) {
      throw new RpcError('UNAUTHENTICATED', '', `caller token rejected: ${(err as Error).message}`);
    }
    if (typeof payload.exp !== 'number') throw new RpcError('UNAUTHENTICATED', '', 'caller token has no exp');
    if (typeof payload.sub !== 'string' || typeof payload.scope !== 'string') {
      throw new RpcError('UNAUTHENTICATED', '', 'caller token lacks sub or scope');
    }
    const apps = payload.apps;
    if (apps !== undefined && (!Array.isArray(apps) || !apps.every((a) => typeof a === 'string'))) {
      throw new RpcError('UNAUTHENTICATED', '', 'caller token apps claim is not an array of strings');
    }
    const jti = payload.jti;
    if (jti !== undefined && (typeof jti !== 'string' || !JTI_RE.test(jti))) {
      throw new RpcError('UNAUTHENTICATED', '', 'caller token jti claim is malformed');
    }
    if (jti !== undefined && this.revoked.has(jti)) throw new RpcError('UNAUTHENTICATED', '', 'caller token revoked');
    // Stryker disable next-line Regex: equivalent — the empty strings a split on single spaces leaves are filtered out
    const caller: Caller = {
      sub: payload.sub,
      scope: payload.scope.split(/\s+/).filter(Boolean),
      apps,
      exp: payload.exp,
    };
    if (jti !== undefined) caller.jti = jti;
    if (this.cache.size >= this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, caller);
    return caller;
  }

  /** verified tokens cached now (at most maxCached) */
  get cached(): number {
    return this.cache.size;
  }
}
