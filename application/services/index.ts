import crypto from 'node:crypto';
import os from 'node:os';
import type { Config } from '../../system/config';
import { CallerAuth } from '../../system/callers';
import type { Logger } from '../../system/log';
import { SecretBox } from '../../system/secretbox';
import { Metrics } from '../../system/metrics';
import { RateLimiter } from '../../system/ratelimit';
import { Upstream } from '../../system/upstream';
import type { Store } from '../../db/store';
import { AppService } from './apps';
import { AuthStates } from './auth-states';
import { WechatClient } from '../platforms/wechat/client';
import { ToutiaoClient } from '../platforms/toutiao/client';
import { WecomClient } from '../platforms/wecom/client';
import type { PlatformDeps } from './deps';
import { Fengniao } from '../platforms/fengniao/service';
import { PushLog } from './pushes';
import { Shansong } from '../platforms/shansong/service';
import { SessionService } from './sessions';
import { TokenEngine } from './tokens/engine';
import { WechatTokens } from '../platforms/wechat/tokens';
import { WechatTp } from '../platforms/wechat/tp';
import { WecomTokens } from '../platforms/wecom/tokens';
import { WecomTp } from '../platforms/wecom/tp';

/** Everything a handler may use; built once per process. */
export interface Services extends PlatformDeps {
  callers: CallerAuth;
  metrics: Metrics;
  wechat: WechatClient;
  wecom: WecomClient;
  toutiao: ToutiaoClient;
  sessions: SessionService;
  wechatTokens: WechatTokens;
  wecomTokens: WecomTokens;
  wechatTp: WechatTp;
  fengniao: Fengniao;
  shansong: Shansong;
  wecomTp: WecomTp;
  /** this process's name in leases */
  nodeId: string;
  /** authorization-flow state nonces (§7 trust) */
  authStates: AuthStates;
  /** the node's one per-IP limiter for public RPC interfaces and public page routes */
  publicLimiter: RateLimiter;
}

export function buildServices(config: Config, store: Store, log: Logger, jwtSecret: string): Services {
  const box = new SecretBox(config.masterKey);
  const metrics = new Metrics();
  const upstream = new Upstream(config.upstreamTimeoutMs, log, metrics);
  const apps = new AppService(store, box);
  const wechat = new WechatClient(upstream, config.upstream.wechatApi);
  const wecom = new WecomClient(upstream, config.upstream.wecomApi);
  const pushes = new PushLog(store, config.pushRetentionDays, log);
  const nodeId = `${os.hostname()}:${process.pid}:${crypto.randomBytes(3).toString('hex')}`;
  const engine = new TokenEngine(store, log, {
    metrics,
    nodeId,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    concurrency: config.refreshConcurrency,
    scanMs: config.refreshScanMs,
  });
  const deps: PlatformDeps = { config, store, log, box, upstream, apps, engine, pushes };
  return {
    ...deps,
    callers: new CallerAuth(jwtSecret, store, log),
    metrics,
    wechat,
    wecom,
    toutiao: new ToutiaoClient(upstream, config.upstream.toutiaoApi),
    sessions: new SessionService(store, apps, wechat, box, config.sessionCacheMs),
    wechatTokens: new WechatTokens(engine, wechat, apps),
    wecomTokens: new WecomTokens(engine, wecom, apps),
    wechatTp: new WechatTp(store, apps, engine, wechat, box, pushes, log, config.upstream.wechatMp, config.publicUrl),
    wecomTp: new WecomTp(store, apps, engine, wecom, box, pushes, log, config.upstream.wecomOpen, config.publicUrl),
    fengniao: new Fengniao(deps),
    shansong: new Shansong(deps),
    nodeId,
    authStates: new AuthStates(store, log),
    publicLimiter: new RateLimiter(config.publicRateLimit),
  };
}
