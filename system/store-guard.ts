import { StoreError } from './errors';
import type { Store } from '../db/store';

/**
 * Wraps a store so that every failure of the database surfaces as a StoreError (1001), whatever
 * the driver threw. The driver's message goes to the log only.
 */
export function guardStore(store: Store, breakerMs = 1000): Store {
  // after a connection failure, calls fail at once for a moment instead of each waiting on the
  // pool's timeout: fallbacks (cached tokens and apps) answer quickly while the database is down
  let downUntil = 0;
  const fail = (err: unknown): never => {
    if (isConnectionError(err)) downUntil = Date.now() + breakerMs;
    throw wrap(err);
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        if (prop !== 'close' && Date.now() < downUntil)
          return Promise.reject(new StoreError(new Error('database unavailable')));
        try {
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r instanceof Promise ? r.catch(fail) : r;
        } catch (err) {
          return fail(err);
        }
      };
    },
  });
}

function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; fatal?: unknown };
  return e?.fatal === true || /CONN|SOCKET|TIMEOUT|ECONN|EHOSTUNREACH|EPIPE/i.test(String(e?.code ?? ''));
}

function wrap(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; sqlMessage?: string; message?: string };
  // the driver's own message may quote SQL; keep only the error code and the server's text
  return new StoreError(new Error([e.code, e.sqlMessage ?? (e.code ? '' : e.message)].filter(Boolean).join(' ')));
}
