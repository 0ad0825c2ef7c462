// The edges of the signing and crypt helpers that the official vectors do not reach: each case here
// was a surviving mutant of `npm run mutate` (a one-line change to the module that no test noticed).
import { expect } from 'chai';
import crypto from 'node:crypto';
import { cosFileId, cosV4, cosV5 } from '../../application/services/crypto/cos';
import { decryptUserData, sha256 } from '../../application/services/crypto/datacrypt';
import { jssdkSignature, nonceStr, signPage } from '../../application/services/crypto/jssdk';
import { MsgCrypt, PushRejected } from '../../application/services/crypto/msgcrypt';
import { shansongSign } from '../../application/platforms/shansong/sign';

const md5Upper = (s: string) => crypto.createHash('md5').update(s, 'utf8').digest('hex').toUpperCase();

describe('WXBizDataCrypt edges: every refusal names its reason (60021, the detail logged)', () => {
  const appId = 'wx1234567890abcdef';
  const key = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const seal = (plain: string, k = key, i = iv) => {
    const c = crypto.createCipheriv('aes-128-cbc', k, i);
    return Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64');
  };
  const attempt = (data: string, k = key.toString('base64'), i = iv.toString('base64')) => {
    try {
      return decryptUserData(k, i, data, appId);
    } catch (e) {
      expect((e as { data: unknown }).data, 'returnData of a 60021').to.equal('');
      return e as { code: number; detail: string };
    }
  };

  it('decrypts a well-formed payload for the app', () => {
    expect(attempt(seal(JSON.stringify({ openId: 'o1', watermark: { appid: appId } })))).to.deep.equal({
      openId: 'o1',
      watermark: { appid: appId },
    });
  });

  it('a key or an iv that is not 16 bytes', () => {
    const data = seal('{}');
    for (const [k, i] of [
      [crypto.randomBytes(24).toString('base64'), iv.toString('base64')],
      [key.toString('base64'), crypto.randomBytes(8).toString('base64')],
    ]) {
      expect(attempt(data, k, i)).to.include({ code: 60021, detail: 'bad key or iv length' });
    }
  });

  it('data that does not decrypt, or decrypts to something other than JSON', () => {
    expect(attempt(seal('{}', crypto.randomBytes(16)))).to.include({
      code: 60021,
      detail: 'data could not be decrypted',
    });
    expect(attempt(seal('not json'))).to.include({ code: 60021, detail: 'data could not be decrypted' });
  });

  it('JSON that is not an object', () => {
    for (const plain of ['null', '[1,2]', '42', '"text"']) {
      expect(attempt(seal(plain)), plain).to.include({ code: 60021, detail: 'decrypted data is not an object' });
    }
  });

  it('an object without a watermark, or with another app in it', () => {
    for (const plain of ['{}', '{"watermark":{}}', JSON.stringify({ watermark: { appid: 'wx0000000000000000' } })]) {
      expect(attempt(seal(plain)), plain).to.include({ code: 60021, detail: 'watermark appid differs' });
    }
  });

  it('sha256 is the hex SHA-256 of the UTF-8 text', () => {
    expect(sha256('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('WXBizMsgCrypt edges: each refusal and its reason', () => {
  const aesKey = crypto.randomBytes(32).toString('base64').slice(0, 43);
  const key = Buffer.from(`${aesKey}=`, 'base64');
  /** AES-256-CBC over exactly these bytes (no padding added), as the platform's key and iv */
  const raw = (bytes: Buffer) => {
    const c = crypto.createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(bytes), c.final()]).toString('base64');
  };
  const reason = (c: MsgCrypt, encrypt: string) => {
    try {
      c.decrypt(encrypt);
    } catch (e) {
      expect(e).to.be.instanceOf(PushRejected);
      return `${(e as PushRejected).status} ${(e as Error).message}`;
    }
    return 'accepted';
  };
  const c = new MsgCrypt('token', aesKey, 'wxreceiver');
  /** 16 random bytes ‖ length ‖ message ‖ receiver, padded to 32 with `pad` bytes of `pad` */
  const body = (len: number, message: string, receiver: string) => {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(len, 0);
    return Buffer.concat([crypto.randomBytes(16), l, Buffer.from(message), Buffer.from(receiver)]);
  };
  const padTo32 = (b: Buffer) => {
    const pad = 32 - (b.length % 32);
    return Buffer.concat([b, Buffer.alloc(pad, pad)]);
  };

  it('the aesKey must be 43 base64 characters (32 bytes)', () => {
    expect(() => new MsgCrypt('t', aesKey.slice(0, 42), 'r')).to.throw('aesKey must be 43 base64 characters');
    expect(() => new MsgCrypt('t', `${aesKey}AAAA`, 'r')).to.throw('aesKey must be 43 base64 characters');
  });

  it('PushRejected names itself and carries its status', () => {
    const e = new PushRejected(403, 'why');
    expect(e).to.include({ name: 'PushRejected', status: 403, message: 'why' });
  });

  it('a wrong signature is "403 bad msg_signature"', () => {
    expect(() => c.verify('0'.repeat(40), '1', 'n', 'e'))
      .to.throw(PushRejected, 'bad msg_signature')
      .with.property('status', 403);
    expect(() => c.verify('short', '1', 'n', 'e')).to.throw(PushRejected, 'bad msg_signature');
  });

  it('ciphertext that AES refuses is "400 undecryptable"', () => {
    expect(reason(c, Buffer.alloc(20).toString('base64'))).to.equal('400 undecryptable');
  });

  it('padding outside 1..32, or longer than the text, is "400 bad padding"', () => {
    expect(reason(c, '')).to.equal('400 bad padding');
    for (const last of [0, 33, 255]) {
      const b = padTo32(body(3, 'abc', 'wxreceiver'));
      b[b.length - 1] = last;
      expect(reason(c, raw(b)), `last byte ${last}`).to.equal('400 bad padding');
    }
    // one 16-byte block whose last byte claims 17..32 bytes of padding
    expect(reason(c, raw(Buffer.alloc(16, 20)))).to.equal('400 bad padding');
  });

  it('less than 20 bytes of text is "400 too short"; exactly 20 (empty message, empty receiver) is fine', () => {
    expect(reason(c, raw(Buffer.alloc(16, 16)))).to.equal('400 too short');
    expect(reason(c, raw(padTo32(Buffer.alloc(19, 1))))).to.equal('400 too short');
    const empty = new MsgCrypt('token', aesKey, '');
    expect(empty.decrypt(empty.encrypt(''))).to.equal('');
  });

  it('padding of exactly 1 and of exactly 32 bytes is good', () => {
    for (const [message, receiver] of [
      ['x'.repeat(31 - 20 - 10), 'wxreceiver'], // 31 bytes: one byte of padding
      ['x'.repeat(32 - 20 - 10), 'wxreceiver'], // 32 bytes: a whole block of padding
    ]) {
      const b = padTo32(body(message.length, message, receiver));
      expect(b[b.length - 1], `${message.length}`).to.equal(message.length === 1 ? 1 : 32);
      expect(c.decrypt(raw(b))).to.equal(message);
    }
  });

  it('a length past the end is "400 bad length"; a receiver that differs is "400 receiver id differs"', () => {
    expect(reason(c, raw(padTo32(body(1000, 'abc', 'wxreceiver'))))).to.equal('400 bad length');
    expect(reason(c, raw(padTo32(body(4, 'abc', 'wxreceiver'))))).to.equal('400 receiver id differs');
    expect(reason(c, raw(padTo32(body(3, 'abc', 'wxreceiver'))))).to.equal('accepted');
    expect(c.decrypt(raw(padTo32(body(3, 'abc', 'wxreceiver'))))).to.equal('abc');
  });
});

describe('COS signing edges', () => {
  it('fileId without a path ends in the bucket; every leading slash of the path goes', () => {
    expect(cosFileId('200001', 'b')).to.equal('/200001/b/');
    expect(cosFileId('200001', 'b', '///a/b')).to.equal('/200001/b/a/b');
  });

  it('v4 without now/random: t is the current unix second, r below 2^31', () => {
    const before = Math.floor(Date.now() / 1000);
    const sign = cosV4({ appId: '200001', bucket: 'b', secretId: 'AKID', secretKey: 'k', expiration: 0 });
    const orig = Buffer.from(sign, 'base64').subarray(20).toString('utf8');
    const t = Number(/&t=(\d+)&/.exec(orig)?.[1]);
    const r = Number(/&r=(\d+)&/.exec(orig)?.[1]);
    expect(t).to.be.within(before, Math.floor(Date.now() / 1000));
    expect(r).to.be.within(0, 2 ** 31 - 2);
  });

  it('v5 sorts headers and query keys as cos-nodejs-sdk-v5 does, names equal in lower case kept in order', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const COS = require('cos-nodejs-sdk-v5') as { getAuthorization(o: Record<string, unknown>): string };
    const headers = {
      'x-cos-meta-b': '2',
      Host: 'b-1250000000.cos.ap-beijing.myqcloud.com',
      'x-cos-acl': 'private',
      host: 'second',
    };
    const query = { versionId: 'v', acl: '', Prefix: 'dir/', 'max-keys': '10' };
    const keyTime = '1557989151;1557996351';
    const ours = cosV5({
      secretId: 'AKIDx',
      secretKey: 'sk',
      method: 'GET',
      path: '/a b.txt',
      headers,
      query,
      keyTime,
    }).authorization;
    const theirs = COS.getAuthorization({
      SecretId: 'AKIDx',
      SecretKey: 'sk',
      KeyTime: keyTime,
      Method: 'GET',
      Pathname: '/a b.txt',
      Headers: headers,
      Query: query,
    });
    expect(ours).to.include(
      'q-header-list=host;host;x-cos-acl;x-cos-meta-b&q-url-param-list=acl;max-keys;prefix;versionid',
    );
    expect(ours).to.equal(theirs);
  });
});

describe('Shansong and JS-SDK signing edges', () => {
  it('Shansong signs the names sorted whatever their order, without sign and empty values', () => {
    const want = md5Upper('SECRETclientIdCdatadtimestamp1');
    expect(shansongSign('SECRET', { timestamp: '1', data: 'd', clientId: 'C' })).to.equal(want);
    expect(
      shansongSign('SECRET', { sign: 'x', timestamp: '1', empty: '', none: undefined, clientId: 'C', data: 'd' }),
    ).to.equal(want);
  });

  it('signPage signs the page now, in unix seconds, with a fresh nonce', () => {
    const before = Math.floor(Date.now() / 1000);
    const p = signPage('TICKET', 'https://a.example/x?y=1#frag');
    expect(p.timestamp).to.be.within(before, Math.floor(Date.now() / 1000));
    expect(p.nonceStr).to.match(/^[0-9A-Za-z]{16}$/);
    expect(p.signature).to.equal(jssdkSignature('TICKET', p.nonceStr, p.timestamp, 'https://a.example/x?y=1'));
  });

  it('nonceStr is 16 characters of [0-9A-Za-z] unless told otherwise', () => {
    for (let i = 0; i < 20; i++) expect(nonceStr()).to.match(/^[0-9A-Za-z]{16}$/);
    expect(nonceStr(32)).to.match(/^[0-9A-Za-z]{32}$/);
  });
});
