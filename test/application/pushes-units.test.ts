// The push helpers as units (application/services/pushes.ts): masking of the push log, event
// ordering, how a callback route answers each refusal, the push log's retention, forwarding with
// retries, and the JSON depth guard.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Writable } from 'node:stream';
import type Koa from 'koa';
import { BodyError } from '../../system/body';
import { StoreError } from '../../system/errors';
import { XmlRejected } from '../../system/xml';
import { openStore } from '../../db';
import type { Store } from '../../db/store';
import { freshDatabase, type TestDatabase } from '../helpers/db';
import { PushRejected } from '../../application/services/crypto/msgcrypt';
import {
  PushLog,
  eventIsCurrent,
  exchangeEventAt,
  forwardJson,
  jsonTextTooDeep,
  parsePushJson,
  maskPush,
  pushEventAt,
  pushRoute,
} from '../../application/services/pushes';
import { until } from '../helpers/wait';

const capture = (level = 'debug') => {
  const lines: Record<string, any>[] = [];
  const log = pino(
    { level },
    new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }),
  );
  return { log, lines, find: (msg: string) => lines.filter((l) => l.msg === msg) };
};

describe('push helpers', () => {
  describe('maskPush: what the push log shows', () => {
    it('masks every credential field, any case, "_" and "-" ignored, at any depth, keeping its last 4 characters', () => {
      const masked = maskPush({
        ComponentVerifyTicket: 'ticket@@@0123456789',
        AuthorizationCode: 'queryauthcode@abcd',
        auth_code: 'xyz-1234',
        'Suite-Ticket': 'st-9876',
        nested: {
          inner: {
            access_token: 'tok-5555',
            SessionKey: 'sk-7777',
            AesKey: 'aes-8888',
            Password: 'pw-1212',
            passwd: 'pw-3434',
            api_key: 'k-5656',
            SecretKey: 's-7878',
            appsecret: 'a-9090',
          },
        },
        list: [{ PermanentCode: 'perm-4321' }],
        InfoType: 'component_verify_ticket',
        AppId: 'wx1234',
      });
      expect(masked).to.deep.equal({
        ComponentVerifyTicket: '****6789',
        AuthorizationCode: '****abcd',
        auth_code: '****1234',
        'Suite-Ticket': '****9876',
        nested: {
          inner: {
            access_token: '****5555',
            SessionKey: '****7777',
            AesKey: '****8888',
            Password: '****1212',
            passwd: '****3434',
            api_key: '****5656',
            SecretKey: '****7878',
            appsecret: '****9090',
          },
        },
        list: [{ PermanentCode: '****4321' }],
        InfoType: 'component_verify_ticket',
        AppId: 'wx1234',
      });
    });

    it('everything under a credential field is masked too; null and missing values stay as they are', () => {
      expect(maskPush({ AuthCode: { a: 'abcdef', b: ['ghijkl', 7], c: null } })).to.deep.equal({
        AuthCode: { a: '****cdef', b: ['****ijkl', '****7'], c: null },
      });
      expect(maskPush({ Ticket: null, Other: undefined })).to.deep.equal({ Ticket: null, Other: undefined });
    });

    it('plain data named …code stays readable', () => {
      const data = {
        ErrCode: 0,
        return_code: 'SUCCESS',
        StatusCode: 200,
        ResultCode: 'OK',
        ReasonCode: 'r',
        CountryCode: 'CN',
        AreaCode: '010',
        CityCode: 'bj',
        ZipCode: '100000',
        PostCode: '1',
        PostalCode: '2',
        LangCode: 'zh',
        CurrencyCode: 'CNY',
      };
      expect(maskPush(data)).to.deep.equal(data);
    });

    it('a "__proto__" key is kept as data, not as a prototype', () => {
      const out = maskPush(JSON.parse('{"__proto__":{"Ticket":"abcdefgh"}}'));
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).to.deep.equal({ Ticket: '****efgh' });
    });
  });

  describe('event ordering', () => {
    it('a push’s event time is its whole seconds in ms; a missing or unusable one counts as now', () => {
      expect(pushEventAt('1700000000')).to.equal(1_700_000_000_000);
      expect(pushEventAt('1')).to.equal(1000);
      for (const bad of [undefined, '', 'abc', '0', '-5', '1e300']) {
        const before = Date.now();
        expect(pushEventAt(bad), String(bad)).to.be.within(before, Date.now());
      }
    });

    it('an exchange happens at the start of its second', () => {
      expect(exchangeEventAt(1_700_000_000_999)).to.equal(1_700_000_000_000);
      expect(exchangeEventAt(1_700_000_000_000)).to.equal(1_700_000_000_000);
      const before = Math.floor(Date.now() / 1000) * 1000;
      expect(exchangeEventAt()).to.be.within(before, Date.now());
    });

    it('an event is current unless a later one was applied (the same time is current)', async () => {
      const asked: unknown[][] = [];
      const storeAt = (last: number | null) =>
        ({ lastAuthorizerEvent: async (...a: unknown[]) => (asked.push(a), last) }) as unknown as Store;
      expect(await eventIsCurrent(storeAt(null), 'wechat-tpauth', 'tp', 'wxa', 5000)).to.equal(true);
      expect(await eventIsCurrent(storeAt(4000), 'wechat-tpauth', 'tp', 'wxa', 5000)).to.equal(true);
      expect(await eventIsCurrent(storeAt(5000), 'wechat-tpauth', 'tp', 'wxa', 5000)).to.equal(true);
      expect(await eventIsCurrent(storeAt(5001), 'wechat-tpauth', 'tp', 'wxa', 5000)).to.equal(false);
      expect(asked[0]).to.deep.equal(['wechat-tpauth', 'tp', 'wxa']);
    });
  });

  describe('pushRoute: how a callback answers', () => {
    /** a Koa context with what pushRoute touches */
    const ctxFor = () => {
      const headers: Record<string, string> = {};
      return {
        path: '/cb',
        method: 'POST',
        status: 404,
        body: undefined as unknown,
        type: '',
        get: () => '',
        set: (k: string, v: string) => (headers[k] = v),
        headers,
      } as unknown as Koa.Context & { headers: Record<string, string> };
    };
    const answer = async (err: unknown, log = capture('warn').log) => {
      const ctx = ctxFor();
      await pushRoute(log, async () => {
        throw err;
      })(ctx, async () => undefined);
      return { status: ctx.status, body: ctx.body, type: ctx.type, headers: ctx.headers };
    };

    it('passes a handled push through', async () => {
      const ctx = ctxFor();
      await pushRoute(capture().log, async (c) => {
        c.status = 200;
        c.body = 'success';
      })(ctx, async () => undefined);
      expect(ctx).to.include({ status: 200, body: 'success' });
    });

    it('refusals: 403 / 400 with their reason, a bad or large body 400 / 413 (closing the connection)', async () => {
      const text = 'text/plain; charset=utf-8';
      expect(await answer(new PushRejected(403, 'bad msg_signature'))).to.deep.include({
        status: 403,
        body: 'bad msg_signature',
        type: text,
      });
      expect(await answer(new XmlRejected('too deep'))).to.deep.include({ status: 400, body: 'too deep', type: text });
      expect(await answer(new BodyError(413))).to.deep.equal({
        status: 413,
        body: 'body too large',
        type: text,
        headers: { Connection: 'close' },
      });
      expect(await answer(new BodyError(415))).to.deep.equal({
        status: 400,
        body: 'bad body',
        type: text,
        headers: {},
      });
      expect(await answer(new BodyError(400))).to.deep.include({ status: 400, body: 'bad body' });
    });

    it('a store failure or a bug: 503 "try again", logged with the detail', async () => {
      const { log, find } = capture('warn');
      expect(await answer(new StoreError(new Error('deadlock')), log)).to.deep.include({
        status: 503,
        body: 'try again',
        type: 'text/plain; charset=utf-8',
      });
      expect(await answer(new Error('bug'), log)).to.deep.include({ status: 503, body: 'try again' });
      expect(find('push handling failed').map((l) => [l.level, l.path, l.error])).to.deep.equal([
        [50, '/cb', 'deadlock'],
        [50, '/cb', 'bug'],
      ]);
    });
  });

  describe('PushLog (a real SQLite store)', () => {
    let db: TestDatabase;
    let store: Store;
    before(async () => {
      db = await freshDatabase('sqlite');
      store = openStore(db.url);
      await store.migrate();
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    it('records a push with its credentials masked and the time it came', async () => {
      const pl = new PushLog(store, 7, capture().log);
      const before = Date.now();
      await pl.record({
        platform: 'wechat-tpauth',
        codeName: 'tp',
        infoType: 'authorized',
        appId: 'wxa',
        verified: true,
        fields: { AuthorizationCode: 'code-abcd', AuthorizerAppid: 'wxa' },
      });
      const [row] = await pl.list({ limit: 10 });
      expect(row).to.include({
        platform: 'wechat-tpauth',
        codeName: 'tp',
        infoType: 'authorized',
        appId: 'wxa',
        verified: true,
        body: '{"AuthorizationCode":"****abcd","AuthorizerAppid":"wxa"}',
      });
      expect(row.at).to.be.within(before, Date.now());
      expect(JSON.stringify(await db.query('SELECT body FROM pushes'))).to.not.include('code-abcd');
    });

    it('prunes what is older than the retention, at start and then hourly; a failure is logged', async () => {
      const { log, find } = capture();
      const pl = new PushLog(store, 7, log);
      await pl.record({
        platform: 'wechat-tpauth',
        codeName: 'tp',
        infoType: 'old',
        appId: null,
        verified: true,
        fields: {},
      });
      await pl.record({
        platform: 'wechat-tpauth',
        codeName: 'tp',
        infoType: 'edge',
        appId: null,
        verified: true,
        fields: {},
      });
      await db.exec("UPDATE pushes SET at = ? WHERE info_type = 'old'", [Date.now() - 7 * 86_400_000 - 1000]);
      await db.exec("UPDATE pushes SET at = ? WHERE info_type = 'edge'", [Date.now() - 7 * 86_400_000 + 60_000]);
      pl.start();
      pl.start();
      await until(async () => (await db.query("SELECT 1 FROM pushes WHERE info_type = 'old'")).length === 0);
      pl.stop();
      expect((await pl.list({ limit: 10 })).map((r) => r.infoType).sort()).to.deep.equal(['authorized', 'edge']);
      expect(await pl.prune()).to.equal(0);
      const broken = new PushLog(
        { prunePushes: () => Promise.reject(new Error('prune failed here')) } as unknown as Store,
        7,
        log,
      );
      broken.start();
      await until(() => find('push pruning failed').length === 1);
      broken.stop();
      expect(find('push pruning failed')[0]).to.include({ level: 40, error: 'prune failed here' });
    });
  });

  describe('forwardJson', () => {
    let server: http.Server;
    let url: string;
    let answers: number[];
    let got: { body: string; type: string | undefined }[];
    before(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          got.push({ body, type: req.headers['content-type'] });
          res.statusCode = answers.shift() ?? 200;
          res.end('ok');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fwd`;
    });
    beforeEach(() => {
      answers = [];
      got = [];
    });
    after(() => new Promise((r) => server.close(r)));

    it('posts the JSON once when it is taken', async () => {
      const { log, lines } = capture();
      forwardJson(log, url, { a: 1 }, 'test push');
      await until(() => got.length === 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).to.deep.equal([{ body: '{"a":1}', type: 'application/json' }]);
      expect(lines).to.have.length(0);
    });

    it('retries a refusal with backoff, then logs that it failed', async () => {
      const { log, find } = capture();
      answers = [500, 503];
      const t0 = Date.now();
      forwardJson(log, url, { b: 2 }, 'test push', 2);
      await until(() => find('forward failed; the push itself is stored').length === 1);
      expect(Date.now() - t0).to.be.at.least(500);
      expect(got).to.have.length(2);
      expect(find('forward failed; the push itself is stored')[0]).to.include({
        level: 40,
        what: 'test push',
        attempts: 2,
      });
    });

    it('a refusal then a success: two posts, nothing logged', async () => {
      const { log, lines } = capture();
      answers = [502];
      forwardJson(log, url, { c: 3 }, 'test push', 3);
      await until(() => got.length === 2);
      await new Promise((r) => setTimeout(r, 100));
      expect(got).to.have.length(2);
      expect(lines).to.have.length(0);
    });

    it('no URL: nothing is sent', async () => {
      forwardJson(capture().log, undefined, { d: 4 }, 'test push');
      forwardJson(capture().log, '', { d: 4 }, 'test push');
      await new Promise((r) => setTimeout(r, 50));
      expect(got).to.have.length(0);
    });
  });

  describe('parsePushJson', () => {
    it('a JSON object comes back; anything else is a 400 naming why', () => {
      expect(parsePushJson('{"a":[1,{"b":2}]}')).to.deep.equal({ a: [1, { b: 2 }] });
      const refused = (text: string) => {
        try {
          parsePushJson(text);
        } catch (err) {
          return [(err as PushRejected).status, (err as Error).message];
        }
        return undefined;
      };
      expect(refused('[1]')).to.deep.equal([400, 'not a JSON object']);
      expect(refused('null')).to.deep.equal([400, 'not a JSON object']);
      expect(refused('{')).to.deep.equal([400, 'not JSON']);
      expect(refused('['.repeat(100) + ']'.repeat(100))).to.deep.equal([400, 'too deep']);
    });
  });

  describe('jsonTextTooDeep', () => {
    it('counts nesting of arrays and objects up to the limit, ignoring brackets inside strings', () => {
      expect(jsonTextTooDeep('['.repeat(64) + ']'.repeat(64))).to.equal(false);
      expect(jsonTextTooDeep('['.repeat(65) + ']'.repeat(65))).to.equal(true);
      expect(jsonTextTooDeep('{"a":'.repeat(65) + '1' + '}'.repeat(65))).to.equal(true);
      expect(jsonTextTooDeep('[[[]]]', 3)).to.equal(false);
      expect(jsonTextTooDeep('[[[[]]]]', 3)).to.equal(true);
      // closing brackets bring the depth down again
      expect(jsonTextTooDeep('[[[]]][[[]]][[[]]]', 3)).to.equal(false);
      expect(jsonTextTooDeep('{"a":{"b":{}}},{"c":{"d":{}}}', 3)).to.equal(false);
      expect(jsonTextTooDeep(`["${'['.repeat(100)}"]`)).to.equal(false);
      expect(jsonTextTooDeep(`["\\"${'{'.repeat(100)}"]`)).to.equal(false);
      expect(jsonTextTooDeep(`["\\\\", ${'['.repeat(65)}`)).to.equal(true);
    });
  });
});
