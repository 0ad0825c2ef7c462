/**
 * The XML of platform pushes (WeChat / WeCom message crypto envelopes and the messages inside),
 * read by a small strict parser of its own: one left-to-right pass, every search starting where
 * the last one ended, so its cost is linear in the input whatever the input is (the callbacks run
 * it on unauthenticated bodies of up to 64 KiB). What it accepts is the subset platforms send:
 * elements, text, CDATA, comments, processing instructions (the XML declaration), attributes
 * (checked, then ignored), the five predefined entities and character references. A DOCTYPE is
 * refused, so no entity can be declared or expanded.
 */

export interface XmlLimits {
  /** deepest element nesting, the root being 1 */
  depth: number;
  /** elements and attributes together */
  nodes: number;
}

/** a decrypted (authenticated) message: far more than any push has, and a bound on the work and memory */
export const MESSAGE_LIMITS: XmlLimits = { depth: 16, nodes: 1024 };

/**
 * The outer envelope, read before the signature is verified: `<xml>` around ToUserName / AppId,
 * Encrypt, AgentID. A hostile body is refused after a few dozen nodes.
 */
export const ENVELOPE_LIMITS: XmlLimits = { depth: 3, nodes: 32 };

/** element names that would reach Object.prototype if used as keys */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
/** the longest entity or character reference accepted: "&#x10FFFF;" */
const MAX_REF = 10;

export class XmlRejected extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'XmlRejected';
  }
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isNameStart = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
const isNameChar = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;

/** a code point that XML 1.0 allows as a character reference */
const isXmlChar = (n: number) =>
  n === 0x9 ||
  n === 0xa ||
  n === 0xd ||
  (n >= 0x20 && n <= 0xd7ff) ||
  (n >= 0xe000 && n <= 0xfffd) ||
  (n >= 0x10000 && n <= 0x10ffff);

/** one open element: its name, the text pieces it holds and, once it has any, its children */
interface Open {
  name: string;
  text: string[];
  children: Record<string, unknown> | null;
}

/** the text of an element: plain text trimmed piece by piece, CDATA exactly as received */
function valueOf(e: Open): unknown {
  const text = e.text.join('');
  if (!e.children) return text;
  if (text !== '') e.children['#text'] = text;
  return e.children;
}

/** adds a child element's value; a repeated name becomes an array, in document order */
function addChild(parent: Open, name: string, value: unknown): void {
  const c = (parent.children ??= {});
  if (!Object.hasOwn(c, name)) c[name] = value;
  else if (Array.isArray(c[name])) (c[name] as unknown[]).push(value);
  else c[name] = [c[name], value];
}

/** replaces entity and character references; a bare "&" or an unknown entity is refused */
function decode(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let from = 0;
  for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
    out += raw.slice(from, amp);
    let end = amp + 1;
    while (end < raw.length && end - amp <= MAX_REF && raw.charCodeAt(end) !== 0x3b) end++;
    if (raw.charCodeAt(end) !== 0x3b) throw new XmlRejected('not well-formed XML');
    const ref = raw.slice(amp + 1, end);
    if (ref.startsWith('#')) {
      const n = /^#x[0-9A-Fa-f]{1,6}$/.test(ref)
        ? parseInt(ref.slice(2), 16)
        : /^#[0-9]{1,7}$/.test(ref)
          ? parseInt(ref.slice(1), 10)
          : NaN;
      if (!isXmlChar(n)) throw new XmlRejected('not well-formed XML');
      out += String.fromCodePoint(n);
    } else if (Object.hasOwn(ENTITIES, ref)) out += ENTITIES[ref];
    else throw new XmlRejected('not well-formed XML');
    from = end + 1;
  }
  return out + raw.slice(from);
}

/**
 * Parses a platform's XML push safely: well-formed, no DOCTYPE (so no entity declarations), within
 * `limits` (depth, elements + attributes), no element named like an Object.prototype member. Returns
 * the children of the root element; text values are strings exactly as received (CDATA unwrapped
 * and never read as markup), nested elements are objects, repeated elements arrays.
 */
export function parsePushXml(xml: string, limits: XmlLimits = MESSAGE_LIMITS): Record<string, unknown> {
  const n = xml.length;
  const bad = (reason = 'not well-formed XML'): never => {
    throw new XmlRejected(reason);
  };
  const stack: Open[] = [];
  let root: Open | null = null;
  let nodes = 0;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;

  /** the end of a name starting at `at` (bad when there is none) */
  const name = (at: number): number => {
    if (at >= n || !isNameStart(xml.charCodeAt(at))) bad();
    let j = at + 1;
    while (j < n && isNameChar(xml.charCodeAt(j))) j++;
    return j;
  };

  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) {
        const piece = decode(raw).trim();
        if (piece) top.text.push(piece);
      } else if (raw.trim() !== '') bad(); // text outside the root element
    }
    if (lt < 0) break;
    i = lt;

    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end < 0 || stack.length === 0) bad();
      stack[stack.length - 1].text.push(xml.slice(i + 9, end));
      i = end + 3;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) bad();
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0) bad();
      i = end + 2;
    } else if (xml.startsWith('<!', i)) {
      const decl = xml.slice(i + 2, i + 9).toUpperCase();
      bad(
        decl.startsWith('DOCTYPE') || decl.startsWith('ENTITY') ? 'DOCTYPE and entities are not accepted' : undefined,
      );
    } else if (xml.charCodeAt(i + 1) === 0x2f) {
      // </name >
      const end = name(i + 2);
      const closing = xml.slice(i + 2, end);
      let j = end;
      while (j < n && isSpace(xml.charCodeAt(j))) j++;
      const open = stack.pop();
      if (xml.charCodeAt(j) !== 0x3e || !open || open.name !== closing) bad();
      const parent = stack[stack.length - 1];
      if (parent) addChild(parent, open!.name, valueOf(open!));
      i = j + 1;
    } else {
      // <name attr="value" … > or />
      const end = name(i + 1);
      const tag = xml.slice(i + 1, end);
      if (RESERVED.has(tag)) bad(`element name "${tag}" is not accepted`);
      if (stack.length === 0 && root) bad('expected one root element');
      if (++nodes > limits.nodes) bad('too many elements');
      if (stack.length + 1 > limits.depth) bad('nested too deeply');
      let j = end;
      const seen = new Set<string>();
      for (;;) {
        const spaced = j < n && isSpace(xml.charCodeAt(j));
        while (j < n && isSpace(xml.charCodeAt(j))) j++;
        const c = xml.charCodeAt(j);
        if (c === 0x3e || (c === 0x2f && xml.charCodeAt(j + 1) === 0x3e)) break;
        if (!spaced) bad();
        if (++nodes > limits.nodes) bad('too many attributes');
        const attrEnd = name(j);
        const attr = xml.slice(j, attrEnd);
        if (seen.has(attr)) bad();
        seen.add(attr);
        j = attrEnd;
        while (j < n && isSpace(xml.charCodeAt(j))) j++;
        if (xml.charCodeAt(j) !== 0x3d) bad();
        j++;
        while (j < n && isSpace(xml.charCodeAt(j))) j++;
        const quote = xml[j];
        if (quote !== '"' && quote !== "'") bad();
        const close = xml.indexOf(quote, j + 1);
        if (close < 0) bad();
        const value = xml.slice(j + 1, close);
        if (value.includes('<')) bad();
        decode(value);
        j = close + 1;
      }
      const open: Open = { name: tag, text: [], children: null };
      if (!root) root = open;
      if (xml.charCodeAt(j) === 0x2f) {
        const parent = stack[stack.length - 1];
        if (parent) addChild(parent, tag, '');
        i = j + 2;
      } else {
        stack.push(open);
        i = j + 1;
      }
    }
  }
  if (!root || stack.length > 0) bad();
  if (root!.children) return root!.children;
  if (root!.text.length === 0) return {};
  return bad('root element has no children');
}

/** a child's text, or undefined when absent or not text */
export function text(fields: Record<string, unknown>, name: string): string | undefined {
  if (!Object.hasOwn(fields, name)) return undefined;
  const v = fields[name];
  return typeof v === 'string' ? v : undefined;
}
