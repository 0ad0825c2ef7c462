import type { AppRef } from '../system/callers';
import type { Services } from './contract';
import { CODE_NAME_PATTERN } from './services/apps';
import { subjectsOf } from './claims';

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
  int: (minimum = 0, maximum = Number.MAX_SAFE_INTEGER) => ({ type: 'integer', minimum, maximum }),
  nullable: (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] }),
};

/** para fields shared by the token interfaces (§3.2) */
export const tokenPara = {
  codeName: { type: 'string', pattern: CODE_NAME_PATTERN },
  force: { type: 'boolean' },
  invalidToken: { type: 'string', minLength: 1, maxLength: 2048 },
  url: { type: 'string', maxLength: 4096, pattern: '^https?://[^\\s/?#]+[^\\s]*$' },
};

/** result field schemas of the interfaces' answers */
export const out = {
  str: { type: 'string' },
  int: { type: 'integer' },
};

/** the para of a token interface addressed by codeName (§3.2) */
export interface TokenPara {
  codeName: string;
  force?: boolean;
  invalidToken?: string;
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
