// AuthorizedAccounts against a real SQLite store: which token rows the background refresher may
// renew (accountOf / servableAccountOf), and what require / usable answer for each account state.
import { expect } from 'chai';
import crypto from 'node:crypto';
import { openStore, type Store } from '../../db';
import { tokenKey, type TokenRow } from '../../db/store';
import { SecretBox } from '../../system/secretbox';
import type { AppConfig, AppService } from '../../application/services/apps';
import { AuthorizedAccounts } from '../../application/services/authorized-accounts';
import { freshDatabase, type TestDatabase } from '../helpers/db';

const app = (codeName: string, appId: string, enabled = true): AppConfig => ({
  platform: 'wechat-tpauth',
  codeName,
  appId,
  enabled,
  isDefault: false,
  config: {},
  updatedAt: 0,
});

describe('AuthorizedAccounts', () => {
  let db: TestDatabase;
  let store: Store;
  let accounts: AuthorizedAccounts;
  const apps = new Map([
    ['tp', app('tp', 'wxtp')],
    ['off', app('off', 'wxoff', false)],
  ]);
  const row = (codeName: string, subject: string): TokenRow =>
    ({
      key: tokenKey('wechat-tpauth', codeName, subject, 'authorizer_access_token'),
      platform: 'wechat-tpauth',
      codeName,
      subject,
      kind: 'authorizer_access_token',
    }) as TokenRow;

  before(async () => {
    db = await freshDatabase('sqlite');
    store = openStore(db.url);
    await store.migrate();
    const directory = {
      get: async (_p: string, codeName: string) => apps.get(codeName) ?? null,
    } as unknown as AppService;
    accounts = new AuthorizedAccounts(store, new SecretBox(crypto.randomBytes(32)), directory, 'wechat-tpauth');
    await accounts.put(apps.get('tp')!, 'wxgood', 'RT-good', null);
    await accounts.put(apps.get('tp')!, 'wxredo', 'RT-redo', null);
    await accounts.needsReauth(apps.get('tp')!, 'wxredo');
    await accounts.put(apps.get('tp')!, 'wxgone', 'RT-gone', null);
    await accounts.revoked(apps.get('tp')!, 'wxgone', Date.now() + 1000);
    await accounts.put(apps.get('off')!, 'wxgood', 'RT-off', null);
  });
  after(async () => {
    await store.close();
    await db.drop();
  });

  it('accountOf: the enabled app and the account of a row `appId:id`; nothing for a row without an account, another app’s, or a disabled app’s', async () => {
    expect(await accounts.accountOf(row('tp', 'wxtp:wxgood'))).to.deep.equal({ app: apps.get('tp'), id: 'wxgood' });
    expect(await accounts.accountOf(row('tp', 'wxtp'))).to.equal(null); // the platform's own token
    expect(await accounts.accountOf(row('tp', 'wxother:wxgood'))).to.equal(null);
    expect(await accounts.accountOf(row('off', 'wxoff:wxgood'))).to.equal(null);
    expect(await accounts.accountOf(row('ghost', 'wxtp:wxgood'))).to.equal(null);
  });

  it('servableAccountOf: only accounts authorized, not refused since, not revoked', async () => {
    expect(await accounts.servableAccountOf(row('tp', 'wxtp:wxgood'))).to.deep.equal({
      app: apps.get('tp'),
      id: 'wxgood',
    });
    for (const id of ['wxredo', 'wxgone', 'wxnever'])
      expect(await accounts.servableAccountOf(row('tp', `wxtp:${id}`)), id).to.equal(null);
  });

  it('require: 1012 for an account never seen, 1014 for one refused or revoked; the refresh token is kept sealed', async () => {
    const tp = apps.get('tp')!;
    const good = await accounts.require(tp, 'wxgood', 'authorizer', 'must authorize again');
    expect(good.refreshToken).to.match(/^enc:v1:/);
    expect(accounts.refreshToken(good)).to.equal('RT-good');
    const err = (id: string) =>
      accounts
        .require(tp, id, 'authorizer', 'must authorize again')
        .catch((e: { code: number; detail: string }) => [e.code, e.detail]);
    expect(await err('wxnever')).to.deep.equal([1012, 'tp: authorizer wxnever unknown']);
    expect(await err('wxredo')).to.deep.equal([1014, 'tp: authorizer wxredo must authorize again']);
    expect(await err('wxgone')).to.deep.equal([1014, 'tp: authorizer wxgone must authorize again']);
  });
});
