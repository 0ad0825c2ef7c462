import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { freeTcpPort, mariadbBinaries } from './private-mariadb';

/**
 * A private Galera cluster for the HA suites (`npm run test:ha`, issue 19): `size` mariadbd nodes
 * on 127.0.0.1, each with its own datadir under one temporary directory and its own four ports
 * (SQL, group communication `gmcast.listen_addr`, IST `ist.recv_addr`, rsync SST), none of them a
 * default (3306, 4444, 4567, 4568). The first node bootstraps the cluster; the others join it
 * one at a time by rsync SST; start() resolves once every node reports wsrep_cluster_size = size
 * and Synced. Nothing is shared with the suite's MariaDB on :3306.
 *
 * Teardown: destroy() kills every process whose command line names the cluster's directory (the
 * mariadbd nodes and any rsync daemon an SST left behind) and removes the directory. A test run
 * that died before its after hooks leaves a directory named after its pid: the next start() kills
 * what still runs there (reapLeftovers()).
 */

export const GALERA_PROVIDER = '/usr/lib/galera/libgalera_smm.so';
const PREFIX = 'gh-galera-';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** why a Galera cluster cannot be started here, or undefined when it can */
export function galeraMissing(): string | undefined {
  const b = mariadbBinaries();
  if ('missing' in b) return b.missing;
  if (!fs.existsSync(GALERA_PROVIDER)) return `${GALERA_PROVIDER} not found`;
  for (const tool of ['rsync', 'wsrep_sst_rsync'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not found on $PATH`;
  return undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** pids of the processes whose command line mentions `needle` (from /proc), never this one */
function processesNaming(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

function killNaming(dir: string): number[] {
  const pids = processesNaming(dir);
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids;
}

/**
 * Kills the processes of clusters whose test run is gone (the pid in the directory's name no
 * longer runs) and removes their directories. Returns the pids killed.
 */
export function reapLeftovers(): number[] {
  const killed: number[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = path.join(os.tmpdir(), name);
    killed.push(...killNaming(dir));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return killed;
}

export interface GaleraNode {
  index: number;
  dir: string;
  datadir: string;
  port: number;
  gmcastPort: number;
  istPort: number;
  sstPort: number;
}

export interface StartOptions {
  size?: number;
  /** how long to wait for the cluster (per node) */
  timeoutMs?: number;
}

export class GaleraCluster {
  readonly dir: string;
  readonly name: string;
  readonly nodes: GaleraNode[] = [];
  private readonly children = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, Promise<void>>();
  private readonly bins: { mariadbd: string; installDb: string };

  private constructor(readonly size: number) {
    const b = mariadbBinaries();
    if ('missing' in b) throw new Error(b.missing);
    this.bins = b;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
    this.name = `gh_${path.basename(this.dir).replace(/\W/g, '_')}`;
    process.once('exit', this.onExit);
  }

  private readonly onExit = () => {
    try {
      killNaming(this.dir);
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };

  /** a bootstrapped, synced cluster of `size` nodes (3 by default) */
  static async start(opts: StartOptions = {}): Promise<GaleraCluster> {
    const missing = galeraMissing();
    if (missing) throw new Error(missing);
    reapLeftovers();
    const c = new GaleraCluster(opts.size ?? 3);
    try {
      await c.boot(opts.timeoutMs ?? 90_000);
    } catch (err) {
      const logs = c.nodes.map((n) => `node ${n.index}:\n${c.errorLog(n.index)}`).join('\n');
      if (process.env.GALERA_KEEP_LOGS)
        fs.cpSync(c.dir, process.env.GALERA_KEEP_LOGS, { recursive: true, filter: (f) => !f.endsWith('sock') });
      await c.destroy();
      throw new Error(`${(err as Error).message}\n${logs}`);
    }
    return c;
  }

  /**
   * As root, the nodes run as the `mysql` user: their SST script's rsync daemon would otherwise
   * drop to `nobody`, which may not write into the joiner's datadir (rsync code 3).
   */
  private get userArgs(): string[] {
    return process.getuid?.() === 0 ? ['--user=mysql'] : [];
  }

  private chownToServer(): void {
    if (process.getuid?.() !== 0) return;
    const r = spawnSync('chown', ['-R', 'mysql:mysql', this.dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`chown mysql ${this.dir} failed: ${r.stderr}`);
  }

  private async boot(timeoutMs: number): Promise<void> {
    // one initialised datadir, copied for every node (a joiner's is replaced by its SST anyway)
    const seed = path.join(this.dir, 'seed');
    this.chownToServer();
    const r = spawnSync(
      this.bins.installDb,
      [
        '--no-defaults',
        `--datadir=${seed}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        ...this.userArgs,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`mariadb-install-db failed (${r.status}): ${r.stderr || r.stdout}`);
    const taken = new Set<number>();
    const port = async () => {
      for (;;) {
        const p = await freeTcpPort();
        if (!taken.has(p)) {
          taken.add(p);
          return p;
        }
      }
    };
    for (let i = 0; i < this.size; i++) {
      const dir = path.join(this.dir, `node${i}`);
      fs.mkdirSync(dir);
      const datadir = path.join(dir, 'data');
      fs.cpSync(seed, datadir, { recursive: true });
      this.nodes.push({
        index: i,
        dir,
        datadir,
        port: await port(),
        gmcastPort: await port(),
        istPort: await port(),
        sstPort: await port(),
      });
    }
    fs.rmSync(seed, { recursive: true, force: true });
    this.chownToServer();
    await this.startNode(0, { bootstrap: true, timeoutMs });
    for (let i = 1; i < this.size; i++) await this.startNode(i, { timeoutMs });
    await this.waitSize(this.size, timeoutMs);
  }

  private args(n: GaleraNode, bootstrap: boolean): string[] {
    const peers = this.nodes.map((m) => `127.0.0.1:${m.gmcastPort}`).join(',');
    const provider = [
      `gmcast.listen_addr=tcp://127.0.0.1:${n.gmcastPort}`,
      `ist.recv_addr=127.0.0.1:${n.istPort}`,
      `base_host=127.0.0.1`,
      `base_port=${n.gmcastPort}`,
      'gcache.size=64M',
      // a member that died is evicted after 2 s (Galera's default is 5 s, during which the others'
      // commits wait for it): what docs/OPERATIONS.md recommends for gatehouse's 3 s query deadline
      'evs.suspect_timeout=PT2S',
      'evs.inactive_timeout=PT3S',
      'evs.keepalive_period=PT0.5S',
      // a bootstrapped node must not wait for the others' primary component after a restart
      'pc.recovery=FALSE',
    ].join(';');
    return [
      '--no-defaults',
      `--datadir=${n.datadir}`,
      `--port=${n.port}`,
      `--socket=${path.join(n.dir, 'sock')}`,
      `--pid-file=${path.join(n.dir, 'mariadbd.pid')}`,
      `--log-error=${path.join(n.dir, 'error.log')}`,
      '--skip-networking=0',
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--innodb-flush-log-at-trx-commit=2',
      '--performance-schema=OFF',
      '--max-connections=500',
      '--binlog-format=ROW',
      '--default-storage-engine=InnoDB',
      '--innodb-autoinc-lock-mode=2',
      '--wsrep-on=ON',
      `--wsrep-provider=${GALERA_PROVIDER}`,
      `--wsrep-cluster-name=${this.name}`,
      `--wsrep-cluster-address=gcomm://${bootstrap ? '' : peers}`,
      `--wsrep-node-name=node${n.index}`,
      `--wsrep-node-address=127.0.0.1:${n.gmcastPort}`,
      `--wsrep-node-incoming-address=127.0.0.1:${n.port}`,
      `--wsrep-provider-options=${provider}`,
      '--wsrep-sst-method=rsync',
      `--wsrep-sst-receive-address=127.0.0.1:${n.sstPort}`,
      '--wsrep-slave-threads=2',
      ...(bootstrap ? ['--wsrep-new-cluster'] : []),
      ...this.userArgs,
    ];
  }

  /** starts node i (again, after kill() or stop(): it rejoins by IST or SST) and waits until it is Synced */
  async startNode(i: number, opts: { bootstrap?: boolean; timeoutMs?: number } = {}): Promise<void> {
    if (this.running(i)) throw new Error(`galera node ${i} is already running`);
    const n = this.nodes[i];
    // the SST scripts write their tools' complaints to the server's stderr
    const out = fs.openSync(path.join(n.dir, 'stderr.log'), 'a');
    const child = spawn(this.bins.mariadbd, this.args(n, !!opts.bootstrap), { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.children.set(i, child);
    this.exits.set(i, new Promise<void>((resolve) => child.once('exit', () => resolve())));
    const timeoutMs = opts.timeoutMs ?? 90_000;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running(i)) throw new Error(`galera node ${i} exited at start-up`);
      if ((await this.status(i, 'wsrep_local_state_comment').catch(() => undefined)) === 'Synced') return;
      await sleep(200);
    }
    throw new Error(`galera node ${i} was not Synced within ${timeoutMs} ms`);
  }

  running(i: number): boolean {
    const c = this.children.get(i);
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  pid(i: number): number | undefined {
    return this.children.get(i)?.pid;
  }

  /** a fresh root connection to node i */
  connect(i: number, database?: string): Promise<mariadb.Connection> {
    return mariadb.createConnection({
      host: '127.0.0.1',
      port: this.nodes[i].port,
      user: 'root',
      password: '',
      database,
      bigIntAsNumber: true,
      connectTimeout: 2000,
    });
  }

  /** runs a statement as root on node i, on a fresh connection */
  async query(i: number, sql: string, params: unknown[] = [], database?: string): Promise<any> {
    const c = await this.connect(i, database);
    try {
      return await c.query(sql, params);
    } finally {
      await c.end().catch(() => c.destroy());
    }
  }

  /** a wsrep status variable of node i */
  async status(i: number, name: string): Promise<string | undefined> {
    const rows = (await this.query(i, 'SHOW GLOBAL STATUS LIKE ?', [name])) as { Value: string }[];
    return rows[0]?.Value;
  }

  /** waits until every running node is Synced in a primary component of `size` members */
  async waitSize(size: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.nodes.filter((n) => this.running(n.index));
      const seen = await Promise.all(
        live.map(async (n) => ({
          size: Number(await this.status(n.index, 'wsrep_cluster_size').catch(() => -1)),
          state: await this.status(n.index, 'wsrep_local_state_comment').catch(() => 'unreachable'),
          primary: await this.status(n.index, 'wsrep_cluster_status').catch(() => 'unreachable'),
        })),
      );
      if (seen.every((s) => s.size === size && s.state === 'Synced' && s.primary === 'Primary')) return;
      if (Date.now() > deadline)
        throw new Error(`galera cluster not at size ${size} within ${timeoutMs} ms: ${JSON.stringify(seen)}`);
      await sleep(200);
    }
  }

  /** a new database on the cluster (created on node 0, replicated); returns its name */
  async createDatabase(name: string): Promise<string> {
    await this.query(0, `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    return name;
  }

  /** GATEHOUSE_DATABASE_URL naming every member, `first` first and the others in order after it */
  url(database: string, first = 0): string {
    const order = [...this.nodes.slice(first), ...this.nodes.slice(0, first)];
    return `mariadb://root@${order.map((n) => `127.0.0.1:${n.port}`).join(',')}/${database}`;
  }

  /** kill -9 of node i; resolves when it is gone */
  async kill(i: number): Promise<void> {
    const c = this.children.get(i);
    if (!c || !this.running(i)) return;
    c.kill('SIGKILL');
    await this.exits.get(i);
  }

  /** a clean shutdown of node i (SIGTERM) */
  async stop(i: number, timeoutMs = 30_000): Promise<void> {
    const c = this.children.get(i);
    if (!c || !this.running(i)) return;
    c.kill('SIGTERM');
    if (!(await Promise.race([this.exits.get(i)!.then(() => true), sleep(timeoutMs).then(() => false)]))) {
      c.kill('SIGKILL');
      await this.exits.get(i);
    }
  }

  errorLog(i: number, lines = 60): string {
    try {
      const text = fs.readFileSync(path.join(this.nodes[i].dir, 'error.log'), 'utf8');
      return text.split('\n').slice(-lines).join('\n');
    } catch {
      return '(no error log)';
    }
  }

  /** kills every process of the cluster (nodes, SST helpers) and removes its directory */
  async destroy(): Promise<void> {
    for (const [i, c] of this.children) if (this.running(i)) c.kill('SIGKILL');
    await Promise.race([Promise.all(this.exits.values()), sleep(10_000)]);
    killNaming(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
  }

  /** pids still running that belong to this cluster (after destroy(): none) */
  leftovers(): number[] {
    return processesNaming(this.dir).filter(pidAlive);
  }
}
