import crypto from 'node:crypto';
import http from 'node:http';
import { adminToken, rpcBody } from './targets';

/**
 * The mixed functional workload every gatehouse of the bench does before it is loaded, so that the
 * bench measures a node that has worked, as in production, not a fresh one (issue 14: a node that
 * had done this was measured at half the speed of a fresh one):
 *
 *   - 1,000 concurrent wechat.app.token for a cold app (a stampede), then 20 more cold apps × 50
 *   - forced refreshes (force: true) of those apps, and 200 concurrent invalidations (invalidToken)
 *   - platform failures with their retries: token calls for apps whose token endpoint answers
 *     errcode -1 (retried), 45009 (not retried) or HTTP 500 (bench/fake-wechat.ts `failureOf`)
 *   - wechat.app.jsconfig (the jsapi ticket), qcloud.work.initagent, .access_token, .ticket, .agent.ticket
 *   - unknown codeNames (1012), unknown interfaces (1010), bad para (1003), no caller (4001)
 *
 * against the fake of bench/fake-wechat.ts (GATEHOUSE_WECHAT_API and GATEHOUSE_WECOM_API both point
 * at it). Every answer must be HTTP 200 with a JSON envelope: any other is an error (thrown).
 */

export interface WarmResult {
  requests: number;
  ms: number;
  /** answers per returnCode */
  codes: Record<string, number>;
}

interface Answer {
  status: number;
  text: string;
}

/** appids the fake fails every token call of (fake-wechat.ts failureOf) */
const FAILING = [
  { codeName: 'warm-busy', appId: 'wxwarmbusy000001' },
  { codeName: 'warm-quota', appId: 'wxwarmquota00001' },
  { codeName: 'warm-http500', appId: 'wxwarmhttp500001' },
];

export async function warmUp(url: string, opts: { scale?: number; keepOpen?: boolean } = {}): Promise<WarmResult> {
  const scale = opts.scale ?? 1;
  const started = Date.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1100 });
  const codes: Record<string, number> = {};
  let requests = 0;
  const auth = { authorization: `Bearer ${adminToken()}` };
  const id = crypto.randomBytes(3).toString('hex');

  const post = (body: string, headers: Record<string, string> = auth) =>
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        url,
        {
          agent,
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  /** one call; the envelope's returnData, after checking it is an envelope with one of `expect` */
  const call = async (
    name: string,
    para: unknown,
    expect: number[] = [0],
    headers?: Record<string, string>,
  ): Promise<Record<string, unknown>> => {
    const r = await post(rpcBody(name, para), headers);
    requests++;
    let env: { returnCode?: unknown; returnData?: unknown };
    try {
      env = JSON.parse(r.text) as typeof env;
    } catch {
      throw new Error(`warm-up: ${name}: HTTP ${r.status}, not JSON: ${r.text.slice(0, 200)}`);
    }
    const code = Number(env.returnCode);
    codes[code] = (codes[code] ?? 0) + 1;
    if (r.status !== 200 || !expect.includes(code))
      throw new Error(`warm-up: ${name}: HTTP ${r.status}, returnCode ${code}, expected ${expect.join(' or ')}`);
    return (env.returnData ?? {}) as Record<string, unknown>;
  };
  const all = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)));
  const put = (platform: string, codeName: string, config: Record<string, unknown>) =>
    call('admin.app.put', { platform, codeName, config });

  try {
    // cold apps: one stampede of 1,000, then 20 more × 50 (every token a cold key)
    const cold = Array.from({ length: 21 }, (_, i) => ({
      codeName: `warm-${id}-${i}`,
      appId: `wxwarm${id}${String(i).padStart(4, '0')}`,
    }));
    for (const a of cold)
      await put('wechat_app', a.codeName, {
        appId: a.appId,
        secret: 's',
        ...(Number(a.appId.slice(-1)) % 2 ? { tokenMode: 'classic' } : {}),
      });
    for (const a of FAILING) await put('wechat_app', a.codeName, { appId: a.appId, secret: 's' });
    await call('qcloud.work.initagent', { corpid: `wwwarm${id}`, agentid: 1000002, agentsecret: 's' });

    await all(1000 * scale, () => call('wechat.app.token', { codeName: cold[0].codeName }));
    await all(cold.length - 1, (i) =>
      all(50 * scale, () => call('wechat.app.token', { codeName: cold[i + 1].codeName })),
    );

    // forced refreshes (once per 30 s per token: most are answered with the current one)
    await all(cold.length, (i) => all(5, () => call('wechat.app.token', { codeName: cold[i].codeName, force: true })));
    // 200 concurrent invalidations of the current token, and some of tokens no longer current
    const current = await call('wechat.app.token', { codeName: cold[1].codeName });
    await all(200 * scale, () =>
      call('wechat.app.token', { codeName: cold[1].codeName, invalidToken: String(current.token) }),
    );
    await all(50, (i) =>
      call('wechat.app.token', { codeName: cold[2 + (i % 10)].codeName, invalidToken: `stale-${i}` }),
    );

    // platform failures, retried (-1) or not (45009, HTTP 500): 1005 / 40029 answers
    for (let round = 0; round < 3; round++) {
      await all(FAILING.length, (i) =>
        all(20, () => call('wechat.app.token', { codeName: FAILING[i].codeName }, [1005, 40029])),
      );
      await all(FAILING.length, (i) =>
        call('wechat.app.token', { codeName: FAILING[i].codeName, force: true }, [1005, 40029]),
      );
      await all(FAILING.length, (i) =>
        call('wechat.app.jsconfig', { codeName: FAILING[i].codeName, url: 'https://example.com/p' }, [1005, 40029]),
      );
    }

    // JS-SDK configs and tickets
    await all(cold.length, (i) =>
      all(10, (j) =>
        call('wechat.app.jsconfig', { codeName: cold[i].codeName, url: `https://example.com/page/${j}?q=${i}` }),
      ),
    );
    await all(cold.length, (i) =>
      call('wechat.app.ticket', { codeName: cold[i].codeName, type: 'wx_card' }, [0, 1003]),
    );

    // qcloud.work.*: WeCom through the corp agent
    const agent = { corpid: `wwwarm${id}`, agentid: 1000002 };
    for (const name of ['qcloud.work.access_token', 'qcloud.work.ticket', 'qcloud.work.agent.ticket'])
      await all(100 * scale, () => call(name, agent));
    await all(20, () => call('qcloud.work.access_token', { ...agent, force: true }));
    await all(20, () => call('qcloud.work.access_token', { corpid: 'wwnosuchcorp', agentid: 1 }, [1012]));

    // unknown codeNames, unknown interfaces, bad para, no caller, a wrong caller
    await all(200, (i) => call('wechat.app.token', { codeName: `nosuch-${id}-${i}` }, [1012]));
    await all(100, (i) =>
      call('wechat.app.jsconfig', { codeName: `nosuch-${i}`, url: 'https://example.com/' }, [1012]),
    );
    await all(100, (i) => call(`no.such.interface${i % 10}`, {}, [1010]));
    await all(100, (i) => call('wechat.app.token', { codeName: cold[0].codeName, extra: i }, [1003]));
    await all(100, () => call('wechat.app.token', { codeName: cold[0].codeName }, [4001], {}));
    await all(50, (i) =>
      call('wechat.app.token', { codeName: cold[0].codeName }, [4001], { authorization: `Bearer not.a.jwt${i}` }),
    );
  } finally {
    if (!opts.keepOpen) agent.destroy();
  }
  return { requests, ms: Date.now() - started, codes };
}
