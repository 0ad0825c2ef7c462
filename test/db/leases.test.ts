import { expect } from 'chai';
import { openStore } from '../../db';
import type { Store, TokenIdentity } from '../../db/store';
import { tokenKey } from '../../db/store';
import { forEachDialect, freshDatabase, type TestDatabase } from '../helpers/db';

const ident = (subject: string): TokenIdentity => ({
  key: tokenKey('wechat_app', `c_${subject}`, subject, 'access_token'),
  platform: 'wechat_app',
  codeName: `c_${subject}`,
  subject,
  kind: 'access_token',
});

/** A node leaving frees the refresh leases it holds (issue 13 item 4): releaseLeases. */
forEachDialect('store: the leases of one holder', (dialect) => {
  let db: TestDatabase;
  let store: Store;
  const [a, b, c, d] = ['wxa', 'wxb', 'wxc', 'wxd'].map(ident);
  const now = Date.now();

  beforeEach(async () => {
    db = await freshDatabase(dialect);
    store = openStore(db.url);
    await store.migrate();
    for (const t of [a, b, c, d]) await store.ensureToken(t);
    // a token with a value and an error, to see that releasing keeps both
    expect(await store.tryLease(a.key, 'node-1', now, now + 15_000)).to.equal(true);
    expect(
      await store.saveToken(a.key, 'node-1', {
        value: 'AT_a',
        expiresAt: now + 7200_000,
        refreshedAt: now,
        refreshAt: now + 6600_000,
      }),
    ).to.equal(true);
    expect(await store.tryLease(a.key, 'node-1', now, now + 15_000)).to.equal(true);
    await store.releaseLease(a.key, 'node-1', 'wechat errcode -1: busy', now);
    // node-1 holds a (live lease) and b (an expired one it never gave back); node-2 holds c; d is free
    expect(await store.tryLease(a.key, 'node-1', now, now + 15_000)).to.equal(true);
    expect(await store.tryLease(b.key, 'node-1', now - 60_000, now - 45_000)).to.equal(true);
    expect(await store.tryLease(c.key, 'node-2', now, now + 15_000)).to.equal(true);
  });
  /** the tokens whose lease `owner` holds, from the rows */
  const held = async (owner: string) =>
    (await db.query('SELECT token_key FROM tokens WHERE lease_owner = ? ORDER BY token_key', [owner])).map((r) =>
      String(r.token_key),
    );
  afterEach(async () => {
    await store?.close();
    await db?.drop();
  });

  it('an owner name is not a pattern: releasing node-% frees nothing', async () => {
    expect(await store.releaseLeases('node-%')).to.equal(0);
    expect(await held('node-1')).to.deep.equal([a.key, b.key].sort());
  });

  it("releaseLeases frees the holder's leases only, keeps values and errors, and another node leases at once", async () => {
    const before = await db.query('SELECT token_key, value, version, last_error FROM tokens ORDER BY token_key');
    expect(await store.releaseLeases('node-1')).to.equal(2);
    const rows = await db.query(
      'SELECT token_key, lease_owner, lease_until, value, version, last_error FROM tokens ORDER BY token_key',
    );
    const byKey = new Map(rows.map((r) => [String(r.token_key), r]));
    for (const k of [a.key, b.key]) expect(byKey.get(k)).to.include({ lease_owner: null, lease_until: null });
    expect(byKey.get(c.key)!.lease_owner).to.equal('node-2');
    expect(Number(byKey.get(c.key)!.lease_until)).to.equal(now + 15_000);
    expect(byKey.get(d.key)).to.include({ lease_owner: null });
    // what the token is and what went wrong last stay as they were
    expect(rows.map((r) => [r.token_key, r.value, Number(r.version), r.last_error])).to.deep.equal(
      before.map((r) => [r.token_key, r.value, Number(r.version), r.last_error]),
    );
    expect(byKey.get(a.key)).to.include({ value: 'AT_a', last_error: 'wechat errcode -1: busy' });
    expect(await held('node-1')).to.deep.equal([]);
    // a's lease ran until now + 15 s: freed, another node takes it now
    expect(await store.tryLease(a.key, 'node-2', now + 1, now + 15_001)).to.equal(true);
    // nothing left to release
    expect(await store.releaseLeases('node-1')).to.equal(0);
  });
});
