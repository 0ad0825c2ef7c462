import crypto from 'node:crypto';

/** what every sealed value starts with */
export const SEALED_PREFIX = 'enc:v1:';
const PREFIX = SEALED_PREFIX;

/**
 * Seals secrets at rest with AES-256-GCM under GATEHOUSE_MASTER_KEY. Without a key values are
 * stored as they are. Sealed values carry a prefix, so a store may hold both kinds (plain ones
 * written before a key was set stay readable).
 */
export class SecretBox {
  constructor(private readonly key?: Buffer) {}

  get encrypting(): boolean {
    return this.key !== undefined;
  }

  seal(plain: string): string {
    if (!this.key) return plain;
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  /** Opens a stored value; throws (without echoing it) when it is sealed and cannot be opened. */
  open(stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    if (!this.key) throw new Error('a sealed secret was found but GATEHOUSE_MASTER_KEY is not set');
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < 28) throw new Error('a sealed secret is truncated');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('a sealed secret could not be opened with GATEHOUSE_MASTER_KEY (wrong key?)');
    }
  }
}
