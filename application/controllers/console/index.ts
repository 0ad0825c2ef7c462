import type { Area } from '../../contract';
import { consoleInterfaces } from './interfaces';
import { consoleRoutes } from './routes';

/** The operations console (/console): its page, sign-in and sessions, and the admin interfaces it adds. */
const area: Area = { name: 'console', interfaces: consoleInterfaces, routes: consoleRoutes };
export default area;
