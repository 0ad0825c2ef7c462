import {
  Type,
  type Static,
  type TObject,
  type TOptional,
  type TProperties,
  type TSchema,
  type TString,
} from '@sinclair/typebox';
import type { AppRef } from '../system/callers';
import type { Access, Call } from '../system/registry';
import type { Interface, Services } from './contract';
import { subjectsOf } from './claims';
import { CODE_NAME_PATTERN } from './services/apps';
import { CONSOLE_SUB } from './services/console-auth';

/** the properties of `P`, those not named in `K` optional */
export type WithOptional<P extends TProperties, K extends keyof P> = {
  [k in keyof P]: k extends K ? P[k] : TOptional<P[k]>;
};

/**
 * Schema builders (TypeBox: each emits the JSON Schema ajv compiles, and carries its static type, so
 * that a handler's para and result types are derived from the schemas that validate them).
 */
export const s = {
  str: (maxLength = 256, minLength = 1): TString => Type.String({ minLength, maxLength }),
  /** a string matching `pattern` (and any further keywords) */
  match: (pattern: string, extra: { minLength?: number; maxLength?: number } = {}): TString =>
    Type.String({ ...extra, pattern }),
  /** an object of `properties`, those in `required` required, no other property allowed */
  obj<P extends TProperties, K extends keyof P & string = never>(
    properties: P,
    required: readonly K[] = [],
    extra: Record<string, unknown> = {},
  ): TObject<WithOptional<P, K>> {
    const props: TProperties = {};
    for (const [k, v] of Object.entries(properties))
      props[k] = (required as readonly string[]).includes(k) ? v : Type.Optional(v);
    // the mapped type is what Type.Object makes of these properties; TypeBox cannot infer it from the loop
    return Type.Object(props, { additionalProperties: false, ...extra }) as TObject<WithOptional<P, K>>;
  },
  int: (minimum = 0, maximum = Number.MAX_SAFE_INTEGER) => Type.Integer({ minimum, maximum }),
  bool: () => Type.Boolean(),
  nullable: <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]),
  /** one of these strings (JSON Schema `enum`) */
  oneOf: <const V extends readonly string[]>(values: V) => Type.Unsafe<V[number]>({ enum: [...values] }),
  array: <T extends TSchema>(items: T) => Type.Array(items),
  /** a number, or the digits of one */
  digits: () => Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), Type.Integer({ minimum: 0 })]),
  /** string → string, at most `n` entries (header and query maps) */
  stringMap: (n: number, valueMax: number, keyMax: number) =>
    Type.Unsafe<Record<string, string>>({
      type: 'object',
      maxProperties: n,
      additionalProperties: { type: 'string', maxLength: valueMax },
      propertyNames: { maxLength: keyMax },
    }),
  /** a string of at most `maxLength` characters, possibly empty */
  text: (maxLength: number): TString => Type.String({ maxLength }),
  /** an object that has these properties (all optional) and any others (an app kind's config fields) */
  open: (properties: TProperties) =>
    Type.Unsafe<Record<string, unknown>>(
      Type.Object(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, Type.Optional(v)]))),
    ),
  /** any JSON object (checked further by the handler, e.g. against an app kind's config schema) */
  anyObject: () => Type.Unsafe<Record<string, unknown>>({ type: 'object' }),
};

/** para fields shared by the token interfaces (§3.2) */
export const tokenPara = {
  codeName: s.match(CODE_NAME_PATTERN),
  force: s.bool(),
  invalidToken: s.str(2048),
  url: s.match('^https?://[^\\s/?#]+[^\\s]*$', { maxLength: 4096 }),
};

/** result field schemas of the interfaces' answers */
export const out = {
  str: Type.String(),
  int: Type.Integer(),
  bool: Type.Boolean(),
};

/** the para of a token interface addressed by codeName (§3.2) */
export interface TokenPara {
  codeName: string;
  force?: boolean;
  invalidToken?: string;
}

/** An interface whose handler's para and answer types are derived from its schemas. */
export interface TypedInterface<P extends TSchema, R extends TSchema> {
  name: string;
  access: Access;
  summary: string;
  para: P;
  result: R;
  apps?: (para: Static<P>, services: Services) => AppRef[] | Promise<AppRef[]>;
  appsFiltered?: boolean;
  handler: (para: Static<P>, call: Call<Services>) => Promise<Static<R>> | Static<R>;
  /**
   * An admin write (or an audited read, e.g. a token revealed): what it touched, from its para —
   * names only, never a secret. Each successful call appends a row to the audit log.
   */
  audit?: (para: Static<P>) => Record<string, unknown>;
}

/** Declares an interface: `para` and `result` are TypeBox schemas, the handler is typed by them. */
export function rpc<P extends TSchema, R extends TSchema>(d: TypedInterface<P, R>): Interface {
  const { audit } = d;
  if (!audit) return d;
  return {
    ...d,
    handler: async (para: Static<P>, call: Call<Services>) => {
      const result = await d.handler(para, call);
      await recordAudit(call, d.name, audit(para));
      return result;
    },
  };
}

/** appends an admin write to the audit log: who (the caller's sub), through what, on what */
export async function recordAudit(call: Call<Services>, interfaceName: string, target: Record<string, unknown>) {
  const actor = call.caller?.sub ?? 'anonymous';
  await call.services.store.appendAudit({
    at: Date.now(),
    actor,
    via: actor.startsWith(CONSOLE_SUB) ? 'console' : 'rpc',
    interfaceName,
    target: JSON.stringify(target),
    ip: call.ip || null,
    requestId: call.requestId || null,
  });
}

/**
 * The `apps` hook of an interface addressed by codeName: the app (under its codeName or its
 * platform-side id) and every authorizer / corp / merchant its para names (application/claims.ts).
 */
export function appRefs(platform: string) {
  return (p: object, sv: Services): Promise<AppRef[]> => subjectsOf(sv, platform, p as Record<string, unknown>);
}

/** unix seconds of an epoch-ms time */
export const unixSeconds = (ms: number) => Math.floor(ms / 1000);
