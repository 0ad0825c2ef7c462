import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { mintCaller, type Caller, type CallerAuth, type CallerClaims, type MintedCaller } from '../../system/callers';
import { RpcError } from '../../system/errors';
import type { Store } from '../../db/store';

/** the sub of a console session starts with this: its writes are audited `via: console` */
export const CONSOLE_SUB = 'console:';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

/** scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~50–100 ms a hash here) */
const COST = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

/** `scrypt$N$r$p$salt$hash` (base64url), a fresh 16-byte salt */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, KEY_LENGTH, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** whether `password` matches a hash from hashPassword (constant time; false for a malformed hash) */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64url');
  const N = Number(n);
  if (!Number.isInteger(N) || N < 2 || N > 1 << 20 || want.length !== KEY_LENGTH) return false;
  const got = await scrypt(password, Buffer.from(salt, 'base64url'), KEY_LENGTH, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: COST.maxmem * 2,
  });
  return crypto.timingSafeEqual(got, want);
}

/** an operator's name: what `gatehouse operator add` takes */
export const OPERATOR_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
/** failed sign-ins in a row before an operator is locked, and for how long */
export const LOCKOUT = { failures: 5, ms: 15 * 60_000 };
/**
 * Password checks under way at once on a node, at most: each costs ~32 MiB and tens of ms of CPU,
 * and sign-in is open to anyone, so more are refused (4029 → 429) rather than queued.
 */
export const MAX_PASSWORD_CHECKS = 2;
/** a console session's lifetime */
export const SESSION_SECONDS = 30 * 60;

/** A signed-in console session: its caller token (the cookie) and the CSRF token its writes carry. */
export interface ConsoleSession {
  token: string;
  csrf: string;
  sub: string;
  scope: string[];
  apps?: string[];
  /** unix seconds */
  expiresAt: number;
}

/**
 * Console sign-in: an operator account (scrypt, lockout) or a caller token whose scope covers
 * some admin interface; either way the session is a short-lived caller token of its own (recorded,
 * so revocable and listed like any other), sub `console:<who>`, same scope and apps claim.
 */
export class ConsoleAuth {
  /** compared against when the operator does not exist, so that timing does not tell */
  private dummy: Promise<string> | undefined;
  /** password checks under way (MAX_PASSWORD_CHECKS) */
  private checking = 0;

  constructor(
    private readonly store: Store,
    private readonly callers: CallerAuth,
    private readonly jwtSecret: string,
  ) {}

  /** the CSRF token of a session: an HMAC of its jti, so nothing is stored and every node agrees */
  csrfOf(jti: string): string {
    return crypto.createHmac('sha256', this.jwtSecret).update(`gatehouse console csrf ${jti}`).digest('base64url');
  }

  csrfMatches(caller: Caller, given: string | undefined): boolean {
    if (!caller.jti || typeof given !== 'string') return false;
    const want = Buffer.from(this.csrfOf(caller.jti));
    const got = Buffer.from(given);
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  }

  /** 4001 for an unknown operator or a wrong password (the same answer); 4029-style lock as 4001 too */
  async withPassword(name: string, password: string): Promise<ConsoleSession> {
    if (this.checking >= MAX_PASSWORD_CHECKS) throw new RpcError('RATE_LIMITED', '', 'too many sign-ins at once');
    this.checking++;
    try {
      return await this.checkPassword(name, password);
    } finally {
      this.checking--;
    }
  }

  private async checkPassword(name: string, password: string): Promise<ConsoleSession> {
    const now = Date.now();
    const op = OPERATOR_NAME.test(name) ? await this.store.getOperator(name) : null;
    if (!op) {
      this.dummy ??= hashPassword('not an operator');
      await verifyPassword(password, await this.dummy);
      throw new RpcError('UNAUTHENTICATED', '', 'unknown operator or wrong password');
    }
    if (op.lockedUntil > now) throw new RpcError('UNAUTHENTICATED', '', 'operator locked after repeated failures');
    if (!(await verifyPassword(password, op.passwordHash))) {
      await this.store.operatorFailed(name, now, LOCKOUT.failures, LOCKOUT.ms);
      throw new RpcError('UNAUTHENTICATED', '', 'unknown operator or wrong password');
    }
    await this.store.operatorSignedIn(name);
    return this.open(`${CONSOLE_SUB}${name}`, op.scope.split(/\s+/).filter(Boolean), undefined, SESSION_SECONDS);
  }

  /** a caller token (its scope must name some admin interface); the session ends no later than it */
  async withToken(token: string): Promise<ConsoleSession> {
    const caller = this.callers.verify(`Bearer ${token}`);
    if (!caller.scope.some((s) => s === '*' || s.startsWith('admin')))
      throw new RpcError('FORBIDDEN', '', 'the token covers no admin interface');
    const ttl = Math.min(SESSION_SECONDS, Math.floor(caller.exp - Date.now() / 1000));
    if (ttl < 1) throw new RpcError('UNAUTHENTICATED', '', 'caller token expired');
    return this.open(`${CONSOLE_SUB}${caller.sub}`, caller.scope, caller.apps, ttl);
  }

  private async open(sub: string, scope: string[], apps: string[] | undefined, ttlSeconds: number) {
    const minted = await this.mint({ sub, scope: scope.join(' '), apps, ttlSeconds });
    return {
      token: minted.token,
      csrf: this.csrfOf(minted.record.jti),
      sub,
      scope,
      apps,
      expiresAt: minted.record.exp!,
    };
  }

  /** mints a caller token and records it (listed, revocable) */
  async mint(c: CallerClaims): Promise<MintedCaller> {
    const minted = mintCaller(this.jwtSecret, c);
    await this.store.recordCaller(minted.record);
    return minted;
  }

  /** ends a session at once on this node, and within seconds on the others (a revoked jti) */
  async close(caller: Caller): Promise<void> {
    if (!caller.jti) return;
    await this.store.revokeCaller(caller.jti, Date.now());
    this.callers.revoke(caller.jti);
  }
}
