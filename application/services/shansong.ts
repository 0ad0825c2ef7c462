import type { Services } from '.';

/** Shansong (闪送) merchants: authorization, tokens, callbacks, form-signed developer API proxy. */
export class Shansong {
  constructor(private readonly sv: Services) {}
}
