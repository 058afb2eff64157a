// One `runtime.connectNative` port to the logto-companion host, with
// request ids, per-request timeouts, `hello` before anything else, and
// reconnection with backoff. Knows the wire protocol, not the SDK's API.

import { LogtoClientError, appNotRegistered, errorFromWire, translateDisconnect } from './errors.js';

/** Connect errors that a retry cannot fix until the user runs the installer. */
const FATAL_CODES = new Set(['host_not_found', 'host_forbidden']);

/** Give up reconnecting on our own (for event listeners) after this many failures in a row. */
const MAX_BACKGROUND_RECONNECTS = 10;

/**
 * A connection that stayed up this long resets the backoff when it drops. A
 * host that dies right after `hello` keeps counting as failing, so the
 * reconnects slow down instead of spinning.
 */
const STABLE_MS = 10_000;

function readLastError(api) {
  // Reading lastError inside onDisconnect also silences Chrome's
  // "Unchecked runtime.lastError" warning.
  try {
    return api?.runtime?.lastError?.message ?? globalThis.chrome?.runtime?.lastError?.message ?? null;
  } catch {
    return null;
  }
}

export class NativeConnection {
  #api;
  #hostName;
  #helloParams;
  #context;
  #timers;
  #requestTimeout;
  #backoff;
  #onEvent;
  #onBound;
  #wantsEvents;

  /** The current port, or null. At most one port at a time. */
  #port = null;
  /** Resolves with the port once `hello` succeeded on it; shared by every waiting request. */
  #ready = null;
  /** Requests written to the current port and not answered yet, by id. */
  #inflight = new Map();
  #nextId = 1;
  #bound = false;
  #everBound = false;
  /** Consecutive connection failures: drives the backoff. */
  #failures = 0;
  /** When `hello` last succeeded on the current port (null: not bound). */
  #boundAt = null;
  /** No new connection before this time (ms, `timers.now()` clock). */
  #retryAt = 0;
  /** A `host_not_found` / `host_forbidden` error, returned at once until `#retryAt`. */
  #fatal = null;
  #reconnectTimer = null;
  /** Set by `close()`: no background reconnects until the next request. */
  #suspended = false;

  /**
   * @param {object} o
   * @param {any} o.api `browser` or `chrome`
   * @param {string} o.hostName
   * @param {object} o.helloParams params of `hello`
   * @param {{endpoint:string, appId:string, extensionId?:string, hostName:string}} o.context for error messages
   * @param {{setTimeout:Function, clearTimeout:Function, now:() => number}} o.timers
   * @param {number} o.requestTimeout ms, 0 or Infinity for none
   * @param {{initial:number, max:number}} o.backoff ms
   * @param {(event:string, data:any) => void} o.onEvent
   * @param {(result:any, reconnected:boolean) => void} o.onBound after each successful `hello`
   * @param {() => boolean} o.wantsEvents true while someone listens to events: reconnect on our own
   */
  constructor(o) {
    this.#api = o.api;
    this.#hostName = o.hostName;
    this.#helloParams = o.helloParams;
    this.#context = o.context;
    this.#timers = o.timers;
    this.#requestTimeout = o.requestTimeout;
    this.#backoff = o.backoff;
    this.#onEvent = o.onEvent;
    this.#onBound = o.onBound;
    this.#wantsEvents = o.wantsEvents;
  }

  /** True while a port is open and `hello` succeeded on it. */
  get connected() {
    return this.#port !== null && this.#bound;
  }

  /**
   * Send one request and resolve with its `result`, or reject with a
   * `LogtoClientError`. The timeout covers the whole call: waiting for a
   * connection, `hello`, and the reply.
   */
  request(method, params, { timeout = this.#requestTimeout } = {}) {
    this.#suspended = false;
    const rec = this.#record(method, timeout);
    this.#whenReady().then(
      (port) => { if (!rec.settled) this.#write(port, rec, params); },
      (error) => rec.fail(error),
    );
    return rec.promise;
  }

  /** Connect (and `hello`) if not connected; resolves when bound, rejects with why not. */
  async connect() {
    this.#suspended = false;
    if (this.#port && this.#bound) return;
    await this.#whenReady();
  }

  /** Connect (and `hello`) now if not connected, so events start flowing. Errors are ignored. */
  connectInBackground() {
    this.#suspended = false;
    if (this.#port && this.#bound) return;
    this.#whenReady().catch(() => {});
  }

  /**
   * Close the port (in-flight requests fail with `daemon_unavailable`) and
   * stop reconnecting on our own; the next request connects again.
   */
  close() {
    this.#suspended = true;
    this.#clearReconnect();
    if (this.#port) {
      this.#teardown(this.#port, new LogtoClientError('daemon_unavailable', undefined,
        'The LogtoClient was closed (client.close()); the next call reconnects.'), { byUs: true, failure: false });
    }
  }

  #record(method, timeout) {
    const rec = { id: this.#nextId++, method, settled: false, timer: null };
    rec.promise = new Promise((resolve, reject) => {
      const settle = (fn, value) => {
        if (rec.settled) return;
        rec.settled = true;
        if (rec.timer !== null) this.#timers.clearTimeout(rec.timer);
        this.#inflight.delete(rec.id);
        fn(value);
      };
      rec.ok = (value) => settle(resolve, value);
      rec.fail = (error) => settle(reject, error);
    });
    if (Number.isFinite(timeout) && timeout > 0) {
      rec.timer = this.#timers.setTimeout(() => {
        rec.timer = null;
        rec.fail(new LogtoClientError('timeout', { method, timeoutMs: timeout },
          `No reply to ${method} from logto-companion within ${timeout} ms.`));
      }, timeout);
    }
    return rec;
  }

  #write(port, rec, params) {
    const frame = { id: rec.id, method: rec.method };
    if (params !== undefined) frame.params = params;
    this.#inflight.set(rec.id, rec);
    try {
      port.postMessage(frame);
    } catch (e) {
      // A port the browser already closed throws here; treat it as closed.
      this.#teardown(port, translateDisconnect(e?.message ?? String(e), this.#context), { byUs: true, failure: true });
    }
  }

  /** The shared connect + hello promise; at most one attempt runs at a time. */
  #whenReady() {
    if (this.#ready) return this.#ready;
    const now = this.#timers.now();
    if (this.#fatal && now < this.#retryAt) return Promise.reject(this.#fatal);
    const wait = this.#port ? 0 : Math.max(0, this.#retryAt - now);
    const attempt = this.#connectAndHello(wait);
    this.#ready = attempt;
    attempt.catch(() => { if (this.#ready === attempt) this.#ready = null; });
    return attempt;
  }

  async #connectAndHello(wait) {
    if (wait > 0) await new Promise((resolve) => this.#timers.setTimeout(resolve, wait));
    const port = this.#port ?? this.#connect();
    const rec = this.#record('hello', this.#requestTimeout);
    this.#write(port, rec, this.#helloParams);
    let result;
    try {
      result = await rec.promise;
    } catch (error) {
      if (error.code === 'timeout' && this.#port === port) {
        // A host that does not answer hello is of no use: start over.
        this.#teardown(port, error, { byUs: true, failure: true });
      }
      if (error.code === 'app_not_registered') {
        throw appNotRegistered({ message: error.message, data: error.data }, this.#context);
      }
      throw error;
    }
    if (this.#port !== port) {
      // Closed while the reply was on its way.
      throw new LogtoClientError('daemon_unavailable', undefined, 'The connection closed during hello.');
    }
    const reconnected = this.#everBound;
    this.#bound = true;
    this.#everBound = true;
    this.#boundAt = this.#timers.now();
    this.#retryAt = 0;
    this.#fatal = null;
    try {
      this.#onBound?.(result ?? {}, reconnected);
    } catch (e) {
      console.error('logto-companion: onBound handler failed', e);
    }
    return port;
  }

  #connect() {
    const api = this.#api;
    if (typeof api?.runtime?.connectNative !== 'function') {
      const error = new LogtoClientError('host_forbidden', { hostName: this.#hostName },
        'runtime.connectNative is not available here. Add "nativeMessaging" to "permissions" in '
        + 'manifest.json, and use LogtoClient from the background service worker or an extension page '
        + '(not a content script).');
      this.#noteFailure(error);
      throw error;
    }
    let port;
    try {
      port = api.runtime.connectNative(this.#hostName);
    } catch (e) {
      const error = translateDisconnect(e?.message ?? String(e), this.#context);
      this.#noteFailure(error);
      throw error;
    }
    this.#port = port;
    this.#bound = false;
    port.onMessage.addListener((message) => this.#onMessage(port, message));
    port.onDisconnect.addListener((p) => {
      // Firefox puts the reason on port.error; Chromium on runtime.lastError.
      const raw = p?.error?.message ?? port.error?.message ?? readLastError(api);
      this.#teardown(port, translateDisconnect(raw, this.#context), { byUs: false, failure: true });
    });
    return port;
  }

  #onMessage(port, message) {
    if (port !== this.#port || !message || typeof message !== 'object') return;
    if (typeof message.event === 'string') {
      try {
        this.#onEvent(message.event, message.data ?? {});
      } catch (e) {
        console.error(`logto-companion: ${message.event} handler failed`, e);
      }
      return;
    }
    if (!('id' in message)) return;
    // A reply to a request that already timed out finds nothing: dropped.
    const rec = this.#inflight.get(message.id);
    if (!rec) return;
    if (message.error) rec.fail(errorFromWire(message.error));
    else rec.ok(message.result ?? {});
  }

  #teardown(port, error, { byUs, failure }) {
    if (port !== this.#port) return;
    this.#port = null;
    this.#bound = false;
    this.#ready = null;
    if (byUs) {
      try { port.disconnect(); } catch { /* already closed */ }
    }
    for (const rec of [...this.#inflight.values()]) rec.fail(error);
    if (!failure) return;
    this.#noteFailure(error);
    if (!this.#fatal && !this.#suspended && this.#wantsEvents()
        && this.#failures <= MAX_BACKGROUND_RECONNECTS) {
      this.#scheduleReconnect();
    }
  }

  #noteFailure(error) {
    const now = this.#timers.now();
    if (this.#boundAt !== null && now - this.#boundAt >= STABLE_MS) this.#failures = 0;
    this.#boundAt = null;
    this.#failures += 1;
    const delay = Math.min(this.#backoff.initial * 2 ** (this.#failures - 1), this.#backoff.max);
    this.#retryAt = now + delay;
    this.#fatal = FATAL_CODES.has(error?.code) ? error : null;
  }

  #scheduleReconnect() {
    this.#clearReconnect();
    const delay = Math.max(0, this.#retryAt - this.#timers.now());
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      this.#reconnectTimer = null;
      if (!this.#suspended && this.#wantsEvents()) this.#whenReady().catch(() => {});
    }, delay);
  }

  #clearReconnect() {
    if (this.#reconnectTimer !== null) {
      this.#timers.clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
  }
}
