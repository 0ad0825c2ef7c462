import type { AppConfig } from '../../services/apps';
import type { PlatformDeps } from '../../services/deps';
import { PushRejected } from '../../services/crypto/msgcrypt';
import { maskPush, parsePushJson, pushEventAt, storePushedTicket } from '../../services/pushes';
import { forwardPush } from '../../services/rules';
import { specKey } from '../../services/tokens/spec';
import { safeEqual } from '../../services/crypto/datacrypt';
import { decryptEvent, verifyEventSignature } from './crypt';
import { PLATFORM, TENANT_KIND, TICKET_KIND, type FeishuTokens } from './tokens';

type Obj = Record<string, unknown>;

/** the most an unsigned body (Feishu's url_verification, ~200 bytes) may hold when the app has an Encrypt Key */
const UNSIGNED_LIMIT = 2048;

const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** the signature headers of a callback */
export interface LarkHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
}

/** what an event callback answers: the url_verification challenge, or nothing (200) */
export type EventAnswer = { challenge: string } | null;

/**
 * The event callbacks of a Feishu / Lark app (事件订阅 request URL), v1 and 2.0 schemas:
 *   - with an Encrypt Key, a body is `{"encrypt": …}` and every event must carry a valid
 *     X-Lark-Signature (checked on the body as sent, before it is parsed); Feishu's unsigned
 *     url_verification is answered only once it decrypted and carries the verification token
 *   - the verification token (v1 `token`, 2.0 `header.token`) must be the app's when it has one
 *   - app_ticket: stored (newest kept, by its time) before the answer; app_open /
 *     app_status_change / app_uninstalled: the store app's tenants, applied in event order
 *   - every event goes to the push log (credentials masked) and, except app_ticket, to the
 *     forwarding rules
 */
export class FeishuEvents {
  constructor(
    private readonly d: PlatformDeps,
    private readonly tokens: FeishuTokens,
  ) {}

  /** authenticates and decodes a callback body: the event as Feishu sent it (decrypted) */
  open(app: AppConfig, body: string, headers: LarkHeaders): { msg: Obj; signed: boolean } {
    const encryptKey = str(app.config.encryptKey);
    const verificationToken = str(app.config.verificationToken);
    if (!encryptKey && !verificationToken) throw new PushRejected(403, 'no encryptKey or verificationToken configured');
    const signed = headers.signature !== '';
    // the signature is over the body as sent: checked before anything is parsed
    if (encryptKey && signed) verifyEventSignature(headers, encryptKey, body);
    // unsigned, only the small url_verification is taken: nothing larger is parsed or decrypted
    if (encryptKey && !signed && body.length > UNSIGNED_LIMIT) throw new PushRejected(403, 'no X-Lark-Signature');
    let msg = parsePushJson(body);
    if (encryptKey) {
      const encrypt = str(msg.encrypt);
      if (!encrypt) throw new PushRejected(400, 'no encrypt field');
      msg = parsePushJson(decryptEvent(encryptKey, encrypt));
    } else if (msg.encrypt !== undefined) {
      throw new PushRejected(400, 'encrypted, and no encryptKey configured');
    }
    const token = msg.token ?? obj(msg.header)?.token;
    if (verificationToken && (typeof token !== 'string' || !safeEqual(token, verificationToken)))
      throw new PushRejected(403, 'bad token');
    if (encryptKey && !signed && msg.type !== 'url_verification') throw new PushRejected(403, 'no X-Lark-Signature');
    return { msg, signed };
  }

  async handle(app: AppConfig, body: string, headers: LarkHeaders): Promise<EventAnswer> {
    const { msg } = this.open(app, body, headers);
    if (msg.type === 'url_verification') {
      const challenge = str(msg.challenge);
      if (!challenge || challenge.length > 256) throw new PushRejected(400, 'no challenge');
      return { challenge };
    }
    const v2 = msg.schema === '2.0';
    const header = obj(msg.header) ?? {};
    const event = obj(msg.event) ?? {};
    const eventType = (str(v2 ? header.event_type : event.type) ?? 'unknown').slice(0, 64);
    const appId = str(v2 ? header.app_id : event.app_id);
    if (appId !== undefined && appId !== app.appId) throw new PushRejected(400, 'not for this app');
    const tenantKey = str(v2 ? header.tenant_key : event.tenant_key);
    const seconds = v2 ? Number(header.create_time) / 1000 : Number(msg.ts);
    const at = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : undefined;
    const eventAt = pushEventAt(at === undefined ? undefined : String(at));
    const store = app.config.kind === 'store';
    switch (eventType) {
      case 'app_ticket':
        if (store) await storePushedTicket(this.d.store, PLATFORM, app.appId, str(event.app_ticket), at);
        break;
      case 'app_open':
        if (store && tenantKey) await this.installed(app, tenantKey, eventAt);
        break;
      case 'app_status_change': {
        const status = str(event.status);
        if (store && tenantKey && status === 'start_by_tenant') await this.installed(app, tenantKey, eventAt);
        if (store && tenantKey && (status === 'stop_by_tenant' || status === 'stop_by_platform'))
          await this.uninstalled(app, tenantKey, eventAt);
        break;
      }
      case 'app_uninstalled':
        if (store && tenantKey) await this.uninstalled(app, tenantKey, eventAt);
        break;
      default:
        break;
    }
    const pushAt = await this.d.pushes.record({
      platform: PLATFORM,
      codeName: app.codeName,
      infoType: eventType,
      appId: tenantKey ?? app.appId,
      verified: true,
      fields: msg,
    });
    if (eventType !== 'app_ticket') {
      const masked = maskPush(msg);
      forwardPush(this.d, {
        platform: PLATFORM,
        codeName: app.codeName,
        appId: tenantKey ?? app.appId,
        infoType: eventType,
        pushAt,
        fields: masked,
        json: masked,
      });
    }
    return null;
  }

  /** a tenant installed (or re-enabled) the store app: its tokens may be served from now on */
  private async installed(app: AppConfig, tenantKey: string, eventAt: number): Promise<void> {
    // the row's "refresh token" is the tenant key itself: what gets the tenant's token
    await this.tokens.tenants.authorized(app, tenantKey, tenantKey, undefined, eventAt);
  }

  /** a tenant uninstalled (or stopped) the app: nothing is served for it, on every node, at once */
  private async uninstalled(app: AppConfig, tenantKey: string, eventAt: number): Promise<void> {
    if (!(await this.tokens.tenants.revoked(app, tenantKey, eventAt))) return;
    const subject = this.tokens.tenants.subject(app, tenantKey);
    await this.d.engine.clear(specKey(PLATFORM, subject, TENANT_KIND));
    await this.d.engine.clear(specKey(PLATFORM, subject, TICKET_KIND));
  }
}
