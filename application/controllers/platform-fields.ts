import { Type, type TProperties, type TSchema } from '@sinclair/typebox';
import type { AppKind } from '../services/apps';
import { s } from '../schema';

/** a secret config field: stored sealed, masked when shown (JSON Schema `writeOnly`) */
const secret = <T extends TSchema>(schema: T): T => ({ ...schema, writeOnly: true });

/** Field schemas shared by the app kinds' configs (§6) and the interfaces that name the same things. */
export const field = {
  id: s.match('^[A-Za-z0-9_.@-]+$', { minLength: 1, maxLength: 128 }),
  secret: secret(s.str(512)),
  aesKey: secret(s.match('^[A-Za-z0-9]{43}$')),
  url: s.match('^https?://[^\\s]+$', { maxLength: 2048 }),
  /** a number, or the digits of one (WeCom agent ids arrive as either) */
  digits: s.digits(),
};

/** a config field that may be left out (the others are required) */
export const optional = Type.Optional;

/**
 * An app kind declared by its config fields: the schema allows these and no others, requires those
 * not wrapped in `optional()`, and the kind's secrets are the `writeOnly` ones (`field.secret`,
 * `field.aesKey`).
 */
export function appKind(
  platform: string,
  idField: string,
  fields: TProperties,
  sample: Record<string, unknown>,
  more: Pick<AppKind, 'normalize' | 'identity' | 'identityLabel'> = {},
): AppKind {
  const secrets = Object.keys(fields).filter((k) => (fields[k] as { writeOnly?: boolean }).writeOnly === true);
  return { platform, idField, secrets, schema: Type.Object(fields, { additionalProperties: false }), sample, ...more };
}
