import type Router from '@koa/router';
import type { InterfaceDef } from '../system/registry';
import type { PlatformDef } from './services/apps';
import type { Services } from './services';

export type Interface<P = any, R = unknown> = InterfaceDef<Services, P, R>;

/**
 * One controller folder (`application/controllers/<area>/index.ts`, default export). Adding a
 * platform means adding one of these: its app config schema, its interfaces, its routes.
 */
export interface Area {
  name: string;
  platforms?: PlatformDef[];
  /** its RPC interfaces; a function when they depend on what the other areas define */
  interfaces?: Interface[] | ((services: Services) => Interface[]);
  routes?: (router: Router, services: Services) => void;
}

/** Schema helpers shared by the controllers' para schemas. */
export const s = {
  str: (maxLength = 256, minLength = 1) => ({ type: 'string', minLength, maxLength }),
  obj: (properties: Record<string, unknown>, required: string[] = [], extra: Record<string, unknown> = {}) => ({
    type: 'object',
    properties,
    required,
    additionalProperties: false,
    ...extra,
  }),
  bool: () => ({ type: 'boolean' }),
  int: (minimum = 0, maximum = Number.MAX_SAFE_INTEGER) => ({ type: 'integer', minimum, maximum }),
  any: () => ({}),
  nullable: (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] }),
};
