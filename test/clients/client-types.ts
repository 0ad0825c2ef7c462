/**
 * Renders system/client-interfaces.ts — the para / result types of every RPC interface — from
 * the registry's JSON Schemas as a gatehouse serves them at GET /openrpc.json. client.test.ts
 * fails when the checked-in file differs from what the current registry renders; to regenerate:
 *
 *     UPDATE_CLIENT_TYPES=1 npx mocha test/clients/client.test.ts
 *
 * Only the schema keywords the registry uses are rendered; the others (patterns, lengths, ranges)
 * are checked by the server (a 1003 names the path) and shown here as doc comments.
 */

type Schema = Record<string, any>;

export interface OpenRpcMethod {
  name: string;
  summary: string;
  'x-access': string;
  params: { name: string; schema: Schema }[];
  result: { schema: Schema };
}

export const GENERATED_FILE = 'system/client-interfaces.ts';

/** property names that carry the token / ticket in a token interface's returnData */
const TOKEN_FIELDS = ['token', 'access_token', 'ticket', 'agent_ticket'];
/** para names of the compare-and-refresh argument (PROTOCOL §5.4) */
const INVALIDATE_FIELDS = ['invalidToken', 'invalid_token'];

const ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k: string) => (ident.test(k) ? k : JSON.stringify(k));
const pad = (depth: number) => '  '.repeat(depth);

/** the constraints a type cannot express, for a doc comment */
function constraints(s: Schema): string {
  const out: string[] = [];
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.minLength !== undefined && s.minLength > 0) out.push(`minLength ${s.minLength}`);
  if (s.maxLength !== undefined) out.push(`maxLength ${s.maxLength}`);
  if (s.minimum !== undefined) out.push(`minimum ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) out.push(`maximum ${s.maximum}`);
  if (s.maxProperties !== undefined) out.push(`maxProperties ${s.maxProperties}`);
  return out.join(', ');
}

function union(types: string[]): string {
  const uniq = [...new Set(types)];
  return uniq.length === 1
    ? uniq[0]
    : uniq.map((t) => (t.includes('\n') || t.includes('&') ? `(${t})` : t)).join(' | ');
}

/** the TS type of a schema; objects are rendered over several lines at `depth` */
export function tsType(s: Schema, depth = 0): string {
  if (!s || typeof s !== 'object' || Object.keys(s).length === 0) return 'unknown';
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return union(s.enum.map((v: unknown) => JSON.stringify(v)));
  if (Array.isArray(s.anyOf) && !s.type && !s.properties) return union(s.anyOf.map((b: Schema) => tsType(b, depth)));
  if (Array.isArray(s.oneOf) && !s.type && !s.properties) return union(s.oneOf.map((b: Schema) => tsType(b, depth)));
  if (Array.isArray(s.type)) return union(s.type.map((t: string) => tsType({ ...s, type: t }, depth)));
  switch (s.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array':
      return `${wrapArray(tsType(s.items ?? {}, depth))}[]`;
    case 'object':
      return objectType(s, depth);
    default:
      return 'unknown';
  }
}

const wrapArray = (t: string) => (/[|&]/.test(t) && !t.startsWith('{') ? `(${t})` : t);

/**
 * An object schema: its properties, then what the combinators say about which of them must or
 * must not be there (`oneOf` / `anyOf` of `required` sets, `not: {required}`, mutual
 * `dependencies`, and `allOf` of `if: {const}` → `then: {properties}` as a discriminated union).
 */
function objectType(s: Schema, depth: number): string {
  const props: Record<string, Schema> = s.properties ?? {};
  const required = new Set<string>(s.required ?? []);
  if (!s.properties) {
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      return `Record<string, ${tsType(s.additionalProperties, depth)}>`;
    return 'Record<string, unknown>';
  }
  const names = Object.keys(props);
  if (names.length === 0 && s.additionalProperties === false) return 'Record<string, never>';

  // allOf: [{if: {properties: {P: {const: v}}}, then: {properties: {Q: schema}}}, …] → one variant per v
  const cases = conditionalCases(s);
  if (cases) {
    return cases
      .map(({ prop, value, overrides }) =>
        body(
          { ...props, ...overrides, [prop]: { const: value } },
          required,
          s.additionalProperties === false,
          depth,
          s,
        ),
      )
      .join(' | ');
  }
  const base = body(props, required, s.additionalProperties === false, depth, s);
  const variants = presenceVariants(s, names);
  if (!variants) return base;
  return `${base} & (${variants.map((v) => presence(v, props, depth)).join(' | ')})`;
}

function body(props: Record<string, Schema>, required: Set<string>, closed: boolean, depth: number, s: Schema): string {
  const lines: string[] = [];
  for (const [name, p] of Object.entries(props)) {
    const doc = constraints(p);
    if (doc) lines.push(`${pad(depth + 1)}/** ${doc.replace(/\*\//g, '*\\/')} */`);
    lines.push(`${pad(depth + 1)}${key(name)}${required.has(name) ? '' : '?'}: ${tsType(p, depth + 1)};`);
  }
  if (!closed) {
    const extra =
      s.additionalProperties && typeof s.additionalProperties === 'object'
        ? tsType(s.additionalProperties, depth + 1)
        : 'unknown';
    lines.push(`${pad(depth + 1)}[key: string]: ${extra};`);
  }
  return `{\n${lines.join('\n')}\n${pad(depth)}}`;
}

interface Presence {
  must: string[];
  mustNot: string[];
}

/** what a combinator branch says about presence: `required` and `not: {required | anyOf required}` */
function presenceOf(b: Schema): Presence | undefined {
  const keys = Object.keys(b).filter((k) => k !== 'required' && k !== 'not');
  if (keys.length) return undefined;
  const mustNot: string[] = [];
  if (b.not) {
    const alts: Schema[] = b.not.anyOf ?? [b.not];
    for (const a of alts) {
      if (!Array.isArray(a.required) || a.required.length !== 1 || Object.keys(a).length !== 1) return undefined;
      mustNot.push(a.required[0]);
    }
  }
  return { must: b.required ?? [], mustNot };
}

function presenceVariants(s: Schema, names: string[]): Presence[] | undefined {
  const branches: Schema[] | undefined = s.oneOf ?? s.anyOf;
  if (branches) {
    const v = branches.map(presenceOf);
    return v.every(Boolean) ? (v as Presence[]) : undefined;
  }
  // dependencies {a: [b], b: [a]}: both or neither
  if (s.dependencies) {
    const group = Object.keys(s.dependencies);
    const mutual = group.every((k) => {
      const deps: string[] = s.dependencies[k];
      return Array.isArray(deps) && deps.length === group.length - 1 && deps.every((d) => group.includes(d) && d !== k);
    });
    if (mutual && group.every((g) => names.includes(g)))
      return [
        { must: [], mustNot: group },
        { must: group, mustNot: [] },
      ];
  }
  return undefined;
}

function presence(v: Presence, props: Record<string, Schema>, depth: number): string {
  const parts = [
    ...v.must.map((n) => `${key(n)}: ${tsType(props[n] ?? {}, depth + 1)}`),
    ...v.mustNot.map((n) => `${key(n)}?: never`),
  ];
  return `{ ${parts.join('; ')} }`;
}

function conditionalCases(
  s: Schema,
): { prop: string; value: unknown; overrides: Record<string, Schema> }[] | undefined {
  if (!Array.isArray(s.allOf) || s.allOf.length === 0) return undefined;
  const out: { prop: string; value: unknown; overrides: Record<string, Schema> }[] = [];
  for (const c of s.allOf as Schema[]) {
    const cond = c.if?.properties;
    const then = c.then?.properties;
    if (!cond || !then || Object.keys(cond).length !== 1) return undefined;
    const [prop] = Object.keys(cond);
    if (!('const' in cond[prop])) return undefined;
    out.push({ prop, value: cond[prop].const, overrides: then });
  }
  return out.every((c) => c.prop === out[0].prop) ? out : undefined;
}

/** the whole generated module */
export function renderClientInterfaces(methods: OpenRpcMethod[]): string {
  const sorted = [...methods].sort((a, b) => a.name.localeCompare(b.name));
  const entries: string[] = [];
  const tokens: string[] = [];
  for (const m of sorted) {
    const para = m.params[0]?.schema ?? {};
    const result = m.result.schema;
    entries.push(
      [
        `  /** ${m['x-access']} — ${m.summary.replace(/\*\//g, '*\\/')} */`,
        `  ${JSON.stringify(m.name)}: {`,
        `    access: ${JSON.stringify(m['x-access'])};`,
        `    para: ${tsType(para, 2)};`,
        `    result: ${tsType(result, 2)};`,
        '  };',
      ].join('\n'),
    );
    const invalidate = INVALIDATE_FIELDS.find((f) => para.properties?.[f]);
    const value = TOKEN_FIELDS.find((f) => result.properties?.[f]);
    if (invalidate && value)
      tokens.push(
        `  ${JSON.stringify(m.name)}: { invalidate: ${JSON.stringify(invalidate)}, value: ${JSON.stringify(value)} },`,
      );
  }
  return [
    "// Generated from the registry's JSON Schemas (GET /openrpc.json) by test/clients/client-types.ts.",
    '// Do not edit: UPDATE_CLIENT_TYPES=1 npx mocha test/clients/client.test.ts rewrites it.',
    '',
    '/** Every RPC interface: its access level, para and returnData. */',
    'export interface Interfaces {',
    entries.join('\n'),
    '}',
    '',
    'export type InterfaceName = keyof Interfaces;',
    "export type Para<N extends InterfaceName> = Interfaces[N]['para'];",
    "export type Result<N extends InterfaceName> = Interfaces[N]['result'];",
    '',
    '/**',
    ' * The token and ticket interfaces: the para that asks for a compare-and-refresh (§5.4) and the',
    ' * returnData field that holds the token.',
    ' */',
    'export const TOKEN_INTERFACES = {',
    tokens.join('\n'),
    '} as const;',
    '',
    'export type TokenInterfaceName = keyof typeof TOKEN_INTERFACES;',
    '',
  ].join('\n');
}
