import { Codes, RpcError } from '../../../system/errors';
import type { CurrentToken, TokenEngine, TokenSpec } from './engine';

/** errcodes that mean "this access token is no good" (WeChat and WeCom; 40082 / 42009: WeCom suite tokens) */
export const INVALID_TOKEN_ERRCODES = new Set([40001, 40014, 42001, 40082, 42009]);

export function isInvalidTokenError(err: unknown): boolean {
  return err instanceof RpcError && err.code === Codes.UPSTREAM_ERROR && INVALID_TOKEN_ERRCODES.has(Number((err.data as { errcode?: unknown }).errcode));
}

/** key of a token: one per platform-side subject (two codeNames for one appId share it) */
export function specKey(platform: string, subject: string, kind: string): string {
  return `${platform}:${subject}:${kind}`;
}

export function makeSpec(platform: string, codeName: string, subject: string, kind: string, fetch: TokenSpec['fetch']): TokenSpec {
  return { key: specKey(platform, subject, kind), platform, codeName, subject, kind, fetch };
}

/**
 * Calls `use` with the current access token; when the platform says that token is invalid
 * (40001/40014/42001) it is compare-and-refreshed (§5.4) and `use` runs once more.
 */
export async function withAccessToken<T>(engine: TokenEngine, spec: TokenSpec, use: (token: string) => Promise<T>): Promise<T> {
  const t: CurrentToken = await engine.get(spec);
  try {
    return await use(t.value);
  } catch (err) {
    if (!isInvalidTokenError(err)) throw err;
    const fresh = await engine.get(spec, { invalidToken: t.value });
    return use(fresh.value);
  }
}
