import { expect } from 'chai';
import type * as mariadb from 'mariadb';
import { Members, memberFailure } from '../../db/members';

const err = (errno: number, code = 'X') => Object.assign(new Error(`errno ${errno}`), { errno, code });
const READ_ONLY = () => err(1290, 'ER_OPTION_PREVENTS_STATEMENT');
const NOT_SYNCED = () => err(1047, 'ER_UNKNOWN_COM_ERROR');
const NO_CONNECTION = () => err(45028, 'ER_GET_CONNECTION_TIMEOUT');
const CLOSED = () => err(45009, 'ER_SOCKET_UNEXPECTED_CLOSE');
const DUPLICATE = () => err(1062, 'ER_DUP_ENTRY');

/** a pool whose statements answer what `behave` says; it records what it was sent */
function fakePool(name: string) {
  const p = {
    name,
    sent: [] as string[],
    behave: (): unknown => [{ member: name }],
    hang: false,
    /** what the member answers when checked (SELECT @@global.read_only) */
    readOnly: 0,
    checks: 0,
    query(sql: unknown) {
      if (sql === 'SELECT @@global.read_only AS ro' && !p.hang) {
        p.checks++;
        return Promise.resolve([{ ro: p.readOnly }]);
      }
      p.sent.push(String(sql));
      if (p.hang) return new Promise(() => undefined);
      try {
        return Promise.resolve(p.behave());
      } catch (e) {
        return Promise.reject(e);
      }
    },
    async getConnection() {
      p.sent.push('getConnection');
      const r = p.behave();
      return { member: name, r } as unknown as mariadb.PoolConnection;
    },
    async end() {
      p.sent.push('end');
    },
  };
  return p;
}
const fail = (f: () => Error) => () => {
  throw f();
};

/** several hosts in failover order (db/members.ts, issue 19): which member runs a statement, which are passed over */
describe('database members in failover order', () => {
  let a: ReturnType<typeof fakePool>, b: ReturnType<typeof fakePool>, c: ReturnType<typeof fakePool>;
  let m: Members;
  beforeEach(() => {
    [a, b, c] = [fakePool('a'), fakePool('b'), fakePool('c')];
    m = new Members([a, b, c] as unknown as mariadb.Pool[], 5000);
  });

  it('classifies errors: refused (did not run), lost (may have run), or the statement’s own', () => {
    expect([READ_ONLY(), NOT_SYNCED(), NO_CONNECTION(), err(45027)].map(memberFailure)).to.deep.equal([
      'refused',
      'refused',
      'unreachable',
      'unreachable',
    ]);
    expect(
      [CLOSED(), err(1053), err(1927), Object.assign(new Error('t'), { code: 'GATEHOUSE_QUERY_TIMEOUT' })].map(
        memberFailure,
      ),
    ).to.deep.equal(['lost', 'lost', 'lost', 'lost']);
    expect([DUPLICATE(), err(1213), new Error('plain')].map(memberFailure)).to.deep.equal([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('every statement goes to the first member while it answers; it is checked once, before the first', async () => {
    for (let i = 0; i < 3; i++) expect(await m.query('SELECT 1')).to.deep.equal([{ member: 'a' }]);
    expect([a.sent.length, b.sent.length, c.sent.length]).to.deep.equal([3, 0, 0]);
    expect([a.checks, b.checks, c.checks]).to.deep.equal([1, 0, 0]);
  });

  it('a read-only member (a replica, a demoted primary back) takes no statement, not even a read', async () => {
    a.readOnly = 1;
    expect(await m.query('SELECT session')).to.deep.equal([{ member: 'b' }]);
    expect(await m.query('SELECT again')).to.deep.equal([{ member: 'b' }]);
    expect(a.sent).to.deep.equal([]);
    expect(a.checks).to.equal(1);
    expect(m.order()).to.deep.equal([1, 2, 0]);
  });

  it('a member back from being passed over is checked in the background while the next one, already checked, serves', async () => {
    a.behave = fail(READ_ONLY);
    await m.query('UPDATE t'); // a refuses, b takes it
    a.behave = () => [{ member: 'a' }];
    const m2 = m as unknown as { passedUntil: number[] };
    m2.passedUntil[0] = 0; // a's time is up
    let resolveCheck!: () => void;
    const slow = a.query.bind(a);
    a.query = (sql: unknown) =>
      sql === 'SELECT @@global.read_only AS ro'
        ? new Promise((r) => (resolveCheck = () => r(slow(sql)))) // the check takes its time
        : slow(sql);
    expect(await m.query('SELECT during')).to.deep.equal([{ member: 'b' }]);
    resolveCheck();
    await new Promise((r) => setImmediate(r));
    expect(await m.query('SELECT after')).to.deep.equal([{ member: 'a' }]);
  });

  it('a member that refuses (read-only) hands the statement to the next at once, and is passed over for the next ones', async () => {
    a.behave = fail(READ_ONLY);
    expect(await m.query('UPDATE t')).to.deep.equal([{ member: 'b' }]);
    expect(await m.query('SELECT 2')).to.deep.equal([{ member: 'b' }]);
    expect(a.sent).to.deep.equal(['UPDATE t']);
    expect(b.sent).to.deep.equal(['UPDATE t', 'SELECT 2']);
    expect(m.passes).to.deep.equal([1, 0, 0]);
    expect(m.order()).to.deep.equal([1, 2, 0]);
  });

  it('a member lost during a statement: the error reaches the caller (it may have run), the next statements go on', async () => {
    a.behave = fail(CLOSED);
    const e = await m.query('INSERT x').catch((x: Error) => x);
    expect((e as { errno?: number }).errno).to.equal(45009);
    expect(b.sent).to.deep.equal([]);
    expect(await m.query('INSERT y')).to.deep.equal([{ member: 'b' }]);
  });

  it('the statement’s own error (duplicate key) goes to the caller and passes nobody over', async () => {
    a.behave = fail(DUPLICATE);
    const e = await m.query('INSERT dup').catch((x: Error) => x);
    expect((e as { errno?: number }).errno).to.equal(1062);
    expect(b.sent).to.deep.equal([]);
    expect(m.order()).to.deep.equal([0, 1, 2]);
  });

  it('a member that hangs past the deadline is lost: the caller gets the timeout, the next statement goes on', async () => {
    await m.query('SELECT first', [], 20); // a is checked and answers
    a.hang = true;
    const e = await m.query('SELECT slow', [], 20).catch((x: Error) => x);
    expect((e as { code?: string }).code).to.equal('GATEHOUSE_QUERY_TIMEOUT');
    expect(await m.query('SELECT next', [], 20)).to.deep.equal([{ member: 'b' }]);
  });

  it('when every member is passed over, all are tried: those that refused first (a replica serves reads while its primary is down)', async () => {
    a.behave = fail(NO_CONNECTION); // the primary: down
    b.behave = fail(READ_ONLY); // the replica, not yet promoted
    c.behave = fail(CLOSED);
    await m.query('UPDATE t').catch(() => undefined); // a is unreachable, b refuses, c is lost
    expect(m.order()).to.deep.equal([1, 0, 2]);
    // ... the replica answers reads meanwhile, without waiting for the primary's pool
    b.behave = () => [{ member: 'b' }];
    const sentToA = a.sent.length;
    expect(await m.query('SELECT z')).to.deep.equal([{ member: 'b' }]);
    expect(a.sent.length).to.equal(sentToA);
  });

  it('primary gone, replica read-only: a write gets the refusal at once (not the gone primary’s connection error), reads go on', async () => {
    const primary = fakePool('primary');
    const replica = fakePool('replica');
    const two = new Members([primary, replica] as unknown as mariadb.Pool[], 5000);
    await two.query('SELECT warm'); // the primary is checked
    primary.behave = fail(NO_CONNECTION);
    replica.readOnly = 1;
    replica.behave = (): unknown => {
      if (replica.sent.at(-1)!.startsWith('UPDATE')) throw READ_ONLY();
      return [{ member: 'replica' }];
    };
    const first = await two.query('UPDATE a').catch((x: Error) => x);
    expect((first as { errno?: number }).errno).to.equal(1290);
    const sentToPrimary = primary.sent.length;
    for (const sql of ['UPDATE b', 'UPDATE c']) {
      const e = await two.query(sql).catch((x: Error) => x);
      expect((e as { errno?: number }).errno, sql).to.equal(1290);
    }
    expect(await two.query('SELECT read')).to.deep.equal([{ member: 'replica' }]);
    // the gone primary was not waited on again
    expect(primary.sent.length).to.equal(sentToPrimary);
    // promoted: the next write lands on the replica at once
    replica.behave = () => [{ member: 'replica' }];
    expect(await two.query('UPDATE d')).to.deep.equal([{ member: 'replica' }]);
  });

  it('a member passed over is tried first again once its time is up', async () => {
    a.behave = fail(READ_ONLY);
    await m.query('UPDATE t');
    const now = Date.now();
    expect(m.order(now)).to.deep.equal([1, 2, 0]);
    expect(m.order(now + 5001)).to.deep.equal([0, 1, 2]);
  });

  it('getConnection moves on past members that cannot hand one out, and says which member it is', async () => {
    a.behave = fail(NO_CONNECTION);
    const got = await m.getConnection();
    expect(got.member).to.equal(1);
    expect((got.conn as unknown as { member: string }).member).to.equal('b');
  });

  it('one member: never passed over, its errors as they are', async () => {
    const only = fakePool('only');
    const one = new Members([only] as unknown as mariadb.Pool[], 5000);
    only.behave = fail(READ_ONLY);
    expect(((await one.query('UPDATE').catch((x: Error) => x)) as { errno?: number }).errno).to.equal(1290);
    expect(one.passes).to.deep.equal([0]);
    expect(one.order()).to.deep.equal([0]);
  });

  it('end() closes every pool', async () => {
    await m.end();
    expect([a.sent, b.sent, c.sent]).to.deep.equal([['end'], ['end'], ['end']]);
  });
});
