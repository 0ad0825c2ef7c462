import { expect } from 'chai';
import crypto from 'node:crypto';
import { decryptUserData, safeEqual } from '../../application/services/crypto/datacrypt';
import { SecretBox } from '../../system/secretbox';
import { DATA_CRYPT as V } from '../helpers/vectors';

describe('WXBizDataCrypt (official vector)', () => {
  it('decrypts the sample to the documented user', () => {
    const data = decryptUserData(V.sessionKey, V.iv, V.encryptedData, V.appId);
    expect(data.openId).to.equal(V.openId);
    expect(data.nickName).to.equal(V.nickName);
    expect(data.unionId).to.equal(V.unionId);
    expect((data.watermark as { appid: string }).appid).to.equal(V.appId);
  });

  for (const [what, args] of [
    ['another app (watermark)', [V.sessionKey, V.iv, V.encryptedData, 'wx0000000000000000']],
    ['a wrong session key', [crypto.randomBytes(16).toString('base64'), V.iv, V.encryptedData, V.appId]],
    ['a wrong iv', [V.sessionKey, crypto.randomBytes(16).toString('base64'), V.encryptedData, V.appId]],
    ['a short key', ['AAAA', V.iv, V.encryptedData, V.appId]],
    ['garbage data', [V.sessionKey, V.iv, 'not base64 at all!!', V.appId]],
  ] as const) {
    it(`fails with 60021 for ${what}`, () => {
      expect(() => decryptUserData(...(args as unknown as [string, string, string, string])))
        .to.throw()
        .with.property('code', 60021);
    });
  }
});

describe('SecretBox', () => {
  it('seals with AES-256-GCM and opens with the same key only', () => {
    const box = new SecretBox(crypto.randomBytes(32));
    const sealed = box.seal('my-secret');
    expect(sealed)
      .to.match(/^enc:v1:/)
      .and.not.include('my-secret');
    expect(box.seal('my-secret')).to.not.equal(sealed);
    expect(box.open(sealed)).to.equal('my-secret');
    expect(() => new SecretBox(crypto.randomBytes(32)).open(sealed)).to.throw(/wrong key/);
    expect(() => new SecretBox().open(sealed)).to.throw(/not set/);
  });

  it('passes values through without a key, and opens plain values with one', () => {
    expect(new SecretBox().seal('x')).to.equal('x');
    expect(new SecretBox(crypto.randomBytes(32)).open('plain')).to.equal('plain');
  });

  it('compares in constant time', () => {
    expect(safeEqual('abc', 'abc')).to.equal(true);
    expect(safeEqual('abc', 'abd')).to.equal(false);
    expect(safeEqual('abc', 'abcd')).to.equal(false);
  });
});
