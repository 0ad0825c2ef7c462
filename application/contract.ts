import type Router from '@koa/router';
import type { CallerAuth } from '../system/callers';
import type { Metrics } from '../system/metrics';
import type { RateLimiter } from '../system/ratelimit';
import type { InterfaceDef, Registry } from '../system/registry';
import type { AppKind } from './services/apps';
import type { AuthStates } from './services/auth-states';
import type { ConsoleAuth } from './services/console-auth';
import type { PlatformDeps } from './services/deps';
import type { MiniProgramLogin, SessionService } from './services/sessions';

/**
 * The contracts of application/: what a platform folder (`platforms/<name>/index.ts`, listed in
 * `platforms.ts`) and a controller folder (`controllers/<name>/index.ts`, listed in `areas.ts`)
 * export, and the services their handlers are given.
 */

/** One RPC interface of an area or platform: handler types derived from its para / result schemas. */
export type Interface<P = unknown, R = unknown> = InterfaceDef<Services, P, R>;

/** Everything a handler may use; built once per process (services/index.ts). */
export interface Services extends PlatformDeps {
  callers: CallerAuth;
  metrics: Metrics;
  /** Wafer sessions (qcloud.cam.*), logging in through the platforms that offer mini-program login */
  sessions: SessionService;
  /** this process's name in leases */
  nodeId: string;
  /** authorization-flow state nonces (§7 trust) */
  authStates: AuthStates;
  /** the node's one per-IP limiter for public RPC interfaces and public page routes */
  publicLimiter: RateLimiter;
  /** console sign-in (operators, caller tokens), its sessions and their CSRF tokens; minting */
  consoleAuth: ConsoleAuth;
  /** a platform's parts (client, token kinds, services), built once from its contract */
  parts<R>(platform: Platform<R>): R;
}

/** the variable that overrides a platform's upstream base URL `key` (tests, egress proxies): GATEHOUSE_WECHAT_API … */
export const upstreamEnv = (p: Platform, key: string): string =>
  `GATEHOUSE_${p.name.toUpperCase()}_${key.toUpperCase()}`;

/**
 * A platform: one folder under `platforms/`, one line in `platforms.ts`. Nothing outside its folder
 * names it; the framework and the cross-platform areas reach it only through this contract.
 */
export interface Platform<R = unknown, U extends string = string> {
  /** its folder, and the first segment of its interface names */
  name: string;
  /** its kinds of app config (§6): JSON Schema, identity, secret fields, a sample */
  apps: AppKind[];
  /** its upstream base URLs by key, each overridden by its `upstreamEnv` variable (checked at start-up) */
  upstreams: Record<U, string>;
  /**
   * other names a platform's documents give an upstream's variable, read when its `upstreamEnv`
   * variable is not set (Feishu: `GATEHOUSE_LARK_API` for `GATEHOUSE_FEISHU_LARK`)
   */
  upstreamAliases?: Partial<Record<U, string>>;
  /**
   * Builds its parts from the shared services and its resolved upstream URLs: its client, its
   * token kinds (each spec with its background resolver, registered with the engine here) and
   * its services. Runs once per process.
   */
  build(deps: PlatformDeps, urls: Record<U, string>): R;
  /** its RPC interfaces, from one module or several (its apps', its third-party platform's …) */
  interfaces?: OneOrMore<InterfacesOf<R>>;
  /** its routes: push callbacks, authorization pages, signed proxies (one module or several) */
  routes?: OneOrMore<RoutesOf<R>>;
  /** mini-program login for the Wafer session interfaces (qcloud.cam.*), if it offers one */
  miniProgram?(parts: R): MiniProgramLogin;
}

// method types (bivariant in `parts`, as methods are), so that a Platform<Fengniao> is a Platform
type InterfacesOf<R> = { declare(parts: R): Interface[] }['declare'];
type RoutesOf<R> = { declare(router: Router, sv: Services, parts: R): void }['declare'];

/** one declaration, or several that are all used */
export type OneOrMore<F> = F | readonly F[];

/** the declarations of a OneOrMore member, none when it is absent */
export const each = <F>(d: OneOrMore<F> | undefined): readonly F[] =>
  d === undefined ? [] : Array.isArray(d) ? (d as readonly F[]) : [d as F];

/** Declares a platform; the type parameters are inferred from `build` and `upstreams`. */
export function definePlatform<R, U extends string>(p: Platform<R, U>): Platform<R, U> {
  return p;
}

/**
 * A controller folder over every platform (`controllers/<name>/index.ts`, listed in `areas.ts`):
 * admin, minaauth (qcloud.cam.*), workauth (qcloud.work.*), cosauth.
 */
export interface Area {
  name: string;
  /** kinds of app config it serves itself (cosauth: COS profiles) */
  apps?: AppKind[];
  interfaces?(services: Services): Interface[];
  /** its routes; `registry` is every interface, for a route that dispatches RPC itself (the console) */
  routes?(router: Router, services: Services, registry: Registry<Services>): void;
}
