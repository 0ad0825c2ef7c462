import { expect } from 'chai';
import { MsgCrypt, PushRejected } from '../../application/services/crypto/msgcrypt';

// ../shared/VECTORS.md: WXBizMsgCrypt, fixed random
const V = {
  aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  appId: 'wxb11529c136998cb6',
  random: 'aaaabbbbccccdddd',
  message: '我是中文abcd123',
  encrypt: 'jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==',
  token: 'pamtest',
  timestamp: '1409304348',
  nonce: 'xxxxxx',
  signature: '82c962d39941aa48552f90ef55aa323dc620cc10',
};

describe('WXBizMsgCrypt (official vector)', () => {
  const c = new MsgCrypt(V.token, V.aesKey, V.appId);

  it('encrypts the sample with the fixed random to the documented Encrypt', () => {
    expect(c.encrypt(V.message, Buffer.from(V.random))).to.equal(V.encrypt);
  });

  it('decrypts it back and checks the receiver id', () => {
    expect(c.decrypt(V.encrypt)).to.equal(V.message);
    expect(() => new MsgCrypt(V.token, V.aesKey, 'wxother').decrypt(V.encrypt))
      .to.throw(PushRejected)
      .with.property('status', 400);
  });

  it('computes and verifies msg_signature', () => {
    expect(c.signature(V.timestamp, V.nonce, V.encrypt)).to.equal(V.signature);
    expect(() => c.verify(V.signature, V.timestamp, V.nonce, V.encrypt)).to.not.throw();
    expect(() => c.verify(V.signature.toUpperCase(), V.timestamp, V.nonce, V.encrypt)).to.not.throw();
    expect(() => c.verify(V.signature, V.timestamp, 'other', V.encrypt))
      .to.throw(PushRejected)
      .with.property('status', 403);
  });

  it('refuses garbage with 400', () => {
    for (const bad of ['', 'not base64!!', Buffer.alloc(48).toString('base64'), V.encrypt.slice(0, 40)]) {
      expect(() => c.decrypt(bad), bad)
        .to.throw(PushRejected)
        .with.property('status', 400);
    }
  });

  it('round-trips long and unicode messages', () => {
    const msg = `<xml><Content><![CDATA[${'中'.repeat(3000)}]]></Content></xml>`;
    expect(c.decrypt(c.encrypt(msg))).to.equal(msg);
  });
});
