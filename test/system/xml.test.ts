import { expect } from 'chai';
import { XmlRejected, parsePushXml } from '../../system/xml';

describe('push XML', () => {
  it('keeps every text as the exact string received, CDATA unwrapped', () => {
    const f = parsePushXml('<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgId>9223372036854775807</MsgId><CreateTime>1413192605</CreateTime><Content><![CDATA[a & <b>]]></Content><Empty></Empty></xml>');
    expect(f).to.deep.equal({ ToUserName: 'gh_1', MsgId: '9223372036854775807', CreateTime: '1413192605', Content: 'a & <b>', Empty: '' });
  });

  it('keeps nested elements as objects', () => {
    const f = parsePushXml('<xml><A><B>1</B></A></xml>');
    expect(f).to.deep.equal({ A: { B: '1' } });
  });

  const bad: Array<[string, string]> = [
    ['a DOCTYPE with entity expansion', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><A>&lol2;</A></xml>'],
    ['an external entity', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>'],
    ['deep nesting', `<xml>${'<a>'.repeat(100)}${'</a>'.repeat(100)}</xml>`],
    ['malformed XML', '<xml><A></xml>'],
    ['not XML', 'hello'],
    ['two roots', '<a>1</a><b>2</b>'],
  ];
  for (const [what, xml] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parsePushXml(xml)).to.throw(XmlRejected);
    });
  }
});
