import type { TokenRow } from '../../../db/store';
import type { AppConfig } from '../apps';
import type { TokenEngine, TokenSpec } from './engine';

/**
 * Registers the background resolvers (refresh ahead of expiry) of a platform's app tokens: the
 * access token and one `<type>_ticket` per ticket type. `appOf` names the enabled app a stored row
 * still belongs to (null: the row is left alone).
 */
export function appTokenResolvers<T extends string>(
  engine: TokenEngine,
  platform: string,
  appOf: (row: TokenRow) => Promise<AppConfig | null>,
  access: (app: AppConfig) => TokenSpec,
  ticketTypes: readonly T[],
  ticket: (app: AppConfig, type: T) => TokenSpec,
): void {
  const resolve = async (row: TokenRow, build: (app: AppConfig) => TokenSpec): Promise<TokenSpec | null> => {
    const app = await appOf(row);
    return app ? build(app) : null;
  };
  engine.resolver(platform, 'access_token', (row) => resolve(row, access));
  for (const type of ticketTypes)
    engine.resolver(platform, `${type}_ticket`, (row) => resolve(row, (app) => ticket(app, type)));
}
