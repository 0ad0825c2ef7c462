import { sha256 } from '../services/crypto/datacrypt';
import type { Services } from '../contract';
import { appStep, StepConflict, type Step } from './plan';
import { str, time, type Source, type SourceRow } from './source';

/**
 * The Wafer fork (Wafer on SCF: tencentyun/wafer-session-server with several apps, its database
 * `cAuth`, system/db/db.sql) → gatehouse: the mini programs and official accounts of `cAppinfo`
 * (appid, secret, login_duration days, session_duration seconds) as wechat_app apps with codeName =
 * appid, the WeCom agents of `cAppinfo_work` (corpid, agentid, agentsecret) as wecom_corp apps with
 * codeName `corpid:agentid` (as qcloud.work.initagent names them), and the live sessions of
 * `cSessionInfo` (uuid, skey, open_id, session_key, base64 user_info, union_id, appid, create and
 * last-visit times), written through the store's session statements with their own id and the
 * SHA-256 of their skey, so that a user logged in to the fork stays logged in: the mini program's
 * `id` / `skey` keep working with qcloud.cam.auth.
 */

const DAY = 86_400_000;

/** the fork's defaults (db.sql): 30 days of login, 2592000 s of session */
const LOGIN_DAYS = 30;
const SESSION_S = 2_592_000;

/** a number column within gatehouse's bounds, else undefined (the app's default applies) */
function bounded(row: SourceRow, column: string, min: number, max: number): number | undefined {
  const n = Number(row[column]);
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** the fork's user_info: base64 of the decrypted JSON ('' until qcloud.cam.userinfo) → the JSON text or null */
function userInfo(v: string): string | null {
  if (!v) return null;
  try {
    const text = Buffer.from(v, 'base64').toString('utf8');
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' ? JSON.stringify(parsed) : null;
  } catch {
    return null;
  }
}

export async function planWaferFork(sv: Services, src: Source): Promise<Step[]> {
  const steps: Step[] = [];
  const now = Date.now();
  const apps = await src.rows('cAppinfo', 'appid');
  const durations = new Map<string, { loginMs: number; idleMs: number }>();
  const importable = new Set<string>();

  for (const r of apps) {
    const appid = str(r, 'appid');
    const loginDurationDays = bounded(r, 'login_duration', 1, 3650);
    const sessionDurationSeconds = bounded(r, 'session_duration', 60, 315_360_000);
    durations.set(appid, {
      loginMs: (loginDurationDays ?? LOGIN_DAYS) * DAY,
      idleMs: (sessionDurationSeconds ?? SESSION_S) * 1000,
    });
    const existing = await sv.apps.byAppId('wechat_app', appid);
    if (existing && existing.codeName !== appid) {
      // already configured under another codeName: its sessions are still this appid's
      steps.push({
        platform: 'wechat_app',
        kind: 'app',
        name: appid,
        action: 'unchanged',
        detail: `configured in gatehouse as codeName "${existing.codeName}"`,
      });
      importable.add(appid);
      continue;
    }
    const step = await appStep(sv, 'wechat_app', appid, {
      appId: appid,
      secret: str(r, 'secret'),
      // the fork's durations, kept with the app so that its sessions expire as they did
      ...(loginDurationDays !== undefined ? { loginDurationDays } : {}),
      ...(sessionDurationSeconds !== undefined ? { sessionDurationSeconds } : {}),
    });
    steps.push(step);
    if (step.action !== 'skip' && step.action !== 'conflict') importable.add(appid);
  }

  for (const r of await src.rows('cAppinfo_work', 'corpid, agentid')) {
    const corpId = str(r, 'corpid');
    const agentId = str(r, 'agentid');
    steps.push(
      await appStep(sv, 'wecom_corp', `${corpId}:${agentId}`, { corpId, agentId, secret: str(r, 'agentsecret') }),
    );
  }

  // the newest session of each user of each app; a fork without the appid column had one app
  const only = apps.length === 1 ? str(apps[0], 'appid') : '';
  const newest = new Map<string, SourceRow>();
  for (const r of await src.rows('cSessionInfo')) {
    const appid = str(r, 'appid') || only;
    const key = `${appid}\n${str(r, 'open_id')}`;
    const seen = newest.get(key);
    if (!seen || (time(r, 'last_visit_time') ?? 0) > (time(seen, 'last_visit_time') ?? 0)) newest.set(key, r);
  }
  for (const r of newest.values()) {
    const appid = str(r, 'appid') || only;
    const id = str(r, 'uuid');
    const step = { platform: 'wechat_app', kind: 'session', name: id || '(no uuid)' };
    const openid = str(r, 'open_id');
    const skey = str(r, 'skey');
    const sessionKey = str(r, 'session_key');
    const createdAt = time(r, 'create_time');
    const lastVisit = time(r, 'last_visit_time') ?? createdAt;
    if (!appid || !importable.has(appid)) {
      steps.push({ ...step, action: 'skip', detail: `app ${appid || '(none)'} is not imported` });
      continue;
    }
    if (!id || id.length > 128 || !openid || !skey || !sessionKey || createdAt === null || lastVisit === null) {
      steps.push({ ...step, action: 'skip', detail: 'incomplete row' });
      continue;
    }
    const d = durations.get(appid)!;
    if (now - createdAt > d.loginMs || now - lastVisit > d.idleMs) {
      steps.push({ ...step, action: 'skip', detail: 'expired' });
      continue;
    }
    const skeyHash = sha256(skey);
    const existing = await sv.store.getSession(id);
    if (existing) {
      if (existing.appid !== appid || existing.openid !== openid) {
        steps.push({ ...step, action: 'conflict', detail: 'id names another user in gatehouse' });
        continue;
      }
      if (existing.skeyHash === skeyHash && existing.createdAt === createdAt && existing.lastVisit >= lastVisit) {
        steps.push({ ...step, action: 'unchanged' });
        continue;
      }
      if (existing.lastVisit >= lastVisit) {
        steps.push({ ...step, action: 'conflict', detail: "gatehouse's session is newer: kept" });
        continue;
      }
    }
    const unionid = str(r, 'union_id') || null;
    const info = userInfo(str(r, 'user_info'));
    steps.push({
      ...step,
      action: existing ? 'update' : 'create',
      detail: `${appid} ${openid}`,
      write: async (w) => {
        // saveLogin sets created_at and last_visit to `now`: the fork's creation time, then the visit moved on
        const got = await w.store.saveLogin({
          newId: id,
          appid,
          openid,
          unionid,
          skeyHash,
          sessionKey: w.box.seal(sessionKey),
          userInfo: info,
          now: createdAt,
        });
        if (got !== id) throw new StepConflict(`the user has a gatehouse session (${got}) already: kept`);
        if (lastVisit > createdAt) await w.store.touchSession(id, lastVisit, lastVisit);
      },
    });
  }
  return steps;
}
