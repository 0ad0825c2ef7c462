import type http from 'node:http';
import type { FakePlatform } from './platform';
import type { FakeWechatTp } from './wechat-tp';

/** one call the fake received: the API, the token it came with, its query and its JSON body (null: none / not JSON) */
export interface CodeCall {
  api: string;
  token: string;
  query: Record<string, string>;
  body: Record<string, unknown> | null;
  contentType: string;
}

interface Audit {
  auditid: number;
  status: number;
  reason?: string;
  screenshot?: string;
  user_version: string;
  user_desc: string;
  submit_audit_time: number;
  /** the submit_audit body as received */
  request: Record<string, unknown>;
  released?: boolean;
}

interface Version {
  app_version: string;
  user_version: string;
  user_desc: string;
  commit_time: number;
}

/** what WeChat holds for one authorizer mini program */
interface MiniProgram {
  trial?: { template_id: number; ext_json: Record<string, unknown>; user_version: string; user_desc: string };
  audits: Audit[];
  /** the live version, and the ones before it (newest first) */
  live?: Version;
  history: Version[];
}

/** the bytes of the trial QR code the fake answers (a JPEG's first bytes, then the page) */
export function qrBytes(path: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(`QR:${path}`, 'utf8')]);
}

const INVALID_TOKEN = { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };

/**
 * WeChat's code management of authorizer mini programs (第三方平台代码管理, /wxa/*) on the fake, as
 * WeChat documents it: commit, get_qrcode (an image/jpeg, or JSON with an errcode), submit_audit,
 * get_auditstatus, get_latest_auditstatus, undocodeaudit, release (body `{}`), revertcoderelease
 * (and action=get_history_version), and gettemplatelist on the component token.
 *
 * What it checks, as WeChat would: the access token is a live authorizer token (`AAT`) it issued,
 * of an authorizer still authorized with some component (else 40001 / 61003) — gettemplatelist a
 * live component token (`CT`); the method (GET / POST) of each API (else 43001 / 43002); a JSON body
 * (content-type application/json, else 47001) with its required fields and their types (else 47001
 * / 85064 unknown template); the order of things (86001 no trial version, 85009 an audit under way,
 * 85019 nothing audited to release, 85052 released already, 87012 nothing to roll back to, 85012
 * unknown auditid). Every call is counted (`fake.count(api, authorizer)`) and recorded in `calls`;
 * `fake.mode(api, …)` makes one fail as for the other fakes.
 */
export class FakeWechatCode {
  readonly calls: CodeCall[] = [];
  /** component appid → its code templates (gettemplatelist's template_list) */
  readonly templates = new Map<string, Record<string, unknown>[]>();
  /** authorizer appid → its code, audits and versions */
  readonly programs = new Map<string, MiniProgram>();
  private nextAudit = 412000001;
  private nextVersion = 1;

  constructor(
    private readonly fake: FakePlatform,
    private readonly wx: FakeWechatTp,
  ) {
    const route = (
      path: string,
      api: string,
      method: 'GET' | 'POST',
      h: (p: MiniProgram, c: CodeCall, res: http.ServerResponse, owner: string) => void,
      kind: 'AAT' | 'CT' = 'AAT',
    ) =>
      fake.route(path, async (u, body, res, req) => {
        const token = u.searchParams.get('access_token') ?? '';
        const held = fake.tokenOf(token);
        let json: Record<string, unknown> | null = null;
        try {
          const v = body ? (JSON.parse(body) as unknown) : null;
          json = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
        } catch {
          json = null;
        }
        const call: CodeCall = {
          api,
          token,
          query: Object.fromEntries(u.searchParams),
          body: json,
          contentType: String(req.headers['content-type'] ?? ''),
        };
        this.calls.push(call);
        fake.hit(api, held?.owner);
        if (await fake.misbehave(api, res)) return;
        if (req.method !== method)
          return fake.json(
            res,
            method === 'GET'
              ? { errcode: 43001, errmsg: 'require GET method' }
              : { errcode: 43002, errmsg: 'require POST method' },
          );
        if (!held || held.kind !== kind) return fake.json(res, INVALID_TOKEN);
        if (method === 'POST' && (!call.contentType.startsWith('application/json') || json === null))
          return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
        if (kind === 'AAT' && !this.authorized(held.owner))
          return fake.json(res, { errcode: 61003, errmsg: 'component is not authorized by this account' });
        h(this.program(held.owner), call, res, held.owner);
      });

    route(
      '/wxa/gettemplatelist',
      'gettemplatelist',
      'GET',
      (_p, c, res, component) => {
        const type = c.query.template_type;
        const all = this.templates.get(component) ?? [];
        fake.json(res, {
          errcode: 0,
          errmsg: 'ok',
          template_list: type === undefined ? all : all.filter((t) => String(t.template_type) === type),
        });
      },
      'CT',
    );

    route('/wxa/commit', 'commit', 'POST', (p, c, res, authorizer) => {
      const b = c.body!;
      if (
        typeof b.template_id !== 'number' ||
        typeof b.ext_json !== 'string' ||
        typeof b.user_version !== 'string' ||
        typeof b.user_desc !== 'string' ||
        !b.user_version
      )
        return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
      let ext: unknown;
      try {
        ext = JSON.parse(b.ext_json);
      } catch {
        return fake.json(res, { errcode: 85070, errmsg: 'invalid ext_json' });
      }
      if (ext === null || typeof ext !== 'object' || Array.isArray(ext))
        return fake.json(res, { errcode: 85070, errmsg: 'invalid ext_json' });
      const component = this.componentOf(authorizer);
      if (!(this.templates.get(component) ?? []).some((t) => t.template_id === b.template_id))
        return fake.json(res, { errcode: 85064, errmsg: 'template not found' });
      p.trial = {
        template_id: b.template_id,
        ext_json: ext as Record<string, unknown>,
        user_version: b.user_version,
        user_desc: b.user_desc,
      };
      fake.json(res, { errcode: 0, errmsg: 'ok' });
    });

    route('/wxa/get_qrcode', 'get_qrcode', 'GET', (p, c, res) => {
      if (!p.trial) return fake.json(res, { errcode: 86001, errmsg: 'no trial version' });
      const img = qrBytes(c.query.path ?? '');
      res.writeHead(200, {
        'content-type': 'image/jpeg',
        'content-disposition': 'attachment; filename="QRCode.jpg"',
        'content-length': img.length,
      });
      res.end(img);
    });

    route('/wxa/submit_audit', 'submit_audit', 'POST', (p, c, res) => {
      const b = c.body!;
      if (!p.trial) return fake.json(res, { errcode: 86001, errmsg: 'no code committed by the component' });
      const latest = p.audits[p.audits.length - 1];
      if (latest && (latest.status === 2 || latest.status === 4))
        return fake.json(res, { errcode: 85009, errmsg: 'an audit is under way' });
      if (b.item_list !== undefined) {
        const items = b.item_list;
        if (
          !Array.isArray(items) ||
          items.length > 5 ||
          !items.every(
            (i: Record<string, unknown>) =>
              typeof i.first_class === 'string' &&
              typeof i.second_class === 'string' &&
              typeof i.first_id === 'number' &&
              typeof i.second_id === 'number',
          )
        )
          return fake.json(res, { errcode: 85008, errmsg: 'invalid item_list' });
      }
      const audit: Audit = {
        auditid: this.nextAudit++,
        status: 2,
        user_version: p.trial.user_version,
        user_desc: p.trial.user_desc,
        submit_audit_time: Math.floor(Date.now() / 1000),
        request: b,
      };
      p.audits.push(audit);
      fake.json(res, { errcode: 0, errmsg: 'ok', auditid: audit.auditid });
    });

    route('/wxa/get_auditstatus', 'get_auditstatus', 'POST', (p, c, res) => {
      const a = p.audits.find((x) => x.auditid === c.body!.auditid);
      if (!a) return fake.json(res, { errcode: 85012, errmsg: 'invalid audit id' });
      fake.json(res, {
        errcode: 0,
        errmsg: 'ok',
        status: a.status,
        reason: a.reason ?? '',
        screenshot: a.screenshot ?? '',
      });
    });

    route('/wxa/get_latest_auditstatus', 'get_latest_auditstatus', 'GET', (p, _c, res) => {
      const a = p.audits[p.audits.length - 1];
      if (!a) return fake.json(res, { errcode: 86001, errmsg: 'no code submitted' });
      // as in WeChat's example: ScreenShot, not screenshot
      fake.json(res, {
        errcode: 0,
        errmsg: 'ok',
        auditid: a.auditid,
        status: a.status,
        reason: a.reason ?? '',
        ScreenShot: a.screenshot ?? '',
        user_version: a.user_version,
        user_desc: a.user_desc,
        submit_audit_time: a.submit_audit_time,
      });
    });

    route('/wxa/undocodeaudit', 'undocodeaudit', 'GET', (p, _c, res) => {
      const a = p.audits[p.audits.length - 1];
      if (!a || (a.status !== 2 && a.status !== 4))
        return fake.json(res, { errcode: 85012, errmsg: 'no audit to undo' });
      a.status = 3;
      fake.json(res, { errcode: 0, errmsg: 'ok' });
    });

    route('/wxa/release', 'release', 'POST', (p, c, res) => {
      if (Object.keys(c.body!).length !== 0) return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
      const a = p.audits[p.audits.length - 1];
      if (!a || a.status !== 0) return fake.json(res, { errcode: 85019, errmsg: 'no audited version' });
      if (a.released) return fake.json(res, { errcode: 85052, errmsg: 'app is already released' });
      a.released = true;
      if (p.live) p.history.unshift(p.live);
      p.live = {
        app_version: String(this.nextVersion++),
        user_version: a.user_version,
        user_desc: a.user_desc,
        commit_time: a.submit_audit_time,
      };
      fake.json(res, { errcode: 0, errmsg: 'ok' });
    });

    route('/wxa/revertcoderelease', 'revertcoderelease', 'GET', (p, c, res) => {
      if (c.query.action === 'get_history_version')
        return fake.json(res, {
          errcode: 0,
          errmsg: 'ok',
          version_list: p.history.map((v) => ({ ...v, app_version: Number(v.app_version) })),
        });
      if (c.query.action !== undefined) return fake.json(res, { errcode: 47001, errmsg: 'data format error' });
      const to =
        c.query.app_version === undefined ? p.history[0] : p.history.find((v) => v.app_version === c.query.app_version);
      if (!p.live || !to) return fake.json(res, { errcode: 87012, errmsg: 'cannot be rolled back' });
      p.history = p.history.filter((v) => v !== to);
      p.live = to;
      fake.json(res, { errcode: 0, errmsg: 'ok' });
    });
  }

  /** what WeChat holds for an authorizer mini program */
  program(authorizer: string): MiniProgram {
    let p = this.programs.get(authorizer);
    if (!p) this.programs.set(authorizer, (p = { audits: [], history: [] }));
    return p;
  }

  /** WeChat's auditors decide the latest audit (0 success, 1 rejected, 4 delayed) */
  decide(authorizer: string, status: 0 | 1 | 4, reason?: string, screenshot?: string): Audit {
    const a = this.program(authorizer).audits.at(-1);
    if (!a) throw new Error(`no audit of ${authorizer}`);
    Object.assign(a, { status, reason, screenshot });
    return a;
  }

  /** the calls of one API, in order */
  of(api: string): CodeCall[] {
    return this.calls.filter((c) => c.api === api);
  }

  private componentOf(authorizer: string): string {
    for (const a of this.wx.authorizations.values()) if (a.authorizer === authorizer) return a.component;
    return '';
  }

  private authorized(authorizer: string): boolean {
    return [...this.wx.authorizations.values()].some(
      (a) => a.authorizer === authorizer && a.refreshToken !== 'revoked',
    );
  }
}
