import type { Services } from '../contract';
import { MERCHANT_ID } from '../platforms/fengniao/service';
import { MERCHANT_CODE_PATTERN } from '../platforms/shansong/service';
import { accountStep, appStep, ownerApp, ticketStep, type Step } from './plan';
import { flag, str, time, type Source, type SourceRow } from './source';

/**
 * varys (CharLemAznable/varys) → gatehouse. The tables are varys's (varys.sql, and the columns its
 * handlers read: wechat/*, toutiao/app, fengniao/app, shansong/app sql.go): every platform's
 * `*_config` rows with their `enabled` flag, and the state that cannot be asked for again — the
 * WeChat third-party platforms' component_verify_ticket and their authorizers' refresh tokens,
 * the WeCom suites' suite_ticket and corps' permanent codes, the Fengniao and Shansong merchants'
 * refresh tokens. Access tokens are not imported: gatehouse fetches its own.
 */

export interface VarysOptions {
  /** WeCom self-built apps: varys kept no agent id; gatehouse's wecom_corp needs one (codeName → agentId) */
  agentIds: Record<string, string>;
}

/** the optional URL fields of a config: kept when they are http(s) URLs, left out when empty */
function urls(row: SourceRow, fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, column] of Object.entries(fields)) {
    const v = str(row, column);
    if (v) out[field] = v;
  }
  return out;
}

/** the rows of a varys table by code_name */
function byCode(rows: SourceRow[]): Map<string, SourceRow> {
  return new Map(rows.map((r) => [str(r, 'code_name'), r]));
}

export async function planVarys(sv: Services, src: Source, o: VarysOptions): Promise<Step[]> {
  const steps: Step[] = [];
  const now = Date.now();

  // ---- wechat_app: official accounts and mini programs
  for (const r of await src.rows('wechat_app_config', 'code_name')) {
    steps.push(
      await appStep(sv, 'wechat_app', str(r, 'code_name'), {
        appId: str(r, 'app_id'),
        secret: str(r, 'app_secret'),
        enabled: flag(r, 'enabled'),
      }),
    );
  }

  // ---- wechat_tp: third-party platforms, their ticket and authorizers
  const tpTickets = byCode(await src.rows('wechat_app_third_platform_ticket'));
  const tpTokens = await src.rows('wechat_app_third_platform_authorizer_token');
  const tpStates = await src.rows('wechat_app_third_platform_authorizer', 'code_name, authorizer_app_id');
  for (const r of await src.rows('wechat_app_third_platform_config', 'code_name')) {
    const codeName = str(r, 'code_name');
    const appId = str(r, 'app_id');
    const app = await appStep(sv, 'wechat_tp', codeName, {
      appId,
      secret: str(r, 'app_secret'),
      token: str(r, 'token'),
      aesKey: str(r, 'aes_key'),
      ...urls(r, { redirectUrl: 'redirect_url', authForwardUrl: 'auth_forward_url', msgForwardUrl: 'msg_forward_url' }),
      enabled: flag(r, 'enabled'),
    });
    steps.push(app);
    if (app.action === 'skip' || app.action === 'conflict') continue;
    const t = tpTickets.get(codeName);
    if (t) steps.push(await ticketStep(sv, 'wechat_tp', codeName, appId, str(t, 'ticket'), time(t, 'update_time')));
    const owner = ownerApp('wechat_tp', codeName, appId);
    for (const a of tpStates.filter((s) => str(s, 'code_name') === codeName)) {
      const id = str(a, 'authorizer_app_id');
      if (!flag(a, 'authorization_state')) {
        steps.push({
          platform: 'wechat_tp',
          kind: 'authorizer',
          name: `${codeName}/${id}`,
          action: 'skip',
          detail: 'unauthorized in varys',
        });
        continue;
      }
      const tok = tpTokens.find((x) => str(x, 'code_name') === codeName && str(x, 'authorizer_app_id') === id);
      const at = (tok && time(tok, 'update_time')) ?? time(a, 'update_time');
      steps.push(
        await accountStep(
          sv,
          'wechat_tp',
          'authorizer',
          owner,
          id,
          tok ? str(tok, 'authorizer_refresh_token') : '',
          null,
          at,
        ),
      );
    }
  }

  // ---- wecom_corp: self-built apps (varys's wechat_corp)
  for (const r of await src.rows('wechat_corp_config', 'code_name')) {
    const codeName = str(r, 'code_name');
    const agentId = o.agentIds[codeName];
    if (!agentId) {
      steps.push({
        platform: 'wecom_corp',
        kind: 'app',
        name: codeName,
        action: 'skip',
        detail: `varys keeps no agent id: give --agent-id ${codeName}=<agentid>`,
      });
      continue;
    }
    steps.push(
      await appStep(sv, 'wecom_corp', codeName, {
        corpId: str(r, 'corp_id'),
        agentId,
        secret: str(r, 'corp_secret'),
        enabled: flag(r, 'enabled'),
      }),
    );
  }

  // ---- wecom_tp: suites, their ticket and the corps that installed them (permanent codes)
  const suiteTickets = byCode(await src.rows('wechat_corp_third_platform_ticket'));
  const corps = await src.rows('wechat_corp_third_platform_authorizer', 'code_name, corp_id');
  for (const r of await src.rows('wechat_corp_third_platform_config', 'code_name')) {
    const codeName = str(r, 'code_name');
    const suiteId = str(r, 'suite_id');
    const app = await appStep(sv, 'wecom_tp', codeName, {
      suiteId,
      secret: str(r, 'suite_secret'),
      token: str(r, 'token'),
      aesKey: str(r, 'aes_key'),
      ...urls(r, { redirectUrl: 'redirect_url' }),
      enabled: flag(r, 'enabled'),
    });
    steps.push(app);
    if (app.action === 'skip' || app.action === 'conflict') continue;
    const t = suiteTickets.get(codeName);
    if (t) steps.push(await ticketStep(sv, 'wecom_tp', codeName, suiteId, str(t, 'ticket'), time(t, 'update_time')));
    const owner = ownerApp('wecom_tp', codeName, suiteId);
    for (const c of corps.filter((x) => str(x, 'code_name') === codeName)) {
      const id = str(c, 'corp_id');
      if (!flag(c, 'state')) {
        steps.push({
          platform: 'wecom_tp',
          kind: 'corp',
          name: `${codeName}/${id}`,
          action: 'skip',
          detail: 'cancelled in varys',
        });
        continue;
      }
      steps.push(
        await accountStep(sv, 'wecom_tp', 'corp', owner, id, str(c, 'permanent_code'), null, time(c, 'update_time')),
      );
    }
  }

  // ---- toutiao_app: ByteDance mini programs
  for (const r of await src.rows('toutiao_app_config', 'code_name')) {
    steps.push(
      await appStep(sv, 'toutiao_app', str(r, 'code_name'), {
        appId: str(r, 'app_id'),
        secret: str(r, 'app_secret'),
        enabled: flag(r, 'enabled'),
      }),
    );
  }

  // ---- fengniao_app: apps and their merchants' refresh tokens
  const fnTokens = await src.rows('fengniao_app_token', 'code_name, merchant_id');
  for (const r of await src.rows('fengniao_app_config', 'code_name')) {
    const codeName = str(r, 'code_name');
    const appId = str(r, 'app_id');
    const app = await appStep(sv, 'fengniao_app', codeName, {
      appId,
      devId: str(r, 'dev_id'),
      // varys's older DDL called the app secret secret_key
      secret: str(r, 'app_secret') || str(r, 'secret_key'),
      ...urls(r, { callbackUrl: 'callback_url' }),
      enabled: flag(r, 'enabled'),
    });
    steps.push(app);
    if (app.action === 'skip' || app.action === 'conflict') continue;
    const owner = ownerApp('fengniao_app', codeName, appId);
    for (const m of fnTokens.filter((x) => str(x, 'code_name') === codeName)) {
      const id = str(m, 'merchant_id');
      if (!MERCHANT_ID.test(id)) {
        steps.push({
          platform: 'fengniao_app',
          kind: 'merchant',
          name: `${codeName}/${id}`,
          action: 'skip',
          detail: 'not a valid merchant id',
        });
        continue;
      }
      const reExpiresAt = time(m, 're_expire_time');
      if (reExpiresAt !== null && reExpiresAt <= now) {
        steps.push({
          platform: 'fengniao_app',
          kind: 'merchant',
          name: `${codeName}/${id}`,
          action: 'skip',
          detail: 'refresh token expired: must authorize again',
        });
        continue;
      }
      const info = JSON.stringify({ reExpiresAt });
      steps.push(
        await accountStep(
          sv,
          'fengniao_app',
          'merchant',
          owner,
          id,
          str(m, 'refresh_token'),
          info,
          time(m, 'update_time'),
        ),
      );
    }
  }

  // ---- shansong_app: apps and their merchants' refresh tokens
  const ssTokens = await src.rows('shansong_app_token', 'code_name, merchant_code');
  for (const r of await src.rows('shansong_app_config', 'code_name')) {
    const codeName = str(r, 'code_name');
    const appId = str(r, 'app_id');
    const app = await appStep(sv, 'shansong_app', codeName, {
      appId,
      secret: str(r, 'app_secret'),
      ...urls(r, { redirectUrl: 'redirect_url', callbackUrl: 'callback_url' }),
      enabled: flag(r, 'enabled'),
    });
    steps.push(app);
    if (app.action === 'skip' || app.action === 'conflict') continue;
    const owner = ownerApp('shansong_app', codeName, appId);
    for (const m of ssTokens.filter((x) => str(x, 'code_name') === codeName)) {
      if (!new RegExp(MERCHANT_CODE_PATTERN).test(str(m, 'merchant_code'))) {
        steps.push({
          platform: 'shansong_app',
          kind: 'merchant',
          name: `${codeName}/${str(m, 'merchant_code')}`,
          action: 'skip',
          detail: 'not a valid merchant code',
        });
        continue;
      }
      steps.push(
        await accountStep(
          sv,
          'shansong_app',
          'merchant',
          owner,
          str(m, 'merchant_code'),
          str(m, 'refresh_token'),
          null,
          time(m, 'update_time'),
        ),
      );
    }
  }
  return steps;
}
