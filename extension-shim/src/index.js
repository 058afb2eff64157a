// @logto-companion/extension-shim: a drop-in for `@logto/chrome-extension`
// whose tokens live in the logto-companion daemon (OS keychain) instead of
// chrome.storage. Every method is one request over a native messaging port;
// see docs/protocol.md for the wire contract.

import { NativeConnection } from './connection.js';
import { DEFAULT_HOST_NAME } from './constants.js';
import { LogtoClientError, LogtoError } from './errors.js';
import {
  createRequester, generateCodeChallenge, generateCodeVerifier, generateState,
} from './sdk.js';
import { closeTab, focusTab, openTab, visitInBackground } from './tabs.js';

// Every runtime export of @logto/chrome-extension 0.1.27 (test/parity.test.js checks it).
export {
  LogtoClientError, LogtoError, LogtoRequestError, OidcError, isLogtoRequestError,
} from './errors.js';
export {
  UserScope, ReservedScope, ReservedResource, Prompt, PersistKey,
  organizationUrnPrefix, buildOrganizationUrn, getOrganizationIdFromUrn, DEFAULT_HOST_NAME,
} from './constants.js';
export {
  BrowserStorage, ChromeExtensionStorage, createRequester,
  generateCodeChallenge, generateCodeVerifier, generateState,
} from './sdk.js';

/**
 * Codes that mean "the companion cannot be asked" (missing, not allowed, not
 * registered, not answering): `isAuthenticated()` resolves false and
 * `getIdToken()` null for them, as the SDK does with an empty storage;
 * `getCompanionStatus()` says which one and how to fix it.
 */
const UNREACHABLE = new Set(['host_not_found', 'host_forbidden', 'app_not_registered', 'daemon_unavailable', 'timeout']);

/**
 * End-session URLs this JS realm is visiting (URL → promise of the visit),
 * shared by every client in it: one sign-out, one tab.
 */
const visitedEndSessions = new Map();

/** How long a page waits before ending the provider session itself, so the background can do it. */
const PAGE_YIELD_MS = 300;
/** How long the end-session lock is kept after a visit (see #endProviderSession). */
const END_SESSION_LINGER_MS = 2_000;

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

/**
 * The client: every method of @logto/client's `LogtoClient`, answered by the
 * daemon. Exported as `BaseClient` too, as the SDK exports its base class;
 * `new BaseClient(config)` works like `new LogtoClient(config)` (an adapter
 * given as second argument is ignored: the daemon does the requests).
 */
export class BaseClient {
  /** The config given to the constructor (frozen copy). */
  logtoConfig;
  /** The native messaging host this client talks to. */
  hostName;
  /**
   * The SDK's adapter, kept for code that reads it. The daemon makes the
   * requests and holds the tokens, so: `requester` is a plain fetch requester
   * (not used by the client), `storage.getItem('idToken')` asks the daemon,
   * the other keys read `null` (refresh and access tokens never leave it),
   * and writes reject with `forbidden`; `navigate` opens a tab.
   */
  adapter;

  #api;
  #timers;
  #conn;
  #signInTimeout;
  #signOutTimeout;
  #listeners = new Set();
  /**
   * flowId → { tab: Promise<tab id | null>, tabId, url } of the sign-in tab
   * opened for a flow. Closing that tab cancels the flow.
   */
  #flowTabs = new Map();
  /** Pending `signIn` calls: { flowId, fail }. flowId is set by `signInStarted`. */
  #signIns = new Set();
  #tabRemovedListener = null;
  /** Last known session state (undefined until the daemon said). */
  #authenticated = undefined;
  /** The last `hello` result (version, protocol) for getCompanionStatus. */
  #hello = null;
  #jwtVerifier;
  /** `signOut` requests of this client waiting for the daemon's reply. */
  #signingOut = 0;
  /** An end-session URL from `sessionChanged` while our own `signOut` was pending (its reply carries it). */
  #deferredEndSession = null;
  /** Web Locks (shared by the extension's pages and service worker), or null. */
  #locks;

  /**
   * @param {object} config the `LogtoConfig` of
   *   @logto/chrome-extension plus the shim's options
   * @param {object} [internals] for tests: `{ api, setTimeout, clearTimeout, now, locks }`
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
    this.#api = internals?.api ?? globalThis.browser ?? globalThis.chrome;
    this.#timers = {
      setTimeout: internals?.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
      clearTimeout: internals?.clearTimeout ?? ((t) => globalThis.clearTimeout(t)),
      now: internals?.now ?? (() => Date.now()),
    };
    this.#locks = internals?.locks !== undefined ? internals.locks : (globalThis.navigator?.locks ?? null);
    this.#signInTimeout = config.signInTimeout ?? DEFAULTS.signInTimeout;
    this.#signOutTimeout = config.signOutTimeout ?? DEFAULTS.signOutTimeout;
    this.adapter = this.#makeAdapter();
    this.#jwtVerifier = {
      // The daemon verified the ID token (signature against the JWKS, iss,
      // aud, exp, iat) before storing it; the one it holds is the one to trust.
      verifyIdToken: async (idToken) => {
        if (typeof idToken !== 'string' || idToken !== await this.getIdToken()) {
          throw new LogtoError('id_token.invalid_token', undefined,
            'Not the ID token the logto-companion daemon verified and holds for this session.');
        }
      },
    };

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
   * (with nothing, like the SDK) once the user is signed in. Closing the tab
   * cancels the flow: this rejects with `user_cancelled`, as the SDK's does
   * when its window closes. A call while a flow runs joins it and brings its
   * tab to the front (or opens it again).
   *
   * `signIn(options)` or the old positional form
   * `signIn(redirectUri, interactionMode?, loginHint?)`; the redirect URI is
   * ignored because the daemon owns the redirect.
   */
  async signIn(options, interactionMode, loginHint) {
    let params;
    if (typeof options === 'string' || options instanceof URL || options === undefined) {
      params = defined({ interactionMode, loginHint });
    } else {
      params = defined(Object.fromEntries(SIGN_IN_KEYS.map((k) => [k, options?.[k]])));
    }
    params.openIn ??= 'extension';
    const entry = { flowId: null, fail: null };
    const local = new Promise((_, reject) => { entry.fail = reject; });
    this.#signIns.add(entry);
    try {
      await Promise.race([this.#conn.request('signIn', params, { timeout: this.#signInTimeout }), local]);
    } finally {
      this.#signIns.delete(entry);
    }
  }

  /**
   * Sign out of the shared session: the daemon revokes the grant and clears
   * the keychain for every browser and the CLI; the end-session page (when
   * the provider has one) then runs in a background tab that closes itself.
   * Every other connected browser ends the provider's session too: the
   * daemon's `sessionChanged` carries the URL (see `#endProviderSession`).
   *
   * `postLogoutRedirectUri` is ignored: the end-session page runs in a tab
   * nobody looks at, and the daemon sends the post-logout URI given to
   * `logto-companion install --post-logout-redirect-uri` (or none).
   *
   * Resolves with what the daemon reports (the SDK resolves with nothing):
   * `{ endSessionUrl, revoked, revocationError? }`. With `endSessionUrl`
   * null (the provider has no `end_session_endpoint`) no tab opens.
   */
  async signOut(_postLogoutRedirectUri) {
    // The caller holds the extension's end-session lock from before the
    // request until its tab has closed, so the other contexts of this
    // extension (which hear the same sign-out as an event) open no second tab.
    if (typeof this.#locks?.request === 'function') {
      let outcome = null;
      try {
        await this.#locks.request(this.#endSessionLockName(), async () => {
          outcome = await this.#signOutNow(true).then((value) => ({ value }), (error) => ({ error }));
        });
      } catch (e) {
        if (!outcome) console.warn('logto-companion: Web Locks failed; signing out without them', e);
      }
      if (outcome) {
        if ('error' in outcome) throw outcome.error;
        return outcome.value;
      }
    }
    return this.#signOutNow(false);
  }

  /** `signOut` proper; `locked`: the caller holds the end-session lock. */
  async #signOutNow(locked) {
    let result;
    this.#signingOut += 1;
    try {
      result = await this.#conn.request('signOut');
    } catch (error) {
      // The daemon may have signed out and told us (sessionChanged) before the
      // reply was lost: still end the provider's session in this browser.
      const deferred = this.#takeDeferredEndSession();
      if (deferred) await this.#endProviderSession(deferred, { fromEvent: false, locked });
      throw error;
    } finally {
      this.#signingOut -= 1;
    }
    this.#takeDeferredEndSession();
    const endSessionUrl = typeof result.endSessionUrl === 'string' && result.endSessionUrl
      ? result.endSessionUrl : null;
    if (endSessionUrl) await this.#endProviderSession(endSessionUrl, { fromEvent: false, locked });
    return defined({ endSessionUrl, revoked: result.revoked, revocationError: result.revocationError });
  }

  /**
   * Never rejects, like the SDK's (which reads a storage): false when signed
   * out and also when the companion cannot be asked (not installed, this
   * extension or app not registered, not answering) — `getCompanionStatus()`
   * says why.
   */
  async isAuthenticated() {
    try {
      const { authenticated } = await this.#conn.request('isAuthenticated');
      return authenticated === true;
    } catch (error) {
      if (!UNREACHABLE.has(error?.code)) console.warn('logto-companion: isAuthenticated failed', error);
      return false;
    }
  }

  /** The ID token, or null when signed out (or the companion cannot be asked), like the SDK. */
  async getIdToken() {
    try {
      const { idToken } = await this.#conn.request('getIdToken');
      return idToken ?? null;
    } catch (error) {
      if (error?.code === 'not_authenticated' || UNREACHABLE.has(error?.code)) return null;
      throw error;
    }
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

  /** Drops the daemon's cached access tokens of this app (the next call refreshes). */
  async clearAccessToken() {
    await this.#conn.request('clearAccessToken');
  }

  /**
   * Deletes the shared session from the keychain — for every browser and
   * the CLI — without revoking it at the provider (as the SDK's only clears
   * its storage). Use `signOut()` to end the session at the provider too.
   */
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

  /**
   * The SDK's ID token verifier. By default it accepts exactly the ID token
   * the daemon verified and holds; one set with `setJwtVerifier` is returned
   * here but never called by the client (the daemon verifies the tokens).
   */
  get jwtVerifier() {
    return this.#jwtVerifier;
  }

  /** Replace `jwtVerifier` (an object, or a function of this client returning one). */
  setJwtVerifier(buildJwtVerifier) {
    this.#jwtVerifier = typeof buildJwtVerifier === 'function' ? buildJwtVerifier(this) : buildJwtVerifier;
  }

  // ---------------------------------------------------------- shim extras

  /**
   * Why `isAuthenticated()` says what it says: connects (and says `hello`)
   * if needed and resolves with
   * `{ ok, installed, registered, authenticated?, version?, protocol?, hostName, error? }`.
   * `installed` is false when the browser cannot start the host for this
   * extension; `registered` false when the daemon does not know this app for
   * it; `error` is `{ code, message }` with the command that fixes it.
   * Never rejects.
   */
  async getCompanionStatus() {
    const base = { hostName: this.hostName };
    try {
      await this.#conn.connect();
      const hello = this.#hello ?? {};
      return defined({
        ...base, ok: true, installed: true, registered: true,
        authenticated: this.#authenticated, version: hello.version, protocol: hello.protocol,
      });
    } catch (error) {
      const code = error?.code ?? 'internal_error';
      const installed = code !== 'host_not_found' && code !== 'host_forbidden';
      return defined({
        ...base,
        ok: false,
        installed,
        // Unknown while the daemon does not answer.
        registered: installed && code !== 'app_not_registered' ? undefined : false,
        error: { code, message: String(error?.message ?? error) },
      });
    }
  }

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

  #makeAdapter() {
    const refuse = async (key) => {
      throw new LogtoClientError('forbidden', { key },
        'The session lives in the logto-companion daemon; the extension cannot write or remove its tokens '
        + '(use signIn, signOut, clearAccessToken or clearAllTokens).');
    };
    const storage = {
      getItem: async (key) => (key === 'idToken' ? this.getIdToken() : null),
      setItem: refuse,
      removeItem: refuse,
    };
    return {
      requester: createRequester((...args) => globalThis.fetch(...args)),
      storage,
      unstable_cache: undefined,
      navigate: async (url) => { await openTab(this.#api, url, { active: true }); },
      generateState,
      generateCodeVerifier,
      generateCodeChallenge,
      setStorageItem: async (key, value) => (value === null || value === undefined
        ? storage.removeItem(key) : storage.setItem(key, value)),
      getCachedObject: async () => undefined,
      getWithCache: async (_key, getter) => getter(),
    };
  }

  #onBound(result, reconnected) {
    this.#hello = result;
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
        // The pending signIn calls of this client that do not know their flow yet belong to it.
        for (const entry of this.#signIns) entry.flowId ??= data.flowId;
        this.#showFlowTab(data.flowId, data.url);
        return;
      }
      case 'signInFinished': {
        const flow = this.#flowTabs.get(data.flowId);
        this.#forgetFlowTab(data.flowId);
        if (flow) flow.tab.then((tabId) => closeTab(this.#api, tabId));
        return;
      }
      case 'sessionChanged': {
        this.#authenticated = data.authenticated === true;
        const url = data.authenticated !== true && typeof data.endSessionUrl === 'string' && data.endSessionUrl
          ? data.endSessionUrl : null;
        if (url) {
          // Our own signOut opens it from its reply (which follows this event).
          if (this.#signingOut > 0) this.#deferredEndSession = url;
          else this.#endProviderSession(url, { fromEvent: true });
        }
        this.#emit(defined({ authenticated: data.authenticated === true, sub: data.sub }));
        return;
      }
      default:
        // Unknown events are ignored: newer daemons may send more.
    }
  }

  /** Focus the flow's tab if it is still open, else open it (again). */
  #showFlowTab(flowId, url) {
    const known = this.#flowTabs.get(flowId);
    const flow = { url, tabId: null, tab: null };
    flow.tab = (async () => {
      const previous = known ? await known.tab : null;
      if (previous !== null && await focusTab(this.#api, previous)) return previous;
      return openTab(this.#api, url, { active: true });
    })().then((tabId) => {
      flow.tabId = tabId;
      return tabId;
    }, (e) => {
      console.error('logto-companion: could not open the sign-in page', e);
      return null;
    });
    this.#flowTabs.set(flowId, flow);
    this.#watchTabs();
  }

  #forgetFlowTab(flowId) {
    this.#flowTabs.delete(flowId);
    if (this.#flowTabs.size === 0) this.#unwatchTabs();
  }

  /** While a sign-in tab is open, closing it cancels its flow. */
  #watchTabs() {
    const onRemoved = this.#api?.tabs?.onRemoved;
    if (this.#tabRemovedListener || typeof onRemoved?.addListener !== 'function') return;
    this.#tabRemovedListener = (tabId) => {
      for (const [flowId, flow] of this.#flowTabs) {
        if (flow.tabId === tabId) {
          this.#forgetFlowTab(flowId);
          this.#cancelFlow(flowId);
        }
      }
    };
    onRemoved.addListener(this.#tabRemovedListener);
  }

  #unwatchTabs() {
    if (!this.#tabRemovedListener) return;
    try { this.#api?.tabs?.onRemoved?.removeListener?.(this.#tabRemovedListener); } catch { /* gone */ }
    this.#tabRemovedListener = null;
  }

  /**
   * The user closed the flow's tab: ask the daemon to end the flow (it
   * answers the pending signIn calls with `user_cancelled` and closes its
   * loopback port before replying). Whatever the daemon says, except "that
   * flow already finished", this client's signIn calls of that flow reject
   * with `user_cancelled` now — also with a daemon that predates
   * `cancelSignIn`.
   */
  async #cancelFlow(flowId) {
    let finishedAlready = false;
    try {
      const result = await this.#conn.request('cancelSignIn', defined({ flowId }));
      finishedAlready = result?.cancelled === false;
    } catch (e) {
      if (e?.code !== 'method_not_found') console.warn('logto-companion: cancelSignIn failed', e);
    }
    if (finishedAlready) return;
    for (const entry of this.#signIns) {
      if (entry.flowId === flowId) {
        entry.fail(new LogtoClientError('user_cancelled', { flowId },
          'The sign-in tab was closed before the sign-in finished.'));
      }
    }
  }

  #takeDeferredEndSession() {
    const url = this.#deferredEndSession;
    this.#deferredEndSession = null;
    return url;
  }

  /**
   * End the provider's own session (its cookie) in this browser: the
   * end-session page in a background tab that closes itself. Without this,
   * a browser that did not sign out keeps the provider's cookie and its
   * next Sign in would complete with no credentials.
   *
   * Once per sign-out per browser: while a URL is being visited, the other
   * clients of this JS realm that hear of it wait for that visit, and a Web
   * Lock shared by the extension's service worker and pages (held by a
   * `signOut` caller from its request on) lets only one of them visit it
   * while the others wait. Resolves when the tab has closed;
   * never rejects. From an event, a browser that cannot create tabs (no
   * `tabs.create`, e.g. a content script) opens nothing rather than a
   * foreground window the user did not ask for.
   */
  #endProviderSession(url, { fromEvent, locked = false }) {
    const known = visitedEndSessions.get(url);
    if (known) return known;
    if (fromEvent && typeof this.#api?.tabs?.create !== 'function') {
      console.warn('logto-companion: cannot end the provider session here (no tabs.create)');
      return Promise.resolve();
    }
    const visit = () => visitInBackground(this.#api, url,
      { timeoutMs: this.#signOutTimeout, timers: this.#timers });
    const lockName = this.#endSessionLockName();
    const run = (async () => {
      if (locked || typeof this.#locks?.request !== 'function') return visit();
      // A page (popup, options) may close at any moment, leaving its tab
      // open: it lets the background (service worker, event page) go first.
      if (fromEvent && this.#isPage()) {
        await new Promise((resolve) => { this.#timers.setTimeout(resolve, PAGE_YIELD_MS); });
      }
      try {
        // The visit runs under the lock, and the lock is kept a moment
        // after it (END_SESSION_LINGER_MS): a context of this extension that
        // hears the same sign-out only now (a page yields first) must find
        // it taken and not visit again. The caller does not wait for that.
        const ran = await new Promise((resolve, reject) => {
          this.#locks.request(lockName, { ifAvailable: true }, async (lock) => {
            if (!lock) { resolve(false); return; }
            try { await visit(); } finally { resolve(true); }
            await new Promise((r) => { this.#timers.setTimeout(r, END_SESSION_LINGER_MS); });
          }).catch(reject);
        });
        // Another context of this extension is visiting it: wait until it is done.
        if (!ran) await this.#locks.request(lockName, async () => {});
      } catch (e) {
        console.warn('logto-companion: Web Locks failed; ending the provider session without them', e);
        await visit();
      }
    })();
    visitedEndSessions.set(url, run);
    // The copies of one sign-out's event arrive together; a later sign-out
    // with the same URL (a provider that gets no id_token_hint) is a new one.
    run.finally(() => { if (visitedEndSessions.get(url) === run) visitedEndSessions.delete(url); });
    return run;
  }

  #endSessionLockName() {
    return `logto-companion:end-session:${this.logtoConfig.endpoint}:${this.logtoConfig.appId}`;
  }

  /** True in an extension page (has a document and is not the background page). */
  #isPage() {
    if (typeof globalThis.document === 'undefined') return false;
    try {
      return this.#api?.extension?.getBackgroundPage?.() !== globalThis;
    } catch {
      return true;
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

/** The default export, as in @logto/chrome-extension. */
export default class LogtoClient extends BaseClient {}
