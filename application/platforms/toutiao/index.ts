import type { Area } from '../../area';
import { configSchema, field } from '../../controllers/platform-fields';
import { interfaces, setupToutiao } from './interfaces';

const area: Area = {
  name: 'toutiao',
  interfaces,
  setup: setupToutiao,
  platforms: [
    {
      platform: 'toutiao_app',
      idField: 'appId',
      secrets: ['secret'],
      schema: configSchema({ appId: field.id, secret: field.secret }, ['appId', 'secret']),
    },
  ],
};
export default area;
