import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { FakePlatform } from '../fake/platform';
import { forEachDialect } from '../helpers/db';
import { JWT_SECRET, startNode, type TestNode } from '../helpers/gatehouse';
import { Rng } from '../helpers/rng';
import { pool, sendRaw, type Answer } from '../helpers/raw-http';

/*
 * Deterministic fuzzing of the RPC endpoint (PROTOCOL.md §2, §3.1, §3.4, §4).
 *
 * A seeded PRNG (mulberry32) generates a few thousand malformed requests per dialect: bodies that
 * are not JSON or not an object, wrong types and nulls at every level of the envelope and of every
 * qcloud.cam.* and admin para field, huge strings, deep nesting, unicode junk, unknown interfaces,
 * extra properties, oversized bodies, odd content types, non-POST methods, and admin / backend
 * calls without or with garbage caller tokens. Every answer must be a well-formed envelope with the
 * return code of its input class; afterwards the node must still be healthy and the store must be
 * exactly as it was before the barrage.
 */

const SEED = 0x6a7e4053;
const CONCURRENCY = 20;
const LIMIT = 64 * 1024;
const ROUTES = ['/', '/mina_auth', '/mina_auth/'];

const APP1 = { codeName: 'fzmina', appId: 'wxfuzz00000000001', secret: 'fuzz-secret-one', default: true };
const APP2 = { codeName: 'fzmina2', appId: 'wxfuzz00000000002', secret: 'fuzz-secret-two' };

/** returnMessage of every returnCode in the §2 table */
const MESSAGES: Record<number, string> = {
  0: 'OK',
  1001: 'STORE_ERROR',
  1002: 'NO_INTERFACENAME',
  1003: 'PARA_ERROR',
  1005: 'UPSTREAM_UNREACHABLE',
  1006: 'SESSION_WRITE_FAILED',
  1007: 'UPSTREAM_BAD_REPLY',
  1009: 'REQUEST_IS_NOT_JSON',
  1010: 'UNKNOWN_INTERFACE',
  1011: 'NO_PARA',
  1012: 'NO_APP',
  1013: 'APP_WRITE_FAILED',
  1014: 'NOT_READY',
  4001: 'UNAUTHENTICATED',
  4003: 'FORBIDDEN',
  4029: 'RATE_LIMITED',
  40029: 'UPSTREAM_ERROR',
  60011: 'SESSION_EXPIRED',
  60012: 'AUTH_FAIL',
  60021: 'DECRYPT_FAIL',
  5000: 'INTERNAL_ERROR',
};

// ---------------------------------------------------------------------------------------------
// PRNG and value generators

/** single code points that tend to break things: NUL, lone surrogates, RTL / bidi marks, BOM, emoji … */
const JUNK = [
  '\u0000',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
  '\u202e',
  '\u200f',
  '\u200e',
  '\u2066',
  '\ufeff',
  '\ufffe',
  '\uffff',
  '\u2028',
  '\u2029',
  '\u0301',
  '\u00a0',
  '\u3000',
  '😀',
  '🙈',
  '𝕏',
  '\u{10ffff}',
  '中',
  '文',
  'ß',
  'ǅ',
  '\u0007',
  '\u001b',
  '\n',
  '\r',
  '\t',
  '"',
  '\\',
  '/',
  "'",
  '<',
  '>',
  '&',
  '%',
  '#',
  '?',
  '=',
  '+',
  ';',
  '$',
  '{',
  '}',
  '[',
  ']',
  '`',
];
const ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.';

const cpLen = (s: string) => [...s].length;

/** a string of about n code points, part junk; lone surrogates may pair up, so it can be shorter */
function junkString(r: Rng, n: number, junkRatio = r.float()): string {
  let s = '';
  for (let i = 0; i < n; i++) s += r.chance(junkRatio) ? r.pick(JUNK) : ASCII[r.int(0, ASCII.length - 1)];
  return s;
}

/** a string of exactly n code points (n >= 1), never empty */
function stringOfLength(r: Rng, n: number): string {
  const kind = r.int(0, 5);
  if (kind === 0) return 'x'.repeat(n);
  if (kind === 1) return '😀'.repeat(n);
  if (kind === 2) return '\u0000'.repeat(n);
  let s = junkString(r, n).replace(/[\ud800-\udfff]/gu, 'z'); // no lone surrogates (they may pair up): exact length
  while (cpLen(s) < n) s += 'y';
  return s;
}

/** a string of 1..max code points (mostly short, sometimes huge, but the body stays < 64 KiB) */
function validString(r: Rng, max: number, min = 1): string {
  if (min === 0 && r.chance(0.05)) return '';
  const roll = r.float();
  let n: number;
  if (roll < 0.7) n = r.int(1, Math.min(max, 40));
  else if (roll < 0.9) n = r.int(1, Math.min(max, 128));
  // 14000 × ≤4 bytes (or 6 escaped NUL/surrogate bytes: 84 KB!) — see finalize()
  else n = Math.min(max, r.int(1, 14_000));
  const s = r.chance(0.5) ? junkString(r, n) : stringOfLength(r, n);
  return s.length === 0 ? 'a' : s;
}

function randomScalar(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => -0,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => r.int(-1e9, 1e9),
    () => '',
    () => junkString(r, r.int(1, 20)),
    () => '1',
    () => 'true',
    () => 'null',
  ])();
}

function randomJson(r: Rng, depth = 0): unknown {
  const k = depth > 3 ? 0 : r.int(0, 3);
  if (k <= 1) return randomScalar(r);
  if (k === 2) return Array.from({ length: r.int(0, 4) }, () => randomJson(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = r.int(0, 4); i > 0; i--) o[junkString(r, r.int(1, 8))] = randomJson(r, depth + 1);
  return o;
}

/** any JSON value that is not a string */
function nonString(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => true,
    () => false,
    () => 0,
    () => r.int(-1e6, 1e6),
    () => 3.25,
    () => [],
    () => [junkString(r, 3)],
    () => ({}),
    () => ({ a: junkString(r, 3) }),
    () => randomJson(r, 2) ?? null,
  ])();
}
function nonStringValue(r: Rng): unknown {
  let v = nonString(r);
  while (typeof v === 'string') v = nonString(r);
  return v;
}

/** any JSON value that is not an object (null, arrays, scalars) */
function nonObject(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => null,
    () => true,
    () => false,
    () => 0,
    () => -7,
    () => 2.5,
    () => '',
    () => junkString(r, r.int(1, 30)),
    () => '{}',
    () => [],
    () => [{}],
    () => [randomJson(r, 1)],
    () => [[[]]],
  ])();
}

/** a property name that no para schema allows */
function extraKey(r: Rng): string {
  if (r.chance(0.05)) return '';
  return (
    r.pick([
      '__proto__x',
      'constructor',
      'toString',
      'hasOwnProperty',
      'force',
      'invalid_token',
      'extra',
      'ID',
      'Code',
      '\u0000',
      '😀',
      '\u202e',
    ]) + (r.chance(0.5) ? junkString(r, r.int(1, 6)) : '')
  );
}

// ---------------------------------------------------------------------------------------------
// para field models (schemas of §3.1 and §3.4, written out independently of the server's)

type FieldKind =
  | { t: 'str'; max: number; min?: number }
  | { t: 'codeName' }
  | { t: 'platform' }
  | { t: 'config' }
  | { t: 'corpid' }
  | { t: 'digits' }
  | { t: 'limit' }
  | { t: 'anystr' };

interface Field {
  kind: FieldKind;
  required: boolean;
}

interface ParaModel {
  name: string;
  fields: Record<string, Field>;
  /** a schema-valid para (admin ones are only ever sent broken) */
  valid: (r: Rng) => Record<string, unknown>;
  /** extra cross-field rules that make a para invalid */
  extraInvalid?: (r: Rng, base: Record<string, unknown>) => Record<string, unknown>;
}

const PLATFORMS = [
  'cos',
  'fengniao_app',
  'shansong_app',
  'toutiao_app',
  'wechat_app',
  'wechat_tp',
  'wecom_corp',
  'wecom_tp',
];
const str = (max: number, min = 1): FieldKind => ({ t: 'str', max, min });

function invalidFor(r: Rng, kind: FieldKind): unknown {
  if (kind.t === 'digits')
    return r.pick<unknown>([
      '',
      'abc',
      '1'.repeat(21),
      '-1',
      '1.5',
      '１２３',
      ' 1',
      -1,
      1.5,
      -0.5,
      null,
      true,
      [],
      {},
      [1],
    ]);
  if (kind.t === 'limit') return r.pick<unknown>([-1, 201, 100000, 1.5, '10', null, true, [], {}, [1]]);
  if (kind.t === 'anystr' || r.chance(0.45)) return nonStringValue(r);
  switch (kind.t) {
    case 'str': {
      const min = kind.min ?? 1;
      if (min >= 1 && r.chance(0.35)) return '';
      return stringOfLength(r, kind.max + r.int(1, r.chance(0.8) ? 40 : 2000));
    }
    case 'codeName':
      return r.pick([
        '',
        '-lead',
        '_lead',
        'has space',
        'a'.repeat(65),
        'emoji😀',
        'nul\u0000',
        'rtl\u202e',
        'a/b',
        '..',
        'x'.repeat(64) + 'y',
      ]);
    case 'platform':
      return r.pick([
        '',
        'WECHAT_APP',
        'wechat',
        'wechat_app ',
        ' wechat_app',
        'wechat_app\u0000',
        'cos2',
        junkString(r, 10),
      ]);
    case 'config':
      return r.pick<() => unknown>([
        () => ({}),
        () => ({ appId: 'wxbad' }),
        () => ({ appId: 'wxbad', secret: 's', [extraKey(r)]: 1 }),
        () => ({ appId: '', secret: '' }),
        () => ({ appId: 'has space', secret: 'x' }),
        () => ({ appId: nonStringValue(r), secret: nonStringValue(r) }),
        () => ({ junk: randomJson(r, 1) }),
      ])();
    case 'corpid':
      return r.pick(['', 'has space', 'a'.repeat(129), 'ww\u0000', 'ww😀', 'ww/x']);
  }
}

function validFor(r: Rng, kind: FieldKind): unknown {
  switch (kind.t) {
    case 'str':
      return validString(r, kind.max, kind.min ?? 1);
    case 'codeName':
      return r.pick(['fzmina', 'nobody', 'a', 'A.b:c@d-e_f', 'x'.repeat(64)]);
    case 'platform':
      return r.pick(PLATFORMS);
    case 'config':
      return { appId: 'wxvalid0001', secret: 'valid-secret' };
    case 'corpid':
      return 'ww0000000000fuzz';
    case 'digits':
      return r.pick<unknown>(['1000002', 1000002, 0, '0']);
    case 'limit':
      return r.int(1, 200);
    case 'anystr':
      return r.pick(['component_verify_ticket', 'authorized']);
  }
}

function modelFrom(name: string, fields: Record<string, Field>, extra?: Partial<ParaModel>): ParaModel {
  return {
    name,
    fields,
    valid: (r) => {
      const p: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(fields)) if (f.required || r.chance(0.3)) p[k] = validFor(r, f.kind);
      return p;
    },
    ...extra,
  };
}

const req = (kind: FieldKind): Field => ({ kind, required: true });
const opt = (kind: FieldKind): Field => ({ kind, required: false });

const PUBLIC_MODELS: ParaModel[] = [
  modelFrom(
    'qcloud.cam.id_skey',
    { code: req(str(512)), encrypt_data: opt(str(65536)), iv: opt(str(64)), appid: opt(str(128)) },
    {
      valid: (r) => ({ code: `fz_${r.hex(16)}` }),
      // iv needs encrypt_data (encrypt_data alone is Alipay's; a WeChat app then wants iv: 1003 too)
      extraInvalid: (r, base) =>
        r.chance(0.5) ? { ...base, encrypt_data: validString(r, 200) } : { ...base, iv: validString(r, 64) },
    },
  ),
  modelFrom('qcloud.cam.auth', { id: req(str(128)), skey: req(str(128)), appid: opt(str(128)) }),
  modelFrom('qcloud.cam.userinfo', {
    id: req(str(128)),
    skey: req(str(128)),
    encrypt_data: req(str(65536)),
    iv: opt(str(64)),
  }),
  modelFrom('qcloud.cam.decrypt', {
    id: req(str(128)),
    skey: req(str(128)),
    encrypt_data: req(str(65536)),
    iv: opt(str(64)),
  }),
  modelFrom('qcloud.cam.check_signature', {
    id: req(str(128)),
    skey: req(str(128)),
    raw_data: req(str(65536, 0)),
    signature: req(str(1024)),
  }),
  modelFrom('qcloud.cam.logout', { id: req(str(128)), skey: req(str(128)) }),
];

const ADMIN_MODELS: ParaModel[] = [
  modelFrom(
    'admin.app.put',
    { platform: req({ t: 'platform' }), codeName: req({ t: 'codeName' }), config: req({ t: 'config' }) },
    {
      valid: (r) => ({
        platform: 'wechat_app',
        codeName: r.pick(['fzmina', 'newone']),
        config: { appId: 'wxvalid0001', secret: 'valid-secret' },
      }),
    },
  ),
  modelFrom('admin.app.get', { platform: req({ t: 'platform' }), codeName: req({ t: 'codeName' }) }),
  modelFrom('admin.app.list', { platform: opt({ t: 'platform' }) }),
  modelFrom('admin.app.delete', { platform: req({ t: 'platform' }), codeName: req({ t: 'codeName' }) }),
  modelFrom('admin.token.list', { platform: opt({ t: 'platform' }), codeName: opt({ t: 'codeName' }) }),
  modelFrom('qcloud.work.initagent', {
    corpid: req({ t: 'corpid' }),
    agentid: req({ t: 'digits' }),
    agentsecret: req(str(512)),
    remark: opt(str(256, 0)),
  }),
  modelFrom('admin.push.list', {
    platform: opt({ t: 'platform' }),
    codeName: opt({ t: 'codeName' }),
    infoType: opt({ t: 'anystr' }),
    limit: opt({ t: 'limit' }),
  }),
];

/** a para that certainly fails the model's schema (one or more breaking mutations) */
function brokenPara(r: Rng, m: ParaModel): { para: Record<string, unknown>; how: string } {
  const para = { ...m.valid(r) };
  const hows: string[] = [];
  const names = Object.keys(m.fields);
  const required = names.filter((n) => m.fields[n].required);
  for (let i = 0, n = r.chance(0.8) ? 1 : r.int(2, 3); i < n; i++) {
    const roll = r.int(0, 9);
    if (roll <= 5) {
      const f = r.pick(names);
      para[f] = invalidFor(r, m.fields[f].kind);
      hows.push(`bad ${f}`);
    } else if (roll <= 7 && required.length) {
      const f = r.pick(required);
      delete para[f];
      hows.push(`missing ${f}`);
    } else if (roll === 8 && m.extraInvalid) {
      Object.assign(para, m.extraInvalid(r, para));
      hows.push('cross-field');
    } else {
      para[extraKey(r)] = randomJson(r, 1);
      hows.push('extra property');
    }
  }
  return { para, how: hows.join(', ') };
}

// ---------------------------------------------------------------------------------------------
// cases

interface Case {
  kind: string;
  route: string;
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  chunked?: boolean;
  expectStatus: number;
  /** acceptable returnCodes; undefined = any well-formed envelope */
  expect?: number[];
  echo?: { version?: unknown; componentName?: unknown };
  /** reaches jscode2session at the fake */
  upstream?: boolean;
  /** returnData.valid must be false (check_signature with a wrong signature) */
  invalidSignature?: boolean;
}

interface Seed {
  id: string;
  skey: string;
  sessionKey: string;
}

interface Tokens {
  admin: string;
  narrow: string;
  appsClaim: string;
  garbage: string[];
}

function makeTokens(r: Rng): Tokens {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const admin = jwt.sign({ sub: 'fuzz', scope: 'admin.* qcloud.work.*' }, JWT_SECRET, {
    algorithm: 'HS256',
    expiresIn: 3600,
  });
  const garbage = [
    '',
    'Bearer',
    'Bearer ',
    'Bearer  ',
    'Basic dXNlcjpwYXNzd29yZA==',
    'Token abc',
    'bearer',
    'Bearer null',
    'Bearer undefined',
    'Bearer a.b.c',
    'Bearer ...',
    `Bearer ${r.hex(40)}`,
    `Bearer ${'A'.repeat(6000)}`,
    'Bearer \u00ff\u00fe\u00e9',
    `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', scope: '*', exp: now + 3600 })}.`,
    `Bearer ${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'x', scope: '*', exp: now + 3600 })}.${r.hex(43)}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*' }, 'not-the-secret', { algorithm: 'HS256', expiresIn: 3600 })}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*', exp: now - 120 }, JWT_SECRET, { algorithm: 'HS256' })}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*' }, JWT_SECRET, { algorithm: 'HS256' })}`, // no exp
    `Bearer ${jwt.sign({ sub: 'x', scope: ['*'] }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 })}`,
    `Bearer ${jwt.sign({ scope: '*' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 })}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*', apps: 'fzmina' }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 3600 })}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*' }, JWT_SECRET, { algorithm: 'HS512', expiresIn: 3600 })}`,
    `Bearer ${jwt.sign({ sub: 'x', scope: '*', nbf: now + 3600 }, JWT_SECRET, { algorithm: 'HS256', expiresIn: 7200 })}`,
    `${admin}`, // the token without the Bearer scheme
    `Bearer ${admin.slice(0, -2)}`, // truncated signature
    `Bearer ${admin}x`,
  ];
  return {
    admin,
    narrow: jwt.sign({ sub: 'fuzz', scope: 'qcloud.mimi.* wechat.*' }, JWT_SECRET, {
      algorithm: 'HS256',
      expiresIn: 3600,
    }),
    appsClaim: jwt.sign({ sub: 'fuzz', scope: '*', apps: ['someone-else'] }, JWT_SECRET, {
      algorithm: 'HS256',
      expiresIn: 3600,
    }),
    garbage,
  };
}

/** AES-128-CBC as WXBizDataCrypt does it, to build decryptable-but-wrong user data */
function encryptUserData(sessionKey: string, plaintext: string): { encrypt_data: string; iv: string } {
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-128-cbc', Buffer.from(sessionKey, 'base64'), iv);
  return {
    encrypt_data: Buffer.concat([c.update(plaintext, 'utf8'), c.final()]).toString('base64'),
    iv: iv.toString('base64'),
  };
}

function generate(r: Rng, seed: Seed, tokens: Tokens, registered: Map<string, string>): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const route = () => {
    const base = ROUTES[n++ % ROUTES.length];
    return r.chance(0.05) ? `${base}?${encodeURIComponent(junkString(r, 6).replace(/[\ud800-\udfff]/g, '_'))}=1` : base;
  };
  const randomVersion = () =>
    r.pick<() => unknown>([
      () => 1,
      () => '1',
      () => 0,
      () => -3.5,
      () => null,
      () => true,
      () => [],
      () => ({}),
      () => junkString(r, 10),
      () => Infinity /* 1e400 in JSON */,
      () => nonObject(r),
    ])();
  const randomComponent = () =>
    r.pick<() => unknown>([() => 'MA', () => junkString(r, 8), () => null, () => 7, () => ['MA'], () => ({ a: 1 })])();

  /** an envelope object with random version/componentName (present or not) and random extra top-level keys */
  const envelope = (iface: unknown, withIface = true): Record<string, unknown> => {
    const env: Record<string, unknown> = {};
    if (r.chance(0.6)) env.version = randomVersion();
    if (r.chance(0.6)) env.componentName = randomComponent();
    if (withIface) env.interface = iface;
    if (r.chance(0.1)) env[extraKey(r)] = randomJson(r, 1);
    return env;
  };
  const iface = (interfaceName: unknown, para: unknown, opts: { noName?: boolean; noPara?: boolean } = {}) => {
    const o: Record<string, unknown> = {};
    if (!opts.noName) o.interfaceName = interfaceName;
    if (!opts.noPara) o.para = para;
    if (r.chance(0.1)) o[extraKey(r)] = randomJson(r, 1);
    return o;
  };
  const echoOf = (env: Record<string, unknown>) => ({ version: env.version, componentName: env.componentName });

  /** a JSON-bodied POST; sometimes with an odd content type (then 1009 is acceptable too) */
  const push = (kind: string, body: string | Buffer, expectCodes: number[], extra: Partial<Case> = {}) => {
    const headers: Record<string, string> = { ...(extra.headers ?? {}) };
    let codes = expectCodes;
    let ctKind = kind;
    let lenient = false;
    if (!('content-type' in headers)) {
      const roll = r.float();
      if (roll < 0.8) headers['content-type'] = 'application/json';
      else {
        const ct = r.pick([
          '',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-8',
          'application/json; charset=latin1',
          'application/octet-stream',
          'application/vnd.api+json',
          'text/json',
          'APPLICATION/JSON',
          'application/xml',
        ]);
        if (ct) headers['content-type'] = ct;
        if (ct !== 'application/json; charset=utf-8') {
          codes = [...new Set([...expectCodes, 1009])];
          ctKind = `${kind} [content-type ${ct || 'none'}]`;
          lenient = true;
        }
      }
    }
    if (headers['content-type'] === '') delete headers['content-type']; // none at all
    if (r.chance(0.05) && !('authorization' in headers))
      headers['x-request-id'] = r.pick(['', 'a b', 'x'.repeat(300), '../../etc', 'é']);
    cases.push({
      kind: ctKind,
      route: route(),
      method: 'POST',
      body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
      expectStatus: 200,
      ...extra,
      expect: codes,
      headers,
      ...(lenient ? { echo: undefined, invalidSignature: false } : {}),
    });
  };
  const pushEnv = (kind: string, env: Record<string, unknown>, codes: number[], extra: Partial<Case> = {}) =>
    push(kind, JSON.stringify(env), codes, { echo: echoOf(env), ...extra });

  const publicNames = PUBLIC_MODELS.map((m) => m.name);
  const anyRegistered = [...registered.keys()];
  const guarded = anyRegistered.filter((k) => registered.get(k) !== 'public');
  const adminModels = ADMIN_MODELS.filter((m) => registered.has(m.name));

  // 1. not JSON at all: random bytes, truncated JSON, whitespace, invalid UTF-8 structure
  for (let i = 0; i < 80; i++) {
    const b = r.bytes(r.int(1, r.chance(0.9) ? 300 : 20_000));
    if ('{ \t\r\n'.includes(String.fromCharCode(b[0]))) b[0] = 0x21;
    push('random bytes', b, [1009]);
  }
  for (let i = 0; i < 80; i++) {
    const full = JSON.stringify(envelope(iface(r.pick(publicNames), PUBLIC_MODELS[0].valid(r))));
    push('truncated JSON', full.slice(0, r.int(0, full.length - 1)), [1009]);
  }
  push('empty body', '', [1009]);
  push('empty body', '', [1009], { headers: { 'content-type': '' } });
  push('empty body', '', [1009], { headers: { 'content-type': 'text/plain' } });
  for (const ws of [
    ' ',
    '\n',
    '\t\r\n ',
    '\u00a0',
    'null',
    'undefined',
    'NaN',
    '{',
    '}',
    '{}}',
    '{"a":1,}',
    "{'a':1}",
    '{a:1}',
    '{"a":01}',
    '{"a":1}{"b":2}',
    '[1,]',
    '{"a":"\t"}x',
    '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b"}}} trailing',
    '\u0000{}',
    '/*c*/{}',
    '{"a":"\\x41"}',
    '{"a":"\\ud800\\"}',
  ]) {
    push('not JSON', ws, [1009]);
  }
  for (let i = 0; i < 20; i++) {
    // a valid envelope whose strings hold invalid UTF-8: decoded with U+FFFD, so still a 60012
    const pre = Buffer.from('{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"');
    const bad = Buffer.from(
      r.pick([[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]]),
    );
    const post = Buffer.from(`${r.hex(4)}","skey":"${r.hex(32)}"}}}`);
    push('invalid UTF-8 in strings', Buffer.concat([pre, bad, post]), [60012]);
  }
  // UTF-8 BOM / UTF-16 encodings of a valid envelope: either read or refused, never a 500
  for (const enc of ['bom', 'utf16le', 'utf16be']) {
    const text = JSON.stringify(envelope(iface('qcloud.cam.logout', { id: r.hex(32), skey: r.hex(32) })));
    let b: Buffer;
    if (enc === 'bom') b = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    else if (enc === 'utf16le') b = Buffer.from('\ufeff' + text, 'utf16le');
    else b = Buffer.from('\ufeff' + text, 'utf16le').swap16();
    push(`encoding ${enc}`, b, [60012, 1009]);
  }
  // compressed bodies: a gzip of garbage and a gzip bomb
  push('gzip garbage', r.bytes(200), [1009], {
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
  });
  push('unknown content-encoding', Buffer.from('{"interface":1}'), [1009], {
    headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
  });
  cases.push({
    kind: 'gzip bomb',
    route: route(),
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: zlib.gzipSync(Buffer.from('{"a":"' + 'a'.repeat(2_000_000) + '"}')),
    expectStatus: 413,
    expect: [1009],
  });

  // 2. JSON that is not an object
  for (let i = 0; i < 100; i++) push('JSON not an object', JSON.stringify(nonObject(r)), [1009]);
  for (let i = 0; i < 10; i++)
    push(
      'JSON array of envelopes',
      JSON.stringify([envelope(iface('qcloud.cam.auth', { id: 'a', skey: 'b' }))]),
      [1009],
    );

  // 3. interface / interfaceName / para at the envelope level
  for (let i = 0; i < 60; i++) pushEnv('no interface', envelope(undefined, false), [1002]);
  for (let i = 0; i < 60; i++) pushEnv('interface not an object', envelope(nonObject(r)), [1002]);
  for (let i = 0; i < 60; i++)
    pushEnv('interfaceName missing', envelope(iface(undefined, { id: 'a', skey: 'b' }, { noName: true })), [1002]);
  for (let i = 0; i < 100; i++)
    pushEnv('interfaceName not a string', envelope(iface(nonStringValue(r), { id: 'a', skey: 'b' })), [1002]);
  const unknownNames = () =>
    r.pick<() => string>([
      () => '',
      () => ' ',
      () => 'qcloud.cam.id_skey ',
      () => ' qcloud.cam.auth',
      () => 'QCLOUD.CAM.AUTH',
      () => 'qcloud.cam.auth\u0000',
      () => 'qcloud.cam',
      () => 'qcloud.cam.*',
      () => '*',
      () => 'admin.*',
      () => 'admin.app',
      () => '__proto__',
      () => 'constructor',
      () => 'toString',
      () => 'hasOwnProperty',
      () => 'qcloud\u202e.cam.auth',
      () => 'qcloud.cam.аuth' /* cyrillic а */,
      () => junkString(r, r.int(1, 60)),
      () => 'x'.repeat(r.int(1000, 30_000)),
      () => `${r.pick(anyRegistered)}.${junkString(r, 3)}`,
    ])();
  for (let i = 0; i < 150; i++) {
    let name = unknownNames();
    if (registered.has(name)) name += '?';
    const para = r.pick<() => unknown>([
      () => ({}),
      () => randomJson(r, 1),
      () => undefined,
      () => ({ id: 'a', skey: 'b' }),
    ])();
    pushEnv('unknown interface', envelope(iface(name, para, { noPara: para === undefined })), [1010], {
      headers: r.chance(0.3) ? { authorization: `Bearer ${tokens.admin}` } : {},
    });
  }
  for (let i = 0; i < 150; i++) {
    const name = r.pick(anyRegistered);
    const missing = r.chance(0.3);
    const auth: Record<string, string> = r.chance(0.3)
      ? { authorization: r.chance(0.5) ? `Bearer ${tokens.admin}` : r.pick(tokens.garbage) }
      : {};
    pushEnv(
      'para missing / not an object',
      envelope(iface(name, missing ? undefined : nonObject(r), { noPara: missing })),
      [1011],
      { headers: auth },
    );
  }

  // 4. public interfaces: schema failures → 1003, with or without a (garbage) Authorization header
  for (let i = 0; i < 650; i++) {
    const m = r.pick(PUBLIC_MODELS);
    const { para, how } = brokenPara(r, m);
    const auth: Record<string, string> = r.chance(0.2)
      ? { authorization: r.pick([...tokens.garbage.filter(Boolean), `Bearer ${tokens.admin}`]) }
      : {};
    pushEnv(`${m.name} para schema (${how})`, envelope(iface(m.name, para)), [1003], { headers: auth });
  }

  // 5. public interfaces, well-formed but unknown credentials → 60012
  const credModels = PUBLIC_MODELS.filter((m) => m.name !== 'qcloud.cam.id_skey');
  for (let i = 0; i < 260; i++) {
    const m = r.pick(credModels);
    const para = m.valid(r);
    if (r.chance(0.15)) para.id = r.hex(32);
    if (r.chance(0.15)) para.skey = r.hex(32);
    pushEnv(`${m.name} unknown id/skey`, envelope(iface(m.name, para)), [60012]);
  }
  // the seeded session's id with a wrong skey (or the right skey for another appid) → 60012
  for (let i = 0; i < 60; i++) {
    const m = r.pick(credModels);
    const para = m.valid(r);
    para.id = seed.id;
    para.skey = r.pick([
      r.hex(32),
      seed.skey.toUpperCase(),
      seed.skey.slice(0, -1),
      `${seed.skey} `,
      `${seed.skey}\u0000`,
      '',
      'x',
    ]);
    if (para.skey === '') para.skey = ' ';
    if (m.name === 'qcloud.cam.auth' && r.chance(0.3)) {
      para.skey = seed.skey;
      para.appid = r.pick([APP2.appId, 'wxunknown', APP1.appId.toUpperCase(), `${APP1.appId} `]);
    }
    pushEnv(`${m.name} seeded id, wrong skey/appid`, envelope(iface(m.name, para)), [60012]);
  }
  // the seeded session's id with an uppercase / padded id and its skey: no such session id → 60012
  for (const id of [seed.id.toUpperCase(), ` ${seed.id}`, `${seed.id}\u0000`, `${seed.id}\t`, seed.id.slice(0, -1)]) {
    pushEnv('qcloud.cam.auth id variant', envelope(iface('qcloud.cam.auth', { id, skey: seed.skey })), [60012]);
  }
  // right id + skey, undecryptable data → 60021 (and nothing stored by userinfo)
  for (let i = 0; i < 40; i++) {
    const name = r.pick(['qcloud.cam.userinfo', 'qcloud.cam.decrypt']);
    const variant = r.int(0, 5);
    let p: { encrypt_data: string; iv: string };
    if (variant === 0) p = { encrypt_data: validString(r, 300), iv: validString(r, 64) };
    else if (variant === 1)
      p = {
        encrypt_data: crypto.randomBytes(r.int(1, 20) * 16).toString('base64'),
        iv: crypto.randomBytes(16).toString('base64'),
      };
    else if (variant === 2) p = encryptUserData(seed.sessionKey, junkString(r, 50));
    else if (variant === 3)
      p = encryptUserData(seed.sessionKey, JSON.stringify(r.pick([[1, 2], null, 'str', 42, { watermark: 'x' }])));
    else if (variant === 4)
      p = encryptUserData(
        seed.sessionKey,
        JSON.stringify({ openId: 'o', watermark: { appid: r.pick([APP2.appId, 'wx', null, 1]) } }),
      );
    else
      p = {
        ...encryptUserData(seed.sessionKey, '{"watermark":{"appid":"x"}}'),
        iv: crypto.randomBytes(r.pick([8, 15, 17, 32])).toString('base64'),
      };
    pushEnv(`${name} undecryptable`, envelope(iface(name, { id: seed.id, skey: seed.skey, ...p })), [60021]);
  }
  // right id + skey, wrong signature → {valid:false}
  for (let i = 0; i < 10; i++) {
    pushEnv(
      'qcloud.cam.check_signature wrong signature',
      envelope(
        iface('qcloud.cam.check_signature', {
          id: seed.id,
          skey: seed.skey,
          raw_data: validString(r, 2000, 0),
          signature: r.chance(0.5) ? r.hex(40) : validString(r, 64),
        }),
      ),
      [0],
      { invalidSignature: true },
    );
  }

  // 6. id_skey that passes the schema: random codes go to the fake (40029); unknown appids are 1012
  for (let i = 0; i < 70; i++) {
    const para: Record<string, unknown> = { code: `fz_${junkString(r, r.int(1, 100))}` };
    if (r.chance(0.4)) para.appid = r.pick([APP1.appId, APP2.appId]);
    if (r.chance(0.3)) Object.assign(para, { encrypt_data: validString(r, 2000), iv: validString(r, 64) });
    pushEnv('qcloud.cam.id_skey random code', envelope(iface('qcloud.cam.id_skey', para)), [40029], { upstream: true });
  }
  for (let i = 0; i < 25; i++) {
    const appid = r.pick([
      'wxunknown',
      APP1.appId.toUpperCase(),
      ` ${APP1.appId}`,
      `${APP1.appId}\u0000`,
      junkString(r, r.int(1, 128)),
      APP1.codeName,
    ]);
    pushEnv(
      'qcloud.cam.id_skey unknown appid',
      envelope(iface('qcloud.cam.id_skey', { code: `fz_${r.hex(8)}`, appid })),
      [1012],
    );
  }

  // 7. backend / admin interfaces: no or garbage Authorization → 4001, whatever the para
  for (let i = 0; i < 260 && guarded.length; i++) {
    const name = r.pick(guarded);
    const model = ADMIN_MODELS.find((m) => m.name === name);
    const para =
      model && r.chance(0.6)
        ? r.chance(0.5)
          ? model.valid(r)
          : brokenPara(r, model).para
        : (randomJson(r, 0) as object);
    const p = para !== null && typeof para === 'object' && !Array.isArray(para) ? para : {};
    const g = r.pick(tokens.garbage);
    pushEnv(`${name} ${g ? 'garbage' : 'no'} caller token`, envelope(iface(name, p)), [4001], {
      headers: g ? { authorization: g } : {},
    });
  }
  // scope that does not cover admin → 4003
  for (let i = 0; i < 30 && adminModels.length; i++) {
    const m = r.pick(adminModels);
    pushEnv(
      `${m.name} narrow scope`,
      envelope(iface(m.name, r.chance(0.5) ? m.valid(r) : brokenPara(r, m).para)),
      [4003],
      {
        headers: { authorization: `Bearer ${tokens.narrow}` },
      },
    );
  }
  // valid caller token, broken para → 1003 (never a write)
  for (let i = 0; i < 280 && adminModels.length; i++) {
    const m = r.pick(adminModels);
    const { para, how } = brokenPara(r, m);
    pushEnv(`${m.name} para schema (${how})`, envelope(iface(m.name, para)), [1003], {
      headers: { authorization: `Bearer ${tokens.admin}` },
    });
  }
  // apps claim that does not cover the codeName → 4003
  for (const name of ['admin.app.get', 'admin.app.delete', 'admin.app.put']) {
    if (!registered.has(name)) continue;
    const m = ADMIN_MODELS.find((x) => x.name === name)!;
    for (let i = 0; i < 8; i++) {
      const para =
        name === 'admin.app.put' ? m.valid(r) : { platform: r.pick(PLATFORMS), codeName: r.pick(['fzmina', 'nobody']) };
      pushEnv(`${name} apps claim`, envelope(iface(name, para)), [4003], {
        headers: { authorization: `Bearer ${tokens.appsClaim}` },
      });
    }
  }
  // valid caller token, well-formed read-only calls
  if (registered.has('admin.app.get')) {
    for (let i = 0; i < 10; i++) {
      pushEnv(
        'admin.app.get unknown app',
        envelope(
          iface('admin.app.get', {
            platform: r.pick(PLATFORMS),
            codeName: r.pick(['nobody', 'x'.repeat(64), 'A.b:c@d-e_f']),
          }),
        ),
        [1012],
        {
          headers: { authorization: `Bearer ${tokens.admin}` },
        },
      );
    }
  }
  for (const name of ['admin.app.list', 'admin.token.list']) {
    if (!registered.has(name)) continue;
    for (let i = 0; i < 5; i++) {
      const para = r.chance(0.5) ? {} : { platform: r.pick(PLATFORMS) };
      pushEnv(`${name} well-formed`, envelope(iface(name, para)), [0], {
        headers: { authorization: `Bearer ${tokens.admin}` },
      });
    }
  }

  // 8. deep nesting (thousands of levels), as body, interface, para, field, version
  for (let i = 0; i < 40; i++) {
    const levels = r.int(1000, 15_000);
    const arr = '['.repeat(levels) + ']'.repeat(levels);
    const obj = '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    const deep = r.chance(0.5) ? arr : obj;
    const where = r.int(0, 6);
    if (where === 0) push('deep body', arr, [1009]);
    else if (where === 1) push('deep body object', obj, [1002]);
    else if (where === 2) push('deep interface', `{"interface":${arr}}`, [1002]);
    else if (where === 3) push('deep para', `{"interface":{"interfaceName":"qcloud.cam.auth","para":${arr}}}`, [1011]);
    else if (where === 4)
      push(
        'deep para field',
        `{"interface":{"interfaceName":"${r.pick(publicNames)}","para":{"${r.pick(['id', 'code', 'skey', 'zz'])}":${deep}}}}`,
        [1003],
      );
    else if (where === 5)
      push(
        'deep version',
        `{"version":${deep},"interface":{"interfaceName":"qcloud.cam.logout","para":{"id":"${r.hex(32)}","skey":"x"}}}`,
        [60012],
      );
    else push('unbalanced nesting', '['.repeat(r.int(1000, 60_000)), [1009]);
  }

  // 9. huge strings just under the limit in fields that allow them (→ 60012) and that do not (→ 1003)
  for (let i = 0; i < 30; i++) {
    const name = r.pick(['qcloud.cam.decrypt', 'qcloud.cam.userinfo', 'qcloud.cam.check_signature']);
    const env = envelope(iface(name, {}));
    const para = (env.interface as { para: Record<string, unknown> }).para;
    para.id = r.hex(32);
    para.skey = r.hex(32);
    if (name === 'qcloud.cam.check_signature') para.signature = r.hex(40);
    else para.iv = 'r7BXXKkLb8qrSNn05n0qiA==';
    const field = name === 'qcloud.cam.check_signature' ? 'raw_data' : 'encrypt_data';
    const budget = LIMIT - Buffer.byteLength(JSON.stringify(env)) - 64;
    const unit = r.pick(['a', '😀', '中', '\u202e', 'é']);
    para[field] = unit.repeat(Math.floor(budget / Buffer.byteLength(unit)));
    pushEnv(`${name} huge ${field}`, env, [60012]);
  }
  for (let i = 0; i < 10; i++) {
    const env = envelope(iface('qcloud.cam.auth', { id: 'z'.repeat(60_000), skey: 'x' }));
    pushEnv('qcloud.cam.auth huge id', env, [1003]);
  }

  // 9b. prototype keys and duplicate keys (JSON.parse semantics: own "__proto__" property, last duplicate wins);
  //     refusing "__proto__" outright as not-JSON is tolerated
  const proto = (text: string, codes: number[]) => push('prototype key', text, codes);
  proto(
    '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b","__proto__":{"polluted":1}}}}',
    [1003, 1009],
  );
  proto(
    '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b","\\u005f_proto__":{"polluted":1}}}}',
    [1003, 1009],
  );
  proto('{"__proto__":{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b"}}}}', [1002, 1009]);
  proto('{"interface":{"__proto__":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b"}}}}', [1002, 1009]);
  proto('{"interface":{"interfaceName":"qcloud.cam.auth","para":{"__proto__":{"id":"a","skey":"b"}}}}', [1003, 1009]);
  proto(
    '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"constructor":{"prototype":{"polluted":1}},"id":"a","skey":"b"}}}',
    [1003],
  );
  proto(
    '{"interface":{"interfaceName":"admin.app.put","para":{"platform":"wechat_app","codeName":"x","config":{"__proto__":{"polluted":1},"appId":"wx1","secret":"s"}}}}',
    [4001, 1009],
  );
  proto('{"interface":{"interfaceName":"constructor","para":{}}}', [1010]);
  proto('{"interface":{"interfaceName":"__proto__","para":{}}}', [1010]);
  push(
    'duplicate keys',
    '{"interface":{"interfaceName":"qcloud.cam.auth","interfaceName":5,"para":{"id":"a","skey":"b"}}}',
    [1002],
  );
  push(
    'duplicate keys',
    '{"interface":{"interfaceName":5,"interfaceName":"qcloud.cam.auth","para":{"id":1,"id":"a","skey":"b"}}}',
    [60012],
  );
  push(
    'duplicate keys',
    '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":"a","skey":"b"},"para":null}}',
    [1011],
  );
  push('duplicate keys', '{"interface":null,"interface":{"interfaceName":"nope","para":{}}}', [1010]);
  push(
    'numbers',
    '{"version":1e400,"componentName":-0,"interface":{"interfaceName":"qcloud.cam.logout","para":{"id":"a","skey":"b"}}}',
    [60012],
  );
  push('numbers', '{"interface":{"interfaceName":"qcloud.cam.auth","para":{"id":1e400,"skey":"b"}}}', [1003]);

  // 10. oversized bodies → 413 with a 1009 envelope (announced length, chunked, and the exact boundary)
  const padded = (size: number) => {
    const head = '{"interface":{"interfaceName":"qcloud.cam.logout","para":{"id":"a","skey":"b"}},"pad":"';
    return Buffer.from(head + 'p'.repeat(size - head.length - 2) + '"}');
  };
  for (let i = 0; i < 24; i++) {
    const size = r.pick([LIMIT + 1, LIMIT + 2, LIMIT + r.int(3, 4096), LIMIT * 2, LIMIT * r.int(3, 16)]);
    const body = r.chance(0.5) ? padded(size) : r.bytes(size);
    cases.push({
      kind: 'oversized body',
      route: route(),
      method: 'POST',
      headers: { 'content-type': r.pick(['application/json', 'text/plain']) },
      body,
      chunked: r.chance(0.4),
      expectStatus: 413,
      expect: [1009],
    });
  }
  cases.push({
    kind: 'body of exactly 64 KiB',
    route: route(),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: padded(LIMIT),
    expectStatus: 200,
    expect: [60012],
  });
  cases.push({
    kind: 'body of exactly 64 KiB, chunked',
    route: route(),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: padded(LIMIT),
    chunked: true,
    expectStatus: 200,
    expect: [60012],
  });

  // 11. non-POST methods on the RPC paths → 405 with an envelope
  for (const path of ROUTES) {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']) {
      for (let i = 0; i < 3; i++) {
        const withBody = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS' && i > 0;
        cases.push({
          kind: `${method} ${path}`,
          route: path + (i === 2 ? '?interfaceName=qcloud.cam.auth' : ''),
          method,
          headers: withBody ? { 'content-type': 'application/json' } : {},
          body: withBody
            ? Buffer.from(JSON.stringify(envelope(iface('qcloud.cam.auth', { id: 'a', skey: 'b' }))))
            : undefined,
          expectStatus: 405,
        });
      }
    }
  }

  // finalize: anything that ended up over the limit is a 413, and never reaches the platform
  for (const c of cases) {
    if (c.body && c.body.length > LIMIT && c.expectStatus === 200) {
      c.kind += ' (grew over 64 KiB)';
      c.expectStatus = 413;
      c.expect = [1009];
      c.upstream = false;
      c.invalidSignature = false;
      c.echo = undefined;
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// HTTP

function send(base: URL, agent: http.Agent, c: Case): Promise<Answer> {
  return sendRaw(base, agent, {
    path: c.route,
    method: c.method,
    headers: c.headers,
    body: c.body,
    chunked: c.chunked,
    big: c.expectStatus === 413,
  });
}

/** what is wrong with an answer, or null */
function check(c: Case, a: Answer): string | null {
  if (a.status === 500 || a.status >= 500) return `HTTP ${a.status}`;
  if (a.status !== c.expectStatus) return `HTTP ${a.status}, expected ${c.expectStatus}`;
  if (c.method === 'HEAD')
    return a.headers.allow && /POST/.test(String(a.headers.allow)) ? null : `no Allow: POST (${a.headers.allow})`;
  if (!/^application\/json; charset=utf-8$/i.test(String(a.headers['content-type'])))
    return `content-type ${a.headers['content-type']}`;
  let env: Record<string, unknown>;
  try {
    env = JSON.parse(a.text);
  } catch {
    return `body is not JSON: ${a.text.slice(0, 120)}`;
  }
  if (env === null || typeof env !== 'object' || Array.isArray(env)) return 'body is not an object';
  const code = env.returnCode;
  if (typeof code !== 'number') return `returnCode is ${JSON.stringify(code)}`;
  if (typeof env.returnMessage !== 'string') return `returnMessage is ${JSON.stringify(env.returnMessage)}`;
  if (!('returnData' in env)) return 'no returnData';
  if (MESSAGES[code] === undefined) return `returnCode ${code} is not in the §2 table`;
  if (env.returnMessage !== MESSAGES[code]) return `returnMessage ${env.returnMessage} for ${code}`;
  if (code === 5000) return 'INTERNAL_ERROR';
  if (c.method !== 'POST' && !/POST/.test(String(a.headers.allow))) return `no Allow: POST (${a.headers.allow})`;
  if (c.expect && !c.expect.includes(code))
    return `returnCode ${code} ${env.returnMessage}, expected ${c.expect.join('|')}; returnData ${JSON.stringify(env.returnData).slice(0, 160)}`;
  const data = env.returnData as Record<string, unknown>;
  if (code === 1003) {
    const errors = (data as { errors?: unknown })?.errors;
    if (!Array.isArray(errors) || errors.length === 0 || errors.length > 10)
      return `1003 returnData ${JSON.stringify(data).slice(0, 160)}`;
    for (const e of errors)
      if (typeof e?.path !== 'string' || typeof e?.message !== 'string') return `1003 error item ${JSON.stringify(e)}`;
  } else if (code === 40029) {
    if (data?.platform !== 'wechat' || data?.errcode !== 40029 || typeof data?.errmsg !== 'string')
      return `40029 returnData ${JSON.stringify(data)}`;
  } else if (code !== 0 && code !== 4029 && (data as unknown) !== '')
    return `returnData of ${code} is ${JSON.stringify(data).slice(0, 160)}, expected ""`;
  if (c.invalidSignature && (data as { valid?: unknown })?.valid !== false)
    return `check_signature said ${JSON.stringify(data)}`;
  if (c.echo) {
    for (const k of ['version', 'componentName'] as const) {
      const v = c.echo[k];
      if (
        (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) &&
        env[k] !== v &&
        !(v === 0 && env[k] === 0)
      ) {
        return `${k} ${JSON.stringify(v)} echoed as ${JSON.stringify(env[k])}`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

forEachDialect('RPC fuzz', (dialect) => {
  let fake: FakePlatform;
  let node: TestNode;
  let seed: Seed;
  let cases: Case[];
  let before_: Record<string, unknown[]>;
  let logBytesBefore = 0;

  const snapshot = async () => ({
    apps: await node.db.query('SELECT * FROM apps ORDER BY platform, code_name'),
    sessions: await node.db.query('SELECT * FROM sessions ORDER BY id'),
    tokens: await node.db.query('SELECT * FROM tokens ORDER BY token_key'),
    meta: await node.db.query('SELECT * FROM meta ORDER BY k'),
    counts: await Promise.all(
      ['apps', 'sessions', 'tokens', 'meta'].map(
        async (t) => (await node.db.query(`SELECT COUNT(*) AS n FROM ${t}`))[0].n,
      ),
    ),
  });

  before(async function () {
    this.timeout(30_000);
    fake = await new FakePlatform().start();
    fake.app(APP1.appId, APP1.secret);
    fake.app(APP2.appId, APP2.secret);
    node = await startNode({ dialect, fake, env: { GATEHOUSE_PUBLIC_RATE_LIMIT: '0', GATEHOUSE_LOG_LEVEL: 'info' } });
    const admin = node.token('admin.*');
    for (const a of [APP1, APP2]) {
      const { codeName, ...config } = a;
      const res = await node.rpc('admin.app.put', { platform: 'wechat_app', codeName, config }, admin);
      expect(res.returnCode, JSON.stringify(res)).to.equal(0);
    }
    const c = fake.code({ appid: APP1.appId });
    const login = await node.rpc('qcloud.cam.id_skey', { code: c.code });
    expect(login.returnCode, JSON.stringify(login)).to.equal(0);
    seed = { id: login.returnData.id, skey: login.returnData.skey, sessionKey: c.sessionKey };

    const doc = (await (await fetch(`${node.url}/openrpc.json`)).json()) as {
      methods: { name: string; 'x-access': string }[];
    };
    const registered = new Map(doc.methods.map((m) => [m.name, m['x-access']]));
    for (const m of PUBLIC_MODELS) expect(registered.get(m.name), m.name).to.equal('public');
    cases = generate(new Rng(SEED), seed, makeTokens(new Rng(SEED ^ 0x5bd1e995)), registered);

    fake.reset();
    before_ = await snapshot();
    logBytesBefore = fs.statSync(node.logFile).size;
  });
  after(async () => {
    await node?.close();
    await fake?.stop();
  });

  it('answers every malformed request with a well-formed envelope of the right code', async function () {
    this.timeout(60_000);
    expect(cases.length).to.be.greaterThan(2000);
    const base = new URL(node.url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const failures: string[] = [];
    const started = Date.now();
    try {
      await pool(cases, CONCURRENCY, async (c, i) => {
        let a: Answer;
        try {
          a = await send(base, agent, c);
        } catch (err) {
          failures.push(`#${i} ${c.kind} ${c.method} ${c.route}: request failed: ${(err as Error).message}`);
          return;
        }
        const why = check(c, a);
        if (why) failures.push(`#${i} ${c.kind} ${c.method} ${c.route}: ${why}`);
        // FUZZ_DUMP=1 keeps the bodies of failing cases in /tmp for a closer look
        if (why && process.env.FUZZ_DUMP) fs.writeFileSync(`/tmp/fz-${dialect}-${i}.bin`, c.body ?? '');
      });
    } finally {
      agent.destroy();
    }
    const ms = Date.now() - started;

    const by = (f: (c: Case) => string) =>
      Object.entries(cases.reduce<Record<string, number>>((o, c) => ({ ...o, [f(c)]: (o[f(c)] ?? 0) + 1 }), {}))
        .map(([k, v]) => `${k}:${v}`)
        .join(' ');
    console.log(
      `      ${cases.length} requests against ${dialect} in ${ms} ms; HTTP ${by((c) => String(c.expectStatus))}; codes ${by((c) => c.expect?.join('|') ?? 'any')}`,
    );
    expect(
      failures,
      `${failures.length} of ${cases.length} failed:\n${failures.slice(0, 40).join('\n')}`,
    ).to.deep.equal([]);
  });

  it('is still healthy afterwards', async () => {
    const res = await fetch(`${node.url}/healthz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
    // the server runs in this process: no prototype was polluted by the "__proto__" bodies
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect((Object.prototype as Record<string, unknown>).interface).to.equal(undefined);
  });

  it('wrote nothing to the store', async () => {
    const after_ = await snapshot();
    expect(after_.counts).to.deep.equal(before_.counts);
    expect(after_).to.deep.equal(before_);
  });

  it('called jscode2session only for the well-formed logins with random codes', () => {
    const expected = cases.filter((c) => c.upstream).length;
    expect(expected).to.be.greaterThan(0);
    expect(fake.count('jscode2session')).to.equal(expected);
    expect(fake.count('unknown')).to.equal(0);
  });

  it('logged no internal or store error', () => {
    const fd = fs.openSync(node.logFile, 'r');
    const size = fs.statSync(node.logFile).size;
    const buf = Buffer.alloc(size - logBytesBefore);
    fs.readSync(fd, buf, 0, buf.length, logBytesBefore);
    fs.closeSync(fd);
    const errors = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l));
    expect(errors, errors.slice(0, 5).join('\n')).to.deep.equal([]);
  });

  it('still serves valid calls', async () => {
    const list = await node.rpc('admin.app.list', { platform: 'wechat_app' }, node.token('admin.*'));
    expect(list.returnCode).to.equal(0);
    expect(list.returnData.apps.map((a: { codeName: string }) => a.codeName).sort()).to.deep.equal([
      APP1.codeName,
      APP2.codeName,
    ]);
    const old = await node.rpc('qcloud.cam.auth', { id: seed.id, skey: seed.skey });
    expect(old.returnCode, JSON.stringify(old)).to.equal(0);
    const c = fake.code({ appid: APP2.appId });
    const login = await node.rpc('qcloud.cam.id_skey', { code: c.code, appid: APP2.appId });
    expect(login).to.include({ returnCode: 0, returnMessage: 'OK', version: 1, componentName: 'MA' });
    const auth = await node.rpc('qcloud.cam.auth', { id: login.returnData.id, skey: login.returnData.skey });
    expect(auth.returnCode).to.equal(0);
    expect(auth.returnData).to.include({ appid: APP2.appId, openid: c.openid });
  });

  // Kept out of the barrage because on MariaDB it fails: its utf8mb4_bin collation is PAD SPACE, so
  // `WHERE id = 'abc '` finds the row 'abc' (and `app_id = 'wx… '` the app 'wx…'). SQLite does not.
  it('does not take an id or appid with trailing spaces for the stored one', async () => {
    fake.reset();
    const auth = await node.rpc('qcloud.cam.auth', { id: `${seed.id} `, skey: seed.skey });
    const login = await node.rpc('qcloud.cam.id_skey', {
      code: `fz_${crypto.randomBytes(4).toString('hex')}`,
      appid: `${APP1.appId}  `,
    });
    expect({
      auth: auth.returnCode,
      login: login.returnCode,
      jscode2session: fake.count('jscode2session'),
    }).to.deep.equal({ auth: 60012, login: 1012, jscode2session: 0 });
  });
});
