import crypto from 'node:crypto';
import os from 'node:os';
import type { Config } from '../../system/config';
import { CallerAuth } from '../../system/callers';
import type { Logger } from '../../system/log';
import { SecretBox } from '../../system/secretbox';
import { Upstream } from '../../system/upstream';
import type { Store } from '../../db/store';
import { AppService } from './apps';
import { WechatClient } from './clients/wechat';
import { SessionService } from './sessions';

/** Everything a handler may use; built once per process. */
export interface Services {
  config: Config;
  store: Store;
  log: Logger;
  box: SecretBox;
  upstream: Upstream;
  callers: CallerAuth;
  apps: AppService;
  wechat: WechatClient;
  sessions: SessionService;
  /** this process's name in leases */
  nodeId: string;
}

export function buildServices(config: Config, store: Store, log: Logger, jwtSecret: string): Services {
  const box = new SecretBox(config.masterKey);
  const upstream = new Upstream(config.upstreamTimeoutMs, log);
  const apps = new AppService(store, box);
  const wechat = new WechatClient(upstream, config.upstream.wechatApi);
  return {
    config,
    store,
    log,
    box,
    upstream,
    callers: new CallerAuth(jwtSecret),
    apps,
    wechat,
    sessions: new SessionService(store, apps, wechat, box),
    nodeId: `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`,
  };
}
