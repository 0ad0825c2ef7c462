import type { ErrorObject, ValidateFunction } from 'ajv';
import { RpcError, paraError, type ParaErrorItem } from './errors';
import type { AppRef, Caller } from './callers';
import type { Logger } from './log';
import { validatorOf } from './validators';

export type Access = 'public' | 'backend' | 'admin';
export type JsonSchema = Record<string, unknown>;

/** What a handler gets besides its para: the application's services and who is calling. */
export interface Call<S> {
  services: S;
  caller?: Caller;
  requestId: string;
  ip: string;
  log: Logger;
}

/**
 * One interface. `handler` and `apps` are methods (checked bivariantly), so that a definition whose
 * para type is derived from its schema is still an `InterfaceDef<S>`: the registry validates para
 * against that schema before either is called.
 */
export interface InterfaceDef<S = unknown, P = unknown, R = unknown> {
  name: string;
  access: Access;
  summary: string;
  /** JSON Schema of `para`; objects must say `additionalProperties: false` */
  para: JsonSchema;
  /** JSON Schema of `returnData` (documentation, /openrpc.json) */
  result: JsonSchema;
  /** the apps a call touches (each by one or several names), checked against a caller's `apps` claim */
  apps?(para: P, services: S): AppRef[] | Promise<AppRef[]>;
  /**
   * true when the handler itself shows a caller limited by an `apps` claim only what the claim
   * covers (lists). A non-public interface with neither this nor `apps` refuses such callers (4003).
   */
  appsFiltered?: boolean;
  handler(para: P, call: Call<S>): Promise<R> | R;
}

export interface Registered<S> extends InterfaceDef<S> {
  validate: ValidateFunction;
}

/** Turns ajv errors into the `returnData.errors` of a 1003 (at most 10, paths relative to para). */
export function describeErrors(errors: ErrorObject[] | null | undefined): ParaErrorItem[] {
  return (errors ?? []).slice(0, 10).map((e) => {
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'additionalProperties') {
      return { path: `${e.instancePath}/${String(p.additionalProperty)}`, message: 'is not allowed' };
    }
    if (e.keyword === 'required') {
      return { path: `${e.instancePath}/${String(p.missingProperty)}`, message: 'is required' };
    }
    return { path: e.instancePath || '/', message: e.message ?? 'is invalid' };
  });
}

/**
 * name → schema, access level, handler; schemas are compiled once, when registered, or ahead by the
 * build (system/validators.ts).
 */
export class Registry<S> {
  private readonly defs = new Map<string, Registered<S>>();

  add(def: InterfaceDef<S>): void {
    if (this.defs.has(def.name)) throw new Error(`interface ${def.name} registered twice`);
    this.defs.set(def.name, { ...def, validate: validatorOf(def.para) } as Registered<S>);
  }

  get(name: string): Registered<S> | undefined {
    return this.defs.get(name);
  }

  all(): Registered<S>[] {
    return [...this.defs.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** validates para in place; throws a 1003 envelope error */
  check(def: Registered<S>, para: unknown): void {
    if (!def.validate(para)) throw paraError(describeErrors(def.validate.errors));
  }

  openRpc(version: string): Record<string, unknown> {
    return {
      openrpc: '1.2.6',
      info: {
        title: 'gatehouse',
        version,
        description:
          'One POST endpoint (/, /mina_auth) carrying {version, componentName, interface:{interfaceName, para}}; ' +
          'answers {returnCode, returnMessage, returnData}. x-access: public | backend (caller JWT) | admin.',
      },
      methods: this.all().map((d) => ({
        name: d.name,
        summary: d.summary,
        'x-access': d.access,
        tags: [{ name: d.access }],
        paramStructure: 'by-name',
        params: [{ name: 'para', required: true, schema: d.para }],
        result: { name: 'returnData', schema: d.result },
      })),
    };
  }
}

/** The validator of a standalone schema (e.g. an app config), with the same ajv settings. */
export function compileSchema(schema: JsonSchema): ValidateFunction {
  return validatorOf(schema);
}

export function assertValid(validate: ValidateFunction, value: unknown, prefix = ''): void {
  if (!validate(value)) {
    throw paraError(
      describeErrors(validate.errors).map((e) => ({ ...e, path: prefix + (e.path === '/' ? '' : e.path) || '/' })),
    );
  }
}

export { RpcError };
