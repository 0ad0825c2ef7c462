import type { Interface } from '../../contract';
import { appTokenInterfaces } from '../../controllers/token-interface';
import type { WecomParts } from './parts';

export const interfaces = (rt: WecomParts): Interface[] =>
  appTokenInterfaces(rt.tokens, 'wecom.corp', {
    token: 'Access token of a WeCom self-built app (gettoken with the app secret).',
    ticket: 'jsapi (corp, default) or agent_config (app) ticket.',
    jsconfig: 'wx.config (jsapi) or wx.agentConfig (agent_config) parameters for a page URL.',
  });
