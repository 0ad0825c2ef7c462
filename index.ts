#!/usr/bin/env node
/**
 * gatehouse command line: serve (default), migrate, app, caller, operator, secrets, token, import.
 * A configuration problem prints one line naming the variable or field and exits 1.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import pino from 'pino';
import { ConfigError, loadConfig, masterKey, type Config } from './system/config';
import { SecretBox } from './system/secretbox';
import { rotateSecrets } from './application/services/secrets';
import { createLogger } from './system/log';
import { JTI_PATTERN, mintCaller, parseTtl } from './system/callers';
import { compose, openMigratedStore, start, unlock, VERSION } from './application';
import type { Services } from './application/contract';
import { firstError } from './application/services/apps';
import { OPERATOR_NAME, hashPassword } from './application/services/console-auth';
import { Codes, RpcError } from './system/errors';
import { tuneHeap } from './system/heap';
import { registerImport } from './application/importers/cli';

function fail(err: unknown): never {
  const msg = err instanceof ConfigError ? err.message : `gatehouse: ${(err as Error)?.message ?? String(err)}`;
  process.stderr.write(`${msg.split('\n')[0]}\n`);
  process.exit(1);
}

/** runs a one-shot command against the configured store */
async function withServices<T>(fn: (sv: Services, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const quiet = ['debug', 'trace'].includes(config.logLevel) ? config.logLevel : 'error';
  const log = createLogger(quiet, pino.destination(2));
  const store = await openMigratedStore(config);
  try {
    const jwtSecret = await unlock(config, store, log);
    const { services } = compose(config, store, log, jwtSecret);
    return await fn(services, config);
  } finally {
    await store.close();
  }
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** --platform must name a platform: a typo is one line listing them, exit 1 (not an empty list) */
function knownPlatform(sv: Services, platform: string | undefined): void {
  if (platform !== undefined && !sv.apps.platformDef(platform)) {
    throw new ConfigError(`--platform: unknown platform "${platform}" (one of ${sv.apps.platforms().join(', ')})`);
  }
}

const program = new Command('gatehouse')
  .version(VERSION)
  .description('WeChat-ecosystem session server and token central control');

program
  .command('serve', { isDefault: true })
  .description('serve RPC, callbacks and proxies (default)')
  .action(async () => {
    const config = loadConfig();
    tuneHeap(); // before the node allocates anything worth collecting (system/heap.ts)
    // buffered writes: a log line per request must not cost a write(2) each; but no line waits
    // more than ~100 ms (an unref'd flush every 50 ms), and what is buffered is written at exit
    const dest = pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 50 });
    const log = createLogger(config.logLevel, dest);
    process.once('exit', () => dest.flushSync());
    const g = await start(config, log);
    // the listening line, at once: written before /readyz can answer 200 (it answers 503 until start()
    // has logged it, and nothing else runs between start() returning and this line)
    dest.flushSync();
    // SIGTERM / SIGINT: /readyz answers 503 at once while the node serves on for GATEHOUSE_DRAIN_MS
    // (load balancers take it out); then it stops listening, in-flight requests finish (up to 8 s),
    // its refreshes under way finish, it frees its refresh leases and exits 0 — within the drain
    // window plus 9.5 s. A second signal ends the drain window at once; the deadline still holds.
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        g.endDrain();
        return;
      }
      stopping = true;
      log.info(
        { signal, drainMs: config.drainMs },
        'shutting down: /readyz answers 503, serving on until the drain ends',
      );
      const deadlineMs = config.drainMs + 9_500;
      setTimeout(() => {
        log.error({ deadlineMs }, 'shutdown took longer than the drain window and 9.5 s; exiting');
        process.exit(1);
      }, deadlineMs).unref();
      g.close(8_000, config.drainMs).then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ detail: (err as Error)?.message }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('migrate')
  .description('apply schema migrations and exit')
  .action(async () => {
    const config = loadConfig();
    const store = await openMigratedStore(config);
    const v = await store.schemaVersion();
    await store.close();
    process.stdout.write(`schema version ${v} (${store.dialect})\n`);
  });

const app = program.command('app').description('app configs, fields per platform: docs/PROTOCOL.md#6-app-configs');
app
  .command('put')
  .description('upsert app configs from a file, or one app from flags')
  .option('--file <path>', 'JSON array of app configs')
  .option('--platform <platform>')
  .option('--code-name <codeName>')
  .option('--app-id <appId>', 'appId / corpId / suiteId field, per platform')
  .option('--secret <secret>')
  .option('--set <key=value>', 'any other config field (repeatable; JSON values allowed)', collect, [])
  .option('--disabled', 'store the app disabled')
  .action(
    async (o: {
      file?: string;
      platform?: string;
      codeName?: string;
      appId?: string;
      secret?: string;
      set: string[];
      disabled?: boolean;
    }) => {
      await withServices(async (sv) => {
        if (o.file) {
          const n = await sv.apps.loadFile(o.file, o.file);
          process.stdout.write(`${n} app(s) upserted\n`);
          return;
        }
        if (!o.platform || !o.codeName) throw new ConfigError('app put: give --file, or --platform and --code-name');
        const def = sv.apps.platformDef(o.platform);
        if (!def)
          throw new ConfigError(
            `--platform: unknown platform "${o.platform}" (one of ${sv.apps.platforms().join(', ')})`,
          );
        const entry: Record<string, unknown> = { platform: o.platform, codeName: o.codeName };
        if (o.appId) entry[def.idField] = o.appId;
        if (o.secret) entry.secret = o.secret;
        if (o.disabled) entry.enabled = false;
        for (const kv of o.set) {
          const i = kv.indexOf('=');
          if (i < 1) throw new ConfigError(`--set: expected key=value, got "${kv}"`);
          const raw = kv.slice(i + 1);
          let v: unknown = raw;
          try {
            v = JSON.parse(raw);
          } catch {
            v = raw;
          }
          entry[kv.slice(0, i)] = v;
        }
        const [{ platform, codeName, ...config }] = sv.apps.parseEntries([entry], 'app');
        let created: boolean;
        try {
          ({ created } = await sv.apps.put(platform, codeName, config));
        } catch (err) {
          // e.g. an identity owned by another codeName: one line naming the field and the owner
          if (err instanceof RpcError && err.code === Codes.PARA_ERROR)
            throw new ConfigError(`app put --code-name ${codeName}: ${firstError(err)}`);
          throw err;
        }
        process.stdout.write(`${created ? 'created' : 'updated'} ${platform} ${codeName}\n`);
      });
    },
  );
app
  .command('list')
  .option('--platform <platform>')
  .action(async (o: { platform?: string }) => {
    await withServices(async (sv) => {
      knownPlatform(sv, o.platform);
      for (const r of await sv.apps.list(o.platform)) {
        process.stdout.write(
          [
            r.platform,
            r.codeName,
            r.appId,
            r.enabled ? 'enabled' : 'disabled',
            ...(r.isDefault ? ['default'] : []),
          ].join('\t') + '\n',
        );
      }
    });
  });
app
  .command('rm')
  .requiredOption('--platform <platform>')
  .requiredOption('--code-name <codeName>')
  .action(async (o: { platform: string; codeName: string }) => {
    await withServices(async (sv) => {
      knownPlatform(sv, o.platform);
      if (!(await sv.apps.delete(o.platform, o.codeName))) {
        throw new Error(`app rm: there is no ${o.platform} app "${o.codeName}" (gatehouse app list shows the apps)`);
      }
      process.stdout.write(`removed ${o.platform} ${o.codeName}\n`);
    });
  });

const caller = program
  .command('caller')
  .description('caller tokens and scopes: docs/PROTOCOL.md#4-callers-tokens-scopes-and-the-apps-claim');
caller
  .command('token')
  .description('print a caller JWT (with a random jti, recorded in the store: never the token)')
  .requiredOption('--sub <name>', 'caller name')
  .requiredOption('--scope <scopes>', 'space-separated interfaceName patterns, e.g. "wechat.* admin.*"')
  .option('--ttl <ttl>', 'lifetime: 30d, 12h, 15m or seconds', '30d')
  .option('--apps <ids>', 'comma-separated codeNames / appids / corpids this caller may touch')
  .action(async (o: { sub: string; scope: string; ttl: string; apps?: string }) => {
    let ttlSeconds: number;
    try {
      ttlSeconds = parseTtl(o.ttl);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
    const apps = o.apps
      ? o.apps
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
      : undefined;
    const config = loadConfig();
    const store = await openMigratedStore(config);
    try {
      const secret = await unlock(config, store, createLogger('silent'));
      const minted = mintCaller(secret, { sub: o.sub, scope: o.scope, apps, ttlSeconds });
      // recorded before it is printed: a token that exists can always be listed and revoked
      await store.recordCaller(minted.record);
      process.stdout.write(`${minted.token}\n`);
    } finally {
      await store.close();
    }
  });
caller
  .command('list')
  .description('caller tokens minted by gatehouse and revoked ids (never a token)')
  .option('--json', 'one JSON object per line')
  .action(async (o: { json?: boolean }) => {
    await withServices(async (sv) => {
      const rows = await sv.store.listCallers();
      const iso = (s: number | null) => (s === null ? '-' : new Date(s * 1000).toISOString());
      if (!o.json) process.stdout.write('jti\tsub\tscope\tapps\texp\trevoked\n');
      for (const r of rows) {
        const revoked = r.revokedAt !== null;
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ jti: r.jti, sub: r.sub, scope: r.scope, apps: r.apps, exp: r.exp, revoked })}\n`
            : [
                r.jti,
                r.sub ?? '-',
                r.scope ?? '-',
                r.apps ? r.apps.join(',') : '*',
                iso(r.exp),
                revoked ? 'revoked' : '-',
              ].join('\t') + '\n',
        );
      }
    });
  });
caller
  .command('revoke')
  .description('revoke a caller token by its jti: every node refuses it (4001) within 5 s')
  .requiredOption('--jti <jti>', 'the token id (see caller list)')
  .action(async (o: { jti: string }) => {
    if (!new RegExp(JTI_PATTERN).test(o.jti)) throw new ConfigError('--jti: expected 1 to 64 visible ASCII characters');
    await withServices(async (sv) => {
      const r = await sv.store.revokeCaller(o.jti, Date.now());
      const what = r.already
        ? 'was already revoked'
        : r.known
          ? 'revoked'
          : 'revoked (not minted by this gatehouse: recorded, any token carrying it is refused)';
      process.stdout.write(`${o.jti} ${what}\n`);
    });
  });

const operator = program
  .command('operator')
  .description('operators of the console (/console): name, scrypt-hashed password, scope');
operator
  .command('add')
  .description('adds or replaces an operator; the password is read from stdin (one line), never an argument')
  .argument('<name>', 'letters, digits, _ . @ -; up to 64')
  .option('--scope <scope>', 'space-separated scope of its console sessions', 'admin.*')
  .action(async (name: string, o: { scope: string }) => {
    if (!OPERATOR_NAME.test(name)) throw new ConfigError(`operator: "${name}" is not a valid name`);
    const password = fs.readFileSync(0, 'utf8').split(/\r?\n/)[0] ?? '';
    if (password.length < 12 || password.length > 1024)
      throw new ConfigError('operator: the password (stdin) must be 12 to 1024 characters');
    const passwordHash = await hashPassword(password);
    await withServices(async (sv) => {
      const created = await sv.store.putOperator({ name, passwordHash, scope: o.scope }, Date.now());
      process.stdout.write(`operator ${name} ${created ? 'added' : 'replaced (password, scope; unlocked)'}\n`);
    });
  });
operator
  .command('list')
  .description('operators: name, scope, locked until')
  .action(async () => {
    await withServices(async (sv) => {
      process.stdout.write('name\tscope\tlocked\n');
      for (const r of await sv.store.listOperators()) {
        const locked = r.lockedUntil > Date.now() ? new Date(r.lockedUntil).toISOString() : '-';
        process.stdout.write(`${r.name}\t${r.scope}\t${locked}\n`);
      }
    });
  });
operator
  .command('rm')
  .argument('<name>')
  .description('removes an operator (its open console sessions end when they expire, within 30 minutes)')
  .action(async (name: string) => {
    await withServices(async (sv) => {
      const removed = await sv.store.deleteOperator(name);
      process.stdout.write(`${removed ? 'removed' : 'no such operator'}: ${name}\n`);
      if (!removed) process.exitCode = 1;
    });
  });

program
  .command('secrets')
  .description('secrets at rest')
  .command('rotate')
  .description('re-seal every stored secret under a new master key, in one transaction')
  .requiredOption('--new-key <base64>', 'the new GATEHOUSE_MASTER_KEY (base64 of 32 bytes)')
  .action(async (o: { newKey: string }) => {
    const next = masterKey({ '--new-key': o.newKey }, '--new-key');
    if (!next) throw new ConfigError('--new-key: must be base64 of 32 bytes');
    await withServices(async (sv, config) => {
      const n = await rotateSecrets(sv.store, sv.apps, new SecretBox(config.masterKey), new SecretBox(next));
      process.stdout.write(
        `re-sealed ${n} value(s); restart every node with GATEHOUSE_MASTER_KEY set to the new key\n`,
      );
    });
  });

program
  .command('token')
  .description('token status')
  .command('list')
  .description('every token: expiry, last refresh, last error (never a value)')
  .option('--platform <platform>')
  .option('--code-name <codeName>')
  .action(async (o: { platform?: string; codeName?: string }) => {
    await withServices(async (sv) => {
      knownPlatform(sv, o.platform);
      const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
      process.stdout.write('platform\tcodeName\tsubject\tkind\texpiresAt\trefreshedAt\tlastError\n');
      for (const t of await sv.store.listTokens({ platform: o.platform, codeName: o.codeName })) {
        process.stdout.write(
          [t.platform, t.codeName, t.subject, t.kind, iso(t.expiresAt), iso(t.refreshedAt), t.lastError ?? '-'].join(
            '\t',
          ) + '\n',
        );
      }
    });
  });

registerImport(program);

// an unknown command is one line naming it and the commands, exit 1 (without this check the first
// word would go to the default command, serve, as an argument it does not take)
const commandNames = (c: Command) => c.commands.map((sub) => sub.name());
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && ![...commandNames(program), 'help'].includes(first)) {
  fail(new Error(`unknown command '${first}' (commands: ${commandNames(program).join(', ')}; see gatehouse --help)`));
}
for (const group of program.commands.filter((c) => c.commands.length > 0)) {
  group.on('command:*', (operands: string[]) => {
    fail(
      new Error(
        `unknown command '${group.name()} ${operands[0]}' (${group.name()} commands: ` +
          `${commandNames(group).join(', ')})`,
      ),
    );
  });
}

program.parseAsync(process.argv).catch(fail);
