import { s, rpc, out } from '../../schema';
import type { Interface } from '../../contract';
import type { Services } from '../../contract';
import { CODE_NAME_PATTERN } from '../../services/apps';
import { cosV4, cosV5 } from '../../services/crypto/cos';
import { paraError } from '../../../system/errors';

const profile = s.match(CODE_NAME_PATTERN);
const bucket = s.match('^[A-Za-z0-9._-]+$', { minLength: 1, maxLength: 128 });
const filepath = s.str(1024);
const inline = {
  appid: s.match('^[0-9A-Za-z]+$', { minLength: 1, maxLength: 32 }),
  sid: s.str(128),
  skey: s.str(256),
};
/** either a `cos` profile, or the Wafer-fork inline appid + sid + skey — never both */
const credentials = {
  oneOf: [
    { required: ['profile'], not: { anyOf: [{ required: ['appid'] }, { required: ['sid'] }, { required: ['skey'] }] } },
    { required: ['appid', 'sid', 'skey'], not: { required: ['profile'] } },
  ],
};
const stringMap = s.stringMap(64, 4096, 128);
const NINETY_DAYS = 90 * 86_400;

async function keys(sv: Services, p: { profile?: string; appid?: string; sid?: string; skey?: string }) {
  if (p.profile) {
    const app = await sv.apps.require('cos', p.profile);
    return { appId: app.appId, secretId: String(app.config.secretId), secretKey: String(app.config.secretKey) };
  }
  return { appId: p.appid!, secretId: p.sid!, secretKey: p.skey! };
}

const appsOf = async (p: { profile?: string; appid?: string }, sv: Services) =>
  p.profile ? [[p.profile, (await sv.apps.get('cos', p.profile))?.appId]] : [p.appid];

export const interfaces: Interface[] = [
  rpc({
    name: 'qcloud.cos.auth.reusable',
    access: 'backend',
    summary: 'COS v4 multi-use signature valid until expiration (unix s, at most 90 days ahead).',
    para: s.obj({ bucket, expiration: s.int(1), filepath, profile, ...inline }, ['bucket', 'expiration'], credentials),
    result: out.str,
    apps: appsOf,
    handler: async (p, { services: sv }) => {
      const now = Math.floor(Date.now() / 1000);
      if (p.expiration <= now || p.expiration > now + NINETY_DAYS) {
        throw paraError([{ path: '/expiration', message: 'must be after now and at most 90 days ahead' }]);
      }
      return cosV4({ ...(await keys(sv, p)), bucket: p.bucket, expiration: p.expiration, filepath: p.filepath, now });
    },
  }),
  rpc({
    name: 'qcloud.cos.auth.nonreusable',
    access: 'backend',
    summary: 'COS v4 single-use signature for one file (e = 0).',
    para: s.obj({ bucket, filepath, profile, ...inline }, ['bucket'], credentials),
    result: out.str,
    apps: appsOf,
    handler: async (p, { services: sv }) =>
      cosV4({ ...(await keys(sv, p)), bucket: p.bucket, expiration: 0, filepath: p.filepath, alwaysFileId: true }),
  }),
  rpc({
    name: 'qcloud.cos.auth.v5',
    access: 'backend',
    summary:
      'COS v5 (XML API) Authorization header, q-sign-algorithm=sha1, signing exactly the given headers and query.',
    para: s.obj(
      {
        profile,
        method: s.match('^[A-Za-z]{3,10}$'),
        path: s.match('^/', { minLength: 1, maxLength: 2048 }),
        headers: stringMap,
        query: stringMap,
        expires: s.int(1, 86_400),
      },
      ['profile', 'method', 'path'],
    ),
    result: s.obj({ authorization: out.str, keyTime: out.str }, ['authorization', 'keyTime']),
    apps: appsOf,
    handler: async (p, { services: sv }) => {
      const k = await keys(sv, p);
      const now = Math.floor(Date.now() / 1000);
      const keyTime = `${now};${now + (p.expires ?? 600)}`;
      const { authorization } = cosV5({
        secretId: k.secretId,
        secretKey: k.secretKey,
        method: p.method,
        path: p.path,
        headers: p.headers,
        query: p.query,
        keyTime,
      });
      return { authorization, keyTime };
    },
  }),
];
