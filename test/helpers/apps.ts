export const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/** One valid config per platform of §6. */
export const SAMPLE_APPS: Record<string, Record<string, unknown>> = {
  wechat_app: {
    appId: 'wx1234567890abcdef',
    secret: 'wechat-app-secret-1',
    tokenMode: 'classic',
    default: true,
    loginDurationDays: 7,
    sessionDurationSeconds: 3600,
  },
  wechat_tp: {
    appId: 'wxcomponent000001',
    secret: 'component-secret-1',
    token: 'push-token-1',
    aesKey: AES,
    redirectUrl: 'https://example.com/done',
    authForwardUrl: 'http://127.0.0.1:9/auth',
    msgForwardUrl: 'http://127.0.0.1:9/msg',
  },
  wecom_corp: { corpId: 'ww0000000000000001', agentId: 1000002, secret: 'corp-secret-0001' },
  wecom_tp: {
    suiteId: 'wwsuite000000001',
    secret: 'suite-secret-0001',
    token: 'suite-token-1',
    aesKey: AES,
    redirectUrl: 'https://example.com/installed',
  },
  toutiao_app: { appId: 'tt0000000000000001', secret: 'toutiao-secret-01' },
  fengniao_app: {
    appId: '3000001',
    devId: 'dev001',
    secret: 'fengniao-secret-1',
    callbackUrl: 'https://example.com/fn',
  },
  shansong_app: {
    appId: 'ss0000000001',
    secret: 'shansong-secret-1',
    redirectUrl: 'https://example.com/ss',
    callbackUrl: 'https://example.com/sscb',
  },
  cos: {
    appId: '1250000000',
    secretId: 'AKIDexample0000',
    secretKey: 'cos-secret-key-001',
    bucket: 'files',
    region: 'ap-guangzhou',
  },
};

export const SECRET_FIELDS: Record<string, string[]> = {
  wechat_app: ['secret'],
  wechat_tp: ['secret', 'token', 'aesKey'],
  wecom_corp: ['secret'],
  wecom_tp: ['secret', 'token', 'aesKey'],
  toutiao_app: ['secret'],
  fengniao_app: ['secret'],
  shansong_app: ['secret'],
  cos: ['secretKey'],
};

/** registers the SAMPLE_APPS secrets on a fake platform (it refuses apps it does not know) */
export function registerSampleApps(fake: { app(appid: string, secret: string): void }): void {
  for (const platform of ['wechat_app', 'wechat_tp', 'toutiao_app'])
    fake.app(String(SAMPLE_APPS[platform].appId), String(SAMPLE_APPS[platform].secret));
  fake.app(String(SAMPLE_APPS.wecom_corp.corpId), String(SAMPLE_APPS.wecom_corp.secret));
}
