import { s } from '../../schema';
import type { Area } from '../../contract';
import { appKind, field, optional } from '../platform-fields';
import { interfaces } from './interfaces';

const area: Area = {
  name: 'cosauth',
  interfaces: () => interfaces,
  apps: [
    appKind(
      'cos',
      'appId',
      {
        appId: field.id,
        secretId: field.id,
        secretKey: field.secret,
        bucket: optional(s.str(128)),
        region: optional(s.str(64)),
      },
      {
        appId: '1250000000',
        secretId: 'AKIDexample0000',
        secretKey: 'cos-secret-key-001',
        bucket: 'files',
        region: 'ap-guangzhou',
      },
      { identity: (c) => `${String(c.appId)}:${String(c.secretId)}`, identityLabel: 'appId:secretId' },
    ),
  ],
};
export default area;
