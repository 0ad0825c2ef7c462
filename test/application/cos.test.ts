import { expect } from 'chai';
import { cosFileId, cosV4, cosV4Sign, cosV5 } from '../../application/services/crypto/cos';
import { startNode, type TestNode } from '../helpers/gatehouse';

describe('COS signatures (official vectors)', () => {
  it('v4: sign = base64(HMAC-SHA1(secretKey, orig) ‖ orig)', () => {
    const orig =
      'a=200001&b=newbucket&k=AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv&e=1437995704&t=1437995644&r=2081660421&f=';
    expect(cosV4Sign('bLcPnl88WU30VY57ipRhSePfPdOfSruK', orig)).to.equal(
      'wHgvVkXpcZ3d+G0rOkAJml3R5NdhPTIwMDAwMSZiPW5ld2J1Y2tldCZrPUFLSURVZkxVRVVpZ1FpWHFtN0NWU3NwS0pudWFpSUt0eHFBdiZlPTE0Mzc5OTU3MDQmdD0xNDM3OTk1NjQ0JnI9MjA4MTY2MDQyMSZmPQ==',
    );
    const same = cosV4({
      appId: '200001',
      bucket: 'newbucket',
      secretId: 'AKIDUfLUEUigQiXqm7CVSspKJnuaiIKtxqAv',
      secretKey: 'bLcPnl88WU30VY57ipRhSePfPdOfSruK',
      expiration: 1437995704,
      now: 1437995644,
      random: 2081660421,
    });
    expect(same).to.equal(cosV4Sign('bLcPnl88WU30VY57ipRhSePfPdOfSruK', orig));
  });

  it('v4 fileId is /appid/bucket/path, URL-encoded except /', () => {
    expect(cosFileId('200001', 'b', 'dir/a b/文件.jpg')).to.equal('/200001/b/dir/a%20b/%E6%96%87%E4%BB%B6.jpg');
    expect(cosFileId('200001', 'b', '/x')).to.equal('/200001/b/x');
  });

  it('v5: the PUT example of the COS docs', () => {
    const r = cosV5({
      secretId: 'AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q',
      secretKey: 'BQYIM75p8x0iWVFSIgqEKwFprpRSVHlz',
      keyTime: '1557989151;1557996351',
      method: 'put',
      path: '/exampleobject(腾讯云)',
      headers: {
        'Content-Length': '13',
        'Content-MD5': 'mQ/fVh815F3k6TAUm8m0eg==',
        'Content-Type': 'text/plain',
        Date: 'Thu, 16 May 2019 06:45:51 GMT',
        Host: 'examplebucket-1250000000.cos.ap-beijing.myqcloud.com',
        'x-cos-acl': 'private',
        'x-cos-grant-read': 'uin="100000000011"',
      },
    });
    expect(r.signKey).to.equal('eb2519b498b02ac213cb1f3d1a3d27a3b3c9bc5f');
    expect(r.authorization).to.include(
      'q-header-list=content-length;content-md5;content-type;date;host;x-cos-acl;x-cos-grant-read',
    );
    expect(r.authorization).to.match(/&q-signature=3b8851a11a569213c17ba8fa7dcf2abec6935172$/);
    expect(r.authorization).to.include(
      'q-ak=AKIDQjz3ltompVjBni5LitkWHFlFpwkn9U5q&q-sign-time=1557989151;1557996351&q-key-time=1557989151;1557996351',
    );
  });
});

describe('qcloud.cos.auth.* on the wire', () => {
  let node: TestNode;
  let tok: string;
  const rpc = (name: string, para: Record<string, unknown>) => node.rpc(name, para, tok);
  const orig = (sign: string) => Buffer.from(sign, 'base64').subarray(20).toString('utf8');

  before(async () => {
    node = await startNode({ dialect: 'sqlite' });
    tok = node.token('qcloud.cos.* admin.*');
    await rpc('admin.app.put', {
      platform: 'cos',
      codeName: 'files',
      config: { appId: '1250000000', secretId: 'AKIDprofile', secretKey: 'profile-secret' },
    });
  });
  after(async () => node?.close());

  it('reusable with a profile: e = expiration, f = the URL-encoded file id', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const r = await rpc('qcloud.cos.auth.reusable', {
      profile: 'files',
      bucket: 'pics',
      expiration: exp,
      filepath: 'a b/c.jpg',
    });
    expect(r.returnCode).to.equal(0);
    const o = orig(r.returnData);
    expect(o).to.match(
      new RegExp(`^a=1250000000&b=pics&k=AKIDprofile&e=${exp}&t=\\d+&r=\\d+&f=/1250000000/pics/a%20b/c.jpg$`),
    );
    expect(r.returnData).to.equal(cosV4Sign('profile-secret', o));
    const noFile = orig(
      (await rpc('qcloud.cos.auth.reusable', { profile: 'files', bucket: 'pics', expiration: exp })).returnData,
    );
    expect(noFile).to.match(/&f=$/);
  });

  it('nonreusable with inline credentials (Wafer fork): e = 0 and a file id', async () => {
    const r = await rpc('qcloud.cos.auth.nonreusable', {
      appid: '200001',
      sid: 'AKIDinline',
      skey: 'inline-secret',
      bucket: 'b',
      filepath: '/x.txt',
    });
    const o = orig(r.returnData);
    expect(o).to.match(/^a=200001&b=b&k=AKIDinline&e=0&t=\d+&r=\d+&f=\/200001\/b\/x.txt$/);
    expect(r.returnData).to.equal(cosV4Sign('inline-secret', o));
  });

  it("v5 returns the Authorization header and its key time: the one cos-nodejs-sdk-v5 computes with the profile's keys", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const COS = require('cos-nodejs-sdk-v5') as { getAuthorization(o: Record<string, unknown>): string };
    const para = {
      method: 'PUT',
      path: '/dir/photo 1.jpg',
      headers: { Host: 'b-1250000000.cos.ap-guangzhou.myqcloud.com', 'x-cos-acl': 'private' },
      query: { 'response-cache-control': 'no-cache' },
    };
    const r = await rpc('qcloud.cos.auth.v5', { profile: 'files', ...para, expires: 60 });
    expect(r.returnCode).to.equal(0);
    expect(Object.keys(r.returnData).sort()).to.deep.equal(['authorization', 'keyTime']);
    expect(r.returnData.keyTime).to.match(/^\d+;\d+$/);
    const [a, b] = r.returnData.keyTime.split(';').map(Number);
    expect(b - a).to.equal(60);
    expect(Math.abs(a - Date.now() / 1000)).to.be.below(300);
    const theirs = COS.getAuthorization({
      SecretId: 'AKIDprofile',
      SecretKey: 'profile-secret',
      KeyTime: r.returnData.keyTime,
      Method: para.method,
      Pathname: para.path,
      Headers: para.headers,
      Query: para.query,
    });
    expect(r.returnData.authorization).to.equal(theirs);
  });

  it('refuses bad para with 1003 and unknown profiles with 1012', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Record<string, unknown>, number]> = [
      ['past expiration', { profile: 'files', bucket: 'b', expiration: now - 1 }, 1003],
      ['expiration beyond 90 days', { profile: 'files', bucket: 'b', expiration: now + 91 * 86400 }, 1003],
      [
        'profile and inline keys',
        { profile: 'files', appid: '1', sid: 'x', skey: 'y', bucket: 'b', expiration: now + 60 },
        1003,
      ],
      ['neither', { bucket: 'b', expiration: now + 60 }, 1003],
      ['half the inline keys', { appid: '1', sid: 'x', bucket: 'b', expiration: now + 60 }, 1003],
      ['an unknown profile', { profile: 'nope', bucket: 'b', expiration: now + 60 }, 1012],
    ];
    for (const [what, para, code] of cases)
      expect((await rpc('qcloud.cos.auth.reusable', para)).returnCode, what).to.equal(code);
    expect(
      (await rpc('qcloud.cos.auth.v5', { profile: 'files', method: 'GET', path: 'no-slash' })).returnCode,
    ).to.equal(1003);
    expect(
      (await rpc('qcloud.cos.auth.v5', { profile: 'files', method: 'GET', path: '/x', expires: 86401 })).returnCode,
    ).to.equal(1003);
  });
});

// the SDK signs only the headers on its own list (Content-Type is not one); the official vector above covers it
describe('COS v5 interoperability with the official cos-nodejs-sdk-v5 getAuthorization', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const COS = require('cos-nodejs-sdk-v5') as { getAuthorization(o: Record<string, unknown>): string };
  const cases: Array<{
    method: string;
    path: string;
    headers?: Record<string, string>;
    query?: Record<string, string>;
  }> = [
    { method: 'GET', path: '/photo.jpg', headers: { Host: 'b-1250000000.cos.ap-guangzhou.myqcloud.com' } },
    {
      method: 'PUT',
      path: '/目录/文件 (1).txt',
      headers: { Host: 'b-1250000000.cos.ap-guangzhou.myqcloud.com', 'x-cos-meta-note': "a b!'()*" },
      query: { 'response-content-type': 'application/json', uploadId: 'a/b+c' },
    },
    { method: 'POST', path: '/x', query: { uploads: '', 'max-uploads': '10' } },
    { method: 'DELETE', path: '/a/b/c' },
  ];
  for (const c of cases) {
    it(`${c.method} ${c.path}`, () => {
      const keyTime = '1557989151;1557996351';
      const ours = cosV5({ secretId: 'AKIDinterop', secretKey: 'interop-secret', keyTime, ...c });
      const theirs = COS.getAuthorization({
        SecretId: 'AKIDinterop',
        SecretKey: 'interop-secret',
        KeyTime: keyTime,
        Method: c.method,
        Pathname: c.path,
        Headers: c.headers ?? {},
        Query: c.query ?? {},
      });
      expect(ours.authorization).to.equal(theirs);
    });
  }
});
