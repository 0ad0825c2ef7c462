import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';

/**
 * A private MariaDB server for fault-injection tests: its own temporary datadir and port, started,
 * stopped (SIGTERM), hung (SIGSTOP / SIGCONT), killed and restarted on the same datadir and port
 * by the test itself. Nothing is shared with the suite's MariaDB on :3306.
 */

const MARIADBD_CANDIDATES = [
  '/usr/sbin/mariadbd',
  '/usr/bin/mariadbd',
  '/usr/local/sbin/mariadbd',
  '/usr/local/bin/mariadbd',
];

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** where mariadbd and mariadb-install-db are, or why they cannot be used */
export function mariadbBinaries(): { mariadbd: string; installDb: string } | { missing: string } {
  const mariadbd = MARIADBD_CANDIDATES.find((p) => fs.existsSync(p)) ?? which('mariadbd');
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
  if (!mariadbd) return { missing: 'mariadbd not found (looked in /usr/sbin, /usr/bin, /usr/local and $PATH)' };
  if (!installDb) return { missing: 'mariadb-install-db not found on $PATH' };
  return { mariadbd, installDb };
}

/**
 * a TCP port below the ephemeral range (where client sockets take theirs) that nothing listens on right now (127.0.0.1)
 */
export async function freeTcpPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 10000 + Math.floor(Math.random() * 22000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free TCP port found');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PrivateMariaDb {
  readonly dir: string;
  readonly datadir: string;
  port = 0;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private paused = false;
  /** more server options, after the test's own (replication roles, read_only …) */
  extraArgs: string[] = [];
  private readonly bins: { mariadbd: string; installDb: string };

  constructor() {
    const b = mariadbBinaries();
    if ('missing' in b) throw new Error(b.missing);
    this.bins = b;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-fault-mariadb-'));
    this.datadir = path.join(this.dir, 'data');
    // if the test run dies before its after hooks (Ctrl-C, a crash), take the server with it
    process.once('exit', this.onExit);
  }

  private readonly onExit = () => {
    try {
      if (this.child && this.running) this.child.kill('SIGKILL');
      fs.rmSync(this.dir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private get userArgs(): string[] {
    // as root mariadbd refuses to start without --user; otherwise it runs as whoever we are
    return process.getuid?.() === 0 ? ['--user=root'] : [];
  }

  /** initialises the datadir, picks a port, starts the server and waits until it answers */
  async init(): Promise<this> {
    const r = spawnSync(
      this.bins.installDb,
      [
        '--no-defaults',
        `--datadir=${this.datadir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        ...this.userArgs,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`mariadb-install-db failed (${r.status}): ${r.stderr || r.stdout}`);
    this.port = await freeTcpPort();
    await this.start();
    return this;
  }

  /** starts mariadbd on the datadir and port (again, after a stop) and waits until it answers */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error('mariadbd is already running');
    const args = [
      '--no-defaults',
      `--datadir=${this.datadir}`,
      `--port=${this.port}`,
      `--socket=${path.join(this.dir, 'sock')}`,
      `--pid-file=${path.join(this.dir, 'mariadbd.pid')}`,
      `--log-error=${path.join(this.dir, 'error.log')}`,
      '--skip-networking=0',
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=500',
      ...this.userArgs,
      ...this.extraArgs,
    ];
    const child = spawn(this.bins.mariadbd, args, { stdio: 'ignore' });
    this.child = child;
    this.paused = false;
    this.exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`mariadbd exited at start-up: ${this.errorLog()}`);
      if (await this.answers()) return;
      await sleep(50);
    }
    throw new Error(`mariadbd did not accept connections within ${timeoutMs} ms: ${this.errorLog()}`);
  }

  /** whether a new connection can run SELECT 1 right now */
  async answers(timeoutMs = 1000): Promise<boolean> {
    let c: mariadb.Connection | undefined;
    try {
      c = await mariadb.createConnection({
        host: '127.0.0.1',
        port: this.port,
        user: 'root',
        password: '',
        connectTimeout: timeoutMs,
      });
      await c.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await c?.end().catch(() => c?.destroy());
    }
  }

  /** runs statements as root on a fresh connection (optionally in a database) */
  async query(sql: string, params: unknown[] = [], database?: string): Promise<any> {
    const c = await mariadb.createConnection({
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      password: '',
      database,
      bigIntAsNumber: true,
      connectTimeout: 3000,
    });
    try {
      return await c.query(sql, params);
    } finally {
      await c.end().catch(() => c.destroy());
    }
  }

  /** a fresh database; returns its GATEHOUSE_DATABASE_URL */
  async createDatabase(name: string): Promise<string> {
    await this.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    return this.url(name);
  }

  url(database: string): string {
    return `mariadb://root@127.0.0.1:${this.port}/${database}`;
  }

  /** SIGTERM: a clean shutdown; resolves when the process is gone */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.child || !this.running) return;
    if (this.paused) this.resume();
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited!.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!done) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** kill -9: resolves when the process is gone */
  async kill(): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGSTOP: the server hangs (connections are accepted by the kernel, nothing answers) */
  pause(): void {
    if (!this.child || !this.running) throw new Error('mariadbd is not running');
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT after pause() */
  resume(): void {
    if (!this.child || !this.paused) return;
    this.child.kill('SIGCONT');
    this.paused = false;
  }

  errorLog(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'error.log'), 'utf8').split('\n').slice(-15).join('\n');
    } catch {
      return '(no error log)';
    }
  }

  /** kills the server (whatever state it is in) and removes the temporary directory */
  async destroy(): Promise<void> {
    if (this.child && this.running) {
      if (this.paused) this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
      await Promise.race([this.exited, sleep(10_000)]);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
  }
}
