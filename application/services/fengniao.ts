import type { Services } from '.';

/** Fengniao (蜂鸟, Ele.me delivery) merchants: authorization, tokens, callbacks, signed invoke proxy. */
export class Fengniao {
  constructor(private readonly sv: Services) {}
}
