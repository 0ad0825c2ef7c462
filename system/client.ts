/**
 * gatehouse/client — a typed client for backends (the package entry `gatehouse/client`).
 *
 *     import { GatehouseClient } from 'gatehouse/client';
 *     const gh = new GatehouseClient({ url: 'http://gatehouse:4236/', token: process.env.GATEHOUSE_TOKEN });
 *     const { token } = await gh.call('wechat.app.token', { codeName: 'shop' });
 *     const menu = await gh.withToken('wechat.app.token', { codeName: 'shop' }, (at) =>
 *       fetch(`https://api.weixin.qq.com/cgi-bin/get_current_selfmenu_info?access_token=${at}`).then((r) => r.json()));
 *
 * Para and returnData types come from the registry's JSON Schemas (client-interfaces.ts, generated).
 * It depends on nothing but the global fetch (Node ≥ 18), so importing it loads no server code.
 */
import {
  TOKEN_INTERFACES,
  type InterfaceName,
  type Para,
  type Result,
  type TokenInterfaceName,
} from './client-interfaces';

export type { Interfaces, InterfaceName, Para, Result, TokenInterfaceName } from './client-interfaces';
export { TOKEN_INTERFACES } from './client-interfaces';

export interface ClientOptions {
  /** the RPC endpoint, posted to as given: `http://gatehouse:4236/`, or an API gateway's path to it */
  url: string;
  /** the caller JWT (`gatehouse caller token`), or a function that returns the current one */
  token?: string | (() => string | Promise<string>);
  /** further attempts after a 1005 or a failure to reach gatehouse (default 3) */
  retries?: number;
  /** the first wait before a retry, doubled on each further one, with jitter (default 200 ms) */
  backoffMs?: number;
  /** the longest wait between two attempts (default 5000 ms) */
  maxBackoffMs?: number;
  /** per attempt (default 10000 ms) */
  timeoutMs?: number;
  /** headers sent with every call */
  headers?: Record<string, string>;
  /** another fetch (tests, proxies); default the global one */
  fetch?: typeof fetch;
}

export interface CallOptions {
  /** sent as X-Request-Id: gatehouse logs it on its access line */
  requestId?: string;
}

/** The platform errcodes that mean "this access token is no longer valid" (WeChat, WeCom). */
export const INVALID_TOKEN_ERRCODES: readonly number[] = [40001, 40014, 42001];

/**
 * A call that did not succeed: gatehouse answered `returnCode` ≠ 0, or — `returnCode` null — could
 * not be reached or answered something that is not an envelope. The message names the interface
 * and the code, never the para or the caller token.
 */
export class GatehouseError extends Error {
  readonly interfaceName: string;
  readonly returnCode: number | null;
  readonly returnMessage: string;
  /** the envelope's returnData: `{errors}` on 1003, `{platform, errcode, errmsg}` on 40029 … */
  readonly returnData: unknown;
  /** attempts made, retries included */
  readonly attempts: number;

  constructor(
    interfaceName: string,
    returnCode: number | null,
    returnMessage: string,
    returnData: unknown,
    attempts: number,
    cause?: unknown,
  ) {
    super(
      `gatehouse ${interfaceName}: ${returnCode ?? 'unreachable'} ${returnMessage}${detail(returnCode, returnData)}`,
      cause ? { cause } : undefined,
    );
    this.name = 'GatehouseError';
    this.interfaceName = interfaceName;
    this.returnCode = returnCode;
    this.returnMessage = returnMessage;
    this.returnData = returnData;
    this.attempts = attempts;
  }
}

function detail(code: number | null, data: unknown): string {
  const d = data as Record<string, unknown> | null;
  if (code === 40029 && d && typeof d === 'object') return ` (${d.platform} errcode ${d.errcode}: ${d.errmsg})`;
  if (code === 1003 && Array.isArray(d?.errors))
    return ` (${d.errors.map((e: { path?: unknown; message?: unknown }) => `${e.path} ${e.message}`).join('; ')})`;
  if (code === 4029 && d && typeof d === 'object') return ` (retry after ${d.retryAfter} s)`;
  return '';
}

interface Envelope {
  returnCode: number;
  returnMessage: string;
  returnData: unknown;
}

const isEnvelope = (v: unknown): v is Envelope =>
  !!v &&
  typeof v === 'object' &&
  typeof (v as Envelope).returnCode === 'number' &&
  typeof (v as Envelope).returnMessage === 'string';

/** HTTP statuses of a gateway or balancer in front of a gatehouse that is restarting */
const RETRY_STATUS = new Set([502, 503, 504]);
const UPSTREAM_UNREACHABLE = 1005;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class GatehouseClient {
  private readonly opts: Required<Omit<ClientOptions, 'token' | 'headers'>> & Pick<ClientOptions, 'token' | 'headers'>;

  constructor(options: ClientOptions) {
    if (!options?.url || !/^https?:\/\//.test(options.url))
      throw new TypeError('GatehouseClient: url must be an http(s) URL');
    this.opts = {
      retries: 3,
      backoffMs: 200,
      maxBackoffMs: 5000,
      timeoutMs: 10_000,
      fetch: globalThis.fetch,
      ...options,
    };
  }

  /**
   * Calls one interface and returns its returnData; throws a GatehouseError on any other answer.
   * A 1005 (gatehouse could not reach the platform) and a failure to reach gatehouse itself are
   * retried up to `retries` times, waiting backoffMs, 2×, 4× … (each between half and all of it).
   */
  async call<N extends InterfaceName>(name: N, para: Para<N>, options: CallOptions = {}): Promise<Result<N>> {
    const body = JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName: name, para } });
    for (let attempt = 1; ; attempt++) {
      const answer = await this.post(name, body, options, attempt);
      if ('returnCode' in answer && answer.returnCode === 0) return answer.returnData as Result<N>;
      const failure =
        'error' in answer
          ? answer.error
          : new GatehouseError(name, answer.returnCode, answer.returnMessage, answer.returnData, attempt);
      const retry = 'error' in answer ? answer.retry : answer.returnCode === UPSTREAM_UNREACHABLE;
      if (!retry || attempt > this.opts.retries) throw failure;
      await sleep(this.backoff(attempt));
    }
  }

  /** The token or ticket of a token interface (e.g. `wechat.app.token` → returnData.token). */
  async token<N extends TokenInterfaceName>(name: N, para: Para<N>, options?: CallOptions): Promise<string> {
    const result = (await this.call(name, para, options)) as Record<string, unknown>;
    return String(result[TOKEN_INTERFACES[name].value]);
  }

  /**
   * Runs `fn` with the current token of a token interface. When the platform refuses that token —
   * `fn` returns or throws something whose `errcode` is 40001, 40014 or 42001 — the interface is
   * asked once more with `invalidToken` (`invalid_token` on qcloud.*) set to it, which refreshes it
   * only if it is still the current one (§5.4), and `fn` runs once more with the new token. When
   * gatehouse answers the same token (another caller refreshed it less than 30 s ago and the
   * refresh budget is spent) the first answer is returned as it came, rather than repeated.
   */
  async withToken<N extends TokenInterfaceName, T>(
    name: N,
    para: Para<N>,
    fn: (token: string, result: Result<N>) => T | Promise<T>,
    options?: CallOptions,
  ): Promise<T> {
    const spec = TOKEN_INTERFACES[name];
    const first = (await this.call(name, para, options)) as Result<N>;
    const token = String((first as Record<string, unknown>)[spec.value]);
    const outcome = await settle(() => fn(token, first));
    if (!invalidToken(outcome)) return unwrap(outcome);
    const again = (await this.call(name, { ...para, [spec.invalidate]: token } as Para<N>, options)) as Result<N>;
    const fresh = String((again as Record<string, unknown>)[spec.value]);
    if (fresh === token) return unwrap(outcome);
    return fn(fresh, again);
  }

  /** one attempt: the envelope, or why there is none and whether another attempt may help */
  private async post(
    name: string,
    body: string,
    options: CallOptions,
    attempt: number,
  ): Promise<Envelope | { error: GatehouseError; retry: boolean }> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.opts.headers };
    const token = typeof this.opts.token === 'function' ? await this.opts.token() : this.opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.requestId) headers['x-request-id'] = options.requestId;
    let res: Response;
    let text: string;
    try {
      res = await this.opts.fetch(this.opts.url, {
        method: 'POST',
        body,
        headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why =
        e?.name === 'TimeoutError'
          ? `no answer in ${this.opts.timeoutMs} ms`
          : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? 'error');
      return {
        error: new GatehouseError(name, null, `cannot reach gatehouse (${why})`, '', attempt, err),
        retry: true,
      };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (isEnvelope(parsed)) return parsed;
    // a balancer or gateway in front of a restarting gatehouse answers 502-504: worth another try;
    // anything else (a wrong URL, a gateway refusing the request) is not
    const error = new GatehouseError(name, null, `HTTP ${res.status} without an envelope`, '', attempt);
    return { error, retry: RETRY_STATUS.has(res.status) };
  }

  private backoff(attempt: number): number {
    const full = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (attempt - 1));
    return full / 2 + Math.random() * (full / 2);
  }
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function settle<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function unwrap<T>(o: Outcome<T>): T {
  if (o.ok) return o.value;
  throw o.error;
}

/** whether a platform answer (or an error carrying one) says the access token is invalid */
function invalidToken(o: Outcome<unknown>): boolean {
  const v = (o.ok ? o.value : o.error) as { errcode?: unknown } | null | undefined;
  if (!v || typeof v !== 'object') return false;
  return INVALID_TOKEN_ERRCODES.includes(Number(v.errcode));
}
