// The RPC dispatcher and registry as units: rpcDispatch against a minimal Koa context, a registry of
// test interfaces, a real CallerAuth, real Metrics and a logger whose lines are read back. Every
// branch of the order 1009 → 1002 → 1010 → 1011 → 4029 → 4001/4003 → 1003 → 4003 → handler, and
// what each answer counts and logs.
import { expect } from 'chai';
import type Koa from 'koa';
import pino from 'pino';
import { Writable } from 'node:stream';
import { CallerAuth, signCaller } from '../../system/callers';
import { RpcError, StoreError } from '../../system/errors';
import { Metrics } from '../../system/metrics';
import { type RateLimiter } from '../../system/ratelimit';
import { Registry, assertValid, compileSchema, describeErrors, type InterfaceDef } from '../../system/registry';
import { accessLine, envelope, requestId, rpcDispatch } from '../../system/rpc';

const SECRET = 'dispatch-secret-0123456789abcdef';
const obj = (properties: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

interface Svc {
  seen: unknown[];
}

function setup(opts: { level?: string; limiter?: RateLimiter; publicRateLimit?: number } = {}) {
  const lines: Record<string, any>[] = [];
  const log = pino(
    { level: opts.level ?? 'info' },
    new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }),
  );
  const registry = new Registry<Svc>();
  const services: Svc = { seen: [] };
  const add = (def: Partial<InterfaceDef<Svc>> & { name: string }) =>
    registry.add({
      access: 'backend',
      summary: '',
      para: obj({ codeName: { type: 'string' } }),
      result: {},
      handler: () => ({ ok: true }),
      ...def,
    });
  add({ name: 'test.public', access: 'public', handler: () => undefined });
  add({
    name: 'test.backend',
    apps: (p: { codeName?: string }) => [p.codeName],
    handler: (p, call) => (services.seen.push([p, call.caller?.sub, call.requestId, call.ip]), { echo: p }),
  });
  add({ name: 'test.unscoped' });
  add({ name: 'test.filtered', appsFiltered: true, handler: () => 'filtered' });
  add({ name: 'admin.thing', access: 'admin' });
  add({
    name: 'test.fails',
    handler: () => Promise.reject(new RpcError('UPSTREAM_UNREACHABLE', { why: 'x' }, 'detail only for the log')),
  });
  add({ name: 'test.store', handler: () => Promise.reject(new StoreError(new Error('deadlock found'))) });
  add({ name: 'test.session', handler: () => Promise.reject(new RpcError('SESSION_WRITE_FAILED', '', 'session row')) });
  add({ name: 'test.appwrite', handler: () => Promise.reject(new RpcError('APP_WRITE_FAILED', '', 'app row')) });
  add({ name: 'test.bug', handler: () => Promise.reject(new TypeError('boom')) });
  const metrics = new Metrics();
  const auth = new CallerAuth(SECRET);
  const dispatch = rpcDispatch<Svc>({
    registry,
    services,
    callers: () => auth,
    log,
    metrics,
    limiter: opts.limiter,
    publicRateLimit: opts.publicRateLimit,
  });
  const call = async (body: unknown, headers: Record<string, string> = {}) => {
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const set: Record<string, string> = {};
    const ctx = {
      ip: '10.0.0.7',
      method: 'POST',
      path: '/',
      body: undefined as unknown,
      get: (k: string) => h[k.toLowerCase()] ?? '',
      set: (k: string, v: string) => (set[k] = v),
    } as unknown as Koa.Context;
    await dispatch(ctx, body);
    return { env: ctx.body as Record<string, unknown>, set };
  };
  const rpc = (name: string, para: unknown = {}, headers: Record<string, string> = {}) =>
    call({ version: 1, componentName: 'MA', interface: { interfaceName: name, para } }, headers);
  const bearer = (scope: string, apps?: string[]) => ({
    authorization: `Bearer ${signCaller(SECRET, { sub: 'svc', scope, apps, ttlSeconds: 600 })}`,
  });
  const counted = async (labels: Record<string, unknown>) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'gatehouse_rpc_requests_total');
    return (m?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, l]) => String((v.labels as any)[k]) === String(l)))
      .reduce((s, v) => s + v.value, 0);
  };
  const observed = async (iface: string) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'gatehouse_rpc_duration_seconds');
    return (
      (m?.values as { metricName?: string; labels: Record<string, unknown>; value: number }[] | undefined)?.find(
        (v) => v.metricName === 'gatehouse_rpc_duration_seconds_count' && (v.labels as any).interface === iface,
      )?.value ?? 0
    );
  };
  const sums = async (iface: string) => {
    const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'gatehouse_rpc_duration_seconds');
    return (
      (m?.values as { metricName?: string; labels: Record<string, unknown>; value: number }[] | undefined)?.find(
        (v) => v.metricName === 'gatehouse_rpc_duration_seconds_sum' && (v.labels as any).interface === iface,
      )?.value ?? -1
    );
  };
  const access = () => lines.filter((l) => l.log === 'access' && l.msg === 'rpc');
  return { call, rpc, bearer, counted, observed, sums, lines, access, services };
}

describe('rpcDispatch', () => {
  it('the envelope checks, in order, each answered with its code, echoing version and componentName', async () => {
    const t = setup();
    expect((await t.call('not an object')).env).to.deep.equal({
      returnCode: 1009,
      returnMessage: 'REQUEST_IS_NOT_JSON',
      returnData: '',
    });
    expect((await t.call([1])).env).to.include({ returnCode: 1009 });
    expect((await t.call(null)).env).to.include({ returnCode: 1009 });
    expect((await t.call({ version: 2, componentName: 'x', interface: {} })).env).to.deep.equal({
      returnCode: 1002,
      returnMessage: 'NO_INTERFACENAME',
      returnData: '',
      version: 2,
      componentName: 'x',
    });
    expect((await t.call({ interface: { interfaceName: 7 } })).env).to.include({ returnCode: 1002 });
    expect((await t.call({ interface: 'x' })).env).to.include({ returnCode: 1002 });
    expect((await t.rpc('no.such')).env).to.include({ returnCode: 1010, returnMessage: 'UNKNOWN_INTERFACE' });
    expect((await t.call({ interface: { interfaceName: 'test.public' } })).env).to.include({
      returnCode: 1011,
      returnMessage: 'NO_PARA',
    });
    for (const para of [null, 'x', [1]])
      expect((await t.rpc('test.public', para)).env, String(para)).to.include({ returnCode: 1011 });
    expect((await t.rpc('test.public', { codeName: 1 })).env).to.include({ returnCode: 1003 });
    expect((await t.rpc('test.public', {})).env).to.deep.equal({
      returnCode: 0,
      returnMessage: 'OK',
      returnData: {},
      version: 1,
      componentName: 'MA',
    });
  });

  it('only string and number version / componentName are echoed', () => {
    expect(envelope(0, 'd', { version: 'v', componentName: 3 })).to.deep.equal({
      returnCode: 0,
      returnMessage: 'OK',
      returnData: 'd',
      version: 'v',
      componentName: 3,
    });
    expect(envelope(0, 'd', { version: {}, componentName: null })).to.deep.equal({
      returnCode: 0,
      returnMessage: 'OK',
      returnData: 'd',
    });
    expect(envelope(0, 'd', { version: true })).to.deep.equal({ returnCode: 0, returnMessage: 'OK', returnData: 'd' });
    expect(envelope(4001)).to.deep.equal({ returnCode: 4001, returnMessage: 'UNAUTHENTICATED', returnData: '' });
  });

  it('counts every answer by interface and code; unknown names are counted as "unknown"; each call is timed', async () => {
    const t = setup();
    await t.rpc('no.such');
    await t.rpc('test.public', {});
    await t.rpc('test.public', 'x');
    await t.rpc('test.backend', {});
    expect(await t.counted({ interface: 'unknown', code: 1010 })).to.equal(1);
    expect(await t.counted({ interface: 'unknown', code: 1011 })).to.equal(1);
    expect(await t.counted({ interface: 'test.public', code: 0 })).to.equal(1);
    expect(await t.counted({ interface: 'test.backend', code: 4001 })).to.equal(1);
    expect(await t.observed('test.public')).to.equal(1);
    expect(await t.observed('unknown')).to.equal(2);
    const sum = await t.sums('test.public');
    expect(sum).to.be.within(0, 1); // seconds, not milliseconds
  });

  it('one access line per call: request id, interface (at most 128 characters), code, caller, ms', async () => {
    const t = setup();
    await t.rpc('test.backend', { codeName: 'a' }, { ...t.bearer('*'), 'x-request-id': 'req-1' });
    await t.rpc('x'.repeat(300), {}, { 'x-request-id': 'req-2' });
    const [a, b] = t.access();
    expect(a).to.include({ reqId: 'req-1', interfaceName: 'test.backend', returnCode: 0, sub: 'svc' });
    expect(a.ms).to.be.a('number').within(0, 1000);
    expect(b).to.include({ reqId: 'req-2', interfaceName: 'x'.repeat(128), returnCode: 1010 });
    expect(b).to.not.have.property('sub');
    // at warn, no access lines
    const quiet = setup({ level: 'warn' });
    await quiet.rpc('test.public', {});
    await quiet.rpc('nope');
    expect(quiet.lines).to.have.length(0);
  });

  it('public interfaces: rate limited per client IP (4029 with retryAfter and Retry-After), no caller needed', async () => {
    const t = setup({ publicRateLimit: 2 });
    expect((await t.rpc('test.public', {})).env).to.include({ returnCode: 0 });
    expect((await t.rpc('test.public', {}, { authorization: 'Bearer garbage' })).env).to.include({ returnCode: 0 });
    const limited = await t.rpc('test.public', {});
    expect(limited.env.returnCode).to.equal(4029);
    expect(limited.env.returnMessage).to.equal('RATE_LIMITED');
    expect((limited.env.returnData as { retryAfter: number }).retryAfter)
      .to.equal(Number(limited.set['Retry-After']))
      .and.be.within(1, 1);
    expect(await t.counted({ interface: 'test.public', code: 4029 })).to.equal(1);
    expect(t.access().at(-1)).to.include({ returnCode: 4029, interfaceName: 'test.public' });
    // backend interfaces are not rate limited by it
    for (let i = 0; i < 3; i++) expect((await t.rpc('test.backend', {}, t.bearer('*'))).env.returnCode).to.equal(0);
  });

  it('callers: 4001 without a good token, 4003 when the scope does not cover the name (admin: by name or admin.*)', async () => {
    const t = setup();
    expect((await t.rpc('test.backend', {})).env).to.deep.include({ returnCode: 4001, returnData: '' });
    expect((await t.rpc('test.backend', {}, t.bearer('other.*'))).env).to.deep.include({
      returnCode: 4003,
      returnMessage: 'FORBIDDEN',
      returnData: '',
    });
    expect((await t.rpc('test.backend', {}, t.bearer('test.backend'))).env.returnCode).to.equal(0);
    expect((await t.rpc('admin.thing', {}, t.bearer('test.*'))).env.returnCode).to.equal(4003);
    expect((await t.rpc('admin.thing', {}, t.bearer('admin.*'))).env.returnCode).to.equal(0);
  });

  it('an apps claim: interfaces that say their apps are checked against it; list interfaces filter; the rest refuse (fail closed)', async () => {
    const t = setup();
    const limited = t.bearer('*', ['shop']);
    expect((await t.rpc('test.backend', { codeName: 'shop' }, limited)).env.returnCode).to.equal(0);
    expect((await t.rpc('test.backend', { codeName: 'other' }, limited)).env).to.deep.include({
      returnCode: 4003,
      returnData: '',
    });
    expect((await t.rpc('test.unscoped', {}, limited)).env).to.deep.include({ returnCode: 4003, returnData: '' });
    expect((await t.rpc('test.filtered', {}, limited)).env).to.deep.include({ returnCode: 0, returnData: 'filtered' });
    // without a claim, all three answer
    for (const name of ['test.backend', 'test.unscoped', 'test.filtered'])
      expect((await t.rpc(name, { codeName: 'other' }, t.bearer('*'))).env.returnCode, name).to.equal(0);
    // the para is validated before the claim is asked about it
    expect((await t.rpc('test.backend', { codeName: 5 }, limited)).env.returnCode).to.equal(1003);
  });

  it('the handler gets the para, the caller, the request id and the client IP; its result is returnData (undefined → {})', async () => {
    const t = setup();
    const r = await t.rpc('test.backend', { codeName: 'shop' }, { ...t.bearer('*'), 'x-request-id': 'abc.DEF_1-2' });
    expect(r.env).to.deep.equal({
      returnCode: 0,
      returnMessage: 'OK',
      returnData: { echo: { codeName: 'shop' } },
      version: 1,
      componentName: 'MA',
    });
    expect(t.services.seen).to.deep.equal([[{ codeName: 'shop' }, 'svc', 'abc.DEF_1-2', '10.0.0.7']]);
    expect((await t.rpc('test.public', {})).env.returnData).to.deep.equal({});
  });

  it('handler errors: an RpcError is its code and data (the detail stays in the log); store failures are logged; a bug is 5000 and logged', async () => {
    const t = setup();
    expect((await t.rpc('test.fails', {}, t.bearer('*'))).env).to.deep.include({
      returnCode: 1005,
      returnData: { why: 'x' },
    });
    expect(t.lines.filter((l) => l.level >= 50)).to.have.length(0);
    for (const [name, code, detail] of [
      ['test.store', 1001, 'deadlock found'],
      ['test.session', 1006, 'session row'],
      ['test.appwrite', 1013, 'app row'],
    ] as const) {
      expect((await t.rpc(name, {}, t.bearer('*'))).env, name).to.deep.include({ returnCode: code, returnData: '' });
      expect(t.lines.filter((l) => l.msg === 'store failure').at(-1), name).to.include({
        level: 50,
        interfaceName: name,
        detail,
      });
    }
    expect((await t.rpc('test.bug', {}, t.bearer('*'))).env).to.deep.include({
      returnCode: 5000,
      returnMessage: 'INTERNAL_ERROR',
      returnData: '',
    });
    const bug = t.lines.find((l) => l.msg === 'internal error')!;
    expect(bug).to.include({ level: 50, interfaceName: 'test.bug' });
    expect(bug.err.message).to.equal('boom');
    expect(await t.counted({ interface: 'test.bug', code: 5000 })).to.equal(1);
    expect(t.access().at(-1)).to.include({ interfaceName: 'test.bug', returnCode: 5000, sub: 'svc' });
  });
});

describe('request ids and access lines outside RPC', () => {
  const ctx = (id = '') =>
    ({ get: () => id, method: 'GET', path: '/p'.padEnd(300, 'x'), status: 204 }) as unknown as Koa.Context;

  it('keeps a sane X-Request-Id (1–64 of [A-Za-z0-9._-]), else makes a node-unique one', () => {
    expect(requestId(ctx('a'))).to.equal('a');
    expect(requestId(ctx('A.b_c-9'.repeat(10).slice(0, 64)))).to.have.length(64);
    for (const bad of ['x'.repeat(65), 'has space', 'semi;colon', '', 'ok\n']) {
      const id = requestId(ctx(bad));
      expect(id, bad).to.match(/^[0-9a-f]{8}-[0-9a-z]+$/);
    }
    const a = requestId(ctx());
    const b = requestId(ctx());
    expect(a.split('-')[0]).to.equal(b.split('-')[0]);
    expect(parseInt(b.split('-')[1], 36)).to.equal(parseInt(a.split('-')[1], 36) + 1);
  });

  it('one access line with route (at most 256 characters), status, ms and extra fields; none below info', () => {
    const lines: Record<string, any>[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c))), cb()) }),
    );
    accessLine(log, ctx('rid'), performance.now() - 12.345, { platform: 'x' });
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({
      log: 'access',
      msg: 'http',
      reqId: 'rid',
      method: 'GET',
      status: 204,
      platform: 'x',
    });
    expect(lines[0].route).to.have.length(256);
    expect(lines[0].ms).to.be.within(12, 200);
    expect(Math.round(lines[0].ms * 100)).to.equal(lines[0].ms * 100);
    const quiet: unknown[] = [];
    accessLine(
      pino({ level: 'warn' }, new Writable({ write: (c, _e, cb) => (quiet.push(c), cb()) })),
      ctx(),
      performance.now(),
    );
    expect(quiet).to.have.length(0);
  });
});

describe('registry', () => {
  it('refuses a name registered twice; lists by name; describes schemas in /openrpc.json', () => {
    const r = new Registry<unknown>();
    const def = {
      name: 'b.one',
      access: 'backend' as const,
      summary: 's',
      para: obj(),
      result: { type: 'object' },
      handler: () => ({}),
    };
    r.add(def);
    r.add({ ...def, name: 'a.two', access: 'public' });
    expect(() => r.add(def)).to.throw('interface b.one registered twice');
    expect(r.all().map((d) => d.name)).to.deep.equal(['a.two', 'b.one']);
    expect(r.get('nope')).to.equal(undefined);
    const doc = r.openRpc('9.9.9') as any;
    expect(doc.openrpc).to.equal('1.2.6');
    expect(doc.info).to.include({ title: 'gatehouse', version: '9.9.9' });
    expect(doc.methods[1]).to.deep.equal({
      name: 'b.one',
      summary: 's',
      'x-access': 'backend',
      tags: [{ name: 'backend' }],
      paramStructure: 'by-name',
      params: [{ name: 'para', required: true, schema: obj() }],
      result: { name: 'returnData', schema: { type: 'object' } },
    });
  });

  it('para errors: at most 10, paths relative to para, "is not allowed" / "is required" / the schema’s message', () => {
    const validate = compileSchema(obj({ n: { type: 'number' }, s: { type: 'string', minLength: 2 } }, ['n']));
    validate({ x: 1, s: 'a' });
    expect(describeErrors(validate.errors)).to.deep.equal([
      { path: '/n', message: 'is required' },
      { path: '/x', message: 'is not allowed' },
      { path: '/s', message: 'must NOT have fewer than 2 characters' },
    ]);
    const many = compileSchema({ type: 'object', properties: {}, additionalProperties: false });
    many(Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])));
    expect(describeErrors(many.errors)).to.have.length(10);
    expect(describeErrors(null)).to.deep.equal([]);
    const top = compileSchema({ type: 'object' });
    top('x');
    expect(describeErrors(top.errors)).to.deep.equal([{ path: '/', message: 'must be object' }]);
    expect(describeErrors([{ keyword: 'x', instancePath: '', params: {}, schemaPath: '' } as any])).to.deep.equal([
      { path: '/', message: 'is invalid' },
    ]);
  });

  it('assertValid throws a 1003 whose paths carry the prefix; a valid value passes', () => {
    const validate = compileSchema(obj({ appId: { type: 'string' } }, ['appId']));
    expect(() => assertValid(validate, { appId: 'wx' }, '/config')).to.not.throw();
    const err = (() => {
      try {
        assertValid(validate, { other: 1 }, '/config');
      } catch (e) {
        return e as RpcError;
      }
    })()!;
    expect(err).to.be.instanceOf(RpcError).with.property('code', 1003);
    expect(err.data).to.deep.equal({
      errors: [
        { path: '/config/appId', message: 'is required' },
        { path: '/config/other', message: 'is not allowed' },
      ],
    });
    const top = (() => {
      try {
        assertValid(compileSchema({ type: 'object' }), 'x', '/config');
      } catch (e) {
        return e as RpcError;
      }
    })()!;
    expect(top.data).to.deep.equal({ errors: [{ path: '/config', message: 'must be object' }] });
    const bare = (() => {
      try {
        assertValid(compileSchema({ type: 'object' }), 'x');
      } catch (e) {
        return e as RpcError;
      }
    })()!;
    expect(bare.data).to.deep.equal({ errors: [{ path: '/', message: 'must be object' }] });
  });
});
