import type { Config } from '../../system/config';
import type { Logger } from '../../system/log';
import type { SecretBox } from '../../system/secretbox';
import type { Upstream } from '../../system/upstream';
import type { Store } from '../../db/store';
import type { AppService } from './apps';
import type { PushLog } from './pushes';
import type { TokenEngine } from './tokens/engine';

/**
 * What a platform's service is built from (Fengniao, Shansong): the shared parts of the services,
 * declared apart from services/index.ts so that a platform does not import back the module that
 * builds it (no import cycle). `Services` has all of these.
 */
export interface PlatformDeps {
  config: Config;
  store: Store;
  log: Logger;
  box: SecretBox;
  /** the one outbound HTTP client (metrics, timeout, no redirects) */
  upstream: Upstream;
  apps: AppService;
  /** the token engine every platform's tokens go through (§5) */
  engine: TokenEngine;
  pushes: PushLog;
}
