/**
 * gatehouse client for a WeChat mini program (copy this file into your project).
 *
 *   const gatehouse = require('./gatehouse.js');
 *   gatehouse.configure({ url: 'https://gw.example.com/mina_auth' }); // gatehouse's RPC endpoint
 *
 *   gatehouse.login();                       // wx.login → qcloud.cam.id_skey; keeps {id, skey}
 *   gatehouse.check();                       // qcloud.cam.auth → {user_info, appid, openid, unionid}
 *   gatehouse.call('qcloud.cam.decrypt', { encrypt_data, iv });   // a session interface: id/skey added
 *   gatehouse.request({ url: 'https://api.example.com/orders' }); // your backend: X-WX-Id / X-WX-Skey headers
 *
 * `call` and `request` log in first when there is no session yet, and log in again — once — when
 * the answer says the session is over: returnCode 60011 (SESSION_EXPIRED) or 60012 (AUTH_FAIL), or
 * `code` 60011 / 60012 as your backend relays it. Several calls at once share one login.
 * Everything returns a Promise; a failure rejects with an Error carrying `returnCode`,
 * `returnMessage` and `returnData` (or `statusCode` when the answer was not an envelope).
 */

var STORAGE_KEY = 'gatehouse_session';
var SESSION_GONE = [60011, 60012];

var config = {
  url: '', // POST endpoint of gatehouse: directly, or through your API gateway
  appid: undefined, // only when gatehouse serves several mini programs and none is the default
  idHeader: 'X-WX-Id', // the headers `request` sends to your backend (Wafer's names)
  skeyHeader: 'X-WX-Skey',
};

var pendingLogin = null;

function configure(options) {
  for (var k in options) if (Object.prototype.hasOwnProperty.call(options, k)) config[k] = options[k];
  return config;
}

function assign(target) {
  for (var i = 1; i < arguments.length; i++) {
    var src = arguments[i] || {};
    for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) target[k] = src[k];
  }
  return target;
}

/** wx.login / wx.request as a Promise */
function promisify(fn, options) {
  return new Promise(function (resolve, reject) {
    fn(assign({}, options, {
      success: resolve,
      fail: function (err) {
        var e = new Error((err && err.errMsg) || 'wx call failed');
        e.errMsg = err && err.errMsg;
        reject(e);
      },
    }));
  });
}

function envelopeError(res) {
  var body = res.data;
  var e;
  if (body && typeof body.returnCode === 'number') {
    e = new Error('gatehouse ' + body.returnCode + ' ' + body.returnMessage);
    e.returnCode = body.returnCode;
    e.returnMessage = body.returnMessage;
    e.returnData = body.returnData;
  } else {
    e = new Error('gatehouse answered HTTP ' + res.statusCode + ' without an envelope');
    e.statusCode = res.statusCode;
  }
  return e;
}

/** the wx.request options of one gatehouse RPC */
function rpcRequest(interfaceName, para) {
  return {
    url: config.url,
    method: 'POST',
    header: { 'content-type': 'application/json' },
    data: { version: 1, componentName: 'MA', interface: { interfaceName: interfaceName, para: para } },
  };
}

function returnData(res) {
  var body = res.data;
  if (body && body.returnCode === 0) return body.returnData;
  throw envelopeError(res);
}

function rpc(interfaceName, para) {
  return promisify(wx.request, rpcRequest(interfaceName, para)).then(returnData);
}

function withAppid(para) {
  return config.appid ? assign({ appid: config.appid }, para) : para;
}

/** the stored session {id, skey}, or null */
function session() {
  var s = wx.getStorageSync(STORAGE_KEY);
  return s && s.id && s.skey ? s : null;
}

function clearSession() {
  wx.removeStorageSync(STORAGE_KEY);
}

/**
 * wx.login → qcloud.cam.id_skey; stores {id, skey} and resolves with the whole returnData
 * ({id, skey, duration, appid, unionid, user_info?}). Pass {encrypt_data, iv} to have the user
 * info decrypted at login. Concurrent logins share one.
 */
function login(extra) {
  if (pendingLogin) return pendingLogin;
  pendingLogin = promisify(wx.login, {})
    .then(function (r) {
      return rpc('qcloud.cam.id_skey', withAppid(assign({ code: r.code }, extra)));
    })
    .then(function (data) {
      wx.setStorageSync(STORAGE_KEY, { id: data.id, skey: data.skey });
      return data;
    });
  var clear = function () {
    pendingLogin = null;
  };
  pendingLogin.then(clear, clear);
  return pendingLogin;
}

/** the session, logging in first when there is none */
function ensureSession() {
  var s = session();
  return s ? Promise.resolve(s) : login().then(session);
}

function sessionGone(res) {
  var body = res && res.data;
  if (!body || typeof body !== 'object') return false;
  var code = typeof body.returnCode === 'number' ? body.returnCode : body.code;
  return SESSION_GONE.indexOf(code) >= 0;
}

/**
 * Sends with a session; when the answer says the session is over, logs in again (unless another
 * call already did) and sends once more. `send(session)` returns a wx.request Promise.
 */
function withSession(send) {
  return ensureSession().then(function (used) {
    return send(used).then(function (res) {
      if (!sessionGone(res)) return res;
      var current = session();
      var renewed = current && current.skey !== used.skey ? Promise.resolve(current) : (clearSession(), login().then(session));
      return renewed.then(send);
    });
  });
}

/** wx.request to your backend with the session in X-WX-Id / X-WX-Skey; resolves with wx.request's result */
function request(options) {
  return withSession(function (s) {
    var header = assign({}, options.header);
    header[config.idHeader] = s.id;
    header[config.skeyHeader] = s.skey;
    return promisify(wx.request, assign({}, options, { header: header }));
  });
}

/** a gatehouse session interface (qcloud.cam.*) with id and skey added to para; resolves with returnData */
function call(interfaceName, para) {
  return withSession(function (s) {
    return promisify(wx.request, rpcRequest(interfaceName, assign({}, para, { id: s.id, skey: s.skey })));
  }).then(returnData);
}

/** qcloud.cam.auth: the session's user {user_info, appid, openid, unionid} */
function check() {
  return call('qcloud.cam.auth', withAppid({}));
}

/** qcloud.cam.logout, then forgets the session */
function logout() {
  var s = session();
  if (!s) return Promise.resolve();
  return rpc('qcloud.cam.logout', { id: s.id, skey: s.skey }).then(clearSession, function (err) {
    clearSession();
    if (SESSION_GONE.indexOf(err.returnCode) < 0) throw err;
  });
}

module.exports = {
  configure: configure,
  login: login,
  check: check,
  call: call,
  request: request,
  logout: logout,
  session: session,
  clearSession: clearSession,
};
