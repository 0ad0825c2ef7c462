import { FakePlatform } from '../fake/platform';
import { FakeWechatTp } from '../fake/wechat-tp';
import { freePort } from './cli';
import { JWT_SECRET } from './gatehouse';
import { serveNode, type NodeProcess } from './node-proc';
import { signedPush, xml } from './push';
import { signCaller } from '../../system/callers';

/**
 * The mixed load of the HA suites (issue 19): gatehouse nodes serving token calls, mini-program
 * logins, component_verify_ticket pushes and `authorized` pushes (each a refresh token to keep)
 * while the database under them fails; what each request got, to check against the rows after.
 */
export const HA_WX = 'wxgalera000000001';
export const HA_COMPONENT = 'wxcomponentgalera';
export const HA_TP_TOKEN = 'tokgalera';
export const HA_AES = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const CALLER = signCaller(JWT_SECRET, { sub: 'ha-test', scope: '*', ttlSeconds: 3600 });

export type HaKind = 'token' | 'login' | 'ticket' | 'authorized';
export const HA_KINDS: HaKind[] = ['token', 'login', 'ticket', 'authorized'];

export interface Outcome {
  node: number;
  kind: HaKind;
  startedAt: number;
  ok: boolean;
  /** when its answer came */
  endedAt?: number;
  /** what to find in the store afterwards when ok */
  data?: Record<string, unknown>;
}

export async function haRpc(n: NodeProcess, interfaceName: string, para: unknown, route = '/') {
  const res = await fetch(`${n.url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CALLER}` },
    body: JSON.stringify({ version: 1, componentName: 'MA', interface: { interfaceName, para } }),
  });
  return (await res.json()) as { returnCode: number; returnData: any };
}

export async function haPush(n: NodeProcess, fields: Record<string, string | number>) {
  const p = signedPush(HA_TP_TOKEN, HA_AES, HA_COMPONENT, xml(fields));
  const res = await fetch(`${n.url}/wechat-tp/tp/events?${p.query}`, { method: 'POST', body: p.body });
  return { status: res.status, text: await res.text() };
}

/** the fakes' accounts and the environment of an HA node (its database URL apart) */
export function haSetup(fake: FakePlatform): Record<string, string> {
  fake.app(HA_WX, 'galera-secret');
  fake.app(HA_COMPONENT, 's');
  return {
    GATEHOUSE_JWT_SECRET: JWT_SECRET,
    GATEHOUSE_WECHAT_API: fake.url,
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_PUBLIC_RATE_LIMIT: '0',
    // a loaded machine must not turn a slow answer into a timeout and a retry (a second call)
    GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
    GATEHOUSE_REFRESH_SCAN_MS: '3600000',
  };
}

/** the fakes and one gatehouse node per database URL, started together (their migrations race) */
export interface HaFleet {
  fake: FakePlatform;
  wx: FakeWechatTp;
  nodes: NodeProcess[];
  /** kills every node (-9) and stops the fakes */
  stop(): Promise<void>;
}

export async function haFleet(urls: string[]): Promise<HaFleet> {
  const fake = await new FakePlatform().start();
  const wx = new FakeWechatTp(fake);
  const env = haSetup(fake);
  const nodes = await Promise.all(
    urls.map((url) => serveNode({ ...env, GATEHOUSE_DATABASE_URL: url }, Number(freePort()))),
  );
  return {
    fake,
    wx,
    nodes,
    async stop() {
      for (const n of nodes) n.kill('SIGKILL');
      await Promise.all(nodes.map((n) => n.exited));
      await fake.stop();
    },
  };
}

/** the mini program `mp` and the third-party platform `tp`, put through node n */
export async function haApps(n: NodeProcess): Promise<number[]> {
  const codes: number[] = [];
  for (const [codeName, platform, config] of [
    ['mp', 'wechat_app', { appId: HA_WX, secret: 'galera-secret', tokenMode: 'classic' }],
    ['tp', 'wechat_tp', { appId: HA_COMPONENT, secret: 's', token: HA_TP_TOKEN, aesKey: HA_AES }],
  ] as const)
    codes.push((await haRpc(n, 'admin.app.put', { platform, codeName, config })).returnCode);
  return codes;
}

/** the first ticket (so that authorizations can be made), pushed through node n */
export async function haFirstTicket(n: NodeProcess, wx: FakeWechatTp): Promise<string> {
  wx.acceptTicket(HA_COMPONENT, 'ticket@@@0');
  return (
    await haPush(n, {
      AppId: HA_COMPONENT,
      CreateTime: 1,
      InfoType: 'component_verify_ticket',
      ComponentVerifyTicket: 'ticket@@@0',
    })
  ).text;
}

/** one request of a kind through one of the nodes, and what it got */
export function haOperation(fake: FakePlatform, wx: FakeWechatTp, nodes: NodeProcess[]) {
  let seq = 1;
  return async (node: number, kind: HaKind): Promise<Outcome> => {
    const startedAt = Date.now();
    const n = nodes[node];
    try {
      if (kind === 'token') {
        const r = await haRpc(n, 'wechat.app.token', { codeName: 'mp' });
        return { node, kind, startedAt, ok: r.returnCode === 0, data: { token: r.returnData?.token } };
      }
      if (kind === 'login') {
        const openid = `o_ha_${++seq}`;
        const r = await haRpc(
          n,
          'qcloud.cam.id_skey',
          { code: fake.code({ appid: HA_WX, openid }).code },
          '/mina_auth',
        );
        return { node, kind, startedAt, ok: r.returnCode === 0, data: { ...r.returnData, openid } };
      }
      if (kind === 'ticket') {
        const t = ++seq;
        const ticket = `ticket@@@${t}`;
        wx.acceptTicket(HA_COMPONENT, ticket);
        const r = await haPush(n, {
          AppId: HA_COMPONENT,
          CreateTime: t,
          InfoType: 'component_verify_ticket',
          ComponentVerifyTicket: ticket,
        });
        return { node, kind, startedAt, ok: r.text === 'success', data: { ticket, createTime: t, status: r.status } };
      }
      const authorizer = `wxauth${String(++seq).padStart(11, '0')}`;
      const r = await haPush(n, {
        AppId: HA_COMPONENT,
        CreateTime: seq,
        InfoType: 'authorized',
        AuthorizerAppid: authorizer,
        AuthorizationCode: wx.authorizationCode(HA_COMPONENT, authorizer),
      });
      return { node, kind, startedAt, ok: r.text === 'success', data: { authorizer, status: r.status } };
    } catch (err) {
      return { node, kind, startedAt, ok: false, data: { error: String(err) } };
    }
  };
}

/**
 * A steady load: `size` workers, each with its node (round robin) and kind (every kind on every
 * node), sending one request after another while `running()`; each outcome is pushed to `out` as it
 * ends. A request that hangs holds up only its own worker, so the first request after a failure
 * starts as soon as that failure is answered: recovery is measured to within one request (batches
 * that waited for their slowest request measured it to within a batch, up to the 3 s query deadline).
 */
export async function haStream(
  op: ReturnType<typeof haOperation>,
  nodeCount: number,
  size: number,
  running: () => boolean,
  out: Outcome[],
): Promise<void> {
  await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const node = i % nodeCount;
      const kind = HA_KINDS[Math.floor(i / nodeCount) % 4];
      while (running()) {
        const o = await op(node, kind);
        o.endedAt = Date.now();
        out.push(o);
      }
    }),
  );
}

/**
 * Per node, how long after `since` requests succeeded again: from the start of the first request
 * after which none of that node's failed (Infinity when its last request failed).
 */
export function recoveryMs(outcomes: Outcome[], since: number, nodeCount: number): number[] {
  return Array.from({ length: nodeCount }, (_, node) => {
    const mine = outcomes.filter((o) => o.node === node && o.startedAt >= since);
    const lastFail = mine.filter((o) => !o.ok).reduce((t, o) => Math.max(t, o.startedAt), since - 1);
    const next = Math.min(...mine.filter((o) => o.startedAt > lastFail).map((o) => o.startedAt));
    return next - since;
  });
}
