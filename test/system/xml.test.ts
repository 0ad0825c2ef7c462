import { expect } from 'chai';
import { ENVELOPE_LIMITS, XmlRejected, parsePushXml } from '../../system/xml';

describe('push XML', () => {
  it('keeps every text as the exact string received, CDATA unwrapped', () => {
    const f = parsePushXml(
      '<xml><ToUserName><![CDATA[gh_1]]></ToUserName><MsgId>9223372036854775807</MsgId><CreateTime>1413192605</CreateTime><Content><![CDATA[a & <b>]]></Content><Empty></Empty></xml>',
    );
    expect(f).to.deep.equal({
      ToUserName: 'gh_1',
      MsgId: '9223372036854775807',
      CreateTime: '1413192605',
      Content: 'a & <b>',
      Empty: '',
    });
  });

  it('keeps nested elements as objects', () => {
    const f = parsePushXml('<xml><A><B>1</B></A></xml>');
    expect(f).to.deep.equal({ A: { B: '1' } });
  });

  const bad: Array<[string, string]> = [
    [
      'a DOCTYPE with entity expansion',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><xml><A>&lol2;</A></xml>',
    ],
    ['an external entity', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><A>&e;</A></xml>'],
    ['deep nesting', `<xml>${'<a>'.repeat(100)}${'</a>'.repeat(100)}</xml>`],
    ['malformed XML', '<xml><A></xml>'],
    ['not XML', 'hello'],
    ['two roots', '<a>1</a><b>2</b>'],
    ['an element named __proto__', '<xml><__proto__><polluted>1</polluted></__proto__></xml>'],
    ['an element named constructor', '<xml><A><constructor>x</constructor></A></xml>'],
    ['an element named prototype', '<xml><prototype/></xml>'],
    ['an undeclared entity', '<xml><A>&foo;</A></xml>'],
    ['a bare ampersand', '<xml><A>a & b</A></xml>'],
    ['a character reference to NUL', '<xml><A>&#0;</A></xml>'],
    ['an unclosed CDATA section', '<xml><A><![CDATA[x</A></xml>'],
    ['a CDATA section outside the root', '<![CDATA[x]]><xml/>'],
    ['text after the root', '<xml><A>1</A></xml>tail'],
    ['a duplicate attribute', '<xml a="1" a="2"><A>1</A></xml>'],
    ['attributes without a space between', '<xml a="1"b="2"><A>1</A></xml>'],
    ['mismatched tags', '<xml><A>1</B></xml>'],
    ['more than 1024 elements', `<xml>${'<A/>'.repeat(1100)}</xml>`],
  ];
  for (const [what, xml] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parsePushXml(xml)).to.throw(XmlRejected);
    });
  }

  // CDATA is data: nothing inside it is read as markup (issue 9)
  const cdata: Array<[string, string]> = [
    ['markup', '<a><b>x</b></a>'],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY e "e">]>'],
    ['nesting deeper than the limit', '<a>'.repeat(100)],
    ['reserved names', '<__proto__/><constructor/>'],
    ['entity references', '&lt; &foo; &'],
  ];
  for (const [what, content] of cdata) {
    it(`keeps ${what} inside CDATA as text`, () => {
      expect(parsePushXml(`<xml><Content><![CDATA[${content}]]></Content></xml>`)).to.deep.equal({ Content: content });
    });
  }

  it('decodes the predefined entities and character references in text', () => {
    expect(parsePushXml('<xml><A>&lt;b&gt; &amp; &quot;&apos; &#60;&#x4E2D;</A></xml>')).to.deep.equal({
      A: '<b> & "\' <中',
    });
  });

  it('reads repeated elements as an array and ignores comments, declarations and attributes', () => {
    const f = parsePushXml(
      '\ufeff<?xml version="1.0" encoding="utf-8"?>\n<!-- c --><xml a="1">\n <Item x=\'2\'>1</Item>\n <Item>2</Item><!-- d -->\n <Empty/>\n</xml>\n',
    );
    expect(f).to.deep.equal({ Item: ['1', '2'], Empty: '' });
  });

  it('an element named like an Object.prototype member other than the reserved ones is plain data', () => {
    const f = parsePushXml('<xml><toString>1</toString><hasOwnProperty>2</hasOwnProperty></xml>');
    expect(f.toString).to.equal('1');
    expect(Object.keys(f)).to.deep.equal(['toString', 'hasOwnProperty']);
  });

  it('the envelope limits refuse a document of more than a few dozen nodes or 3 levels', () => {
    expect(
      parsePushXml('<xml><ToUserName>a</ToUserName><Encrypt>b</Encrypt><AgentID/></xml>', ENVELOPE_LIMITS),
    ).to.deep.equal({ ToUserName: 'a', Encrypt: 'b', AgentID: '' });
    expect(() => parsePushXml(`<xml>${'<A/>'.repeat(40)}</xml>`, ENVELOPE_LIMITS)).to.throw(XmlRejected);
    expect(() => parsePushXml('<xml><A><B><C>1</C></B></A></xml>', ENVELOPE_LIMITS)).to.throw(XmlRejected);
  });
});
