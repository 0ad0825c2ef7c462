import crypto from 'node:crypto';
import type { Logger } from '../../system/log';
import type { AuthStateRow, Store } from '../../db/store';

/** what an authorization page was opened for; the redirect / callback must match it */
export interface AuthStateBinding {
  platform: string;
  codeName: string;
  /** the merchant (Shansong merchantCode, Fengniao merchant_id) the page was opened for */
  subject?: string | null;
  /** the caller-supplied state (WeCom install?state=) handed on to redirectUrl */
  callerState?: string | null;
}

/** a nonce as gatehouse issues it: 128 random bits as lower-case hex (WeCom allows [a-zA-Z0-9]{≤128}) */
const NONCE = /^[0-9a-f]{32}$/;

/** how long a served authorization page's state stays valid (§7 trust: at most 10 minutes) */
export const AUTH_STATE_TTL_MS = 10 * 60_000;

const hash = (nonce: string) => crypto.createHash('sha256').update(nonce, 'utf8').digest('hex');

/**
 * The `state` nonces of the authorization flows (§7 trust). Every authorization page issues one,
 * kept in the store (so a redirect may land on any node sharing it) as its SHA-256 only, bound to
 * the platform, codeName, merchant and caller state the page was opened for. The redirect or
 * callback consumes it once (an atomic DELETE decides between concurrent uses); an unknown, used,
 * expired or mismatched nonce is refused before anything is exchanged.
 */
export class AuthStates {
  /** validity of a new nonce, ms (tests may shorten it) */
  ttlMs = AUTH_STATE_TTL_MS;
  private lastPrune = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** a fresh nonce bound to `b`, stored before it is handed out */
  async issue(b: AuthStateBinding): Promise<string> {
    const nonce = crypto.randomBytes(16).toString('hex');
    const now = Date.now();
    await this.store.putAuthState({
      nonceHash: hash(nonce),
      platform: b.platform,
      codeName: b.codeName,
      subject: b.subject ?? null,
      callerState: b.callerState ?? null,
      createdAt: now,
      expiresAt: now + Math.min(this.ttlMs, AUTH_STATE_TTL_MS),
    });
    await this.prune(now);
    return nonce;
  }

  /**
   * Consumes the nonce a redirect or callback carried when it was issued for this platform and
   * codeName and, when the page was opened for a merchant and the callback names one (Fengniao),
   * for that merchant; null otherwise, and then nothing changed. A redirect that names no merchant
   * (Shansong) gets the one the page was opened for. A value that is not a nonce never reaches the store.
   */
  async take(
    nonce: unknown,
    b: { platform: string; codeName: string; subject?: string | null },
  ): Promise<AuthStateRow | null> {
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) return null;
    return this.store.takeAuthState(hash(nonce), b.platform, b.codeName, b.subject ?? null, Date.now());
  }

  /** expired nonces are deleted, at most once a minute per node */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    try {
      const n = await this.store.pruneAuthStates(now);
      if (n > 0) this.log.debug({ pruned: n }, 'expired authorization states pruned');
    } catch (err) {
      this.log.warn({ error: (err as Error).message }, 'pruning authorization states failed');
    }
  }
}
