import type { Area } from '../../area';
import { configSchema, field } from '../platform-fields';
import { interfaces } from './interfaces';

const area: Area = {
  name: 'cosauth',
  interfaces,
  platforms: [
    {
      platform: 'cos',
      idField: 'appId',
      secrets: ['secretKey'],
      identity: (c) => `${String(c.appId)}:${String(c.secretId)}`,
      schema: configSchema(
        {
          appId: field.id,
          secretId: field.id,
          secretKey: field.secret,
          bucket: { type: 'string', minLength: 1, maxLength: 128 },
          region: { type: 'string', minLength: 1, maxLength: 64 },
        },
        ['appId', 'secretId', 'secretKey'],
      ),
    },
  ],
};
export default area;
