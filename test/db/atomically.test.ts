import { expect } from 'chai';
import { openStore } from '../../db';
import type { AppRow, Store } from '../../db/store';
import { ruleStore } from '../../db/rules';
import { forEachDialect, freshDatabase, type TestDatabase } from '../helpers/db';

const app = (codeName: string, appId: string): AppRow => ({
  platform: 'wechat_app',
  codeName,
  appId,
  enabled: true,
  isDefault: false,
  config: JSON.stringify({ appId }),
  createdAt: 1000,
  updatedAt: 1000,
});

forEachDialect('store atomically() (the importers\u2019 one transaction per platform)', (dialect) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await freshDatabase(dialect);
    store = openStore(db.url);
    await store.migrate();
  });
  afterEach(async () => {
    await store?.close();
    await db?.drop();
  });

  it('commits every write of the store methods (and the rule store) made through tx when fn resolves', async () => {
    const r = await store.atomically(async (tx) => {
      await tx.putApp(app('a', 'wx01'));
      await tx.putTicket('wechat_tp', 'wxc', 'ticket', 100, 1000);
      await ruleStore(tx).put(
        {
          id: 'r1',
          name: 'r',
          enabled: true,
          priority: 1,
          platform: 'wechat_tp',
          codeName: null,
          appId: null,
          infoType: null,
          msgType: null,
          event: null,
          url: 'http://127.0.0.1:9/x',
          format: 'json',
          timeoutMs: 1000,
          retries: 0,
          continue: false,
        },
        1000,
      );
      // reads inside the transaction see its writes
      expect((await tx.getApp('wechat_app', 'a'))?.appId).to.equal('wx01');
      return 42;
    });
    expect(r).to.equal(42);
    expect((await store.getApp('wechat_app', 'a'))?.appId).to.equal('wx01');
    expect((await store.getTicket('wechat_tp', 'wxc'))?.value).to.equal('ticket');
    expect(await ruleStore(store).get('r1')).to.not.equal(null);
  });

  it('rolls every write back when fn throws; the store is usable after', async () => {
    let caught: unknown;
    try {
      await store.atomically(async (tx) => {
        await tx.putApp(app('b', 'wx02'));
        await tx.putTicket('wechat_tp', 'wxc', 'ticket', 100, 1000);
        throw new Error('stop');
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).message).to.equal('stop');
    expect(await store.getApp('wechat_app', 'b')).to.equal(null);
    expect(await store.getTicket('wechat_tp', 'wxc')).to.equal(null);
    await store.putApp(app('c', 'wx03'));
    expect((await store.getApp('wechat_app', 'c'))?.appId).to.equal('wx03');
  });

  it('refuses a transaction inside the transaction', async () => {
    let caught: unknown;
    try {
      await store.atomically((tx) => tx.atomically(async () => 1));
    } catch (err) {
      caught = err;
    }
    expect(String((caught as Error)?.message)).to.match(/cannot start inside atomically/);
  });
});
