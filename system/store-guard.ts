import { StoreError } from './errors';
import type { Store } from '../db/store';

/**
 * Wraps a store so that every failure of the database surfaces as a StoreError (1001), whatever
 * the driver threw. The driver's message goes to the log only.
 */
export function guardStore(store: Store): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'constructor') return v;
      return (...args: unknown[]) => {
        try {
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          return r instanceof Promise ? r.catch((err: unknown) => { throw wrap(err); }) : r;
        } catch (err) {
          throw wrap(err);
        }
      };
    },
  });
}

function wrap(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; sqlMessage?: string; message?: string };
  // the driver's own message may quote SQL; keep only the error code and the server's text
  return new StoreError(new Error([e.code, e.sqlMessage ?? (e.code ? '' : e.message)].filter(Boolean).join(' ')));
}
