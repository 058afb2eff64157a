// Error classes that look like the ones @logto/chrome-extension throws, and
// the translation of what the browser and the daemon report into them.

/** Messages of the SDK's own codes, so `error.message` reads the same. */
const SDK_MESSAGES = Object.freeze({
  'sign_in_session.invalid': 'Invalid sign-in session.',
  'sign_in_session.not_found': 'Sign-in session not found.',
  not_authenticated: 'Not authenticated.',
  fetch_user_info_failed: 'Unable to fetch user info. The access token may be invalid.',
  user_cancelled: 'The user cancelled the action.',
  missing_scope_organizations: 'The `urn:logto:scope:organizations` scope is required',
});

/**
 * Every error the shim rejects with is a `LogtoClientError` (so one
 * `instanceof` check is enough); the codes the SDK raises as `LogtoError` or
 * `LogtoRequestError` are instances of those subclasses as well.
 */
export class LogtoClientError extends Error {
  /**
   * @param {string} code
   * @param {unknown} [data]
   * @param {string} [message] defaults to the SDK's message for `code`
   */
  constructor(code, data, message) {
    super(message ?? SDK_MESSAGES[code] ?? code);
    this.name = 'LogtoClientError';
    this.code = code;
    this.data = data;
  }
}

/** ID token and callback verification errors (`id_token.*`, `callback_uri_verification.*`). */
export class LogtoError extends LogtoClientError {
  constructor(code, data, message) {
    super(code, data, message);
    this.name = 'LogtoError';
  }
}

/** The identity provider answered with an OAuth error (`idp_error`; details in `data`). */
export class LogtoRequestError extends LogtoClientError {
  constructor(code, data, message) {
    super(code, data, message);
    this.name = 'LogtoRequestError';
  }
}

/**
 * Build the error for an `{"error": {code, message, data}}` reply.
 * The daemon's codes are the SDK's codes, so they pass through unchanged.
 */
export function errorFromWire(wire) {
  const code = typeof wire?.code === 'string' ? wire.code : 'internal_error';
  const message = typeof wire?.message === 'string' && wire.message ? wire.message : undefined;
  const data = wire?.data;
  if (code.startsWith('id_token.') || code.startsWith('callback_uri_verification.')
      || code === 'unexpected_response_error') {
    return new LogtoError(code, data, message);
  }
  if (code === 'idp_error') return new LogtoRequestError(code, data, message);
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
