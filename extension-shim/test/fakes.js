// Test doubles: a fake `chrome` / `browser` object whose native ports are
// driven by the test, and a manual clock.

/** Let every pending promise callback and immediate run. */
export async function flush(rounds = 3) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeEvent {
  listeners = [];
  addListener(fn) { this.listeners.push(fn); }
  removeListener(fn) { this.listeners = this.listeners.filter((l) => l !== fn); }
  hasListeners() { return this.listeners.length > 0; }
  dispatch(...args) { for (const fn of [...this.listeners]) fn(...args); }
}

export class FakePort {
  constructor(name, browser) {
    this.name = name;
    this.browser = browser;
    this.sent = [];
    this.onMessage = new FakeEvent();
    this.onDisconnect = new FakeEvent();
    this.disconnectedByExtension = false;
    this.closed = false;
    this.error = null;
  }

  // -- what the extension side calls
  postMessage(message) {
    if (this.closed) throw new Error('Attempting to use a disconnected port object');
    const copy = structuredClone(message);
    this.sent.push(copy);
    this.browser.onPost?.(this, copy);
  }

  disconnect() {
    // Like the browsers: the side that disconnects gets no onDisconnect.
    this.closed = true;
    this.disconnectedByExtension = true;
  }

  // -- what the test (the "host") does
  deliver(message) {
    if (this.closed) throw new Error('delivering on a closed port');
    this.onMessage.dispatch(structuredClone(message), this);
  }

  reply(id, result) { this.deliver({ id, result }); }

  replyError(id, code, message = code, data) {
    this.deliver({ id, error: data === undefined ? { code, message } : { code, message, data } });
  }

  emit(event, data) { this.deliver({ event, data }); }

  /** The host goes away; `message` is what the browser reports (null: no reason). */
  hostDisconnect(message) {
    this.closed = true;
    this.browser.reportDisconnect(this, message);
  }

  /** Frames with a method, in order. */
  get methods() { return this.sent.map((m) => m.method); }

  last(method) { return [...this.sent].reverse().find((m) => m.method === method); }
}

/**
 * `flavor: 'chrome'` reports disconnect reasons in `runtime.lastError`
 * (set only while onDisconnect runs); `'firefox'` in `port.error`.
 */
export class FakeBrowser {
  constructor({ flavor = 'chrome', id = 'abcdefghijklmnopabcdefghijklmnop', connectError } = {}) {
    this.flavor = flavor;
    this.ports = [];
    this.tabs = new FakeTabs();
    // Chromium's redirect URL for chrome.identity flows (the tutorial passes it; the shim ignores it).
    this.identity = { getRedirectURL: (path = '') => `https://${id}.chromiumapp.org/${String(path).replace(/^\//, '')}` };
    this.windows = { focused: [], update: async (id, props) => { if (props?.focused) this.windows.focused.push(id); return { id }; } };
    this.connectError = connectError; // a message: the next connects fail with it
    this.onPost = null; // (port, message) => void: an automatic host
    const self = this;
    this.runtime = {
      id,
      lastError: undefined,
      connectNative(name) {
        const port = new FakePort(name, self);
        self.ports.push(port);
        if (self.connectError) {
          const message = self.connectError;
          // The browsers report a failed launch asynchronously, as a disconnect.
          setImmediate(() => { if (!port.closed) port.hostDisconnect(message); });
        }
        return port;
      },
    };
  }

  get port() { return this.ports[this.ports.length - 1]; }

  reportDisconnect(port, message) {
    if (this.flavor === 'firefox') {
      port.error = message === null || message === undefined ? null : { message };
      port.onDisconnect.dispatch(port);
    } else {
      this.runtime.lastError = message === null || message === undefined ? undefined : { message };
      try {
        port.onDisconnect.dispatch(port);
      } finally {
        this.runtime.lastError = undefined;
      }
    }
  }

  /** A host that answers `hello` (authenticated as given) and, through `handlers`, other methods. */
  autoHost({ authenticated = false, handlers = {} } = {}) {
    this.onPost = (port, message) => {
      setImmediate(() => {
        if (port.closed) return;
        if (message.method === 'hello') {
          port.reply(message.id, { protocol: 1, version: '0.1.0', authenticated });
          return;
        }
        const handler = handlers[message.method];
        if (handler) handler(port, message);
      });
    };
    return this;
  }
}

export class FakeTabs {
  nextId = 100;
  created = [];
  removed = [];
  open = new Set();
  onUpdated = new FakeEvent();
  onRemoved = new FakeEvent();
  /** Optional: delay tabs.create's resolution by this promise. */
  gate = null;

  async create(props) {
    const tab = { id: this.nextId++, url: props.url, active: props.active ?? true };
    this.created.push(tab);
    this.open.add(tab.id);
    if (this.gate) await this.gate;
    return tab;
  }

  async remove(id) {
    if (!this.open.has(id)) throw new Error(`No tab with id: ${id}.`);
    this.open.delete(id);
    this.removed.push(id);
  }

  /** Tabs brought to the front with tabs.update({active: true}). */
  focused = [];

  async update(id, props) {
    if (!this.open.has(id)) throw new Error(`No tab with id: ${id}.`);
    if (props?.active) this.focused.push(id);
    return { id, windowId: 1, active: Boolean(props?.active) };
  }

  /** The user closes a tab (the browser fires onRemoved). */
  closeByUser(id) {
    this.open.delete(id);
    this.onRemoved.dispatch(id, { windowId: 1, isWindowClosing: false });
  }

  complete(id) { this.onUpdated.dispatch(id, { status: 'complete' }, { id }); }
}

/** A manual clock for the shim's `internals`: timers run only on `advance`. */
export class FakeClock {
  time = 0;
  timers = new Map();
  nextHandle = 1;
  setTimeout = (fn, ms) => {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + Math.max(0, ms), fn });
    return handle;
  };
  clearTimeout = (handle) => { this.timers.delete(handle); };
  now = () => this.time;

  get pending() { return this.timers.size; }

  /** Move time forward by `ms`, running due timers in order and letting promises settle between them. */
  async advance(ms) {
    const target = this.time + ms;
    await flush();
    for (;;) {
      let next = null;
      for (const [handle, t] of this.timers) {
        if (t.at <= target && (next === null || t.at < next[1].at)) next = [handle, t];
      }
      if (next === null) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
      await flush();
    }
    this.time = target;
    await flush();
  }
}
