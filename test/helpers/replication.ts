import { PrivateMariaDb } from './private-mariadb';

/**
 * A primary and a replica (issue 19, the failover case): two private MariaDB servers on loopback
 * with GTID replication, semi-synchronous and lossless (`AFTER_SYNC`: a commit is answered only
 * once the replica has the transaction in its relay log), the replica `read_only`. gatehouse
 * connects as `gh`, a user with rights on the databases only: `read_only` stops it (root, with
 * SUPER, would write to a replica unhindered).
 *
 * promote() is what an operator (or the managed service) does when the primary is gone: wait
 * until the replica has applied everything it received, stop replicating, and make it writable.
 */
export const GH_USER = 'gh';
export const GH_PASSWORD = 'gh-ha-pass';
const REPL_PASSWORD = 'repl-ha-pass';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ReplicaPair {
  readonly primary = new PrivateMariaDb();
  readonly replica = new PrivateMariaDb();

  private static roleArgs(serverId: number, readOnly: boolean): string[] {
    return [
      `--server-id=${serverId}`,
      '--log-bin=binlog',
      '--binlog-format=ROW',
      '--log-slave-updates',
      '--gtid-strict-mode=ON',
      '--rpl-semi-sync-master-enabled=ON',
      '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
      // without an answer from the replica for this long, the primary commits alone (async)
      '--rpl-semi-sync-master-timeout=10000',
      '--rpl-semi-sync-slave-enabled=ON',
      `--read-only=${readOnly ? 'ON' : 'OFF'}`,
    ];
  }

  static async start(): Promise<ReplicaPair> {
    const pair = new ReplicaPair();
    try {
      pair.primary.extraArgs = ReplicaPair.roleArgs(1, false);
      pair.replica.extraArgs = ReplicaPair.roleArgs(2, true);
      await Promise.all([pair.primary.init(), pair.replica.init()]);
      // written on the primary, replicated: the replica starts from the primary's first GTID
      await pair.replica.query(
        `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${pair.primary.port}, MASTER_USER = 'repl', ` +
          `MASTER_PASSWORD = '${REPL_PASSWORD}', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1`,
      );
      for (const sql of [
        `CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '${REPL_PASSWORD}'`,
        `GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'`,
        `CREATE USER '${GH_USER}'@'127.0.0.1' IDENTIFIED BY '${GH_PASSWORD}'`,
        `GRANT ALL PRIVILEGES ON \`gh\\_%\`.* TO '${GH_USER}'@'127.0.0.1'`,
      ])
        await pair.primary.query(sql);
      await pair.replica.query('START SLAVE');
      await pair.caughtUp();
      const semi = await pair.primary.query("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'");
      if (Number(semi[0]?.Value) !== 1) throw new Error(`semi-sync replica not connected: ${JSON.stringify(semi)}`);
    } catch (err) {
      await pair.destroy();
      throw err;
    }
    return pair;
  }

  /** GATEHOUSE_DATABASE_URL naming the primary first, the replica second, as the user gh */
  url(database: string): string {
    return `mariadb://${GH_USER}:${GH_PASSWORD}@127.0.0.1:${this.primary.port},127.0.0.1:${this.replica.port}/${database}`;
  }

  private async slaveStatus(): Promise<Record<string, unknown> | undefined> {
    return ((await this.replica.query('SHOW SLAVE STATUS')) as Record<string, unknown>[])[0];
  }

  /** waits until the replica has applied what the primary has written (the primary running) */
  async caughtUp(timeoutMs = 30_000): Promise<void> {
    const [{ pos }] = await this.primary.query('SELECT @@global.gtid_binlog_pos AS pos');
    const [{ got }] = await this.replica.query('SELECT MASTER_GTID_WAIT(?, ?) AS got', [pos, timeoutMs / 1000]);
    if (Number(got) !== 0) throw new Error(`replica did not reach ${pos}: ${JSON.stringify(await this.slaveStatus())}`);
  }

  /**
   * The primary is gone: apply what the replica received (its relay log), stop replicating, and
   * open the replica for writes. Resolves when the replica is the new primary.
   */
  async promote(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.slaveStatus();
      if (s && String(s.Slave_SQL_Running_State).includes('read all relay log')) break;
      if (Date.now() > deadline) throw new Error(`replica still applying: ${JSON.stringify(s)}`);
      await sleep(20);
    }
    await this.replica.query('STOP SLAVE');
    await this.replica.query('RESET SLAVE ALL');
    await this.replica.query('SET GLOBAL read_only = OFF');
  }

  async destroy(): Promise<void> {
    await Promise.all([this.primary.destroy(), this.replica.destroy()]);
  }
}
