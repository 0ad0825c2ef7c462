// Generated from the registry's JSON Schemas (GET /openrpc.json) by test/clients/client-types.ts.
// Do not edit: UPDATE_CLIENT_TYPES=1 npx mocha test/clients/client.test.ts rewrites it.

/** Every RPC interface: its access level, para and returnData. */
export interface Interfaces {
  /** admin — Removes an app config. */
  "admin.app.delete": {
    access: "admin";
    para: {
      platform: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
    };
    result: {
      deleted: boolean;
    };
  };
  /** admin — One app config, every secret masked as "****" + its last 4 characters. */
  "admin.app.get": {
    access: "admin";
    para: {
      platform: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
    };
    result: {
      platform?: string;
      codeName?: string;
      enabled?: boolean;
      [key: string]: unknown;
    };
  };
  /** admin — The kinds of app config: each one's JSON Schema, id field and secret (write-only) fields. */
  "admin.app.kinds": {
    access: "admin";
    para: Record<string, never>;
    result: {
      kinds: {
        platform: string;
        idField: string;
        secrets: string[];
        schema: Record<string, unknown>;
      }[];
    };
  };
  /** admin — The configured apps (no secrets). */
  "admin.app.list": {
    access: "admin";
    para: {
      platform?: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
    };
    result: {
      apps: {
        platform: string;
        codeName: string;
        appId: string;
        enabled: boolean;
        updatedAt: number;
      }[];
    };
  };
  /** admin — Creates or replaces an app config (§6); secrets are sealed at rest. */
  "admin.app.put": {
    access: "admin";
    para: {
      platform: "alipay_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 8192 */
        privateKey: string;
        /** minLength 1, maxLength 8192 */
        alipayPublicKey: string;
        /** pattern ^([A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{32}|[A-Za-z0-9+/]{43}=)$ */
        aesKey?: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        gateway?: string;
        /** minimum 1, maximum 3650 */
        loginDurationDays?: number;
        /** minimum 60, maximum 315360000 */
        sessionDurationSeconds?: number;
        enabled?: boolean;
      };
    } | {
      platform: "cos";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        secretId: string;
        /** minLength 1, maxLength 512 */
        secretKey: string;
        /** minLength 1, maxLength 128 */
        bucket?: string;
        /** minLength 1, maxLength 64 */
        region?: string;
        enabled?: boolean;
      };
    } | {
      platform: "dingtalk_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appKey: string;
        /** minLength 1, maxLength 512 */
        appSecret: string;
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        corpId: string;
        agentId: string | number;
        /** pattern ^[A-Za-z0-9]{43}$ */
        aesKey?: string;
        /** minLength 1, maxLength 512 */
        token?: string;
        tokenMode?: "new" | "legacy";
        enabled?: boolean;
      };
    } | {
      platform: "feishu_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^cli_[A-Za-z0-9]{1,64}$ */
        appId: string;
        /** minLength 1, maxLength 512 */
        appSecret: string;
        kind: "self_built" | "store";
        /** minLength 1, maxLength 512 */
        encryptKey?: string;
        /** minLength 1, maxLength 512 */
        verificationToken?: string;
        domain?: "feishu" | "lark";
        enabled?: boolean;
      };
    } | {
      platform: "fengniao_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        devId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        callbackUrl?: string;
        enabled?: boolean;
      };
    } | {
      platform: "qq_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** minimum 1, maximum 3650 */
        loginDurationDays?: number;
        /** minimum 60, maximum 315360000 */
        sessionDurationSeconds?: number;
        enabled?: boolean;
      };
    } | {
      platform: "shansong_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        redirectUrl?: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        callbackUrl?: string;
        enabled?: boolean;
      };
    } | {
      platform: "toutiao_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** minimum 1, maximum 3650 */
        loginDurationDays?: number;
        /** minimum 60, maximum 315360000 */
        sessionDurationSeconds?: number;
        enabled?: boolean;
      };
    } | {
      platform: "wechat_app";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        tokenMode?: "stable" | "classic";
        default?: boolean;
        /** minimum 1, maximum 3650 */
        loginDurationDays?: number;
        /** minimum 60, maximum 315360000 */
        sessionDurationSeconds?: number;
        enabled?: boolean;
      };
    } | {
      platform: "wechat_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        appId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** minLength 1, maxLength 512 */
        token: string;
        /** pattern ^[A-Za-z0-9]{43}$ */
        aesKey: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        redirectUrl?: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        authForwardUrl?: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        msgForwardUrl?: string;
        enabled?: boolean;
      };
    } | {
      platform: "wecom_corp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        corpId: string;
        agentId: string | number;
        /** minLength 1, maxLength 512 */
        secret: string;
        enabled?: boolean;
      };
    } | {
      platform: "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      config: {
        /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
        suiteId: string;
        /** minLength 1, maxLength 512 */
        secret: string;
        /** minLength 1, maxLength 512 */
        token: string;
        /** pattern ^[A-Za-z0-9]{43}$ */
        aesKey: string;
        /** pattern ^https?://[^\s]+$, maxLength 2048 */
        redirectUrl?: string;
        enabled?: boolean;
      };
    };
    result: {
      platform: string;
      codeName: string;
      created: boolean;
    };
  };
  /** admin — The audit log, newest first: every admin write — who, through which interface or console session, on what. */
  "admin.audit.list": {
    access: "admin";
    para: {
      /** minLength 1, maxLength 255 */
      actor?: string;
      /** minLength 1, maxLength 128 */
      interfaceName?: string;
      /** minimum 1, maximum 500 */
      limit?: number;
    };
    result: {
      entries: {
        at: number;
        actor: string;
        via: string;
        interfaceName: string;
        target: Record<string, unknown>;
        ip: string | null;
        requestId: string | null;
      }[];
    };
  };
  /** admin — Caller tokens minted by gatehouse and revoked ids: sub, scope, apps, exp, revoked. Never a token. */
  "admin.caller.list": {
    access: "admin";
    para: Record<string, never>;
    result: {
      callers: {
        jti: string;
        sub: string | null;
        scope: string | null;
        apps: string[] | null;
        exp: number | null;
        revoked: boolean;
      }[];
    };
  };
  /** admin — Mints a caller token (shown once; its jti is listed and revocable). Its scope must be covered by the caller's own, its apps claim within the caller's; admin.token.reveal only by a caller that holds it. */
  "admin.caller.mint": {
    access: "admin";
    para: {
      /** pattern ^[!-~]{1,128}$ */
      sub: string;
      /** pattern ^[!-~]{1,128}( [!-~]{1,128}){0,31}$ */
      scope: string;
      apps?: string[];
      /** minimum 60, maximum 31536000 */
      ttlSeconds?: number;
    };
    result: {
      token: string;
      jti: string;
      exp: number;
    };
  };
  /** admin — Revokes a caller token by its jti: every node answers it 4001 within 5 s. A jti gatehouse did not mint is recorded as revoked. */
  "admin.caller.revoke": {
    access: "admin";
    para: {
      /** pattern ^[!-~]{1,64}$ */
      jti: string;
    };
    result: {
      revoked: boolean;
    };
  };
  /** admin — The pushes received from the platforms, decrypted, tickets and codes masked, newest first. */
  "admin.push.list": {
    access: "admin";
    para: {
      platform?: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName?: string;
      /** maxLength 64 */
      infoType?: string;
      /** minimum 1, maximum 200 */
      limit?: number;
    };
    result: {
      pushes: {
        at: number;
        platform: string;
        codeName: string;
        infoType: string;
        appId: string | null;
        verified: boolean;
        body: Record<string, unknown>;
        deliveries: {
          at: number;
          ruleId: string;
          ruleName: string;
          host: string;
          delivered: boolean;
          status: number | null;
          error: string | null;
          attempts: number;
          ms: number;
        }[];
      }[];
    };
  };
  /** admin — Removes a push forwarding rule (its past deliveries stay in the push log). */
  "admin.rule.delete": {
    access: "admin";
    para: {
      /** pattern ^[A-Za-z0-9_.-]{1,64}$ */
      id: string;
    };
    result: {
      deleted: boolean;
    };
  };
  /** admin — The push forwarding rules, in the order they are evaluated (priority, then id). */
  "admin.rule.list": {
    access: "admin";
    para: {
      platform?: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
    };
    result: {
      rules: {
        id: string;
        name: string;
        enabled: boolean;
        priority: number;
        platform: string;
        codeName: string | null;
        appId: string | null;
        infoType: string | null;
        msgType: string | null;
        event: string | null;
        url: string;
        format: "json" | "xml";
        timeoutMs: number;
        retries: number;
        continue: boolean;
        createdAt: number;
        updatedAt: number;
      }[];
    };
  };
  /** admin — Creates (no id, or a new one) or replaces a push forwarding rule: match fields exact or a prefix ending in *, the target URL, json or xml, timeout, retries, priority, continue. */
  "admin.rule.put": {
    access: "admin";
    para: {
      /** pattern ^[A-Za-z0-9_.-]{1,64}$ */
      id?: string;
      /** minLength 1, maxLength 128 */
      name: string;
      enabled?: boolean;
      /** minimum 0, maximum 1000000 */
      priority?: number;
      platform: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^(?:[A-Za-z0-9_.:@-]{1,64}\*?|\*)$ */
      codeName?: string;
      /** pattern ^(?:[A-Za-z0-9_.:@-]{1,64}\*?|\*)$ */
      appId?: string;
      /** pattern ^(?:[A-Za-z0-9_.:@-]{1,64}\*?|\*)$ */
      infoType?: string;
      /** pattern ^(?:[A-Za-z0-9_.:@-]{1,64}\*?|\*)$ */
      msgType?: string;
      /** pattern ^(?:[A-Za-z0-9_.:@-]{1,64}\*?|\*)$ */
      event?: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 2048 */
      url: string;
      format?: "json" | "xml";
      /** minimum 100, maximum 30000 */
      timeoutMs?: number;
      /** minimum 0, maximum 5 */
      retries?: number;
      continue?: boolean;
    };
    result: {
      id: string;
      created: boolean;
    };
  };
  /** admin — Sends a test push through a rule (enabled or not): a sample made from its match fields, delivered with its format, timeout and retries and header x-gatehouse-test: 1. Answers the outcome and what was sent; records nothing. */
  "admin.rule.test": {
    access: "admin";
    para: {
      /** pattern ^[A-Za-z0-9_.-]{1,64}$ */
      id: string;
    };
    result: {
      delivered: boolean;
      status: number | null;
      error: string | null;
      attempts: number;
      ms: number;
      contentType: string;
      body: string;
    };
  };
  /** admin — Every token and ticket gatehouse keeps: expiry, last refresh, last error. Never a value. */
  "admin.token.list": {
    access: "admin";
    para: {
      platform?: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName?: string;
    };
    result: {
      tokens: {
        platform: string;
        codeName: string;
        subject: string;
        kind: string;
        expiresAt: number | null;
        refreshedAt: number | null;
        lastError: string | null;
      }[];
    };
  };
  /** admin — Refreshes a stored token now (a forced refresh: within the shared 30 s budget of §5.3, otherwise the current token stays). Never answers the value. */
  "admin.token.refresh": {
    access: "admin";
    para: {
      platform: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 300 */
      subject: string;
      /** minLength 1, maxLength 64 */
      kind: string;
    };
    result: {
      expiresAt: number;
      refreshedAt: number | null;
    };
  };
  /** admin — A stored token's value, for debugging: only for a caller whose scope names admin.token.reveal itself (no pattern covers it); every reveal is in the audit log. */
  "admin.token.reveal": {
    access: "admin";
    para: {
      platform: "alipay_app" | "cos" | "dingtalk_app" | "feishu_app" | "fengniao_app" | "qq_app" | "shansong_app" | "toutiao_app" | "wechat_app" | "wechat_tp" | "wecom_corp" | "wecom_tp";
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 300 */
      subject: string;
      /** minLength 1, maxLength 64 */
      kind: string;
    };
    result: {
      value: string;
      expiresAt: number;
    };
  };
  /** admin — This node's platform API calls since it started, by platform, API and outcome (errcode, or the failure: timeout, http_5xx …), from its metrics; none for a caller limited by an apps claim. */
  "admin.upstream.list": {
    access: "admin";
    para: Record<string, never>;
    result: {
      calls: {
        platform: string;
        api: string;
        errcode: string;
        count: number;
      }[];
    };
  };
  /** backend — dd.config parameters for a page URL: corpId, agentId, timestamp (s), nonceStr, signature. */
  "dingtalk.app.jsconfig": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 4096 */
      url: string;
    };
    result: {
      appKey: string;
      corpId: string;
      agentId: string;
      timestamp: number;
      nonceStr: string;
      signature: string;
    };
  };
  /** backend — jsapi ticket (get_jsapi_ticket) of a DingTalk app. */
  "dingtalk.app.ticket": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      type?: "jsapi";
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appKey: string;
      ticket: string;
      expiresAt: number;
    };
  };
  /** backend — Access token of a DingTalk app (POST /v1.0/oauth2/accessToken; gettoken with tokenMode "legacy"), good on both hosts. */
  "dingtalk.app.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appKey: string;
      corpId: string;
      agentId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — A 免登 code (H5 page or mini program) → the user: userid, unionid (topapi/v2/user/getuserinfo). */
  "dingtalk.app.userinfo": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 512 */
      code: string;
    };
    result: {
      userId: string;
      unionId?: string;
      name?: string;
      sys?: boolean;
      sysLevel?: number;
    };
  };
  /** backend — A login code → the user: "mini" (default) a mini-program tt.login code (tokenLoginValidate), "h5" a web app's authorization code (authen/v1/access_token); the app_access_token is added. */
  "feishu.app.code2session": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 512 */
      code: string;
      type?: "mini" | "h5";
    };
    result: {
      openId: string;
      unionId?: string;
      userId?: string;
      tenantKey?: string;
      sessionKey?: string;
    };
  };
  /** backend — h5sdk.config parameters for an H5 page URL: appId, timestamp (ms), nonceStr and the jsapi_ticket signature. */
  "feishu.app.jsconfig": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 4096 */
      url: string;
      /** pattern ^[A-Za-z0-9_-]{1,64}$ */
      tenantKey?: string;
    };
    result: {
      appId: string;
      timestamp: number;
      nonceStr: string;
      signature: string;
    };
  };
  /** backend — A store app's tenants: those that installed it (app_open) and whether they still have it. */
  "feishu.app.tenants": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
    };
    result: {
      tenants: {
        tenantKey: string;
        installed: boolean;
        updatedAt: number;
      }[];
    };
  };
  /** backend — JSSDK jsapi_ticket of a Feishu / Lark app (of a tenant, tenantKey, for a store app). */
  "feishu.app.ticket": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^[A-Za-z0-9_-]{1,64}$ */
      tenantKey?: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      ticket: string;
      expiresAt: number;
    };
  };
  /** backend — app_access_token (kind "app") or tenant_access_token (kind "tenant", the default) of a Feishu / Lark app: a self-built app from the /internal endpoints, a store app from the pushed app_ticket and, per tenant (tenantKey), from its app_access_token. */
  "feishu.app.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      kind?: "app" | "tenant";
      /** pattern ^[A-Za-z0-9_-]{1,64}$ */
      tenantKey?: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      kind: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — A Fengniao merchant's access token (refresh grant with the stored refresh token, which rotates); 1014 until the merchant authorized, or once its refresh token expired. */
  "fengniao.merchant.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^[A-Za-z0-9_.-]{1,64}$ */
      merchantId: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      merchantId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** public — Checks a session (id + skey) and returns its user. */
  "qcloud.cam.auth": {
    access: "public";
    para: {
      /** minLength 1, maxLength 128 */
      id: string;
      /** minLength 1, maxLength 128 */
      skey: string;
      /** minLength 1, maxLength 128 */
      appid?: string;
      platform?: "wechat" | "alipay" | "qq" | "toutiao";
    };
    result: {
      user_info: Record<string, unknown> | null;
      appid: string;
      platform: string;
      openid: string;
      unionid: string | null;
    };
  };
  /** public — Checks sha1(raw_data + session_key) against signature (Alipay: the RSA2 sign of Alipay-signed content). */
  "qcloud.cam.check_signature": {
    access: "public";
    para: {
      /** minLength 1, maxLength 128 */
      id: string;
      /** minLength 1, maxLength 128 */
      skey: string;
      /** maxLength 65536 */
      raw_data: string;
      /** minLength 1, maxLength 1024 */
      signature: string;
    };
    result: {
      valid: boolean;
    };
  };
  /** public — Decrypts mini-program encrypted data (phone number, run data …) with the session key (Alipay: the app's AES key). */
  "qcloud.cam.decrypt": {
    access: "public";
    para: {
      /** minLength 1, maxLength 128 */
      id: string;
      /** minLength 1, maxLength 128 */
      skey: string;
      /** minLength 1, maxLength 65536 */
      encrypt_data: string;
      /** minLength 1, maxLength 64 */
      iv?: string;
    };
    result: Record<string, unknown>;
  };
  /** public — Mini-program login: a wx.login / tt.login / qq.login code or my.getAuthCode authCode → session id + skey (optionally decrypting user info). */
  "qcloud.cam.id_skey": {
    access: "public";
    para: {
      /** minLength 1, maxLength 512 */
      code?: string;
      /** minLength 1, maxLength 512 */
      anonymous_code?: string;
      /** minLength 1, maxLength 65536 */
      encrypt_data?: string;
      /** minLength 1, maxLength 64 */
      iv?: string;
      /** minLength 1, maxLength 128 */
      appid?: string;
      platform?: "wechat" | "alipay" | "qq" | "toutiao";
    } & ({ code: string } | { anonymous_code: string });
    result: {
      id: string;
      skey: string;
      duration: number;
      appid: string;
      platform: string;
      unionid: string | null;
      user_info?: Record<string, unknown>;
    };
  };
  /** public — Ends a session: its skey stops working. */
  "qcloud.cam.logout": {
    access: "public";
    para: {
      /** minLength 1, maxLength 128 */
      id: string;
      /** minLength 1, maxLength 128 */
      skey: string;
    };
    result: Record<string, never>;
  };
  /** public — Decrypts and stores the user info of a session. */
  "qcloud.cam.userinfo": {
    access: "public";
    para: {
      /** minLength 1, maxLength 128 */
      id: string;
      /** minLength 1, maxLength 128 */
      skey: string;
      /** minLength 1, maxLength 65536 */
      encrypt_data: string;
      /** minLength 1, maxLength 64 */
      iv?: string;
    };
    result: {
      id: string;
      skey: string;
      appid: string;
      user_info: Record<string, unknown>;
    };
  };
  /** backend — COS v4 single-use signature for one file (e = 0). */
  "qcloud.cos.auth.nonreusable": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9._-]+$, minLength 1, maxLength 128 */
      bucket: string;
      /** minLength 1, maxLength 1024 */
      filepath?: string;
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      profile?: string;
      /** pattern ^[0-9A-Za-z]+$, minLength 1, maxLength 32 */
      appid?: string;
      /** minLength 1, maxLength 128 */
      sid?: string;
      /** minLength 1, maxLength 256 */
      skey?: string;
    } & ({ profile: string; appid?: never; sid?: never; skey?: never } | { appid: string; sid: string; skey: string; profile?: never });
    result: string;
  };
  /** backend — COS v4 multi-use signature valid until expiration (unix s, at most 90 days ahead). */
  "qcloud.cos.auth.reusable": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9._-]+$, minLength 1, maxLength 128 */
      bucket: string;
      /** minimum 1 */
      expiration: number;
      /** minLength 1, maxLength 1024 */
      filepath?: string;
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      profile?: string;
      /** pattern ^[0-9A-Za-z]+$, minLength 1, maxLength 32 */
      appid?: string;
      /** minLength 1, maxLength 128 */
      sid?: string;
      /** minLength 1, maxLength 256 */
      skey?: string;
    } & ({ profile: string; appid?: never; sid?: never; skey?: never } | { appid: string; sid: string; skey: string; profile?: never });
    result: string;
  };
  /** backend — COS v5 (XML API) Authorization header, q-sign-algorithm=sha1, signing exactly the given headers and query. */
  "qcloud.cos.auth.v5": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      profile: string;
      /** pattern ^[A-Za-z]{3,10}$ */
      method: string;
      /** pattern ^/, minLength 1, maxLength 2048 */
      path: string;
      /** maxProperties 64 */
      headers?: Record<string, string>;
      /** maxProperties 64 */
      query?: Record<string, string>;
      /** minimum 1, maximum 86400 */
      expires?: number;
    };
    result: {
      authorization: string;
      keyTime: string;
    };
  };
  /** backend — Wafer-fork compatible: access token of a mini program by appid. */
  "qcloud.mimi.access_token": {
    access: "backend";
    para: {
      /** minLength 1, maxLength 128 */
      appid: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalid_token?: string;
    };
    result: {
      appid: string;
      access_token: string;
      exp: number;
    };
  };
  /** backend — Wafer-fork compatible: WeCom access token by corpid + agentid. */
  "qcloud.work.access_token": {
    access: "backend";
    para: {
      /** minLength 1, maxLength 128 */
      corpid: string;
      agentid: string | number;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalid_token?: string;
    };
    result: {
      corpid: string;
      access_token: string;
      exp: number;
    };
  };
  /** backend — Wafer-fork compatible: WeCom agent_config ticket. */
  "qcloud.work.agent.ticket": {
    access: "backend";
    para: {
      /** minLength 1, maxLength 128 */
      corpid: string;
      agentid: string | number;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalid_token?: string;
    };
    result: {
      corpid: string;
      agent_ticket: string;
      exp: number;
    };
  };
  /** admin — Wafer-fork compatible: upserts a wecom_corp app with codeName "corpid:agentid". */
  "qcloud.work.initagent": {
    access: "admin";
    para: {
      /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
      corpid: string;
      agentid: string | number;
      /** minLength 1, maxLength 512 */
      agentsecret: string;
      /** maxLength 256 */
      remark?: string;
    };
    result: Record<string, never>;
  };
  /** backend — Wafer-fork compatible: WeCom corp jsapi ticket. */
  "qcloud.work.ticket": {
    access: "backend";
    para: {
      /** minLength 1, maxLength 128 */
      corpid: string;
      agentid: string | number;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalid_token?: string;
    };
    result: {
      corpid: string;
      ticket: string;
      exp: number;
    };
  };
  /** backend — Access token of a QQ mini program (GET /api/getToken). */
  "qq.app.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — A Shansong merchant's access token (refreshed with its rotated refresh token; 1014 until the merchant authorized, or after its refresh token was rejected). */
  "shansong.merchant.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^[A-Za-z0-9_.@-]{1,128}$ */
      merchantCode: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      merchantCode: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — jscode2session for a ByteDance mini program (code and/or anonymousCode). */
  "toutiao.app.code2session": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 512 */
      code?: string;
      /** minLength 1, maxLength 512 */
      anonymousCode?: string;
    } & ({ code: string } | { anonymousCode: string });
    result: {
      openid: string;
      sessionKey: string;
      anonymousOpenid?: string;
      unionid?: string;
    };
  };
  /** backend — Access token of a ByteDance mini program (POST /api/apps/v2/token). */
  "toutiao.app.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — jscode2session for a mini program: openid, session key, unionid. */
  "wechat.app.code2session": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 512 */
      jsCode: string;
    };
    result: {
      openid: string;
      sessionKey: string;
      unionid?: string;
    };
  };
  /** backend — wx.config parameters for a page URL, signed with the jsapi ticket. */
  "wechat.app.jsconfig": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 4096 */
      url: string;
    };
    result: {
      appId: string;
      timestamp: number;
      nonceStr: string;
      signature: string;
    };
  };
  /** backend — jsapi (default) or wx_card ticket, derived from the access token. */
  "wechat.app.ticket": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      type?: "jsapi" | "wx_card";
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      ticket: string;
      expiresAt: number;
    };
  };
  /** backend — Access token of an official account / mini program (stable_token or classic /cgi-bin/token). */
  "wechat.app.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — The accounts that authorized the platform; sync: true first adopts those WeChat knows (api_get_authorizer_list). */
  "wechat.tp.authorizers": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      sync?: boolean;
    };
    result: {
      authorizers: {
        authorizerAppId: string;
        authorized: boolean;
        updatedAt: number;
      }[];
    };
  };
  /** backend — component_access_token of a third-party platform (1014 until the first component_verify_ticket). */
  "wechat.tp.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — Uploads a template as the authorizer mini program's trial version (commit); extJson is sent as the ext_json string. */
  "wechat.tpauth.code.commit": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** minimum 0 */
      templateId: number;
      extJson: Record<string, unknown>;
      /** minLength 1, maxLength 64 */
      userVersion: string;
      /** minLength 1, maxLength 1024 */
      userDesc: string;
    };
    result: Record<string, never>;
  };
  /** backend — The trial version's QR code (get_qrcode), base64, with WeChat's content type; path: the page it opens. */
  "wechat.tpauth.code.qrcode": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** minLength 1, maxLength 1024 */
      path?: string;
    };
    result: {
      contentType: string;
      image: string;
    };
  };
  /** backend — Releases the audited version (release). */
  "wechat.tpauth.code.release": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
    };
    result: Record<string, never>;
  };
  /** backend — Rolls the live version back (revertcoderelease): to the previous one, or to appVersion (see versions). */
  "wechat.tpauth.code.rollback": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** pattern ^[0-9]{1,20}$ */
      appVersion?: string;
    };
    result: Record<string, never>;
  };
  /** backend — Audit status: from WeChat (source "wechat", default: get_auditstatus for auditId, else get_latest_auditstatus) or from the audit pushes received (source "pushes": nothing sent; state "none" when none is kept). */
  "wechat.tpauth.code.status": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** minimum 1 */
      auditId?: number;
      source?: "wechat" | "pushes";
    };
    result: {
      source: "wechat" | "pushes";
      state: "success" | "rejected" | "auditing" | "withdrawn" | "delayed" | "unknown" | "none";
      status?: number;
      auditId?: number;
      reason?: string;
      screenshots?: string[];
      userVersion?: string;
      userDesc?: string;
      submittedAt?: number;
      at?: number;
    };
  };
  /** backend — Submits the trial version for audit (submit_audit) → its auditId. */
  "wechat.tpauth.code.submit": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      itemList?: {
        /** minLength 1, maxLength 512 */
        address?: string;
        /** maxLength 256 */
        tag?: string;
        /** minLength 1, maxLength 64 */
        firstClass: string;
        /** minLength 1, maxLength 64 */
        secondClass: string;
        /** minLength 1, maxLength 64 */
        thirdClass?: string;
        /** minimum 0 */
        firstId: number;
        /** minimum 0 */
        secondId: number;
        /** minimum 0 */
        thirdId?: number;
        /** minLength 1, maxLength 64 */
        title?: string;
      }[];
      /** maxLength 200 */
      feedbackInfo?: string;
      /** maxLength 2048 */
      feedbackStuff?: string;
      /** maxLength 500 */
      versionDesc?: string;
      previewInfo?: {
        videoIdList?: string[];
        picIdList?: string[];
      };
      ugcDeclare?: {
        scene?: number[];
        /** maxLength 256 */
        otherSceneDesc?: string;
        method?: number[];
        /** minimum 0, maximum 1 */
        hasAuditTeam?: number;
        /** maxLength 256 */
        auditDesc?: string;
      };
      privacyApiNotUse?: boolean;
      /** minLength 1, maxLength 512 */
      orderPath?: string;
    };
    result: {
      auditId: number;
    };
  };
  /** backend — The platform's code templates (gettemplatelist, component token): templateType 0 normal, 1 standard, absent all. */
  "wechat.tpauth.code.templates": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minimum 0, maximum 1 */
      templateType?: number;
    };
    result: {
      templates: {
        templateId: number;
        userVersion: string;
        userDesc: string;
        createTime: number;
        templateType?: number;
        sourceAppId?: string;
        sourceName?: string;
        developer?: string;
      }[];
    };
  };
  /** backend — Withdraws the audit under way (undocodeaudit; WeChat allows 5 a day, 10 a month). */
  "wechat.tpauth.code.undo": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
    };
    result: Record<string, never>;
  };
  /** backend — The versions a rollback may go back to (revertcoderelease action=get_history_version). */
  "wechat.tpauth.code.versions": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
    };
    result: {
      versions: {
        appVersion: string;
        userVersion: string;
        userDesc: string;
        commitTime: number;
      }[];
    };
  };
  /** backend — jscode2session for an authorizer mini program, with the component token. */
  "wechat.tpauth.code2session": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** minLength 1, maxLength 512 */
      jsCode: string;
    };
    result: {
      openid: string;
      sessionKey: string;
      unionid?: string;
    };
  };
  /** backend — wx.config parameters for an authorizer's page (appId = the authorizer). */
  "wechat.tpauth.jsconfig": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 4096 */
      url: string;
    };
    result: {
      appId: string;
      timestamp: number;
      nonceStr: string;
      signature: string;
    };
  };
  /** backend — An authorizer's jsapi (default) or wx_card ticket. */
  "wechat.tpauth.ticket": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      type?: "jsapi" | "wx_card";
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      authorizerAppId: string;
      ticket: string;
      expiresAt: number;
    };
  };
  /** backend — An authorizer's access token (api_authorizer_token, refresh token rotated and kept). */
  "wechat.tpauth.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** minLength 1, maxLength 128 */
      authorizerAppId: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      appId: string;
      authorizerAppId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — wx.config (jsapi) or wx.agentConfig (agent_config) parameters for a page URL. */
  "wecom.corp.jsconfig": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^https?://[^\s/?#]+[^\s]*$, maxLength 4096 */
      url: string;
      type?: "jsapi" | "agent_config";
    };
    result: {
      corpId: string;
      agentId: string;
      timestamp: number;
      nonceStr: string;
      signature: string;
    };
  };
  /** backend — jsapi (corp, default) or agent_config (app) ticket. */
  "wecom.corp.ticket": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      type?: "jsapi" | "agent_config";
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      corpId: string;
      ticket: string;
      expiresAt: number;
    };
  };
  /** backend — Access token of a WeCom self-built app (gettoken with the app secret). */
  "wecom.corp.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      corpId: string;
      agentId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — The corps that installed the suite, and whether their tokens can be served. */
  "wecom.tp.authorizers": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
    };
    result: {
      corps: {
        corpId: string;
        authorized: boolean;
        updatedAt: number;
      }[];
    };
  };
  /** backend — suite_access_token of a WeCom third-party suite (get_suite_token with the pushed suite_ticket). */
  "wecom.tp.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      suiteId: string;
      token: string;
      expiresAt: number;
    };
  };
  /** backend — Access token of a corp that installed the suite (get_corp_token with its permanent code); 1014 once it cancelled. */
  "wecom.tpauth.token": {
    access: "backend";
    para: {
      /** pattern ^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$ */
      codeName: string;
      /** pattern ^[A-Za-z0-9_.@-]+$, minLength 1, maxLength 128 */
      corpId: string;
      force?: boolean;
      /** minLength 1, maxLength 2048 */
      invalidToken?: string;
    };
    result: {
      suiteId: string;
      corpId: string;
      token: string;
      expiresAt: number;
    };
  };
}

export type InterfaceName = keyof Interfaces;
export type Para<N extends InterfaceName> = Interfaces[N]['para'];
export type Result<N extends InterfaceName> = Interfaces[N]['result'];

/**
 * The token and ticket interfaces: the para that asks for a compare-and-refresh (§5.4) and the
 * returnData field that holds the token.
 */
export const TOKEN_INTERFACES = {
  "dingtalk.app.ticket": { invalidate: "invalidToken", value: "ticket" },
  "dingtalk.app.token": { invalidate: "invalidToken", value: "token" },
  "feishu.app.ticket": { invalidate: "invalidToken", value: "ticket" },
  "feishu.app.token": { invalidate: "invalidToken", value: "token" },
  "fengniao.merchant.token": { invalidate: "invalidToken", value: "token" },
  "qcloud.mimi.access_token": { invalidate: "invalid_token", value: "access_token" },
  "qcloud.work.access_token": { invalidate: "invalid_token", value: "access_token" },
  "qcloud.work.agent.ticket": { invalidate: "invalid_token", value: "agent_ticket" },
  "qcloud.work.ticket": { invalidate: "invalid_token", value: "ticket" },
  "qq.app.token": { invalidate: "invalidToken", value: "token" },
  "shansong.merchant.token": { invalidate: "invalidToken", value: "token" },
  "toutiao.app.token": { invalidate: "invalidToken", value: "token" },
  "wechat.app.ticket": { invalidate: "invalidToken", value: "ticket" },
  "wechat.app.token": { invalidate: "invalidToken", value: "token" },
  "wechat.tp.token": { invalidate: "invalidToken", value: "token" },
  "wechat.tpauth.ticket": { invalidate: "invalidToken", value: "ticket" },
  "wechat.tpauth.token": { invalidate: "invalidToken", value: "token" },
  "wecom.corp.ticket": { invalidate: "invalidToken", value: "ticket" },
  "wecom.corp.token": { invalidate: "invalidToken", value: "token" },
  "wecom.tp.token": { invalidate: "invalidToken", value: "token" },
  "wecom.tpauth.token": { invalidate: "invalidToken", value: "token" },
} as const;

export type TokenInterfaceName = keyof typeof TOKEN_INTERFACES;
