import type { Area } from './contract';
import admin from './controllers/admin';
import consoleArea from './controllers/console';
import cosauth from './controllers/cosauth';
import minaauth from './controllers/minaauth';
import rules from './controllers/rules';
import varys from './controllers/varys';
import workauth from './controllers/workauth';

/**
 * The areas over every platform, listed once, in name order: admin (admin.*), console (the
 * operations console, /console), cosauth (COS signatures), minaauth (Wafer sessions, qcloud.cam.*),
 * varys (varys-compatible routes, off unless GATEHOUSE_VARYS_COMPAT=true), workauth (the Wafer fork's
 * WeCom forms, qcloud.work.*). Platforms are listed in platforms.ts.
 */
export const AREAS: readonly Area[] = [admin, consoleArea, cosauth, minaauth, rules, varys, workauth];
