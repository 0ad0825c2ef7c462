import crypto from 'node:crypto';

/** Tencent COS v4 (JSON API) multi-effect signature: base64(HMAC-SHA1(secretKey, orig) ‖ orig). */
export function cosV4Sign(secretKey: string, orig: string): string {
  const mac = crypto.createHmac('sha1', secretKey).update(orig, 'utf8').digest();
  return Buffer.concat([mac, Buffer.from(orig, 'utf8')]).toString('base64');
}

export interface CosV4Params {
  appId: string;
  bucket: string;
  secretId: string;
  secretKey: string;
  /** unix seconds; 0 = single use (nonreusable) */
  expiration: number;
  filepath?: string;
  /** sign a fileId even without a filepath (nonreusable signatures always name one) */
  alwaysFileId?: boolean;
  now?: number;
  random?: number;
}

/** `/{appid}/{bucket}/{filepath}`, URL-encoded except `/` */
export function cosFileId(appId: string, bucket: string, filepath = ''): string {
  const path = filepath.replace(/^\/+/, '');
  return `/${appId}/${bucket}/${path}`
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
}

export function cosV4(p: CosV4Params): string {
  const now = p.now ?? Math.floor(Date.now() / 1000);
  const random = p.random ?? crypto.randomInt(0x7fffffff);
  const fileId = p.filepath !== undefined || p.alwaysFileId ? cosFileId(p.appId, p.bucket, p.filepath) : '';
  const orig = `a=${p.appId}&b=${p.bucket}&k=${p.secretId}&e=${p.expiration}&t=${now}&r=${random}&f=${fileId}`;
  return cosV4Sign(p.secretKey, orig);
}

/** RFC 3986 percent-encoding as COS signs it (!'()* encoded too, upper-case hex) */
export function cosEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmacHex = (key: string, data: string) => crypto.createHmac('sha1', key).update(data, 'utf8').digest('hex');
const sha1Hex = (data: string) => crypto.createHash('sha1').update(data, 'utf8').digest('hex');

function canonical(map: Record<string, string>): { list: string; string: string } {
  const entries = Object.entries(map).map(([k, v]) => [cosEncode(k.toLowerCase()), cosEncode(String(v))] as const);
  // as cos-nodejs-sdk-v5 sorts: by the lower-cased name, names that are equal kept in their order
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — to the sort, 0 and 1 both keep a pair in order
  entries.sort(([a], [b]) => (a < b ? -1 : a === b ? 0 : 1));
  return { list: entries.map(([k]) => k).join(';'), string: entries.map(([k, v]) => `${k}=${v}`).join('&') };
}

export interface CosV5Params {
  secretId: string;
  secretKey: string;
  method: string;
  /** the object path, decoded (UTF-8), starting with / */
  path: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** `start;end` in unix seconds */
  keyTime: string;
}

/** COS v5 (XML API) Authorization header, q-sign-algorithm=sha1, signing exactly the given headers and query keys */
export function cosV5(p: CosV5Params): { authorization: string; signKey: string } {
  const signKey = hmacHex(p.secretKey, p.keyTime);
  const headers = canonical(p.headers ?? {});
  const params = canonical(p.query ?? {});
  const httpString = `${p.method.toLowerCase()}\n${p.path}\n${params.string}\n${headers.string}\n`;
  const stringToSign = `sha1\n${p.keyTime}\n${sha1Hex(httpString)}\n`;
  const signature = hmacHex(signKey, stringToSign);
  const authorization = [
    'q-sign-algorithm=sha1',
    `q-ak=${p.secretId}`,
    `q-sign-time=${p.keyTime}`,
    `q-key-time=${p.keyTime}`,
    `q-header-list=${headers.list}`,
    `q-url-param-list=${params.list}`,
    `q-signature=${signature}`,
  ].join('&');
  return { authorization, signKey };
}
