import type { Command } from 'commander';
import { ConfigError } from '../../system/config';
import type * as ConfigModule from '../../system/config';
import type * as LogModule from '../../system/log';
import type * as PinoModule from 'pino';
import type * as AppModule from '..';
import type { Services } from '../contract';
import type * as PlanModule from './plan';
import type * as SourceModule from './source';
import type * as VarysModule from './varys';
import type * as WxcomponentModule from './wxcomponent';
import type * as WaferForkModule from './wafer-fork';

/**
 * `gatehouse import varys | wxcomponent | wafer-fork --from mysql://… [--apply]`: reads another
 * server's database and brings its apps and the state worth keeping into gatehouse's store
 * (docs/MIGRATING.md). A dry run unless --apply; each platform's writes in one transaction;
 * a second run changes nothing. The modules load when the command runs, not when gatehouse starts.
 */

/* eslint-disable @typescript-eslint/no-require-imports -- the importers load when their command runs */

const collect = (v: string, prev: string[]) => [...prev, v];

/** `name=value` options as a record (`--agent-id corp=1000002`) */
function pairs(option: string, values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i < 1 || i === v.length - 1) throw new ConfigError(`${option}: expected codeName=value, got "${v}"`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

interface Common {
  from: string;
  apply?: boolean;
}

/** opens gatehouse's store and the source, plans, carries out, prints the report */
async function run(
  name: string,
  o: Common,
  plan: (sv: Services, src: SourceModule.Source) => Promise<PlanModule.Step[]>,
): Promise<void> {
  const pino = require('pino') as typeof PinoModule;
  const { loadConfig } = require('../../system/config') as typeof ConfigModule;
  const { createLogger } = require('../../system/log') as typeof LogModule;
  const { compose, openMigratedStore, unlock } = require('..') as typeof AppModule;
  const { Source } = require('./source') as typeof SourceModule;
  const { carryOut, report } = require('./plan') as typeof PlanModule;
  const config = loadConfig();
  const quiet = ['debug', 'trace'].includes(config.logLevel) ? config.logLevel : 'error';
  const log = createLogger(quiet, pino.default.destination(2));
  const src = await Source.open(o.from);
  try {
    const store = await openMigratedStore(config);
    try {
      const jwtSecret = await unlock(config, store, log);
      const { services } = compose(config, store, log, jwtSecret);
      const steps = await plan(services, src);
      const outcome = await carryOut(services, steps, o.apply === true);
      process.stdout.write(report(name, outcome));
    } finally {
      await store.close();
    }
  } finally {
    await src.close();
  }
}

/** registers `gatehouse import …` on the program */
export function registerImport(program: Command): void {
  const imp = program
    .command('import')
    .description('bring apps and state over from varys, wxcomponent or the Wafer fork (docs/MIGRATING.md)');
  const from = '--from <url>';
  const fromHelp = 'the source database, mysql://user:password@host:port/db (read only)';
  const apply = ['--apply', 'write (default: a dry run that prints what it would do)'] as const;

  imp
    .command('varys')
    .description("varys's configs, tickets, authorizers' refresh tokens, permanent codes, merchants' refresh tokens")
    .requiredOption(from, fromHelp)
    .option(...apply)
    .option(
      '--agent-id <codeName=agentId>',
      'the agent id of a WeCom app varys kept without one (repeatable)',
      collect,
      [],
    )
    .action(async (o: Common & { agentId: string[] }) => {
      const agentIds = pairs('--agent-id', o.agentId);
      await run('varys', o, async (sv, src) =>
        (require('./varys') as typeof VarysModule).planVarys(sv, src, { agentIds }),
      );
    });

  imp
    .command('wxcomponent')
    .description("wxcloudrun-wxcomponent's component config, ticket, authorizers and forwarding rules")
    .requiredOption(from, fromHelp)
    .option(...apply)
    .option(
      '--aes-key <key>',
      "wxcomponent's AesKey (server.conf); default: MD5 of the --from password, as wxcomponent derives it",
    )
    .option('--appid <appid>', "the component appid (wxcomponent's WX_APPID), when its database does not name it")
    .option('--code-name <codeName>', 'the codeName to give the platform', 'wxcomponent')
    .option('--token <token>', "the platform's message token (WX_TOKEN), if WeChat pushes encrypted messages")
    .option('--encoding-aes-key <key>', "the platform's EncodingAESKey (WX_AESKEY), likewise")
    .action(
      async (
        o: Common & { aesKey?: string; appid?: string; codeName: string; token?: string; encodingAesKey?: string },
      ) => {
        await run('wxcomponent', o, async (sv, src) =>
          (require('./wxcomponent') as typeof WxcomponentModule).planWxcomponent(sv, src, {
            aesKey: o.aesKey,
            appId: o.appid,
            codeName: o.codeName,
            token: o.token,
            encodingAesKey: o.encodingAesKey,
          }),
        );
      },
    );

  imp
    .command('wafer-fork')
    .description("the Wafer fork's apps (cAppinfo, cAppinfo_work) and live sessions (cSessionInfo)")
    .requiredOption(from, fromHelp)
    .option(...apply)
    .action(async (o: Common) => {
      await run('wafer-fork', o, async (sv, src) =>
        (require('./wafer-fork') as typeof WaferForkModule).planWaferFork(sv, src),
      );
    });
}
