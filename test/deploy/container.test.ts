import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configFromEnv } from '../../system/config';
import { ROOT, freePort, serve, type ServeProcess } from '../helpers/cli';
import {
  configEnvNames,
  dockerIgnored,
  dockerignorePatterns,
  durationMs,
  envPairs,
  execForm,
  healthcheck,
  interpolate,
  nginxSize,
  parseDockerfile,
  parseEnvFile,
  parseNginx,
  parseUnit,
  parseYaml,
  unknownNames,
  type Env,
  type NginxDirective,
  type Stage,
  type Yaml,
} from './files';

/**
 * The deployment files (issue 13) agree with the code: every GATEHOUSE_* name they set is one the
 * code reads and the code accepts their values; the port they expose is the default port; the
 * health check passes against a running gatehouse; the command is the built CLI's `serve`; the
 * compose nodes use the compose MariaDB and nginx forwards to exactly those nodes. No container
 * runs here: the files are read, and the commands that can run outside a container are run.
 */

const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
/** computed on first use, inside a test: a file that cannot be read fails its tests, not the run */
function lazy<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}
const defaults = lazy(() => configFromEnv({}));
const known = lazy(() => configEnvNames());
/** what a deployment would put in .env / the console: secrets of the right shape */
const SECRETS: Env = {
  MARIADB_PASSWORD: 'c0ffee0123456789abcdef',
  GATEHOUSE_MASTER_KEY: crypto.randomBytes(32).toString('base64'),
  GATEHOUSE_JWT_SECRET: crypto.randomBytes(48).toString('base64'),
};

function expectKnown(env: Env, where: string): void {
  expect(unknownNames(env, known()), `${where}: GATEHOUSE_* names the code does not read`).to.deep.equal([]);
}

const map = (v: Yaml | undefined, what: string): { [key: string]: Yaml } => {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${what}: not a map`);
  return v;
};
const list = (v: Yaml | undefined, what: string): Yaml[] => {
  if (!Array.isArray(v)) throw new Error(`${what}: not a list`);
  return v;
};
const str = (v: Yaml | undefined, what: string): string => {
  if (typeof v !== 'string') throw new Error(`${what}: not a string`);
  return v;
};

describe('deployment files agree with the code', function () {
  this.timeout(60_000);

  const docker = lazy(() => parseDockerfile(read('Dockerfile')));
  const runtime = () => docker().stages[docker().stages.length - 1];
  const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
  const one = (stage: Stage, op: string) => {
    const found = all(stage, op);
    expect(found, `${op} in the runtime stage`).to.have.length(1);
    return found[0];
  };
  const imageEnv = lazy((): Env => Object.assign({}, ...all(runtime(), 'ENV').map((i) => envPairs(i.args))));

  it('the env-name check itself: configFromEnv reads the documented names, a renamed one is refused', () => {
    for (const name of ['GATEHOUSE_PORT', 'GATEHOUSE_HOST', 'GATEHOUSE_DATABASE_URL', 'GATEHOUSE_TRUST_PROXY'])
      expect(known().has(name), name).to.equal(true);
    expect(
      unknownNames({ GATEHOUSE_DATABASE_URI: 'sqlite:x', GATEHOUSE_PORT: '1', NODE_ENV: 'x' }, known()),
    ).to.deep.equal(['GATEHOUSE_DATABASE_URI']);
    // and the other readers
    expect(envPairs('A=1 B="x y" C=')).to.deep.equal({ A: '1', B: 'x y', C: '' });
    expect(interpolate('u:${P}@h ${Q:-d} $$', { P: 'p' })).to.equal('u:p@h d $');
    expect(() => interpolate('${Q:?set Q}', {})).to.throw('Q: set Q');
    expect(parseYaml("a:\n  b: 'x'\n  c: [\"1\", '2']\n  d:\n    - e # note\n")).to.deep.equal({
      a: { b: 'x', c: ['1', '2'], d: ['e'] },
    });
    expect(() => parseYaml('a:\n  - b: c\n')).to.throw(/not supported/);
    expect(dockerIgnored(['test', '*.md', '!README.md'], 'test/x.ts')).to.equal(true);
    expect(dockerIgnored(['test', '*.md', '!README.md'], 'README.md')).to.equal(false);
    expect(dockerIgnored(['test'], 'tests.ts')).to.equal(false);
    expect(nginxSize('10m')).to.equal(10 * 1024 * 1024);
    expect(durationMs('1m30s')).to.equal(90_000);
  });

  describe('Dockerfile', () => {
    it('two stages: the build one has the toolchain, npm ci, the build and the prune; the runtime one copies only dist/, node_modules and package.json from it', () => {
      expect(docker().stages).to.have.length(2);
      const [build] = docker().stages;
      expect(build.name).to.equal('build');
      const runs = all(build, 'RUN')
        .map((i) => i.args)
        .join('\n');
      for (const pkg of ['python3', 'make', 'g\\+\\+']) expect(runs).to.match(new RegExp(`apt-get install .*${pkg}`));
      expect(runs).to.include('npm ci');
      expect(runs).to.include('npm rebuild better-sqlite3');
      expect(runs).to.include('npm run build');
      expect(runs).to.include('npm prune --omit=dev');
      const base = (s: Stage) =>
        s.image.replace('${NODE_IMAGE}', /^NODE_IMAGE=(\S+)/.exec(docker().preamble[0].args)![1]);
      expect(docker().stages.map(base)).to.deep.equal(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
      const copies = all(runtime(), 'COPY').map((i) => i.args);
      expect(copies).to.deep.equal([
        '--from=build /src/package.json ./package.json',
        '--from=build /src/node_modules ./node_modules',
        '--from=build /src/dist ./dist',
      ]);
      expect(
        all(runtime(), 'RUN')
          .map((i) => i.args)
          .join('\n'),
      ).to.not.match(/npm|tsc/);
    });

    it('runs as a user that is not root, writing only the /data volume', () => {
      const user = one(runtime(), 'USER').args;
      expect(user).to.equal('gatehouse');
      expect(one(runtime(), 'RUN').args).to.match(/useradd --system --uid 10001 .*gatehouse/);
      expect(one(runtime(), 'RUN').args).to.include('chown gatehouse:gatehouse /data');
      expect(execForm(one(runtime(), 'VOLUME').args)).to.deep.equal(['/data']);
    });

    it('its ENV is read and accepted by the code: 0.0.0.0, the default port (EXPOSEd), the SQLite store in /data', () => {
      expectKnown(imageEnv(), 'Dockerfile ENV');
      const config = configFromEnv(imageEnv());
      expect(config.host).to.equal('0.0.0.0');
      expect(config.port).to.equal(defaults().port).and.equal(4236);
      expect(one(runtime(), 'EXPOSE').args).to.equal(String(defaults().port));
      expect(config.databaseUrl).to.equal('sqlite:/data/gatehouse.db');
      expect(path.posix.dirname(config.databaseUrl.slice('sqlite:'.length))).to.equal(
        execForm(one(runtime(), 'VOLUME').args)[0],
      );
    });

    it("CMD runs the built CLI's serve directly (no npm: its prestart would need tsc); STOPSIGNAL SIGTERM", () => {
      const cmd = execForm(one(runtime(), 'CMD').args);
      expect(cmd).to.deep.equal(['node', 'dist/index.js', 'serve']);
      const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string>; main: string; scripts: Env };
      expect(pkg.bin.gatehouse).to.equal(cmd[1]);
      expect(pkg.scripts.start).to.equal(`exec ${cmd.join(' ')}`);
      expect(all(runtime(), 'ENTRYPOINT')).to.have.length(0);
      expect(one(runtime(), 'WORKDIR').args).to.equal('/app');
      expect(one(runtime(), 'STOPSIGNAL').args).to.equal('SIGTERM');
    });

    describe('HEALTHCHECK', () => {
      let node: ServeProcess | undefined;
      let dir: string;
      const check = lazy(() => healthcheck(one(runtime(), 'HEALTHCHECK').args));
      /** runs the HEALTHCHECK command as Docker would, in an environment with this GATEHOUSE_PORT */
      const probe = (port: string) => {
        const [bin, ...args] = check().command;
        expect(bin).to.equal('node');
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
        return spawnSync(process.execPath, args, { env: { ...env, GATEHOUSE_PORT: port }, timeout: 15_000 });
      };

      before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-deploy-'));
        node = await serve({
          GATEHOUSE_PORT: freePort(),
          GATEHOUSE_DATABASE_URL: `sqlite:${path.join(dir, 'gh.db')}`,
          GATEHOUSE_LOG_LEVEL: 'warn',
        });
      });
      after(async () => {
        if (node) {
          node.kill('SIGTERM');
          await node.exited;
        }
        fs.rmSync(dir, { recursive: true, force: true });
      });

      it('asks /healthz on the port of GATEHOUSE_PORT, within its own timeout', () => {
        const { command, options } = check();
        expect(command.join(' ')).to.include("'/healthz'");
        expect(command.join(' ')).to.include('process.env.GATEHOUSE_PORT || 4236');
        expect(durationMs(options.timeout)).to.be.at.most(10_000);
        expect(Number(options.retries)).to.be.at.least(2);
      });

      it('passes against a running gatehouse (exit 0) and fails when nothing listens (exit 1)', async () => {
        const port = new URL(node!.url).port;
        const res = await fetch(`${node!.url}/healthz`);
        expect(res.status).to.equal(200);
        const up = probe(port);
        expect(up.status, String(up.stderr)).to.equal(0);
        const down = probe(freePort());
        expect(down.status).to.equal(1);
      });
    });
  });

  describe('.dockerignore', () => {
    const patterns = lazy(() => dockerignorePatterns(read('.dockerignore')));
    const ignored = (f: string) => dockerIgnored(patterns(), f);

    it('keeps out node_modules, dist, tests, benchmarks, CI, .git, .env and local data', () => {
      for (const f of [
        'node_modules/koa/package.json',
        'dist/index.js',
        'test/cli.test.ts',
        'bench/run.ts',
        '.ci/run',
        '.git/HEAD',
        '.env',
        'data/gatehouse.db',
        'reports/mutation/mutation.json',
        '.stryker-tmp/x',
        'gatehouse.db',
      ])
        expect(ignored(f), f).to.equal(true);
    });

    it('lets in everything the build reads: package.json, the lockfile, tsconfig.json and what it compiles', () => {
      const tsconfig = JSON.parse(read('tsconfig.json')) as { include: string[] };
      const needed = ['package.json', 'package-lock.json', 'tsconfig.json'];
      for (const inc of tsconfig.include) {
        const top = inc.split('/')[0];
        if (top.includes('*')) throw new Error(`tsconfig include ${inc}: a wildcard at the top`);
        if (inc === top) needed.push(top);
        else
          for (const f of fs.readdirSync(path.join(ROOT, top), { recursive: true }) as string[])
            if (f.endsWith('.ts')) needed.push(`${top}/${f}`);
      }
      expect(needed).to.include.members(['index.ts', 'system/config.ts', 'db/store.ts']);
      expect(needed.filter(ignored)).to.deep.equal([]);
    });
  });

  describe('docker-compose.yml', () => {
    const services = lazy(() => map(map(parseYaml(read('docker-compose.yml')), 'compose').services, 'services'));
    const service = (name: string) => map(services()[name], name);
    /** the services built from the Dockerfile: the gatehouse nodes */
    const nodes = lazy(() => Object.keys(services()).filter((n) => service(n).build !== undefined));
    const env = (name: string, vars: Env = SECRETS): Env =>
      Object.fromEntries(
        Object.entries(map(service(name).environment, `${name}.environment`)).map(([k, v]) => [
          k,
          interpolate(str(v, `${name}.environment.${k}`), vars),
        ]),
      );

    it('MariaDB has a health check; two gatehouse nodes built from the Dockerfile wait for it', () => {
      const db = service('mariadb');
      expect(str(db.image, 'mariadb.image')).to.match(/^mariadb:\d+/);
      const hc = map(db.healthcheck, 'mariadb.healthcheck');
      expect(list(hc.test, 'healthcheck.test')).to.deep.equal([
        'CMD',
        'healthcheck.sh',
        '--connect',
        '--innodb_initialized',
      ]);
      expect(nodes()).to.deep.equal(['gatehouse-1', 'gatehouse-2']);
      for (const n of nodes()) {
        const s = service(n);
        expect(s.build, `${n}.build`).to.equal('.');
        expect(s.image, `${n}.image`).to.equal('gatehouse:local');
        expect(map(map(s.depends_on, `${n}.depends_on`).mariadb, 'depends_on.mariadb')).to.deep.equal({
          condition: 'service_healthy',
        });
        expect(s.ports, `${n}: reached through nginx only`).to.equal(undefined);
        // gatehouse exits within GATEHOUSE_DRAIN_MS (5 s unless set) + 9.5 s of SIGTERM
        const drainMs = Number(env(n).GATEHOUSE_DRAIN_MS ?? 5000);
        expect(durationMs(str(s.stop_grace_period, `${n}.stop_grace_period`))).to.be.at.least(drainMs + 9_500);
      }
    });

    it("the nodes' environment is read and accepted by the code: the compose MariaDB, one master key and JWT secret, trust proxy", () => {
      const db = service('mariadb');
      const dbEnv = env('mariadb');
      for (const n of nodes()) {
        const e = env(n);
        expectKnown(e, `${n}.environment`);
        const config = configFromEnv({ ...e });
        const url = new URL(config.databaseUrl);
        expect(url.protocol).to.equal('mariadb:');
        expect(url.hostname, 'the MariaDB service').to.equal('mariadb');
        expect(Object.keys(services())).to.include(url.hostname);
        expect(url.port).to.equal('3306');
        expect(url.username).to.equal(dbEnv.MARIADB_USER);
        expect(decodeURIComponent(url.password)).to.equal(dbEnv.MARIADB_PASSWORD).and.equal(SECRETS.MARIADB_PASSWORD);
        expect(url.pathname).to.equal(`/${dbEnv.MARIADB_DATABASE}`);
        expect(config.masterKey?.toString('base64')).to.equal(SECRETS.GATEHOUSE_MASTER_KEY);
        expect(config.jwtSecret).to.equal(SECRETS.GATEHOUSE_JWT_SECRET);
        expect(config.trustProxy).to.equal(true);
        expect(config.publicUrl).to.equal('http://localhost:8080');
        expect(config.host, 'the image listens on every interface').to.equal('0.0.0.0');
      }
      expect(env('gatehouse-1')).to.deep.equal(env('gatehouse-2'));
      expect(str(db.image, 'image')).to.match(/^mariadb:/);
    });

    it('refuses to start without the secrets: compose names the one missing from .env', () => {
      const substituted = (v: Yaml, vars: Env): Yaml =>
        typeof v === 'string'
          ? interpolate(v, vars)
          : Array.isArray(v)
            ? v.map((x) => substituted(x, vars))
            : v && Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituted(x, vars)]));
      const doc = parseYaml(read('docker-compose.yml'));
      expect(() => substituted(doc, SECRETS)).to.not.throw();
      for (const missing of Object.keys(SECRETS)) {
        const vars = { ...SECRETS };
        delete vars[missing];
        expect(() => substituted(doc, vars), missing).to.throw(new RegExp(`^${missing}: set ${missing} in \\.env`));
      }
    });

    it('nginx publishes a port, starts after both nodes are healthy and mounts deploy/nginx.conf', () => {
      const nginx = service('nginx');
      expect(str(nginx.image, 'nginx.image')).to.match(/^nginx:/);
      expect(list(nginx.ports, 'nginx.ports')).to.deep.equal(['8080:80']);
      const deps = map(nginx.depends_on, 'nginx.depends_on');
      expect(Object.keys(deps).sort()).to.deep.equal(nodes());
      for (const n of nodes()) expect(deps[n]).to.deep.equal({ condition: 'service_healthy' });
      const mount = list(nginx.volumes, 'nginx.volumes').map((v) => str(v, 'volume'));
      expect(mount).to.deep.equal(['./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro']);
      expect(fs.existsSync(path.join(ROOT, 'deploy/nginx.conf'))).to.equal(true);
    });

    describe('deploy/nginx.conf', () => {
      const conf = lazy(() => parseNginx(read('deploy/nginx.conf')));
      const find = (ds: NginxDirective[] | undefined, name: string, arg?: string) =>
        (ds ?? []).filter((d) => d.name === name && (arg === undefined || d.args.join(' ') === arg));

      it("forwards to exactly the compose nodes, on the code's default port", () => {
        const [upstream] = find(conf(), 'upstream', 'gatehouse');
        const servers = find(upstream.block, 'server').map((d) => d.args[0]);
        expect(servers).to.deep.equal(nodes().map((n) => `${n}:${defaults().port}`));
        const [server] = find(conf(), 'server');
        const [root] = find(server.block, 'location', '/');
        expect(find(root.block, 'proxy_pass').map((d) => d.args)).to.deep.equal([['http://gatehouse']]);
      });

      it("sets X-Forwarded-For to the client's address (the first entry is what gatehouse counts)", () => {
        const [server] = find(conf(), 'server');
        const [root] = find(server.block, 'location', '/');
        expect(find(root.block, 'proxy_set_header', 'X-Forwarded-For $remote_addr')).to.have.length(1);
        expect(find(root.block, 'proxy_set_header').filter((d) => d.args.includes('$proxy_add_x_forwarded_for'))).to.be
          .empty;
      });

      it("accepts the bodies gatehouse accepts (GATEHOUSE_PROXY_BODY_LIMIT's default) and keeps /metrics in", () => {
        const [server] = find(conf(), 'server');
        const [limit] = find(server.block, 'client_max_body_size');
        expect(nginxSize(limit.args[0]))
          .to.equal(defaults().proxyBodyLimit)
          .and.equal(10 * 1024 * 1024);
        const [metrics] = find(server.block, 'location', '= /metrics');
        expect(metrics.block?.map((d) => [d.name, ...d.args])).to.deep.equal([['return', '404']]);
      });
    });
  });

  describe('systemd (deploy/gatehouse.service, deploy/gatehouse.env.example)', () => {
    const unit = lazy(() => parseUnit(read('deploy/gatehouse.service')));
    const val = (k: string) => {
      expect(unit().Service[k], k).to.have.length(1);
      return unit().Service[k][0];
    };
    const example = lazy(() => parseEnvFile(read('deploy/gatehouse.env.example')));

    it('starts the built CLI with node, restarts on failure, stops with SIGTERM after the drain', () => {
      expect(val('ExecStart').split(/\s+/)).to.deep.equal(['/usr/bin/node', '/opt/gatehouse/dist/index.js', 'serve']);
      expect(val('EnvironmentFile')).to.equal('/etc/gatehouse/gatehouse.env');
      expect(val('Restart')).to.equal('on-failure');
      expect(val('KillSignal')).to.equal('SIGTERM');
      expect(durationMs(val('TimeoutStopSec'))).to.be.above(10_000);
      expect(val('User')).to.equal('gatehouse');
      expect(unit().Install.WantedBy).to.deep.equal(['multi-user.target']);
    });

    it('is hardened, writes only the directory of the SQLite store, and leaves V8 its JIT', () => {
      for (const [k, v] of Object.entries({
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        PrivateDevices: 'yes',
        RestrictSUIDSGID: 'yes',
        CapabilityBoundingSet: '',
      }))
        expect(val(k), k).to.equal(v);
      expect(unit().Service.MemoryDenyWriteExecute, 'V8 needs W+X memory').to.equal(undefined);
      const store = configFromEnv(example()).databaseUrl;
      expect(store).to.match(/^sqlite:\//);
      const dir = path.posix.dirname(store.slice('sqlite:'.length));
      expect(val('ReadWritePaths').split(/\s+/)).to.deep.equal([dir]);
      expect(`/var/lib/${val('StateDirectory')}`).to.equal(dir);
      expect(val('WorkingDirectory'), 'no .env of the code directory is read').to.equal(dir);
    });

    it('the env example is read and accepted by the code: loopback, the default port, behind nginx', () => {
      expectKnown(example(), 'deploy/gatehouse.env.example');
      const config = configFromEnv({ ...example(), ...SECRETS });
      expect(config.host).to.equal('127.0.0.1');
      expect(config.port).to.equal(defaults().port);
      expect(config.trustProxy).to.equal(true);
      expect(config.publicUrl).to.match(/^https:\/\//);
    });
  });

  describe('container.config.json (WeChat Cloud Hosting)', () => {
    const cloud = lazy(
      () =>
        JSON.parse(read('container.config.json')) as {
          containerPort: number;
          dockerfilePath: string;
          buildDir: string;
          minNum: number;
          maxNum: number;
          cpu: number;
          mem: number;
          envParams: Env;
          dataBaseName: string;
          executeSQLs: string[];
        },
    );

    it("listens where the image listens: containerPort = EXPOSE = the code's default port", () => {
      const cc = cloud();
      expect(cc.containerPort).to.equal(defaults().port);
      expect(String(cc.containerPort)).to.equal(one(runtime(), 'EXPOSE').args);
      expect(cc.dockerfilePath).to.equal('Dockerfile');
      expect(fs.existsSync(path.join(ROOT, cc.buildDir, cc.dockerfilePath))).to.equal(true);
    });

    it('its envParams are read and accepted by the code (over the image ENV)', () => {
      const cc = cloud();
      expectKnown(cc.envParams, 'container.config.json envParams');
      const config = configFromEnv({ ...imageEnv(), ...cc.envParams });
      expect(config.trustProxy).to.equal(true);
      expect(config.port).to.equal(cc.containerPort);
    });

    it('a CPU / memory pair Cloud Hosting offers, at least one instance, and the database it needs', () => {
      const cc = cloud();
      expect(cc.mem).to.equal(cc.cpu * 2);
      expect([0.25, 0.5, 1, 2, 4, 8, 16]).to.include(cc.cpu);
      expect(cc.minNum).to.be.at.least(1);
      expect(cc.maxNum).to.be.at.least(cc.minNum);
      expect(cc.executeSQLs).to.deep.equal([
        `CREATE DATABASE IF NOT EXISTS ${cc.dataBaseName} DEFAULT CHARACTER SET utf8mb4 DEFAULT COLLATE utf8mb4_unicode_ci;`,
      ]);
    });
  });

  it('docs/deploy.md names only GATEHOUSE_ variables the code reads, and the files it tells to use exist', () => {
    const doc = read('docs/deploy.md');
    const named = [...new Set(doc.match(/GATEHOUSE_[A-Z0-9_]+/g))];
    expect(named.length).to.be.at.least(8);
    expect(named.filter((n) => !known().has(n))).to.deep.equal([]);
    for (const f of [
      'Dockerfile',
      'docker-compose.yml',
      'container.config.json',
      'deploy/nginx.conf',
      'deploy/gatehouse.service',
      'deploy/gatehouse.env.example',
    ]) {
      expect(doc, f).to.include(f);
      expect(fs.existsSync(path.join(ROOT, f)), f).to.equal(true);
    }
  });
});
