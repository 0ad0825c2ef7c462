import client from 'prom-client';

export interface TokenState {
  platform: string;
  codeName: string;
  subject: string;
  kind: string;
  expiresAt: number;
  refreshedAt: number | null;
}

/**
 * Prometheus metrics (GET /metrics). One registry per process; label values are bounded (an
 * unknown interfaceName is counted as "unknown").
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly rpc = new client.Counter({
    name: 'gatehouse_rpc_requests_total',
    help: 'RPC calls by interface and returnCode',
    labelNames: ['interface', 'code'],
    registers: [this.registry],
  });
  readonly rpcSeconds = new client.Histogram({
    name: 'gatehouse_rpc_duration_seconds',
    help: 'RPC latency by interface',
    labelNames: ['interface'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly upstream = new client.Counter({
    name: 'gatehouse_upstream_requests_total',
    help: 'platform API calls by platform, api and errcode (or failure)',
    labelNames: ['platform', 'api', 'errcode'],
    registers: [this.registry],
  });
  readonly upstreamSeconds = new client.Histogram({
    name: 'gatehouse_upstream_duration_seconds',
    help: 'platform API latency',
    labelNames: ['platform', 'api'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly refreshes = new client.Counter({
    name: 'gatehouse_token_refreshes_total',
    help: 'token refreshes by platform, kind, reason (cold, force, invalidate, ahead) and result',
    labelNames: ['platform', 'kind', 'reason', 'result'],
    registers: [this.registry],
  });
  readonly cache = new client.Counter({
    name: 'gatehouse_token_cache_total',
    help: 'token reads answered from the node cache (hit) or the store (miss)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly leaseWaits = new client.Counter({
    name: 'gatehouse_token_lease_waits_total',
    help: 'times a node waited for another node holding a refresh lease',
    registers: [this.registry],
  });

  private tokens: () => TokenState[] = () => [];

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    const labelNames = ['platform', 'code_name', 'subject', 'kind'];
    const tokens = () => this.tokens();
    const labels = (t: TokenState) => ({
      platform: t.platform,
      code_name: t.codeName,
      subject: t.subject,
      kind: t.kind,
    });
    new client.Gauge({
      name: 'gatehouse_token_expires_in_seconds',
      help: 'seconds until each token this node has seen expires',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const t of tokens()) this.set(labels(t), Math.round((t.expiresAt - now) / 1000));
      },
    });
    new client.Gauge({
      name: 'gatehouse_token_age_seconds',
      help: 'seconds since each token this node has seen was refreshed',
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const t of tokens())
          if (t.refreshedAt !== null) this.set(labels(t), Math.round((now - t.refreshedAt) / 1000));
      },
    });
  }

  /** where the per-token gauges read from (the token engine's last known values) */
  watchTokens(source: () => TokenState[]): void {
    this.tokens = source;
  }
}
