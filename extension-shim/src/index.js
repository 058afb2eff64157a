// @logto-companion/extension-shim: a drop-in for `@logto/chrome-extension`
// whose tokens live in the logto-companion daemon (OS keychain) instead of
// chrome.storage. Every method is one request over a native messaging port;
// see docs/protocol.md for the wire contract.

import { NativeConnection } from './connection.js';
import { DEFAULT_HOST_NAME } from './constants.js';
import { LogtoClientError } from './errors.js';
import { closeTab, openTab, visitInBackground } from './tabs.js';

export { LogtoClientError, LogtoError, LogtoRequestError } from './errors.js';
export { UserScope, ReservedScope, Prompt, DEFAULT_HOST_NAME } from './constants.js';

const DEFAULTS = Object.freeze({
  requestTimeout: 30_000,
  // The user is typing a phone number and an SMS code: the daemon ends an
  // abandoned flow itself (`user_cancelled`); this only bounds a lost reply.
  signInTimeout: 600_000,
  // Same bound as the SDK's non-interactive end-session flow.
  signOutTimeout: 10_000,
  reconnectBackoff: Object.freeze({ initial: 100, max: 5_000 }),
});

/** The `signIn` options that mean something to the daemon (redirect plumbing is dropped). */
const SIGN_IN_KEYS = ['firstScreen', 'identifiers', 'loginHint', 'directSignIn', 'prompt',
  'extraParams', 'interactionMode', 'openIn'];

function defined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

export default class LogtoClient {
  /** The config given to the constructor (frozen copy). */
  logtoConfig;
  /** The native messaging host this client talks to. */
  hostName;

  #api;
  #timers;
  #conn;
  #signInTimeout;
  #signOutTimeout;
  #listeners = new Set();
  /** flowId → Promise<tab id | null> of the sign-in tab opened for it. */
  #flowTabs = new Map();
  /** Last known session state (undefined until the daemon said). */
  #authenticated = undefined;

  /**
   * @param {object} config the `LogtoConfig` of
   *   @logto/chrome-extension plus the shim's options
   * @param {object} [internals] for tests: `{ api, setTimeout, clearTimeout, now }`
   */
  constructor(config, internals = {}) {
    if (!config || typeof config.endpoint !== 'string' || !config.endpoint) {
      throw new TypeError('LogtoClient: config.endpoint (your Logto endpoint URL) is required');
    }
    if (typeof config.appId !== 'string' || !config.appId) {
      throw new TypeError('LogtoClient: config.appId is required');
    }
    this.logtoConfig = Object.freeze({ ...config });
    this.hostName = config.hostName ?? DEFAULT_HOST_NAME;
    this.#api = internals.api ?? globalThis.browser ?? globalThis.chrome;
    this.#timers = {
      setTimeout: internals.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: internals.clearTimeout ?? ((t) => globalThis.clearTimeout(t)),
      now: internals.now ?? (() => Date.now()),
    };
    this.#signInTimeout = config.signInTimeout ?? DEFAULTS.signInTimeout;
    this.#signOutTimeout = config.signOutTimeout ?? DEFAULTS.signOutTimeout;

    let extensionId;
    try { extensionId = this.#api?.runtime?.id; } catch { /* not in an extension */ }

    this.#conn = new NativeConnection({
      api: this.#api,
      hostName: this.hostName,
      helloParams: {
        app: defined({
          endpoint: config.endpoint,
          appId: config.appId,
          scopes: config.scopes,
          resources: config.resources,
          prompt: config.prompt,
          includeReservedScopes: config.includeReservedScopes,
        }),
      },
      context: { endpoint: config.endpoint, appId: config.appId, extensionId, hostName: this.hostName },
      timers: this.#timers,
      requestTimeout: config.requestTimeout ?? DEFAULTS.requestTimeout,
      backoff: { ...DEFAULTS.reconnectBackoff, ...config.reconnectBackoff },
      onEvent: (event, data) => this.#onEvent(event, data),
      onBound: (result, reconnected) => this.#onBound(result, reconnected),
      wantsEvents: () => this.#listeners.size > 0,
    });
  }

  // ---------------------------------------------------------------- SDK API

  /**
   * Sign in: the daemon runs the OIDC flow and sends the authorization URL,
   * which opens in a new tab; the tab closes when the flow ends. Resolves
   * (with nothing, like the SDK) once the user is signed in.
   *
   * `signIn(options)` or the old positional form
   * `signIn(redirectUri, interactionMode?, loginHint?)`; the redirect URI is
   * ignored because the daemon owns the redirect.
   */
  async signIn(options, interactionMode, loginHint) {
    let params;
    if (typeof options === 'string' || options === undefined) {
      params = defined({ interactionMode, loginHint });
    } else {
      params = defined(Object.fromEntries(SIGN_IN_KEYS.map((k) => [k, options?.[k]])));
    }
    params.openIn ??= 'extension';
    await this.#conn.request('signIn', params, { timeout: this.#signInTimeout });
  }

  /**
   * Sign out: the daemon revokes the grant and clears the keychain for every
   * browser; the end-session page then runs in a background tab that closes
   * itself. Resolves with nothing, like the SDK.
   */
  async signOut(postLogoutRedirectUri) {
    const params = postLogoutRedirectUri === undefined ? undefined : { postLogoutRedirectUri };
    const result = await this.#conn.request('signOut', params);
    if (typeof result.endSessionUrl === 'string' && result.endSessionUrl) {
      await visitInBackground(this.#api, result.endSessionUrl,
        { timeoutMs: this.#signOutTimeout, timers: this.#timers });
    }
  }

  async isAuthenticated() {
    const { authenticated } = await this.#conn.request('isAuthenticated');
    return authenticated === true;
  }

  async getIdToken() {
    const { idToken } = await this.#conn.request('getIdToken');
    return idToken ?? null;
  }

  /** Refresh tokens never leave the daemon: always rejects with code `forbidden`. */
  async getRefreshToken() {
    throw new LogtoClientError('forbidden', undefined,
      'Refresh tokens never leave the logto-companion daemon; use getAccessToken() instead.');
  }

  async getIdTokenClaims() {
    return (await this.#conn.request('getIdTokenClaims')).claims;
  }

  async getAccessToken(resource, organizationId) {
    return (await this.#conn.request('getAccessToken', defined({ resource, organizationId }))).accessToken;
  }

  async getAccessTokenClaims(resource) {
    return (await this.#conn.request('getAccessTokenClaims', defined({ resource }))).claims;
  }

  async getOrganizationToken(organizationId) {
    return (await this.#conn.request('getOrganizationToken', { organizationId })).accessToken;
  }

  async getOrganizationTokenClaims(organizationId) {
    return (await this.#conn.request('getOrganizationTokenClaims', { organizationId })).claims;
  }

  async fetchUserInfo() {
    return (await this.#conn.request('fetchUserInfo')).userInfo;
  }

  async clearAccessToken() {
    await this.#conn.request('clearAccessToken');
  }

  async clearAllTokens() {
    await this.#conn.request('clearAllTokens');
  }

  async getOidcConfig() {
    return this.#conn.request('getOidcConfig');
  }

  /**
   * Kept for API compatibility. The daemon receives the redirect itself (on
   * its loopback callback), so there is never a callback URL for the
   * extension to handle: this resolves and does nothing.
   */
  async handleSignInCallback(_callbackUri) {}

  /** Kept for API compatibility: the extension is never the redirect target, so always false. */
  async isSignInRedirected(_url) {
    return false;
  }

  // ---------------------------------------------------------- shim extras

  /**
   * Call `listener({ authenticated, sub? })` whenever the session changes,
   * here or elsewhere (another browser, the CLI). Connects at once so events
   * flow. Returns a function that removes the listener.
   */
  onSessionChange(listener) {
    if (typeof listener !== 'function') throw new TypeError('onSessionChange: listener must be a function');
    this.#listeners.add(listener);
    this.#conn.connectInBackground();
    return () => { this.#listeners.delete(listener); };
  }

  /**
   * Close the native port (an open port keeps an MV3 service worker alive).
   * The next call reconnects.
   */
  close() {
    this.#conn.close();
  }

  // ------------------------------------------------------------ internals

  #onBound(result, reconnected) {
    const authenticated = result.authenticated === true;
    const changed = this.#authenticated !== undefined && this.#authenticated !== authenticated;
    this.#authenticated = authenticated;
    // Events sent while the port was down are lost: report the difference.
    if (reconnected && changed) this.#emit({ authenticated });
  }

  #onEvent(event, data) {
    switch (event) {
      case 'signInStarted': {
        if (typeof data.url !== 'string') return;
        const tab = openTab(this.#api, data.url, { active: true }).catch((e) => {
          console.error('logto-companion: could not open the sign-in page', e);
          return null;
        });
        this.#flowTabs.set(data.flowId, tab);
        return;
      }
      case 'signInFinished': {
        const tab = this.#flowTabs.get(data.flowId);
        this.#flowTabs.delete(data.flowId);
        if (tab) tab.then((tabId) => closeTab(this.#api, tabId));
        return;
      }
      case 'sessionChanged': {
        this.#authenticated = data.authenticated === true;
        this.#emit(defined({ authenticated: data.authenticated === true, sub: data.sub }));
        return;
      }
      default:
        // Unknown events are ignored: newer daemons may send more.
    }
  }

  #emit(change) {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (e) {
        console.error('logto-companion: onSessionChange listener failed', e);
      }
    }
  }
}
