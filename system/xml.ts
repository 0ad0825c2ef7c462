import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_XML_DEPTH = 16;

export class XmlRejected extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'XmlRejected';
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false, // every element's text stays a string: a 64-bit MsgId is not rounded
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true, // only the five predefined ones: DOCTYPEs are refused before parsing
  htmlEntities: false,
});

/** the deepest element nesting of a document (cheap scan, before any parsing) */
function depth(xml: string): number {
  let d = 0;
  let max = 0;
  const re = /<(\/?)[A-Za-z_][^>]*?(\/?)>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[1]) d--;
    else if (!m[2]) max = Math.max(max, ++d);
  }
  return max;
}

/**
 * Parses a platform's XML push safely: no DOCTYPE / entity declarations (no expansion attacks),
 * well-formed, at most 16 levels deep. Returns the children of the root element; text values are
 * strings exactly as received (CDATA unwrapped), nested elements are objects.
 */
export function parsePushXml(xml: string): Record<string, unknown> {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new XmlRejected('DOCTYPE and entities are not accepted');
  if (depth(xml) > MAX_XML_DEPTH) throw new XmlRejected('nested too deeply');
  if (XMLValidator.validate(xml) !== true) throw new XmlRejected('not well-formed XML');
  const doc = parser.parse(xml) as Record<string, unknown>;
  const roots = Object.keys(doc);
  if (roots.length !== 1) throw new XmlRejected('expected one root element');
  const root = doc[roots[0]];
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    if (root === '' || root === undefined) return {};
    throw new XmlRejected('root element has no children');
  }
  return root as Record<string, unknown>;
}

/** a child's text, or undefined when absent or not text */
export function text(fields: Record<string, unknown>, name: string): string | undefined {
  const v = fields[name];
  return typeof v === 'string' ? v : undefined;
}
