import { FakeAlipay } from '../fake/alipay';
import { FakeDingtalk } from '../fake/dingtalk';
import { FakeFeishu } from '../fake/feishu';
import { FakeFengniao } from '../fake/fengniao';
import { FakePlatform } from '../fake/platform';
import { installQq } from '../fake/qq';
import { installShansong, type FakeShansong } from '../fake/shansong';
import { installToutiao } from '../fake/toutiao';
import { FakeWechatTp } from '../fake/wechat-tp';
import { installWecomTp, type FakeWecomTp } from '../fake/wecom-tp';

/** one started fake platform with every plugin of test/fake/ installed */
export interface Fakes {
  fake: FakePlatform;
  wx: FakeWechatTp;
  wc: FakeWecomTp;
  fn: FakeFengniao;
  ss: FakeShansong;
  alipay: FakeAlipay;
  feishu: FakeFeishu;
  dingtalk: FakeDingtalk;
}

/** starts a FakePlatform with every plugin of test/fake/ installed on it */
export async function startFakes(): Promise<Fakes> {
  const fake = await new FakePlatform().start();
  const wx = new FakeWechatTp(fake);
  const wc = installWecomTp(fake);
  installToutiao(fake);
  installQq(fake);
  const fn = new FakeFengniao(fake);
  const ss = installShansong(fake);
  const alipay = new FakeAlipay(fake);
  const feishu = new FakeFeishu(fake);
  const dingtalk = new FakeDingtalk(fake);
  return { fake, wx, wc, fn, ss, alipay, feishu, dingtalk };
}
