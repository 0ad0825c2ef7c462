import { s } from '../schema';

/** Field schemas shared by the app kinds' configs (§6) and the interfaces that name the same things. */
export const field = {
  id: s.match('^[A-Za-z0-9_.@-]+$', { minLength: 1, maxLength: 128 }),
  secret: s.str(512),
  aesKey: s.match('^[A-Za-z0-9]{43}$'),
  url: s.match('^https?://[^\\s]+$', { maxLength: 2048 }),
  /** a number, or the digits of one (WeCom agent ids arrive as either) */
  digits: s.digits(),
};

/** an app kind's config schema: `properties`, those in `required` required, nothing else */
export const configSchema = s.obj;
