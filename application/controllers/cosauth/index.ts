import { s } from '../../schema';
import type { Area } from '../../contract';
import { configSchema, field } from '../platform-fields';
import { interfaces } from './interfaces';

const area: Area = {
  name: 'cosauth',
  interfaces: () => interfaces,
  apps: [
    {
      platform: 'cos',
      idField: 'appId',
      secrets: ['secretKey'],
      identity: (c) => `${String(c.appId)}:${String(c.secretId)}`,
      identityLabel: 'appId:secretId',
      sample: {
        appId: '1250000000',
        secretId: 'AKIDexample0000',
        secretKey: 'cos-secret-key-001',
        bucket: 'files',
        region: 'ap-guangzhou',
      },
      schema: configSchema(
        {
          appId: field.id,
          secretId: field.id,
          secretKey: field.secret,
          bucket: s.str(128),
          region: s.str(64),
        },
        ['appId', 'secretId', 'secretKey'],
      ),
    },
  ],
};
export default area;
