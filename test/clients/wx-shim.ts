import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FakePlatform } from '../fake/platform';

export const MINIPROGRAM_CLIENT = path.resolve(__dirname, '../../docs/examples/miniprogram/gatehouse.js');

interface WxCallbacks {
  success?: (r: any) => void;
  fail?: (e: { errMsg: string }) => void;
}

export interface WxShim {
  wx: Record<string, (...args: any[]) => any>;
  /** what the mini program did: wx.login calls, and every wx.request (url, method, headers, body) */
  logins: number;
  requests: { url: string; method: string; header: Record<string, string>; data: any }[];
  storage: Map<string, unknown>;
  /** codes the next wx.login calls hand out instead of fresh ones (e.g. the fake's `fail:45011`) */
  nextCodes: string[];
  /** the user on this device: every wx.login code is for them */
  openid: string;
}

/**
 * The parts of the mini-program `wx` API the client uses, in Node: `login` hands out a code the
 * fake WeChat accepts (as jscode2session would for a real wx.login code), `request` is a real HTTP
 * request (JSON in and out, like wx.request's default dataType), storage is a Map.
 */
export function wxShim(fake: FakePlatform, appid?: string): WxShim {
  const shim: WxShim = {
    wx: {},
    logins: 0,
    requests: [],
    storage: new Map(),
    nextCodes: [],
    openid: `o_${crypto.randomBytes(10).toString('hex')}`,
  };
  shim.wx = {
    login(o: WxCallbacks) {
      shim.logins += 1;
      const code = shim.nextCodes.shift() ?? fake.code({ appid, openid: shim.openid }).code;
      setImmediate(() => o.success?.({ code, errMsg: 'login:ok' }));
    },
    request(o: WxCallbacks & { url: string; method?: string; data?: unknown; header?: Record<string, string> }) {
      const method = (o.method ?? 'GET').toUpperCase();
      const header = { ...(o.header ?? {}) };
      shim.requests.push({ url: o.url, method, header, data: o.data });
      const body =
        method === 'GET' || o.data === undefined
          ? undefined
          : typeof o.data === 'string'
            ? o.data
            : JSON.stringify(o.data);
      if (body !== undefined && !Object.keys(header).some((k) => k.toLowerCase() === 'content-type'))
        header['content-type'] = 'application/json';
      fetch(o.url, { method, headers: header, body }).then(
        async (res) => {
          const text = await res.text();
          let data: unknown = text;
          try {
            data = JSON.parse(text);
          } catch {
            /* wx.request leaves a body that is not JSON as a string */
          }
          o.success?.({ statusCode: res.status, data, header: Object.fromEntries(res.headers), errMsg: 'request:ok' });
        },
        (err: Error) => o.fail?.({ errMsg: `request:fail ${err.message}` }),
      );
    },
    getStorageSync: (k: string) => (shim.storage.has(k) ? structuredClone(shim.storage.get(k)) : ''),
    setStorageSync: (k: string, v: unknown) => void shim.storage.set(k, structuredClone(v)),
    removeStorageSync: (k: string) => void shim.storage.delete(k),
  };
  return shim;
}

/** Loads docs/examples/miniprogram/gatehouse.js as a mini program would: its own module, `wx` a global of its world. */
export function loadMiniprogramClient(wx: WxShim['wx']): any {
  const source = fs.readFileSync(MINIPROGRAM_CLIENT, 'utf8');
  const module = { exports: {} as any };
  new Function('wx', 'module', 'exports', 'require', source)(wx, module, module.exports, undefined);
  return module.exports;
}
