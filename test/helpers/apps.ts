import { APP_KINDS } from '../../application';
export const AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

/**
 * One valid config per kind of app (§6), from the kinds' own samples in their platform contracts:
 * a new platform's kinds are in every per-kind test (masking, rotation, …) without an edit here.
 */
export const SAMPLE_APPS: Record<string, Record<string, unknown>> = Object.fromEntries(
  APP_KINDS.map((k) => [k.platform, k.sample]),
);

/** the secret fields of every kind, as its contract declares them */
export const SECRET_FIELDS: Record<string, string[]> = Object.fromEntries(
  APP_KINDS.map((k) => [k.platform, k.secrets]),
);

/** registers the SAMPLE_APPS secrets on a fake platform (it refuses apps it does not know) */
export function registerSampleApps(fake: { app(appid: string, secret: string): void }): void {
  for (const platform of ['wechat_app', 'wechat_tp', 'toutiao_app'])
    fake.app(String(SAMPLE_APPS[platform].appId), String(SAMPLE_APPS[platform].secret));
  fake.app(String(SAMPLE_APPS.wecom_corp.corpId), String(SAMPLE_APPS.wecom_corp.secret));
}
