// Signed out everywhere (issue 15, item 5): a sign-out elsewhere (another
// browser, the CLI) ends the provider's own session in this browser too,
// from the end-session URL the daemon's `sessionChanged` carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import LogtoClient from '../src/index.js';
import { FakeBrowser, FakeClock, flush } from './fakes.js';
import { APP_ID, ENDPOINT, EXT_ID, setup, track } from './helpers.js';

const url = (n) => `https://auth.example.test/oidc/session/end?client_id=app-123&id_token_hint=eyJ.${n}.sig`;

/** A connected client with a session listener (which keeps its port open, as an extension's would). */
async function listening(options) {
  const env = setup({ host: {}, ...options });
  const seen = [];
  env.client.onSessionChange((c) => seen.push(c));
  await flush(6);
  return { ...env, seen };
}

test('a sign-out elsewhere opens the end-session URL in a background tab that closes itself after the page has finished', async () => {
  const { browser, client, seen } = await listening();
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(1) });
  await flush(6);
  assert.deepEqual(seen, [{ authenticated: false }], 'listeners get the change, not the URL');
  assert.equal(browser.tabs.created.length, 1);
  const [tab] = browser.tabs.created;
  assert.equal(tab.url, url(1));
  assert.equal(tab.active, false, 'in the background');
  browser.tabs.complete(tab.id); // the end-session page
  await flush();
  assert.deepEqual(browser.tabs.removed, [], 'not closed before the final load');
  browser.tabs.complete(tab.id); // after its auto-submit
  await flush();
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  assert.equal(browser.tabs.onUpdated.hasListeners(), false, 'tab listeners removed');
  client.close();
});

test('a background end-session tab that never finishes is closed after 10 s', async () => {
  const { browser, clock, client } = await listening();
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(2) });
  await flush(6);
  const [tab] = browser.tabs.created;
  await clock.advance(9_999);
  assert.deepEqual(browser.tabs.removed, []);
  await clock.advance(1);
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  client.close();
});

test('no tab without an end-session URL, nor for a sign-in, nor for a URL that is not a string', async () => {
  const { browser, client, seen } = await listening();
  browser.port.emit('sessionChanged', { authenticated: false });
  browser.port.emit('sessionChanged', { authenticated: true, sub: 'u_1', endSessionUrl: url(3) });
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: 42 });
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: '' });
  await flush(6);
  assert.equal(seen.length, 4);
  assert.deepEqual(browser.tabs.created, []);
  client.close();
});

test('our own signOut opens one tab although the daemon sends sessionChanged (with the URL) before the reply', async () => {
  const { browser, client, seen } = await listening();
  const signOut = track(client.signOut());
  await flush(6);
  const frame = browser.port.last('signOut');
  // The daemon's order: broadcast to every connection (this one too), then reply.
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(4) });
  await flush(6);
  assert.deepEqual(browser.tabs.created, [], 'the event alone opens nothing while our signOut waits');
  browser.port.reply(frame.id, { endSessionUrl: url(4), revoked: true });
  await flush(6);
  assert.equal(browser.tabs.created.length, 1, 'exactly one end-session tab');
  const [tab] = browser.tabs.created;
  assert.equal(tab.active, false);
  browser.tabs.complete(tab.id);
  browser.tabs.complete(tab.id);
  await flush(6);
  assert.deepEqual(signOut.value, { endSessionUrl: url(4), revoked: true });
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  assert.deepEqual(seen, [{ authenticated: false }]);
  client.close();
});

test('signOut whose reply is lost after the event still ends the provider session here', async () => {
  const { browser, clock, client } = await listening();
  const signOut = client.signOut().catch((e) => e);
  await flush(6);
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(5) });
  await flush(6);
  await clock.advance(30_000); // the request timeout
  await flush(6);
  assert.equal(browser.tabs.created.length, 1);
  const [tab] = browser.tabs.created;
  assert.equal(tab.url, url(5));
  assert.equal(tab.active, false);
  browser.tabs.complete(tab.id);
  browser.tabs.complete(tab.id);
  const error = await signOut;
  assert.equal(error.code, 'timeout', 'the lost reply is still reported');
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  client.close();
});

test('signOut with endSessionUrl null opens no tab even when the event had one', async () => {
  const { browser, client } = await listening();
  const signOut = track(client.signOut());
  await flush(6);
  const frame = browser.port.last('signOut');
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(6) });
  browser.port.reply(frame.id, { endSessionUrl: null, revoked: true });
  await flush(6);
  assert.deepEqual(signOut.value, { endSessionUrl: null, revoked: true });
  assert.deepEqual(browser.tabs.created, []);
  client.close();
});

test('two clients of one browser context hear the same sign-out: one tab', async () => {
  const browser = new FakeBrowser({ id: EXT_ID }).autoHost({});
  const clock = new FakeClock();
  const internals = { api: browser, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now };
  const one = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID }, internals);
  const two = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID }, internals);
  one.onSessionChange(() => {});
  two.onSessionChange(() => {});
  await flush(6);
  assert.equal(browser.ports.length, 2);
  for (const port of browser.ports) port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(7) });
  await flush(6);
  assert.equal(browser.tabs.created.length, 1);
  // Once that visit is over, a later sign-out with the same URL opens a tab again.
  browser.tabs.complete(browser.tabs.created[0].id);
  browser.tabs.complete(browser.tabs.created[0].id);
  await flush(6);
  browser.ports[0].emit('sessionChanged', { authenticated: false, endSessionUrl: url(7) });
  await flush(6);
  assert.equal(browser.tabs.created.length, 2);
  await clock.advance(10_000);
  one.close();
  two.close();
});

/** Web Locks of one extension: `held` names are held by another context until released. */
class FakeLocks {
  held = new Map();
  requests = [];
  async request(name, options, callback) {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'function' ? {} : options;
    this.requests.push({ name, ifAvailable: Boolean(opts.ifAvailable) });
    if (this.held.has(name)) {
      if (opts.ifAvailable) return cb(null);
      await this.held.get(name).promise;
    }
    return cb({ name });
  }
  holdElsewhere(name) {
    let release;
    const promise = new Promise((resolve) => { release = resolve; });
    this.held.set(name, { promise });
    return () => { this.held.delete(name); release(); };
  }
}

test('another context of the extension (popup, service worker) already ending a session: a sign-out heard meanwhile opens no second tab', async () => {
  const locks = new FakeLocks();
  const name = `logto-companion:end-session:${ENDPOINT}:${APP_ID}`;
  const release = locks.holdElsewhere(name);
  const browser = new FakeBrowser({ id: EXT_ID }).autoHost({});
  const clock = new FakeClock();
  const client = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID },
    { api: browser, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now, locks });
  client.onSessionChange(() => {});
  await flush(6);
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(8) });
  await flush(6);
  assert.deepEqual(browser.tabs.created, []);
  assert.deepEqual(locks.requests.map((r) => [r.name, r.ifAvailable]), [[name, true], [name, false]],
    'tried the lock, then waits for the other context');
  release();
  await flush(6);
  assert.deepEqual(browser.tabs.created, [], 'and opens nothing after it');
  // With the lock free, this context visits a later sign-out's page itself.
  browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(9) });
  await flush(6);
  assert.equal(browser.tabs.created.length, 1);
  await clock.advance(10_000);
  client.close();
});

test('signOut holds the end-session lock from its request until its tab has closed', async () => {
  const locks = new FakeLocks();
  const name = `logto-companion:end-session:${ENDPOINT}:${APP_ID}`;
  const release = locks.holdElsewhere(name); // another context is still closing an earlier tab
  const browser = new FakeBrowser({ id: EXT_ID }).autoHost({ handlers: {
    signOut: (p, m) => p.reply(m.id, { endSessionUrl: url(11), revoked: true }),
  } });
  const clock = new FakeClock();
  const client = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID },
    { api: browser, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now, locks });
  const signOut = track(client.signOut());
  await flush(8);
  assert.deepEqual(locks.requests, [{ name, ifAvailable: false }]);
  assert.equal(browser.ports.length, 0, 'no signOut before the lock');
  release();
  await flush(10);
  assert.ok(browser.port.last('signOut'), 'sent once the lock is ours');
  assert.equal(browser.tabs.created.length, 1);
  const [tab] = browser.tabs.created;
  // Our own event (sent before the reply) did not try the lock: the caller holds it.
  assert.equal(locks.requests.length, 1);
  browser.tabs.complete(tab.id);
  browser.tabs.complete(tab.id);
  await flush(6);
  assert.deepEqual(signOut.value, { endSessionUrl: url(11), revoked: true });
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  client.close();
});

test('an extension page that hears a sign-out lets the background go first', async () => {
  const locks = new FakeLocks();
  const name = `logto-companion:end-session:${ENDPOINT}:${APP_ID}`;
  const browser = new FakeBrowser({ id: EXT_ID }).autoHost({});
  const background = {};
  browser.extension = { getBackgroundPage: () => background };
  const clock = new FakeClock();
  const client = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID },
    { api: browser, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now, locks });
  client.onSessionChange(() => {});
  await flush(6);
  globalThis.document = {};
  try {
    browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(12) });
    await flush(6);
    assert.deepEqual(locks.requests, [], 'waits before trying');
    const release = locks.holdElsewhere(name); // the service worker took it
    await clock.advance(300);
    await flush(6);
    assert.deepEqual(locks.requests.map((r) => r.ifAvailable), [true, false]);
    assert.deepEqual(browser.tabs.created, []);
    release();
    await flush(6);
    assert.deepEqual(browser.tabs.created, []);
  } finally {
    delete globalThis.document;
    client.close();
  }
});

test('a context that cannot create tabs opens nothing for a sign-out elsewhere (no window.open)', async () => {
  const { browser, client } = await listening();
  const opened = [];
  const originalOpen = globalThis.open;
  globalThis.open = (u) => opened.push(u);
  const original = console.warn;
  const warnings = [];
  console.warn = (...a) => warnings.push(a.join(' '));
  const create = browser.tabs.create;
  browser.tabs.create = undefined;
  try {
    browser.port.emit('sessionChanged', { authenticated: false, endSessionUrl: url(10) });
    await flush(6);
    assert.deepEqual(opened, []);
    assert.equal(warnings.length, 1);
    assert.ok(!warnings[0].includes('id_token_hint'), 'the URL (it carries the ID token) is not logged');
  } finally {
    globalThis.open = originalOpen;
    console.warn = original;
    browser.tabs.create = create;
    client.close();
  }
});
