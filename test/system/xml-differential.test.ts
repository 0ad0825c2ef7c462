import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { parsePushXml } from '../../system/xml';
import { Rng } from '../helpers/rng';

/**
 * gatehouse reads push XML with a small parser of its own (linear and bounded before the signature
 * is checked). fast-xml-parser, a well-kept library, is the reference: on generated messages of
 * the shapes platforms send — text, CDATA holding markup, entities and character references,
 * nested and repeated elements, attributes, comments, an XML declaration — both must read the same
 * values. Generated texts have no leading or trailing whitespace, where the two trim differently.
 */

const reference = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: true, // (decodes character references; the generator uses no HTML-only entity)
  ignoreDeclaration: true,
  commentPropName: false,
});

const NAMES = [
  'ToUserName',
  'FromUserName',
  'CreateTime',
  'MsgType',
  'Content',
  'MsgId',
  'Event',
  'EventKey',
  'Item',
  'AppId',
  'InfoType',
  'a',
  'B_2',
  'x.y',
  'ns:el',
];

function textPiece(rng: Rng): { xml: string; value: string } {
  switch (rng.int(0, 5)) {
    case 0: {
      const v = String(rng.int(0, 9)) + rng.hex(rng.int(0, 18)); // a 64-bit MsgId must stay a string
      return { xml: v, value: v };
    }
    case 1: {
      const v = rng.pick([
        'a < b & c > d',
        '<b>bold</b>',
        '<!DOCTYPE x>',
        ']]',
        'x]]y',
        '&amp;',
        '你好，世界',
        '😀 emoji',
        'a\nb',
      ]);
      return { xml: `<![CDATA[${v}]]>`, value: v };
    }
    case 2:
      return rng.pick([
        { xml: 'Tom &amp; Jerry', value: 'Tom & Jerry' },
        { xml: '1 &lt; 2 &gt; 0', value: '1 < 2 > 0' },
        { xml: '&quot;q&quot; &apos;a&apos;', value: `"q" 'a'` },
        { xml: '&#20320;&#x597D;', value: '你好' },
        { xml: '&#x1F600;', value: '😀' },
      ]);
    case 3: {
      const v = rng.b64(rng.int(1, 40)).replace(/^[+/]+/, 'A');
      return { xml: v, value: v };
    }
    case 4:
      return { xml: '', value: '' };
    default: {
      const v = rng.pick(['text', 'gh_123456789abc', 'oABCDEF-123', 'subscribe', 'component_verify_ticket']);
      return { xml: v, value: v };
    }
  }
}

/** an element and the value both parsers should read for it */
function element(rng: Rng, depth: number): { name: string; xml: string; value: unknown } {
  const name = rng.pick(NAMES);
  const attrs = rng.chance(0.15) ? ` id="${rng.hex(4)}" type='t'` : '';
  if (depth < 4 && rng.chance(0.25)) {
    const kids = Array.from({ length: rng.int(1, 4) }, () => element(rng, depth + 1));
    const value: Record<string, unknown> = {};
    for (const k of kids) {
      if (!(k.name in value)) value[k.name] = k.value;
      else if (Array.isArray(value[k.name])) (value[k.name] as unknown[]).push(k.value);
      else value[k.name] = [value[k.name], k.value];
    }
    const sep = rng.chance(0.5) ? '\n  ' : '';
    return { name, xml: `<${name}${attrs}>${sep}${kids.map((k) => k.xml).join(sep)}${sep}</${name}>`, value };
  }
  const t = textPiece(rng);
  if (t.xml === '' && rng.chance(0.5)) return { name, xml: `<${name}${attrs}/>`, value: '' };
  return { name, xml: `<${name}${attrs}>${t.xml}</${name}>`, value: t.value };
}

function message(rng: Rng): { xml: string; fields: Record<string, unknown> } {
  const kids = Array.from({ length: rng.int(1, 8) }, () => element(rng, 2));
  const fields: Record<string, unknown> = {};
  for (const k of kids) {
    if (!(k.name in fields)) fields[k.name] = k.value;
    else if (Array.isArray(fields[k.name])) (fields[k.name] as unknown[]).push(k.value);
    else fields[k.name] = [fields[k.name], k.value];
  }
  const decl = rng.chance(0.3) ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '';
  const comment = rng.chance(0.2) ? '<!-- a comment -->' : '';
  return { xml: `${decl}<xml>${comment}${kids.map((k) => k.xml).join(rng.chance(0.5) ? '\n' : '')}</xml>`, fields };
}

describe('push XML: our parser reads what fast-xml-parser reads (differential, 3,000 generated messages)', () => {
  it('the same fields, values and arrays for every generated message', () => {
    const rng = new Rng(0x9e3779b9);
    for (let i = 0; i < 3000; i++) {
      const m = message(rng);
      const ours = parsePushXml(m.xml);
      const theirs = (reference.parse(m.xml) as { xml: Record<string, unknown> | '' }).xml;
      expect(ours, m.xml).to.deep.equal(m.fields);
      expect(ours, m.xml).to.deep.equal(theirs === '' ? {} : theirs);
    }
  });
});
