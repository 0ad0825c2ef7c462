import crypto from 'node:crypto';
import { sha1 } from './datacrypt';

/** Why a push was refused: 403 bad signature, 400 undecryptable or not for us. */
export class PushRejected extends Error {
  constructor(
    readonly status: 400 | 403,
    reason: string,
  ) {
    super(reason);
    this.name = 'PushRejected';
  }
}

/**
 * WXBizMsgCrypt, as WeChat and WeCom push it: msg_signature = sha1(sort([token, timestamp, nonce,
 * Encrypt]).join("")); AES-256-CBC with key = base64(aesKey + "="), iv = key[0..16), PKCS#7 to
 * 32-byte blocks; plaintext = 16 random bytes ‖ 4-byte big-endian length ‖ message ‖ receiver id.
 */
export class MsgCrypt {
  private readonly key: Buffer;

  constructor(
    private readonly token: string,
    aesKey: string,
    private readonly receiverId: string,
  ) {
    this.key = Buffer.from(`${aesKey}=`, 'base64');
    if (this.key.length !== 32) throw new Error('aesKey must be 43 base64 characters');
  }

  signature(timestamp: string, nonce: string, encrypt: string): string {
    return sha1([this.token, timestamp, nonce, encrypt].sort().join(''));
  }

  verify(signature: string, timestamp: string, nonce: string, encrypt: string): void {
    const want = Buffer.from(this.signature(timestamp, nonce, encrypt));
    const got = Buffer.from(String(signature).toLowerCase());
    if (want.length !== got.length || !crypto.timingSafeEqual(want, got))
      throw new PushRejected(403, 'bad msg_signature');
  }

  decrypt(encrypt: string): string {
    let padded: Buffer;
    try {
      const decipher = crypto.createDecipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16));
      decipher.setAutoPadding(false);
      padded = Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()]);
    } catch {
      throw new PushRejected(400, 'undecryptable');
    }
    // PKCS#7 to 32-byte blocks: the last byte says how many bytes of padding (1..32) end the text
    const pad = padded.length > 0 ? padded[padded.length - 1] : 0;
    if (pad < 1 || pad > 32 || pad > padded.length) throw new PushRejected(400, 'bad padding');
    const plain = padded.subarray(0, padded.length - pad);
    if (plain.length < 20) throw new PushRejected(400, 'too short');
    const len = plain.readUInt32BE(16);
    if (20 + len > plain.length) throw new PushRejected(400, 'bad length');
    const receiver = plain.subarray(20 + len).toString('utf8');
    if (receiver !== this.receiverId) throw new PushRejected(400, 'receiver id differs');
    return plain.subarray(20, 20 + len).toString('utf8');
  }

  /** encrypts a message (replies, tests); `random` is 16 bytes, random by default */
  encrypt(message: string, random: Buffer = crypto.randomBytes(16)): string {
    const msg = Buffer.from(message, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(msg.length, 0);
    const body = Buffer.concat([random, len, msg, Buffer.from(this.receiverId, 'utf8')]);
    const pad = 32 - (body.length % 32);
    const cipher = crypto.createCipheriv('aes-256-cbc', this.key, this.key.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), cipher.final()]).toString(
      'base64',
    );
  }
}
