/** Field schemas shared by the platforms' app configs (§6). */
export const field = {
  id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.@-]+$' },
  secret: { type: 'string', minLength: 1, maxLength: 512 },
  aesKey: { type: 'string', pattern: '^[A-Za-z0-9]{43}$' },
  url: { type: 'string', maxLength: 2048, pattern: '^https?://[^\\s]+$' },
  digits: {
    anyOf: [
      { type: 'string', pattern: '^[0-9]{1,20}$' },
      { type: 'integer', minimum: 0 },
    ],
  },
};

export function configSchema(properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', properties, required, additionalProperties: false };
}
