/**
 * The tables of docs/PROTOCOL.md that are read off the code, so that the docs cannot drift:
 *
 *   npm run docs          rewrites every `<!-- generated:NAME -->…<!-- /generated -->` region
 *   npm run docs:check    exits 1, naming the regions, when the committed file differs (CI runs it)
 *
 * Regions: `interfaces` (every registered interface: access, para fields, result, apps claim),
 * `app-configs` (every platform's config fields: type, required, secret, identity) and `routes`
 * (every HTTP route the server registers). Nothing else in the file is touched.
 *
 * The registry and routes are built exactly as a node builds them (application/index.ts compose),
 * over a throw-away in-memory store and the default configuration: no environment is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compose } from '../application';
import { SqliteStore } from '../db/sqlite';
import { configFromEnv } from '../system/config';
import { createLogger } from '../system/log';
import { RPC_PATHS } from '../system/rpc';
import type { JsonSchema } from '../system/registry';

export const PROTOCOL_FILE = path.join(__dirname, 'PROTOCOL.md');

type Schema = Record<string, any>;

/** a markdown table cell: pipes escaped (also inside code spans, as GitHub wants), no newlines */
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => '`' + s + '`';

// ---- schemas → short type descriptions

function range(min: number | undefined, max: number | undefined, unit = ''): string {
  const big = (n: number | undefined) => n === undefined || n >= Number.MAX_SAFE_INTEGER;
  if (min !== undefined && !big(max)) return min === max ? `${min}${unit}` : `${min}–${max}${unit}`;
  if (!big(max)) return `≤ ${max}${unit}`;
  if (min !== undefined && min > 0) return `≥ ${min}${unit}`;
  return '';
}

/** `string (1–128) ^[a-z]+$`, `integer 1–200`, `"a" | "b"`, `{a: string, b?: integer}` … */
export function typeOf(s: Schema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return (s.enum as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return (s.anyOf as Schema[]).map(typeOf).join(' or ');
  switch (s.type) {
    case 'string': {
      const parts = ['string'];
      const len = range(s.minLength, s.maxLength, ' chars');
      if (len) parts.push(`(${len})`);
      if (s.pattern) parts.push(code(s.pattern));
      return parts.join(' ');
    }
    case 'integer':
    case 'number': {
      const r = range(s.minimum, s.maximum);
      return r ? `${s.type} ${r}` : s.type;
    }
    case 'boolean':
    case 'null':
      return s.type;
    case 'array':
      return `[${s.items ? typeOf(s.items) : 'any'}]`;
    case 'object':
      return objectType(s);
    case undefined:
      if (Object.keys(s).length === 0) return 'any';
  }
  throw new Error(`docs/generate.ts: cannot describe schema ${JSON.stringify(s)}`);
}

function objectType(s: Schema): string {
  const props = Object.entries((s.properties ?? {}) as Record<string, Schema>);
  const required = new Set<string>(s.required ?? []);
  if (props.length === 0) {
    if (s.additionalProperties && typeof s.additionalProperties === 'object') {
      const n = s.maxProperties !== undefined ? ` (≤ ${s.maxProperties} keys)` : '';
      return `{name: ${typeOf(s.additionalProperties)}}${n}`;
    }
    return s.additionalProperties === false ? '{}' : 'object';
  }
  const fields = props.map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${typeOf(v)}`);
  if (s.additionalProperties !== false) fields.push('…');
  return `{${fields.join(', ')}}`;
}

const names = (xs: string[]) => xs.map(code).join(' + ');

/** the rules a para schema states beside its properties, in words */
function paraRules(p: Schema): string[] {
  const rules: string[] = [];
  const known = new Set([
    'type',
    'properties',
    'required',
    'additionalProperties',
    'dependencies',
    'anyOf',
    'oneOf',
    'allOf',
  ]);
  for (const k of Object.keys(p))
    if (!known.has(k)) throw new Error(`docs/generate.ts: para keyword "${k}" is not described; teach paraRules`);
  if (p.additionalProperties !== false)
    throw new Error('docs/generate.ts: a para schema without additionalProperties: false');
  for (const [a, deps] of Object.entries((p.dependencies ?? {}) as Record<string, string[]>)) {
    rules.push(`${code(a)} needs ${names(deps)}`);
  }
  if (p.anyOf) {
    const alts = (p.anyOf as Schema[]).map((b) => {
      if (!b.required || Object.keys(b).length !== 1)
        throw new Error('docs/generate.ts: para anyOf branch is not a plain required list');
      return names(b.required);
    });
    rules.push(`at least one of ${alts.join(', ')}`);
  }
  if (p.oneOf) {
    const alts = (p.oneOf as Schema[]).map((b) => {
      if (!b.required) throw new Error('docs/generate.ts: para oneOf branch without required');
      return names(b.required);
    });
    rules.push(`exactly one of ${alts.join(' or ')}`);
  }
  for (const b of (p.allOf ?? []) as Schema[]) {
    const on = Object.entries((b.if?.properties ?? {}) as Record<string, Schema>).find(
      ([, v]) => v.const !== undefined,
    );
    const then = Object.keys((b.then?.properties ?? {}) as Record<string, Schema>);
    if (!on || then.length !== 1)
      throw new Error('docs/generate.ts: para allOf branch is not an if/const → then.properties rule');
    const rule = `${code(then[0])}: the app config of the ${code(on[0])} (see [app configs](#6-app-configs))`;
    if (!rules.includes(rule)) rules.push(rule);
  }
  return rules;
}

function paraCell(p: Schema): string {
  const required = new Set<string>(p.required ?? []);
  const lines = Object.entries((p.properties ?? {}) as Record<string, Schema>).map(([k, v]) => {
    const shown = (p.allOf ?? []).length > 0 && v.type === 'object' && !v.properties ? 'object' : typeOf(v);
    return `${code(k + (required.has(k) ? '' : '?'))} ${shown}`;
  });
  if (lines.length === 0) lines.push('`{}`');
  return [...lines, ...paraRules(p).map((r) => `*${r}*`)].join('<br>');
}

// ---- what the registry and the platforms say

interface Built {
  interfaces: ReturnType<ReturnType<typeof compose>['registry']['all']>;
  platforms: Array<{ platform: string; idField: string; secrets: string[]; schema: JsonSchema; identity: string[] }>;
  routes: Array<{ methods: string[]; path: string }>;
}

function build(): Built {
  const store = new SqliteStore(':memory:');
  try {
    const { services, registry, app } = compose(configFromEnv({}), store, createLogger('silent'), 'docs');
    const platforms = services.apps.platforms().map((platform) => {
      const def = services.apps.platformDef(platform)!;
      // which fields make up the identity: the placeholders that come back out of identityOf
      const props = Object.keys((def.schema.properties ?? {}) as object);
      const sample = Object.fromEntries(props.map((f) => [f, `\u0000${f}\u0000`]));
      const id = services.apps.identityOf(platform, sample);
      const identity = props.filter((f) => id.includes(`\u0000${f}\u0000`));
      return { platform, idField: def.idField, secrets: def.secrets, schema: def.schema, identity };
    });
    const routes: Built['routes'] = [];
    for (const mw of app.middleware as Array<{ router?: { stack: Array<{ methods: string[]; path: string }> } }>) {
      for (const layer of mw.router?.stack ?? []) routes.push({ methods: layer.methods, path: layer.path });
    }
    return { interfaces: registry.all(), platforms, routes };
  } finally {
    void store.close();
  }
}

// ---- the regions

function claimOf(d: { access: string; apps?: unknown; appsFiltered?: boolean }): string {
  if (d.access === 'public') return '—';
  if (d.apps) return 'subjects';
  if (d.appsFiltered) return 'filtered';
  return 'refused';
}

function interfacesRegion(b: Built): string {
  const out = [
    '| interface | access | para (`name?` = optional) | returnData | `apps` claim |',
    '|---|---|---|---|---|',
  ];
  for (const d of b.interfaces) {
    out.push(
      `| ${cell(`${code(d.name)}<br>${d.summary}`)} | ${d.access} | ${cell(paraCell(d.para))} | ${cell(code(typeOf(d.result).replace(/`/g, '')))} | ${claimOf(d)} |`,
    );
  }
  out.push('', `${b.interfaces.length} interfaces.`);
  return out.join('\n');
}

function appConfigsRegion(b: Built): string {
  const out: string[] = [];
  for (const p of b.platforms) {
    const props = Object.entries((p.schema.properties ?? {}) as Record<string, Schema>);
    const required = new Set<string>((p.schema.required as string[] | undefined) ?? []);
    out.push(
      `#### ${code(p.platform)}`,
      '',
      '| field | type | required | secret | identity |',
      '|---|---|---|---|---|',
    );
    for (const [f, s] of props) {
      const yes = (v: boolean) => (v ? 'yes' : '');
      out.push(
        `| ${code(f)} | ${cell(typeOf(s))} | ${yes(required.has(f))} | ${yes(p.secrets.includes(f))} | ${yes(p.identity.includes(f))} |`,
      );
    }
    out.push('| `enabled` | boolean (default true) |  |  |  |', '');
    out.push(`Identity: ${names(p.identity)}. \`gatehouse app put --app-id\` sets ${code(p.idField)}.`, '');
  }
  return out.join('\n').trimEnd();
}

/** the sections of docs/PROTOCOL.md routes are described in (the docs test checks the anchors) */
const SECTIONS = {
  '2': '#2-the-rpc-endpoint',
  '7.2': '#72-wechat-third-party-platforms',
  '7.3': '#73-wecom-suites',
  '7.4': '#74-fengniao-and-shansong-merchants',
  '7.7': '#77-signed-proxies',
  '7.8': '#78-health-readiness-and-metrics',
  '7.9': '#79-the-operations-console',
  '7.10': '#710-feishu--lark-and-dingtalk',
} as const;

/**
 * Who calls each route and where it is described. A route the server registers that is missing
 * here (or an entry here that no longer exists) stops the generator: describe it, then regenerate.
 */
const ROUTE_DOCS: Record<string, { who: string; see: keyof typeof SECTIONS }> = {
  '/healthz': { who: 'anyone', see: '7.8' },
  '/readyz': { who: 'anyone', see: '7.8' },
  '/openrpc.json': { who: 'anyone', see: '2' },
  '/metrics': { who: 'holders of `GATEHOUSE_METRICS_TOKEN`; without it loopback clients only', see: '7.8' },
  '/wechat-tp/{codeName}/events': { who: 'WeChat (signed pushes)', see: '7.2' },
  '/wechat-tp/{codeName}/messages/{appid}': { who: 'WeChat (signed pushes)', see: '7.2' },
  '/wechat-tp/{codeName}/authorize': { who: 'account admins (browser)', see: '7.2' },
  '/wechat-tp/{codeName}/authorized': { who: 'account admins (browser, redirected by WeChat)', see: '7.2' },
  '/wecom-tp/{codeName}/events': { who: 'WeCom (signed pushes, URL verification)', see: '7.3' },
  '/wecom-tp/{codeName}/install': { who: 'corp admins (browser)', see: '7.3' },
  '/wecom-tp/{codeName}/installed': { who: 'corp admins (browser, redirected by WeCom)', see: '7.3' },
  '/fengniao/{codeName}/authorize': { who: 'merchant admins (browser)', see: '7.4' },
  '/fengniao/{codeName}/auth-callback': { who: 'Fengniao (server to server)', see: '7.4' },
  '/fengniao/{codeName}/callback': { who: 'Fengniao (signed)', see: '7.4' },
  '/shansong/{codeName}/authorize/{merchantCode}': { who: 'merchant admins (browser)', see: '7.4' },
  '/shansong/{codeName}/authorized': { who: 'merchant admins (browser, redirected by Shansong)', see: '7.4' },
  '/shansong/{codeName}/callback': { who: 'anyone who knows the URL (Shansong does not sign)', see: '7.4' },
  '/proxy/wechat-app/{codeName}/{path…}': { who: 'callers with scope `proxy.wechat_app`', see: '7.7' },
  '/proxy/wechat-tp/{codeName}/{path…}': { who: 'callers with scope `proxy.wechat_tp`', see: '7.7' },
  '/proxy/wechat-tpauth/{codeName}/{authorizerAppId}/{path…}': {
    who: 'callers with scope `proxy.wechat_tp`',
    see: '7.7',
  },
  '/proxy/wecom-corp/{codeName}/{path…}': { who: 'callers with scope `proxy.wecom_corp`', see: '7.7' },
  '/proxy/wecom-tp/{codeName}/{path…}': { who: 'callers with scope `proxy.wecom_tp`', see: '7.7' },
  '/proxy/wecom-tpauth/{codeName}/{corpId}/{path…}': { who: 'callers with scope `proxy.wecom_tp`', see: '7.7' },
  '/proxy/fengniao/{codeName}/{merchantId}/{path…}': { who: 'callers with scope `proxy.fengniao_app`', see: '7.7' },
  '/proxy/shansong/{codeName}/{merchantCode}/{path…}': { who: 'callers with scope `proxy.shansong_app`', see: '7.7' },
  '/proxy/alipay/{codeName}': { who: 'callers with scope `proxy.alipay_app`', see: '7.7' },
  '/feishu/{codeName}/events': { who: 'Feishu / Lark (signed events, url_verification)', see: '7.10' },
  '/dingtalk/{codeName}/events': { who: 'DingTalk (signed, encrypted event callbacks)', see: '7.10' },
  '/proxy/dingtalk/{codeName}/{path…}': { who: 'callers with scope `proxy.dingtalk_app`', see: '7.7' },
  '/proxy/feishu/{codeName}/open-apis/{path…}': { who: 'callers with scope `proxy.feishu_app`', see: '7.7' },
  '/proxy/feishu/{codeName}/{tenantKey}/open-apis/{path…}': {
    who: 'callers with scope `proxy.feishu_app`',
    see: '7.7',
  },
  '/proxy/feishu-app/{codeName}/open-apis/{path…}': { who: 'callers with scope `proxy.feishu_app`', see: '7.7' },
  '/console/': { who: 'operators (browser)', see: '7.9' },
  '/console/assets/{file}': { who: 'operators (browser)', see: '7.9' },
  '/console/api/session': { who: 'operators (browser): sign-in, session, sign-out', see: '7.9' },
  '/console/rpc': { who: 'the signed-in console (cookie and CSRF token)', see: '7.9' },
};

/** koa-router paths in the docs' notation: `:codeName` → `{codeName}`, a trailing wildcard → `{path…}` */
export function routePath(p: string): string {
  return p
    .replace(/\{\/\*\w+\}$/, '/{path…}')
    .replace(/\/\*\w+$/, '/{path…}')
    .replace(/:(\w+)/g, '{$1}');
}

function routesRegion(b: Built): string {
  const byPath = new Map<string, Set<string>>();
  for (const r of b.routes) {
    const p = routePath(r.path);
    const set = byPath.get(p) ?? new Set<string>();
    if (r.methods.length > 8) set.add('ANY');
    else for (const m of r.methods) if (m !== 'HEAD') set.add(m);
    byPath.set(p, set);
  }
  const missing = [...byPath.keys()].filter((p) => !ROUTE_DOCS[p]);
  const stale = Object.keys(ROUTE_DOCS).filter((p) => !byPath.has(p));
  if (missing.length || stale.length) {
    throw new Error(
      `docs/generate.ts: ROUTE_DOCS ${missing.length ? `lacks ${missing.join(', ')}` : ''}${missing.length && stale.length ? '; ' : ''}${stale.length ? `names routes that no longer exist: ${stale.join(', ')}` : ''}`,
    );
  }
  const out = ['| method | route | who calls it | described in |', '|---|---|---|---|'];
  out.push(
    `| POST | ${[...RPC_PATHS].map(code).join(', ')} | anyone (public interfaces), callers (backend, admin) | [the RPC endpoint](#2-the-rpc-endpoint) |`,
  );
  for (const [p, methods] of byPath) {
    const order = ['ANY', 'GET', 'POST'];
    const m = [...methods].sort((a, b) => order.indexOf(a) - order.indexOf(b) || a.localeCompare(b)).join(', ');
    const d = ROUTE_DOCS[p];
    out.push(`| ${m} | ${cell(code(p))} | ${cell(d.who)} | [§${d.see}](${SECTIONS[d.see]}) |`);
  }
  return out.join('\n');
}

/** every generated region, by name, as it should stand in docs/PROTOCOL.md */
export function regions(): Record<string, string> {
  const b = build();
  return { interfaces: interfacesRegion(b), 'app-configs': appConfigsRegion(b), routes: routesRegion(b) };
}

const REGION = /<!-- generated:([a-z-]+) -->\n([\s\S]*?)<!-- \/generated -->/g;

/** the text with every marked region replaced; throws when a region is missing or unknown */
export function apply(text: string, want: Record<string, string>): string {
  const seen = new Set<string>();
  const out = text.replace(REGION, (_m, name: string) => {
    if (!(name in want)) throw new Error(`docs/PROTOCOL.md: unknown region <!-- generated:${name} -->`);
    seen.add(name);
    return `<!-- generated:${name} -->\n${want[name]}\n<!-- /generated -->`;
  });
  const absent = Object.keys(want).filter((n) => !seen.has(n));
  if (absent.length)
    throw new Error(`docs/PROTOCOL.md: missing region(s) ${absent.map((n) => `<!-- generated:${n} -->`).join(', ')}`);
  return out;
}

/** names of the regions whose committed text differs from what the code produces */
export function staleRegions(text: string, want: Record<string, string>): string[] {
  const have = new Map<string, string>();
  for (const m of text.matchAll(REGION)) have.set(m[1], m[2]);
  return Object.keys(want).filter((n) => have.get(n) !== `${want[n]}\n`);
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const text = fs.readFileSync(PROTOCOL_FILE, 'utf8');
  const want = regions();
  const next = apply(text, want);
  if (check) {
    if (next === text) {
      process.stdout.write('docs/PROTOCOL.md is current\n');
      return 0;
    }
    process.stderr.write(
      `docs/PROTOCOL.md is out of date: generated region(s) ${staleRegions(text, want).join(', ')} differ from the code. ` +
        'Run `npm run docs` and commit docs/PROTOCOL.md.\n',
    );
    return 1;
  }
  if (next !== text) fs.writeFileSync(PROTOCOL_FILE, next);
  process.stdout.write(next === text ? 'docs/PROTOCOL.md was current\n' : 'docs/PROTOCOL.md regenerated\n');
  return 0;
}

if (require.main === module) {
  let status: number;
  try {
    status = main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    status = 1;
  }
  process.exit(status);
}
