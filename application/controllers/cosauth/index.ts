import type { Area } from '../../area';
import { configSchema, field } from '../platform-fields';

const area: Area = {
  name: 'cosauth',
  platforms: [
    {
      platform: 'cos',
      idField: 'appId',
      secrets: ['secretKey'],
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
