import { s, rpc, out } from '../../schema';
import type { Area, Interface } from '../../contract';

const id = s.str(128);
const skey = s.str(128);
const encrypt_data = s.str(65536);
const iv = s.str(64);
const appid = s.str(128);

const userInfo = s.anyObject();
const nullableStr = s.nullable(out.str);
/** a session and the data to decrypt with its session key (Alipay: with the app's AES key, no iv) */
const sessionData = s.obj({ id, skey, encrypt_data, iv }, ['id', 'skey', 'encrypt_data']);

/** `platforms`: those whose mini programs log in (the contract's `miniProgram`), WeChat's first */
const interfaces = (platforms: string[]): Interface[] => {
  /** the platform of the mini program, when its appid alone does not tell */
  const platform = s.oneOf(platforms);
  return [
    rpc({
      name: 'qcloud.cam.id_skey',
      access: 'public',
      summary:
        'Mini-program login: a wx.login / tt.login / qq.login code or my.getAuthCode authCode → session id + skey ' +
        '(optionally decrypting user info).',
      para: s.obj({ code: s.str(512), anonymous_code: s.str(512), encrypt_data, iv, appid, platform }, [], {
        anyOf: [{ required: ['code'] }, { required: ['anonymous_code'] }],
        dependencies: { iv: ['encrypt_data'] },
      }),
      result: s.obj(
        {
          id: out.str,
          skey: out.str,
          duration: out.int,
          appid: out.str,
          platform: out.str,
          unionid: nullableStr,
          user_info: userInfo,
        },
        ['id', 'skey', 'duration', 'appid', 'platform', 'unionid'],
      ),
      handler: (p, { services }) => services.sessions.login(p),
    }),
    rpc({
      name: 'qcloud.cam.auth',
      access: 'public',
      summary: 'Checks a session (id + skey) and returns its user.',
      para: s.obj({ id, skey, appid, platform }, ['id', 'skey']),
      result: s.obj(
        { user_info: s.nullable(userInfo), appid: out.str, platform: out.str, openid: out.str, unionid: nullableStr },
        ['user_info', 'appid', 'platform', 'openid', 'unionid'],
      ),
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
      summary:
        'Decrypts mini-program encrypted data (phone number, run data …) with the session key ' +
        "(Alipay: the app's AES key).",
      para: sessionData,
      result: s.anyObject(),
      handler: (p, { services }) => services.sessions.decryptData(p),
    }),
    rpc({
      name: 'qcloud.cam.check_signature',
      access: 'public',
      summary:
        'Checks sha1(raw_data + session_key) against signature (Alipay: the RSA2 sign of Alipay-signed content).',
      para: s.obj({ id, skey, raw_data: s.str(65536, 0), signature: s.str(1024) }, [
        'id',
        'skey',
        'raw_data',
        'signature',
      ]),
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
};

const area: Area = { name: 'minaauth', interfaces: (sv) => interfaces(sv.sessions.platforms()) };
export default area;
