import { UpstreamError } from '../../../system/errors';
import type { CurrentToken, TokenEngine, TokenSpec } from './engine';

/** whether a platform refused the token a call was made with (its client's ErrcodeRules say which codes) */
export function isInvalidTokenError(err: unknown): boolean {
  return err instanceof UpstreamError && err.tokenRejected;
}

/** key of a token: one per platform-side subject (two codeNames for one appId share it) */
export function specKey(platform: string, subject: string, kind: string): string {
  return `${platform}:${subject}:${kind}`;
}

export function makeSpec(
  platform: string,
  codeName: string,
  subject: string,
  kind: string,
  fetch: TokenSpec['fetch'],
): TokenSpec {
  return { key: specKey(platform, subject, kind), platform, codeName, subject, kind, fetch };
}

/**
 * Whether a compare-and-refresh gave something new: another value, or the same value refreshed
 * (WeCom's gettoken hands out the same token while it lives). Neither — the 30 s budget (§5.3)
 * refused — means a retry would only send the token just refused again.
 */
export function renewed(before: CurrentToken, after: CurrentToken): boolean {
  return after.value !== before.value || after.version !== before.version;
}

/**
 * Sends with the current token; when the platform's answer says that token is no good, the token
 * is compare-and-refreshed (§5.4) and the call sent once more. When nothing was renewed (the shared
 * refresh budget, §5.3, refused) the first answer stands: a second call with the token just
 * refused would only spend platform quota.
 */
export async function sendWithToken<R>(
  engine: TokenEngine,
  spec: TokenSpec,
  send: (token: string) => Promise<R>,
  rejected: (reply: R) => boolean,
): Promise<R> {
  const t: CurrentToken = await engine.get(spec);
  const first = await send(t.value);
  if (!rejected(first)) return first;
  const fresh = await engine.get(spec, { invalidToken: t.value });
  return renewed(t, fresh) ? send(fresh.value) : first;
}

/**
 * Calls `use` with the current access token; when it throws the platform's "token invalid"
 * (40001/40014/42001 …) the token is compare-and-refreshed and `use` runs once more — unless
 * nothing was renewed (as in sendWithToken): then that error stands.
 */
export async function withAccessToken<T>(
  engine: TokenEngine,
  spec: TokenSpec,
  use: (token: string) => Promise<T>,
): Promise<T> {
  const t: CurrentToken = await engine.get(spec);
  try {
    return await use(t.value);
  } catch (err) {
    if (!isInvalidTokenError(err)) throw err;
    const fresh = await engine.get(spec, { invalidToken: t.value });
    if (!renewed(t, fresh)) throw err;
    return use(fresh.value);
  }
}
