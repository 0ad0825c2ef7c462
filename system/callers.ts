import jwt from 'jsonwebtoken';
import { RpcError } from './errors';

export interface Caller {
  sub: string;
  scope: string[];
  /** when present, the only codeNames / appids / corpids this caller may touch */
  apps?: string[];
  exp: number;
}

/** `*` matches everything, a trailing `*` any suffix, anything else itself. */
export function scopeCovers(scope: readonly string[], name: string): boolean {
  for (const s of scope) {
    if (s === '*' || s === name) return true;
    if (s.endsWith('*') && name.startsWith(s.slice(0, -1))) return true;
  }
  return false;
}

/** An app a call touches, by one or several of its names (codeName, appId …). */
export type AppRef = string | Array<string | undefined> | undefined;

/** every app the call touches must be in the caller's `apps` claim under at least one of its names */
export function appsAllow(caller: Caller, refs: AppRef[]): boolean {
  if (!caller.apps) return true;
  return refs.every((ref) => {
    if (ref === undefined) return true;
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

export function signCaller(secret: string, c: CallerClaims): string {
  const payload: Record<string, unknown> = { sub: c.sub, scope: c.scope };
  if (c.apps) payload.apps = c.apps;
  return jwt.sign(payload, secret, { algorithm: 'HS256', expiresIn: c.ttlSeconds });
}

/** Parses "30d", "12h", "15m", "3600s" or plain seconds. */
export function parseTtl(ttl: string): number {
  const m = /^(\d+)\s*([smhdw]?)$/.exec(ttl.trim());
  if (!m) throw new Error(`--ttl: expected e.g. 30d, 12h, 15m or seconds, got "${ttl}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as '' | 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

/**
 * Verifies caller JWTs (HS256) and remembers verified ones until they expire, so the hot path
 * pays for the HMAC once per token, not once per request.
 */
export class CallerAuth {
  private readonly cache = new Map<string, Caller>();
  private static readonly MAX_CACHED = 10_000;

  constructor(private readonly secret: string) {}

  verify(authorization: string | undefined): Caller {
    if (!authorization || !authorization.startsWith('Bearer ')) throw new RpcError('UNAUTHENTICATED');
    const token = authorization.slice(7).trim();
    const nowS = Date.now() / 1000;
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp > nowS) return hit;
      this.cache.delete(token);
      throw new RpcError('UNAUTHENTICATED', '', 'caller token expired');
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
    const caller: Caller = { sub: payload.sub, scope: payload.scope.split(/\s+/).filter(Boolean), apps, exp: payload.exp };
    if (this.cache.size >= CallerAuth.MAX_CACHED) this.cache.clear();
    this.cache.set(token, caller);
    return caller;
  }
}
