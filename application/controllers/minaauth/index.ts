import { s } from '../../area';
import type { Area, Interface } from '../../contract';
import type { Credentials, LoginPara } from '../../services/sessions';

const id = s.str(128);
const skey = s.str(128);
const encrypt_data = s.str(65536);
const iv = s.str(64);
const appid = s.str(128);
const userInfo = { type: 'object' };
const nullableStr = s.nullable({ type: 'string' });

const interfaces: Interface[] = [
  {
    name: 'qcloud.cam.id_skey',
    access: 'public',
    summary: 'Mini-program login: wx.login code → session id + skey (optionally decrypting user info).',
    para: s.obj({ code: s.str(512), encrypt_data, iv, appid }, ['code'], {
      dependencies: { encrypt_data: ['iv'], iv: ['encrypt_data'] },
    }),
    result: s.obj(
      {
        id: { type: 'string' },
        skey: { type: 'string' },
        duration: { type: 'integer' },
        appid: { type: 'string' },
        unionid: nullableStr,
        user_info: userInfo,
      },
      ['id', 'skey', 'duration', 'appid', 'unionid'],
    ),
    handler: (p: LoginPara, { services }) => services.sessions.login(p),
  },
  {
    name: 'qcloud.cam.auth',
    access: 'public',
    summary: 'Checks a session (id + skey) and returns its user.',
    para: s.obj({ id, skey, appid }, ['id', 'skey']),
    result: s.obj(
      { user_info: s.nullable(userInfo), appid: { type: 'string' }, openid: { type: 'string' }, unionid: nullableStr },
      ['user_info', 'appid', 'openid', 'unionid'],
    ),
    handler: (p: Credentials, { services }) => services.sessions.auth(p),
  },
  {
    name: 'qcloud.cam.userinfo',
    access: 'public',
    summary: 'Decrypts and stores the user info of a session.',
    para: s.obj({ id, skey, encrypt_data, iv }, ['id', 'skey', 'encrypt_data', 'iv']),
    result: s.obj(
      { id: { type: 'string' }, skey: { type: 'string' }, appid: { type: 'string' }, user_info: userInfo },
      ['id', 'skey', 'appid', 'user_info'],
    ),
    handler: (p: Credentials & { encrypt_data: string; iv: string }, { services }) => services.sessions.userinfo(p),
  },
  {
    name: 'qcloud.cam.decrypt',
    access: 'public',
    summary: 'Decrypts mini-program encrypted data (phone number, run data …) with the session key.',
    para: s.obj({ id, skey, encrypt_data, iv }, ['id', 'skey', 'encrypt_data', 'iv']),
    result: { type: 'object' },
    handler: (p: Credentials & { encrypt_data: string; iv: string }, { services }) => services.sessions.decryptData(p),
  },
  {
    name: 'qcloud.cam.check_signature',
    access: 'public',
    summary: 'Checks sha1(raw_data + session_key) against signature.',
    para: s.obj({ id, skey, raw_data: s.str(65536, 0), signature: s.str(64) }, ['id', 'skey', 'raw_data', 'signature']),
    result: s.obj({ valid: { type: 'boolean' } }, ['valid']),
    handler: (p: Credentials & { raw_data: string; signature: string }, { services }) =>
      services.sessions.checkSignature(p),
  },
  {
    name: 'qcloud.cam.logout',
    access: 'public',
    summary: 'Ends a session: its skey stops working.',
    para: s.obj({ id, skey }, ['id', 'skey']),
    result: s.obj({}),
    handler: (p: Credentials, { services }) => services.sessions.logout(p),
  },
];

const area: Area = { name: 'minaauth', interfaces: () => interfaces };
export default area;
