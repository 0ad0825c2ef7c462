import type { SecretBox } from '../../system/secretbox';
import type { Store } from '../../db/store';
import type { AppService } from './apps';

/** what meta master_key_check holds, sealed: a key that opens it to this is the store's key */
export const KEY_CHECK = 'gatehouse';

/**
 * Re-seals every stored secret (app secrets, session keys, refresh tokens, permanent codes, the
 * generated JWT secret) from `from` to `to`, in one transaction. Values stored in clear (written
 * before a key was set) are sealed too. The key check for `to` is written in the same transaction,
 * so a later start with a wrong key finds it and is refused. Returns how many values were rewritten.
 */
export function rotateSecrets(store: Store, apps: AppService, from: SecretBox, to: SecretBox): Promise<number> {
  const reseal = (v: string) => to.seal(from.open(v));
  return store.rewriteSecrets(
    reseal,
    (platform, json) => {
      const config = JSON.parse(json) as Record<string, unknown>;
      for (const f of apps.platformDef(platform)?.secrets ?? [])
        if (typeof config[f] === 'string') config[f] = reseal(config[f] as string);
      return JSON.stringify(config);
    },
    to.seal(KEY_CHECK),
  );
}
