// Error classes that look like the ones @logto/chrome-extension throws, and
// the translation of what the browser and the daemon report into them.

/** `LogtoClientError` messages of @logto/client, so `error.message` reads the same. */
const CLIENT_MESSAGES = Object.freeze({
  'sign_in_session.invalid': 'Invalid sign-in session.',
  'sign_in_session.not_found': 'Sign-in session not found.',
  not_authenticated: 'Not authenticated.',
  fetch_user_info_failed: 'Unable to fetch user info. The access token may be invalid.',
  user_cancelled: 'The user cancelled the action.',
  missing_scope_organizations: 'The `urn:logto:scope:organizations` scope is required',
});

/** `LogtoError` messages of @logto/js. */
const LOGTO_MESSAGES = Object.freeze({
  'id_token.invalid_iat': 'Invalid issued at time in the ID token',
  'id_token.invalid_token': 'Invalid ID token',
  'callback_uri_verification.redirect_uri_mismatched': 'The callback URI mismatches the redirect URI.',
  'callback_uri_verification.error_found': 'Error found in the callback URI',
  'callback_uri_verification.missing_state': 'Missing state in the callback URI',
  'callback_uri_verification.state_mismatched': 'State mismatched in the callback URI',
  'callback_uri_verification.missing_code': 'Missing code in the callback URI',
  crypto_subtle_unavailable: 'Crypto.subtle is unavailable in insecure contexts (non-HTTPS).',
  unexpected_response_error: 'Unexpected response error from the server.',
});

/**
 * What @logto/client throws for the client's own conditions (`not_authenticated`,
 * `user_cancelled`, …). The shim throws it also for its own and the daemon's
 * codes (`host_not_found`, `app_not_registered`, `network_error`, … — see the
 * README's table), so `code` is wider than the SDK's union.
 */
export class LogtoClientError extends Error {
  /**
   * @param {string} code
   * @param {unknown} [data]
   * @param {string} [message] shim extension: defaults to the SDK's message for `code`
   */
  constructor(code, data, message) {
    super(message ?? CLIENT_MESSAGES[code] ?? code);
    this.name = 'LogtoClientError';
    this.code = code;
    this.data = data;
  }
}

/**
 * What @logto/js throws for ID token and callback checks (`id_token.*`,
 * `callback_uri_verification.*`, `unexpected_response_error`). Like the
 * SDK's, it is not a `LogtoClientError`.
 */
export class LogtoError extends Error {
  /**
   * @param {string} code
   * @param {unknown} [data]
   * @param {string} [message] shim extension: defaults to the SDK's message for `code`
   */
  constructor(code, data, message) {
    super(message ?? LOGTO_MESSAGES[code] ?? code);
    this.code = code;
    this.data = data;
    this.name = 'LogtoError';
  }
}

/**
 * The identity provider refused a request. `code` is the SDK's
 * (`oidc.invalid_grant`, `oidc.invalid_target`, …); the shim adds `data`
 * with the daemon's code and the provider's `error` / `error_description`.
 * `cause` is the HTTP response in the SDK; here the daemon made the request,
 * so it is undefined.
 */
export class LogtoRequestError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {Response} [cause]
   */
  constructor(code, message, cause) {
    super(message);
    this.code = code;
    this.cause = cause;
    this.name = 'LogtoRequestError';
  }
}

/** An OAuth error of a callback (`data` of `callback_uri_verification.error_found`). Not an Error, as in @logto/js. */
export class OidcError {
  constructor(error, errorDescription) {
    this.error = error;
    this.errorDescription = errorDescription;
    this.name = 'OidcError';
  }
}

/** The check @logto/js offers (by name, so it works across copies of the class). */
export const isLogtoRequestError = (data) =>
  data !== null && typeof data === 'object' && data instanceof Error && data.name === 'LogtoRequestError';

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A LogtoRequestError with the SDK's `oidc.<error>` code and the daemon's code in `data`. */
function requestError(oauthError, message, daemonCode, wireData) {
  const err = new LogtoRequestError(`oidc.${oauthError}`, message);
  err.data = { daemonCode, ...(isObject(wireData) ? wireData : {}) };
  return err;
}

/**
 * Build the error for an `{"error": {code, message, data}}` reply: the class
 * and code the SDK would throw for the same condition (table in the README).
 */
export function errorFromWire(wire) {
  const code = typeof wire?.code === 'string' ? wire.code : 'internal_error';
  const message = typeof wire?.message === 'string' && wire.message ? wire.message : undefined;
  const data = wire?.data;
  const oauthError = isObject(data) && typeof data.error === 'string' && data.error ? data.error : null;

  if (code === 'callback_uri_verification.error_found') {
    // The SDK puts an OidcError in `data`.
    const oidc = oauthError
      ? new OidcError(oauthError, typeof data.error_description === 'string' ? data.error_description : undefined)
      : data;
    return new LogtoError(code, oidc, message);
  }
  if (code in LOGTO_MESSAGES) return new LogtoError(code, data, message);
  // The provider answered with an OAuth error: the SDK surfaces Logto's
  // `{code: "oidc.<error>"}` body as a LogtoRequestError.
  if (code === 'idp_error') {
    if (oauthError) return requestError(oauthError, message ?? oauthError, code, data);
    // Discovery or a body that is not an OAuth error: the SDK's requester says this.
    return new LogtoError('unexpected_response_error', { daemonCode: code, ...(isObject(data) ? data : {}) }, message);
  }
  // The daemon checks resources before asking (a refused one would consume
  // the refresh token); Logto itself answers `oidc.invalid_target`.
  if (code === 'invalid_target') return requestError('invalid_target', message ?? code, code, data);
  // A refresh the provider refused (revoked or expired grant), when the
  // daemon says which OAuth error it was.
  if (code === 'not_authenticated' && oauthError) return requestError(oauthError, message ?? oauthError, code, data);
  return new LogtoClientError(code, data, message);
}

/** What the fix-it messages need to know about the caller. */
export function installCommand({ endpoint, appId, extensionId }) {
  // A Firefox add-on id (name@domain or {GUID}) takes --firefox-id, as the daemon's own message says.
  const flag = extensionId && !/^[a-p]{32}$/.test(extensionId) ? '--firefox-id' : '--extension-id';
  return `logto-companion install --endpoint ${endpoint} --app-id ${appId} ${flag} ${extensionId || '<your extension id>'}`;
}

/**
 * Translate the text a browser gives when a native port closes into a
 * `LogtoClientError` whose message says what to do.
 *
 * `raw` is `runtime.lastError.message` (Chromium) or `port.error.message`
 * (Firefox), or null when the browser gave no reason (Firefox does that when
 * the host exits).
 *
 * @returns {LogtoClientError} code `host_not_found`, `host_forbidden` or `daemon_unavailable`
 */
export function translateDisconnect(raw, ctx) {
  const text = typeof raw === 'string' ? raw : '';
  const host = ctx.hostName;
  const cmd = installCommand(ctx);
  const data = { browserMessage: text || null, hostName: host };

  // Chromium: no manifest for this name in any place the browser reads.
  if (/Specified native messaging host not found/i.test(text)) {
    return new LogtoClientError('host_not_found', data,
      `The native messaging host "${host}" is not installed for this browser (${text}). `
      + `Install it with: ${cmd}`);
  }
  // Chromium: the manifest exists but allowed_origins lacks this extension.
  if (/Access to the specified native messaging host is forbidden/i.test(text)) {
    return new LogtoClientError('host_forbidden', data,
      `The native messaging host "${host}" is installed but does not allow this extension `
      + `(${ctx.extensionId || 'unknown id'}) (${text}). Add the extension id by running: ${cmd}`);
  }
  // Firefox: deliberately the same text for a missing manifest and for an
  // add-on id that is not in allowed_extensions.
  if (/No such native application/i.test(text)) {
    return new LogtoClientError('host_not_found', data,
      `Firefox cannot start the native messaging host "${host}" (${text}). Either its manifest is `
      + `missing (~/.mozilla/native-messaging-hosts/${host}.json on Linux), or this add-on `
      + `(${ctx.extensionId || 'unknown id'}) is not listed in its allowed_extensions. `
      + `Both are fixed by running: ${cmd}`);
  }
  // Firefox: the manifest names this add-on as not allowed, with a reason.
  if (/does not have permission to use native (application|manifest)/i.test(text)) {
    return new LogtoClientError('host_forbidden', data,
      `This add-on (${ctx.extensionId || 'unknown id'}) is not allowed to use the native messaging `
      + `host "${host}" (${text}). Add its id by running: ${cmd}`);
  }
  // The `hostName` option is not a valid native messaging name.
  if (/Invalid native messaging host name/i.test(text)) {
    return new LogtoClientError('host_not_found', data,
      `"${host}" is not a valid native messaging host name (${text}). Use the default `
      + '`logto_companion` or the name given to `logto-companion install`.');
  }
  // The manifest is there but points at a program that cannot be started.
  if (/Failed to start native messaging host|does not exist, or is not executable/i.test(text)) {
    return new LogtoClientError('host_not_found', data,
      `The native messaging host "${host}" is registered but its program cannot be started (${text}). `
      + `Reinstall it with: ${cmd}`);
  }
  if (/Native host has exited/i.test(text) || !text) {
    return new LogtoClientError('daemon_unavailable', data,
      `The logto-companion host stopped (${text || 'the port closed without a reason'}); `
      + 'the next call reconnects.');
  }
  return new LogtoClientError('daemon_unavailable', data,
    `The connection to the logto-companion host failed: ${text}; the next call reconnects.`);
}

/** `hello` answered `app_not_registered`: say how to register the app for this extension. */
export function appNotRegistered(wireError, ctx) {
  return new LogtoClientError('app_not_registered', wireError?.data,
    `${wireError?.message || 'This app is not registered with logto-companion.'} `
    + `Register endpoint ${ctx.endpoint} and app id ${ctx.appId} for this extension `
    + `(${ctx.extensionId || 'unknown id'}) by running: ${installCommand(ctx)}`);
}
