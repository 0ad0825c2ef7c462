/** Return codes of the RPC envelope (PROTOCOL.md §2). */
export const Codes = {
  OK: 0,
  STORE_ERROR: 1001,
  NO_INTERFACENAME: 1002,
  PARA_ERROR: 1003,
  UPSTREAM_UNREACHABLE: 1005,
  SESSION_WRITE_FAILED: 1006,
  UPSTREAM_BAD_REPLY: 1007,
  REQUEST_IS_NOT_JSON: 1009,
  UNKNOWN_INTERFACE: 1010,
  NO_PARA: 1011,
  NO_APP: 1012,
  APP_WRITE_FAILED: 1013,
  NOT_READY: 1014,
  UNAUTHENTICATED: 4001,
  FORBIDDEN: 4003,
  RATE_LIMITED: 4029,
  UPSTREAM_ERROR: 40029,
  SESSION_EXPIRED: 60011,
  AUTH_FAIL: 60012,
  DECRYPT_FAIL: 60021,
  INTERNAL_ERROR: 5000,
} as const;

export type ReturnMessage = keyof typeof Codes;
export type ReturnCode = (typeof Codes)[ReturnMessage];

const messages = new Map<number, string>(Object.entries(Codes).map(([k, v]) => [v, k]));

export function messageOf(code: number): string {
  return messages.get(code) ?? 'INTERNAL_ERROR';
}

/**
 * An error that becomes an envelope. `data` is the envelope's returnData ("" unless the code
 * carries details); `detail` is for the log only and must never hold a secret.
 */
export class RpcError extends Error {
  readonly code: ReturnCode;
  readonly data: unknown;
  readonly detail?: string;

  constructor(message: ReturnMessage, data: unknown = '', detail?: string) {
    // an envelope error is an answer, not a bug: no stack trace to capture (~7 µs each)
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail ? `${message}: ${detail}` : message);
    Error.stackTraceLimit = limit;
    this.name = 'RpcError';
    this.code = Codes[message];
    this.data = data;
    this.detail = detail;
  }
}

export interface ParaErrorItem {
  path: string;
  message: string;
}

export function paraError(errors: ParaErrorItem[]): RpcError {
  return new RpcError('PARA_ERROR', { errors });
}

/**
 * How a platform's error codes are read — its client's rules, not the framework's: which ones mean
 * "the platform is busy, try again" and which mean "this access token is no good".
 */
export interface ErrcodeRules {
  transient?(errcode: number): boolean;
  tokenRejected?(errcode: number): boolean;
}

/**
 * A platform answered with an error code of its own (40029, returnData `{platform, errcode, errmsg}`).
 * It carries what its platform's rules say of the code: whether another attempt may succeed
 * (`transient`: the token engine retries) and whether the token used was refused (`tokenRejected`:
 * a call made with a token is retried once with a renewed one).
 */
export class UpstreamError extends RpcError {
  readonly platform: string;
  readonly errcode: number | string;
  readonly transient: boolean;
  readonly tokenRejected: boolean;

  constructor(platform: string, errcode: number | string, errmsg: string, rules: ErrcodeRules = {}) {
    super('UPSTREAM_ERROR', { platform, errcode, errmsg }, `${platform} errcode ${errcode}`);
    this.name = 'UpstreamError';
    this.platform = platform;
    this.errcode = errcode;
    const n = Number(errcode);
    this.transient = Number.isFinite(n) && (rules.transient?.(n) ?? false);
    this.tokenRejected = Number.isFinite(n) && (rules.tokenRejected?.(n) ?? false);
  }
}

/** A platform answered with an error code of its own; `rules` are its platform's (ErrcodeRules). */
export function upstreamError(
  platform: string,
  errcode: number | string,
  errmsg: string,
  rules?: ErrcodeRules,
): UpstreamError {
  return new UpstreamError(platform, errcode, errmsg, rules);
}

/** the platform's error code of an UpstreamError, else undefined */
export function errcodeOf(err: unknown): number | string | undefined {
  return err instanceof UpstreamError ? err.errcode : undefined;
}

/**
 * The HTTP status of an error answered on a route that is not the RPC endpoint (proxies, pages): the
 * app a URL names is unknown 404, the platform not ready yet (no ticket) or the store failing 503,
 * the platform refusing or failing 502. The RPC endpoint answers every error as an envelope.
 */
export function httpStatusOf(err: RpcError): number {
  if (err.code === Codes.NO_APP) return 404;
  if (err.code === Codes.NOT_READY || err.code === Codes.STORE_ERROR) return 503;
  return 502;
}

/** Wraps a store failure: the caller sees 1001, the log sees the driver's message. */
export class StoreError extends RpcError {
  constructor(cause: unknown) {
    super('STORE_ERROR', '', cause instanceof Error ? cause.message : String(cause));
    this.name = 'StoreError';
  }
}
