import type { Area } from './area';
import admin from './controllers/admin';
import cosauth from './controllers/cosauth';
import fengniao from './platforms/fengniao/index';
import minaauth from './controllers/minaauth';
import shansong from './platforms/shansong/index';
import toutiao from './platforms/toutiao/index';
import wechat from './platforms/wechat/index';
import wecom from './platforms/wecom/index';

/**
 * Every area of gatehouse, listed once, in name order: its platforms' config schemas, its
 * interfaces and its routes. A new area is one folder under controllers/ and one line here
 * (a plain import, so that tsc and a reader can follow every call past the registry).
 */
export const AREAS: readonly Area[] = [admin, cosauth, fengniao, minaauth, shansong, toutiao, wechat, wecom];
