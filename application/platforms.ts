import type { Platform } from './contract';
import alipay from './platforms/alipay';
import dingtalk from './platforms/dingtalk';
import feishu from './platforms/feishu';
import fengniao from './platforms/fengniao';
import qq from './platforms/qq';
import shansong from './platforms/shansong';
import toutiao from './platforms/toutiao';
import wechat from './platforms/wechat';
import wecom from './platforms/wecom';

/**
 * Every platform, listed once, in name order. A new platform is one folder under platforms/
 * exporting its contract (contract.ts `Platform`) and one line here; nothing else names it.
 */
export const PLATFORMS: readonly Platform[] = [
  alipay,
  dingtalk,
  feishu,
  fengniao,
  qq,
  shansong,
  toutiao,
  wechat,
  wecom,
];
