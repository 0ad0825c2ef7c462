import type { Area } from '../../area';
import { configSchema, field } from '../platform-fields';

const area: Area = {
  name: 'toutiao',
  platforms: [
    { platform: 'toutiao_app', idField: 'appId', secrets: ['secret'], schema: configSchema({ appId: field.id, secret: field.secret }, ['appId', 'secret']) },
  ],
};
export default area;
