// The retry-once-on-a-dead-token helpers (tokens/spec.ts) against a scripted engine: how many sends,
// with which token, and which answer stands.
import { expect } from 'chai';
import { RpcError, upstreamError } from '../../system/errors';
import type { CurrentToken, GetOptions, TokenEngine, TokenSpec } from '../../application/services/tokens/engine';
import { INVALID_TOKEN_ERRCODES, WECHAT_ERRCODES } from '../../application/platforms/wechat/client';
import {
  isInvalidTokenError,
  makeSpec,
  renewed,
  sendWithToken,
  specKey,
  withAccessToken,
} from '../../application/services/tokens/spec';

/** an engine that serves `current`, and on a compare-and-refresh of it serves `next` (or `current` again) */
function engineServing(current: CurrentToken, next: CurrentToken) {
  const gets: GetOptions[] = [];
  let now = current;
  const engine = {
    async get(_spec: TokenSpec, opts: GetOptions = {}) {
      gets.push(opts);
      if (opts.invalidToken === now.value) now = next;
      return now;
    },
  } as unknown as TokenEngine;
  return { engine, gets };
}
const spec = makeSpec('wechat', 'shop', 'wx1', 'access', async () => ({ value: 'x', expiresIn: 1 }));
const A: CurrentToken = { value: 'A', expiresAt: 1, version: 1 };
const B: CurrentToken = { value: 'B', expiresAt: 2, version: 2 };
const sameValueRenewed: CurrentToken = { value: 'A', expiresAt: 3, version: 2 };

describe('token specs and the retry once on a dead token', () => {
  it('keys a token by platform, platform-side subject and kind (not codeName)', () => {
    expect(specKey('wechat', 'wx1', 'access')).to.equal('wechat:wx1:access');
    expect(spec).to.include({
      key: 'wechat:wx1:access',
      platform: 'wechat',
      codeName: 'shop',
      subject: 'wx1',
      kind: 'access',
    });
  });

  it('dead-token errcodes: 40001, 40014, 42001 and WeCom 40082, 42009 — nothing else', () => {
    expect([...INVALID_TOKEN_ERRCODES].sort()).to.deep.equal([40001, 40014, 40082, 42001, 42009]);
    for (const code of [40001, 40014, 42001, 40082, 42009])
      expect(isInvalidTokenError(upstreamError('wechat', code, 'x', WECHAT_ERRCODES)), String(code)).to.equal(true);
    expect(isInvalidTokenError(upstreamError('wechat', '40001', 'x', WECHAT_ERRCODES))).to.equal(true);
    for (const e of [
      upstreamError('wechat', 40013, 'x', WECHAT_ERRCODES),
      upstreamError('wechat', -1, 'x', WECHAT_ERRCODES),
      new RpcError('UPSTREAM_UNREACHABLE', { errcode: 40001 }),
      new RpcError('UPSTREAM_ERROR', { platform: 'wechat', errcode: 40001, errmsg: 'x' }),
      // the rules are the platform's: an error raised without them refuses no token
      upstreamError('wechat', 40001, 'x'),
      new Error('40001'),
      null,
    ]) {
      expect(isInvalidTokenError(e)).to.equal(false);
    }
  });

  it('renewed: another value, or the same value at another version', () => {
    expect(renewed(A, B)).to.equal(true);
    expect(renewed(A, sameValueRenewed)).to.equal(true);
    expect(renewed(A, { ...A })).to.equal(false);
    expect(renewed(A, { ...A, value: 'B' })).to.equal(true); // another value, even at the same version
  });

  describe('sendWithToken', () => {
    it('one send when the answer is good', async () => {
      const { engine, gets } = engineServing(A, B);
      const sent: string[] = [];
      expect(
        await sendWithToken(
          engine,
          spec,
          async (t) => (sent.push(t), `ok ${t}`),
          () => false,
        ),
      ).to.equal('ok A');
      expect(sent).to.deep.equal(['A']);
      expect(gets).to.deep.equal([{}]);
    });

    it('a rejected answer: compare-and-refresh of the token sent, then one more send with the new one', async () => {
      const { engine, gets } = engineServing(A, B);
      const sent: string[] = [];
      const reply = await sendWithToken(
        engine,
        spec,
        async (t) => (sent.push(t), t === 'A' ? 'dead' : 'ok'),
        (r) => r === 'dead',
      );
      expect(reply).to.equal('ok');
      expect(sent).to.deep.equal(['A', 'B']);
      expect(gets).to.deep.equal([{}, { invalidToken: 'A' }]);
    });

    it('nothing renewed (the budget refused): the first answer stands, no second send', async () => {
      const { engine } = engineServing(A, A);
      const sent: string[] = [];
      expect(
        await sendWithToken(
          engine,
          spec,
          async (t) => (sent.push(t), 'dead'),
          () => true,
        ),
      ).to.equal('dead');
      expect(sent).to.deep.equal(['A']);
    });

    it('the same value renewed (WeCom) is sent again', async () => {
      const { engine } = engineServing(A, sameValueRenewed);
      let n = 0;
      expect(
        await sendWithToken(
          engine,
          spec,
          async () => (++n === 1 ? 'dead' : 'ok'),
          (r) => r === 'dead',
        ),
      ).to.equal('ok');
      expect(n).to.equal(2);
    });
  });

  describe('withAccessToken', () => {
    it('runs once when use succeeds', async () => {
      const { engine, gets } = engineServing(A, B);
      expect(await withAccessToken(engine, spec, async (t) => `ok ${t}`)).to.equal('ok A');
      expect(gets).to.have.length(1);
    });

    it('a dead-token error: compare-and-refresh, then once more with the new token', async () => {
      const { engine, gets } = engineServing(A, B);
      const used: string[] = [];
      const r = await withAccessToken(engine, spec, async (t) => {
        used.push(t);
        if (t === 'A') throw upstreamError('wechat', 40001, 'invalid credential', WECHAT_ERRCODES);
        return 'ok';
      });
      expect(r).to.equal('ok');
      expect(used).to.deep.equal(['A', 'B']);
      expect(gets).to.deep.equal([{}, { invalidToken: 'A' }]);
    });

    it('other errors are thrown at once, without a refresh', async () => {
      const { engine, gets } = engineServing(A, B);
      const err = upstreamError('wechat', 40013, 'invalid appid', WECHAT_ERRCODES);
      expect(await withAccessToken(engine, spec, async () => Promise.reject(err)).catch((e: unknown) => e)).to.equal(
        err,
      );
      expect(gets).to.have.length(1);
    });

    it('nothing renewed: the dead-token error stands, use ran once', async () => {
      const { engine } = engineServing(A, A);
      const err = upstreamError('wechat', 42001, 'expired', WECHAT_ERRCODES);
      let n = 0;
      expect(
        await withAccessToken(engine, spec, async () => (n++, Promise.reject(err))).catch((e: unknown) => e),
      ).to.equal(err);
      expect(n).to.equal(1);
    });
  });
});
