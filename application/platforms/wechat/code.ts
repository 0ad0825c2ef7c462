import { RpcError } from '../../../system/errors';
import { text } from '../../../system/xml';
import type { Services } from '../../contract';
import type { AppConfig } from '../../services/apps';
import { withAccessToken } from '../../services/tokens/spec';
import { checkErrcode } from './client';
import type { WechatParts } from './parts';

/**
 * Code management of an authorizer mini program (第三方平台代码管理): template versions committed as
 * the trial version, its QR code, audits, release and rollback — WeChat's /wxa/* APIs, called with
 * the authorizer's access token (the template list with the component's), each call retried once
 * with a compare-and-refreshed token when WeChat refuses the token (40001 / 42001 …).
 *
 * The WeChat client's calls go through the one upstream client (metrics, timeout, no redirects) and
 * read errcodes by the WeChat rules (checkErrcode: 40029 with {platform, errcode, errmsg}); the URL
 * (it carries the token) is never logged.
 */

type Reply = Record<string, unknown>;

/** an audit's state: WeChat's status by name, "unknown" for a status it does not document, "none" for no audit */
export type AuditState = 'success' | 'rejected' | 'auditing' | 'withdrawn' | 'delayed' | 'unknown' | 'none';

/** WeChat's audit states (status of get_auditstatus / get_latest_auditstatus) by number */
export const AUDIT_STATES: Readonly<Record<number, AuditState>> = {
  0: 'success',
  1: 'rejected',
  2: 'auditing',
  3: 'withdrawn',
  4: 'delayed',
};

/** the audit result pushes (消息与事件接收URL) and the status each stands for */
export const AUDIT_EVENTS: Readonly<Record<string, { status: number; time: string }>> = {
  weapp_audit_success: { status: 0, time: 'SuccTime' },
  weapp_audit_fail: { status: 1, time: 'FailTime' },
  weapp_audit_delay: { status: 4, time: 'DelayTime' },
};

/** how many of the newest pushes of each audit event the push log is read for (per platform codeName) */
export const PUSHES_READ = 500;

export interface AuditStatus {
  source: 'wechat' | 'pushes';
  state: AuditState;
  status?: number;
  auditId?: number;
  reason?: string;
  screenshots?: string[];
  userVersion?: string;
  userDesc?: string;
  submittedAt?: number;
  at?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
};
/** "a|b|c" (media ids of the screenshots WeChat attaches to a rejection) → ["a","b","c"] */
const screenshots = (v: unknown): string[] | undefined => {
  const s = str(v);
  return s ? s.split('|').filter(Boolean) : undefined;
};
/** an object without its undefined members (the answers' optional fields are left out, not null) */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function stateOf(status: number | undefined): AuditState {
  return status === undefined ? 'unknown' : (AUDIT_STATES[status] ?? 'unknown');
}

/** The /wxa/* calls for one request: the node's services and WeChat's parts. */
export class WechatCode {
  constructor(
    private readonly sv: Services,
    private readonly rt: WechatParts,
  ) {}

  /** one WeChat API call with `token` as access_token; a non-zero errcode is thrown (40029) */
  private async call(
    api: string,
    path: string,
    token: string,
    init: { query?: Record<string, string>; json?: unknown } = {},
  ): Promise<Reply> {
    return checkErrcode(
      'wechat',
      await this.sv.upstream.json<Reply>({
        platform: 'wechat',
        api,
        url: this.rt.urls.api + path,
        method: init.json === undefined ? 'GET' : 'POST',
        query: { ...init.query, access_token: token },
        json: init.json,
      }),
    );
  }

  /**
   * runs `use` with the authorizer's access token: 1012 for an authorizer never seen, 1014 for one
   * that is not (or no longer) authorized, both before anything is sent; a refused token is
   * compare-and-refreshed and `use` runs once more
   */
  async asAuthorizer<T>(tp: AppConfig, authorizerAppId: string, use: (token: string) => Promise<T>): Promise<T> {
    await this.rt.tp.requireAuthorizer(tp, authorizerAppId);
    return withAccessToken(this.sv.engine, this.rt.tp.authorizerSpec(tp, authorizerAppId), use);
  }

  /** GET /wxa/gettemplatelist with the component token: the platform's code templates */
  async templates(tp: AppConfig, templateType?: number) {
    const body = await withAccessToken(this.sv.engine, this.rt.tp.componentSpec(tp), (ct) =>
      this.call('gettemplatelist', '/wxa/gettemplatelist', ct, {
        query: templateType === undefined ? {} : { template_type: String(templateType) },
      }),
    );
    const list = Array.isArray(body.template_list) ? (body.template_list as Reply[]) : [];
    return {
      templates: list
        .filter((t) => num(t.template_id) !== undefined)
        .map((t) =>
          defined({
            templateId: num(t.template_id)!,
            userVersion: typeof t.user_version === 'string' ? t.user_version : '',
            userDesc: typeof t.user_desc === 'string' ? t.user_desc : '',
            createTime: num(t.create_time) ?? 0,
            templateType: num(t.template_type),
            sourceAppId: str(t.source_miniprogram_appid),
            sourceName: str(t.source_miniprogram),
            developer: str(t.developer),
          }),
        ),
    };
  }

  /** POST /wxa/commit: a template becomes the authorizer's trial version (ext_json is a JSON string) */
  async commit(
    tp: AppConfig,
    authorizerAppId: string,
    p: { templateId: number; extJson: Record<string, unknown>; userVersion: string; userDesc: string },
  ) {
    const json = {
      template_id: p.templateId,
      ext_json: JSON.stringify(p.extJson),
      user_version: p.userVersion,
      user_desc: p.userDesc,
    };
    await this.asAuthorizer(tp, authorizerAppId, (t) => this.call('commit', '/wxa/commit', t, { json }));
    return {};
  }

  /**
   * GET /wxa/get_qrcode: the trial version's QR code. WeChat answers the image itself (or JSON with
   * an errcode): relayed as base64 with its content type; anything else is a 1007.
   */
  async qrcode(tp: AppConfig, authorizerAppId: string, path?: string) {
    return this.asAuthorizer(tp, authorizerAppId, async (token) => {
      const r = await this.sv.upstream.raw({
        platform: 'wechat',
        api: 'get_qrcode',
        url: `${this.rt.urls.api}/wxa/get_qrcode`,
        method: 'GET',
        query: { access_token: token, ...(path === undefined ? {} : { path }) },
      });
      if (r.res.status < 200 || r.res.status > 299)
        throw new RpcError('UPSTREAM_UNREACHABLE', '', `wechat get_qrcode: HTTP ${r.res.status}`);
      if (r.json) {
        checkErrcode('wechat', r.json);
        throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat get_qrcode: JSON without an image');
      }
      const contentType = (r.res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (!/^image\/[a-z0-9.+-]+$/.test(contentType) || r.body.length === 0)
        throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat get_qrcode: not an image');
      return { contentType, image: r.body.toString('base64') };
    });
  }

  /** POST /wxa/submit_audit: the trial version goes to WeChat's audit; its auditid */
  async submit(tp: AppConfig, authorizerAppId: string, json: Record<string, unknown>) {
    const body = await this.asAuthorizer(tp, authorizerAppId, (t) =>
      this.call('submit_audit', '/wxa/submit_audit', t, { json }),
    );
    const auditId = num(body.auditid);
    if (auditId === undefined) throw new RpcError('UPSTREAM_BAD_REPLY', '', 'wechat submit_audit: no auditid');
    return { auditId };
  }

  /** POST /wxa/get_auditstatus (an audit) or GET /wxa/get_latest_auditstatus (the latest one) */
  async status(tp: AppConfig, authorizerAppId: string, auditId?: number): Promise<AuditStatus> {
    if (auditId !== undefined) {
      const b = await this.asAuthorizer(tp, authorizerAppId, (t) =>
        this.call('get_auditstatus', '/wxa/get_auditstatus', t, { json: { auditid: auditId } }),
      );
      const status = num(b.status);
      return defined<AuditStatus>({
        source: 'wechat',
        state: stateOf(status),
        status,
        auditId,
        reason: str(b.reason),
        screenshots: screenshots(b.screenshot ?? b.ScreenShot),
      });
    }
    const b = await this.asAuthorizer(tp, authorizerAppId, (t) =>
      this.call('get_latest_auditstatus', '/wxa/get_latest_auditstatus', t),
    );
    const status = num(b.status);
    return defined<AuditStatus>({
      source: 'wechat',
      state: stateOf(status),
      status,
      auditId: num(b.auditid),
      reason: str(b.reason),
      // the documentation's table says screenshot, its example ScreenShot
      screenshots: screenshots(b.screenshot ?? b.ScreenShot),
      userVersion: str(b.user_version),
      userDesc: str(b.user_desc),
      submittedAt: num(b.submit_audit_time),
    });
  }

  /**
   * The newest audit result WeChat pushed for the authorizer (weapp_audit_success / _fail / _delay,
   * received on the platform's message route and kept in the push log), by the time it names
   * (SuccTime / FailTime / DelayTime, else CreateTime), then by arrival; state "none" when the log
   * holds none. Nothing is sent to WeChat.
   */
  async pushedStatus(tp: AppConfig, authorizerAppId: string): Promise<AuditStatus> {
    let best: { status: number; fields: Record<string, unknown>; time: number; at: number } | undefined;
    for (const [event, meaning] of Object.entries(AUDIT_EVENTS)) {
      const rows = await this.sv.pushes.list({
        platform: 'wechat_tp',
        codeName: tp.codeName,
        infoType: event,
        limit: PUSHES_READ,
      });
      for (const row of rows) {
        if (row.appId !== authorizerAppId) continue;
        let fields: Record<string, unknown>;
        try {
          fields = JSON.parse(row.body) as Record<string, unknown>;
        } catch {
          continue;
        }
        const time = num(text(fields, meaning.time)) ?? num(text(fields, 'CreateTime')) ?? Math.floor(row.at / 1000);
        if (!best || time > best.time || (time === best.time && row.at > best.at))
          best = { status: meaning.status, fields, time, at: row.at };
      }
    }
    if (!best) return { source: 'pushes', state: 'none' };
    return defined<AuditStatus>({
      source: 'pushes',
      state: stateOf(best.status),
      status: best.status,
      reason: str(text(best.fields, 'Reason')),
      screenshots: screenshots(text(best.fields, 'ScreenShot')),
      at: best.time,
    });
  }

  /** GET /wxa/undocodeaudit: withdraws the audit under way */
  async undo(tp: AppConfig, authorizerAppId: string) {
    await this.asAuthorizer(tp, authorizerAppId, (t) => this.call('undocodeaudit', '/wxa/undocodeaudit', t));
    return {};
  }

  /** POST /wxa/release with the body {} WeChat asks for: the audited version goes live */
  async release(tp: AppConfig, authorizerAppId: string) {
    await this.asAuthorizer(tp, authorizerAppId, (t) => this.call('release', '/wxa/release', t, { json: {} }));
    return {};
  }

  /** GET /wxa/revertcoderelease: back to the previous live version, or to `appVersion` (one of versions()) */
  async rollback(tp: AppConfig, authorizerAppId: string, appVersion?: string) {
    await this.asAuthorizer(tp, authorizerAppId, (t) =>
      this.call('revertcoderelease', '/wxa/revertcoderelease', t, {
        query: appVersion === undefined ? {} : { app_version: appVersion },
      }),
    );
    return {};
  }

  /** GET /wxa/revertcoderelease?action=get_history_version: the versions a rollback may go back to */
  async versions(tp: AppConfig, authorizerAppId: string) {
    const b = await this.asAuthorizer(tp, authorizerAppId, (t) =>
      this.call('revertcoderelease', '/wxa/revertcoderelease', t, { query: { action: 'get_history_version' } }),
    );
    const list = Array.isArray(b.version_list) ? (b.version_list as Reply[]) : [];
    return {
      versions: list
        .filter((v) => num(v.app_version) !== undefined)
        .map((v) => ({
          appVersion: String(num(v.app_version)),
          userVersion: typeof v.user_version === 'string' ? v.user_version : '',
          userDesc: typeof v.user_desc === 'string' ? v.user_desc : '',
          commitTime: num(v.commit_time) ?? 0,
        })),
    };
  }
}
