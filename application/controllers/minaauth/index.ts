import { s, rpc, out } from '../../schema';
import type { Area, Interface } from '../../contract';

const id = s.str(128);
const skey = s.str(128);
const encrypt_data = s.str(65536);
const iv = s.str(64);
const appid = s.str(128);
const userInfo = s.anyObject();
const nullableStr = s.nullable(out.str);
/** a session and the data to decrypt with its session key */
const sessionData = s.obj({ id, skey, encrypt_data, iv }, ['id', 'skey', 'encrypt_data', 'iv']);

const interfaces: Interface[] = [
  rpc({
    name: 'qcloud.cam.id_skey',
    access: 'public',
    summary: 'Mini-program login: wx.login code → session id + skey (optionally decrypting user info).',
    para: s.obj({ code: s.str(512), encrypt_data, iv, appid }, ['code'], {
      dependencies: { encrypt_data: ['iv'], iv: ['encrypt_data'] },
    }),
    result: s.obj(
      {
        id: out.str,
        skey: out.str,
        duration: out.int,
        appid: out.str,
        unionid: nullableStr,
        user_info: userInfo,
      },
      ['id', 'skey', 'duration', 'appid', 'unionid'],
    ),
    handler: (p, { services }) => services.sessions.login(p),
  }),
  rpc({
    name: 'qcloud.cam.auth',
    access: 'public',
    summary: 'Checks a session (id + skey) and returns its user.',
    para: s.obj({ id, skey, appid }, ['id', 'skey']),
    result: s.obj({ user_info: s.nullable(userInfo), appid: out.str, openid: out.str, unionid: nullableStr }, [
      'user_info',
      'appid',
      'openid',
      'unionid',
    ]),
    handler: (p, { services }) => services.sessions.auth(p),
  }),
  rpc({
    name: 'qcloud.cam.userinfo',
    access: 'public',
    summary: 'Decrypts and stores the user info of a session.',
    para: sessionData,
    result: s.obj({ id: out.str, skey: out.str, appid: out.str, user_info: userInfo }, [
      'id',
      'skey',
      'appid',
      'user_info',
    ]),
    handler: (p, { services }) => services.sessions.userinfo(p),
  }),
  rpc({
    name: 'qcloud.cam.decrypt',
    access: 'public',
    summary: 'Decrypts mini-program encrypted data (phone number, run data …) with the session key.',
    para: sessionData,
    result: s.anyObject(),
    handler: (p, { services }) => services.sessions.decryptData(p),
  }),
  rpc({
    name: 'qcloud.cam.check_signature',
    access: 'public',
    summary: 'Checks sha1(raw_data + session_key) against signature.',
    para: s.obj({ id, skey, raw_data: s.str(65536, 0), signature: s.str(64) }, ['id', 'skey', 'raw_data', 'signature']),
    result: s.obj({ valid: s.bool() }, ['valid']),
    handler: (p, { services }) => services.sessions.checkSignature(p),
  }),
  rpc({
    name: 'qcloud.cam.logout',
    access: 'public',
    summary: 'Ends a session: its skey stops working.',
    para: s.obj({ id, skey }, ['id', 'skey']),
    result: s.obj({}),
    handler: (p, { services }) => services.sessions.logout(p),
  }),
];

const area: Area = { name: 'minaauth', interfaces: () => interfaces };
export default area;
