import net from 'node:net';
import type Koa from 'koa';
import type { Caller, CallerAuth } from '../../../system/callers';
import { FORWARDING_HEADERS } from '../../../system/server';

/** a refusal of the varys-compatible routes: varys's `{"error": …}` with an HTTP status */
export class VarysRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** an address as BlockList takes it: IPv4-mapped IPv6 (`::ffff:127.0.0.1`) as the IPv4 address it is */
function plain(address: string): { address: string; type: 'ipv4' | 'ipv6' } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1] : address;
  if (net.isIPv4(a)) return { address: a, type: 'ipv4' };
  if (net.isIPv6(a)) return { address: a, type: 'ipv6' };
  return null;
}

/** GATEHOUSE_VARYS_ALLOW: the networks whose clients may call the compat routes without a caller token */
export class NetworkAllowList {
  private readonly list = new net.BlockList();

  constructor(readonly cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      this.list.addSubnet(addr, Number(bits), net.isIPv4(addr) ? 'ipv4' : 'ipv6');
    }
  }

  allows(address: string | undefined): boolean {
    const p = address ? plain(address) : null;
    return p !== null && this.list.check(p.address, p.type);
  }
}

/**
 * The client's address as the node's proxy-trust setting reads it (GATEHOUSE_TRUST_PROXY): with
 * trust, the last `X-Forwarded-For` entry — the one the gateway in front added; a gateway that
 * appends (nginx's `$proxy_add_x_forwarded_for`) keeps whatever the client sent on the left, so
 * Koa's `ctx.ip` (the first entry) would let `X-Forwarded-For: 127.0.0.1` in; without trust, the
 * socket's own address, and none at all when the request carries a forwarding header (a reverse
 * proxy on an allowed address would otherwise pass everyone it forwards).
 */
export function clientAddress(ctx: Koa.Context, trustProxy: boolean): string | undefined {
  if (trustProxy) return ctx.ips.at(-1) || ctx.req.socket.remoteAddress;
  if (FORWARDING_HEADERS.some((h) => ctx.req.headers[h] !== undefined)) return undefined;
  return ctx.req.socket.remoteAddress;
}

/**
 * Admits a request to a varys-compatible caller route. varys had no caller authentication;
 * gatehouse keeps one: a request that sends `Authorization: Bearer <caller token>` is judged by
 * that token alone (401 when it is not valid, whatever the address; its scope and `apps` claim
 * are checked by the route), and one that sends none must come from GATEHOUSE_VARYS_ALLOW (403).
 * Returns the verified caller, or undefined for a client admitted by its address.
 */
export function admit(
  ctx: Koa.Context,
  callers: CallerAuth,
  allow: NetworkAllowList,
  trustProxy: boolean,
): Caller | undefined {
  const authorization = ctx.get('authorization');
  if (authorization) {
    try {
      return callers.verify(authorization);
    } catch {
      throw new VarysRefusal(401, 'caller token rejected');
    }
  }
  if (!allow.allows(clientAddress(ctx, trustProxy))) {
    throw new VarysRefusal(
      403,
      'client not allowed: send a caller token (Authorization: Bearer …) or connect from GATEHOUSE_VARYS_ALLOW',
    );
  }
  return undefined;
}
