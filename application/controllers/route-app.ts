import type Koa from 'koa';
import { Codes } from '../../system/errors';
import type { Services } from '../contract';
import type { AppConfig } from '../services/apps';

/** the enabled app of `platform` named by the route's `:codeName`, or null with a 404 answered here */
export async function routeApp(ctx: Koa.Context, sv: Services, platform: string): Promise<AppConfig | null> {
  const app = await sv.apps.get(platform, String(ctx.params.codeName));
  if (app?.enabled) return app;
  ctx.status = 404;
  ctx.body = { returnCode: Codes.NO_APP, returnMessage: 'NO_APP' };
  return null;
}
