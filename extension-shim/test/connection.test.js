// The transport: hello, ids, queueing, timeouts, reconnection, and the
// translation of browser errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import LogtoClient from '../src/index.js';
import { flush } from './fakes.js';
import { APP_ID, ENDPOINT, EXT_ID, answerHello, setup, track } from './helpers.js';

test('nothing connects until the first call', async () => {
  const { browser } = setup();
  await flush();
  assert.equal(browser.ports.length, 0);
});

test('hello is the first frame and carries the app config (unset fields omitted)', async () => {
  const { browser, client } = setup({
    config: { scopes: ['phone'], resources: ['https://api.example.test'], prompt: ['consent', 'login'] },
  });
  const call = client.isAuthenticated();
  await flush();
  assert.equal(browser.ports.length, 1);
  assert.equal(browser.port.name, 'logto_companion');
  assert.deepEqual(browser.port.sent, [{
    id: browser.port.sent[0].id,
    method: 'hello',
    params: { app: {
      endpoint: ENDPOINT, appId: APP_ID, scopes: ['phone'],
      resources: ['https://api.example.test'], prompt: ['consent', 'login'],
    } },
  }]);
  await answerHello(browser);
  const req = browser.port.last('isAuthenticated');
  assert.ok(req, 'the request follows hello');
  assert.equal('params' in req, false, 'a method without params sends none');
  browser.port.reply(req.id, { authenticated: true });
  assert.equal(await call, true);
});

test('the hostName option picks the native host; includeReservedScopes is passed on', async () => {
  const { browser, client } = setup({ config: { hostName: 'com.example.other', includeReservedScopes: false } });
  client.isAuthenticated().catch(() => {});
  await flush();
  assert.equal(browser.port.name, 'com.example.other');
  assert.equal(browser.port.sent[0].params.app.includeReservedScopes, false);
  assert.equal(client.hostName, 'com.example.other');
});

test('requests made before hello is answered wait for it, on one port', async () => {
  const { browser, client } = setup();
  const a = client.getIdTokenClaims();
  const b = client.getAccessToken('https://api.example.test');
  const c = client.isAuthenticated();
  await flush();
  assert.deepEqual(browser.port.methods, ['hello']);
  await answerHello(browser);
  assert.equal(browser.ports.length, 1);
  assert.deepEqual(browser.port.methods, ['hello', 'getIdTokenClaims', 'getAccessToken', 'isAuthenticated']);
  const ids = browser.port.sent.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  for (const m of browser.port.sent.slice(1)) {
    const result = { getIdTokenClaims: { claims: 'id.tok' }, getAccessToken: { accessToken: 'at', expiresAt: 1 },
      isAuthenticated: { authenticated: true } }[m.method];
    browser.port.reply(m.id, result);
  }
  assert.deepEqual(await Promise.all([a, b, c]), ['id.tok', 'at', true]);
});

test('replies are matched by id, whatever their order', async () => {
  const { browser, client } = setup();
  client.isAuthenticated().catch(() => {});
  await flush();
  await answerHello(browser);
  browser.port.reply(browser.port.last('isAuthenticated').id, { authenticated: false });
  const first = client.getAccessToken('https://one.test');
  const second = client.getAccessToken('https://two.test');
  const third = client.getIdTokenClaims();
  await flush();
  const [m1, m2, m3] = browser.port.sent.slice(-3);
  assert.deepEqual(m1.params, { resource: 'https://one.test' });
  assert.deepEqual(m2.params, { resource: 'https://two.test' });
  browser.port.reply(m3.id, { claims: 'ID' });
  browser.port.reply(m2.id, { accessToken: 'TWO', expiresAt: 2 });
  browser.port.reply(m1.id, { accessToken: 'ONE', expiresAt: 1 });
  assert.deepEqual(await Promise.all([first, second, third]), ['ONE', 'TWO', 'ID']);
});

test('a reply with an unknown id or a null id is ignored', async () => {
  const { browser, client } = setup({ host: {} });
  const call = track(client.getIdTokenClaims());
  await flush(6);
  const req = browser.port.last('getIdTokenClaims');
  browser.port.reply(req.id + 1000, { claims: 'wrong' });
  browser.port.deliver({ id: null, error: { code: 'invalid_request', message: 'x' } });
  await flush();
  assert.equal(call.settled, false);
  browser.port.reply(req.id, { claims: 'right' });
  await flush();
  assert.equal(call.value, 'right');
});

test('a request without a reply rejects with `timeout`; a late reply is dropped; the port stays usable', async () => {
  const { browser, clock, client } = setup({ config: { requestTimeout: 1000 }, host: {} });
  const slow = track(client.getIdTokenClaims());
  await flush(6);
  const req = browser.port.last('getIdTokenClaims');
  await clock.advance(999);
  assert.equal(slow.settled, false);
  await clock.advance(1);
  assert.equal(slow.error?.code, 'timeout');
  assert.match(slow.error.message, /getIdTokenClaims.*1000 ms/);
  browser.port.reply(req.id, { claims: 'late' }); // no effect, no throw
  const next = client.getIdTokenClaims();
  await flush();
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: 'fresh' });
  assert.equal(await next, 'fresh');
  assert.equal(browser.ports.length, 1);
  assert.equal(browser.port.disconnectedByExtension, false);
});

test('the timeout also covers waiting for hello; an unanswered hello drops the port', async () => {
  const { browser, clock, client } = setup({ config: { requestTimeout: 500 } });
  const call = track(client.getIdTokenClaims());
  await flush();
  await clock.advance(500);
  assert.equal(call.error?.code, 'timeout');
  assert.equal(browser.ports[0].disconnectedByExtension, true);
});

test('signIn is not bound by the normal timeout but by signInTimeout', async () => {
  const { browser, clock, client } = setup({ config: { requestTimeout: 1000, signInTimeout: 60_000 }, host: {} });
  const signIn = track(client.signIn({}));
  await flush(6);
  assert.ok(browser.port.last('signIn'));
  await clock.advance(30_000);
  assert.equal(signIn.settled, false);
  await clock.advance(30_000);
  assert.equal(signIn.error?.code, 'timeout');
});

test('default timeouts: 30 s for calls, 10 min for signIn', async () => {
  const { clock, client } = setup({ host: {} });
  const call = track(client.getIdTokenClaims());
  const signIn = track(client.signIn({}));
  await flush(6);
  await clock.advance(29_999);
  assert.equal(call.settled, false);
  await clock.advance(1);
  assert.equal(call.error?.code, 'timeout');
  await clock.advance(600_000 - 30_000 - 1);
  assert.equal(signIn.settled, false);
  await clock.advance(1);
  assert.equal(signIn.error?.code, 'timeout');
});

test('"Native host has exited." rejects in-flight calls with daemon_unavailable; the next call reconnects after the backoff and says hello again', async () => {
  const { browser, clock, client } = setup({ host: {} });
  const inflight = track(client.getIdTokenClaims());
  await flush(6);
  const first = browser.port;
  first.hostDisconnect('Native host has exited.');
  await flush();
  assert.equal(inflight.error?.code, 'daemon_unavailable');
  assert.match(inflight.error.message, /Native host has exited/);

  const again = track(client.getIdTokenClaims());
  await flush(6);
  assert.equal(browser.ports.length, 1, 'waits for the 100 ms backoff');
  await clock.advance(100);
  await flush(6);
  assert.equal(browser.ports.length, 2);
  assert.deepEqual(browser.port.methods, ['hello', 'getIdTokenClaims'], 'hello comes first on the new port');
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: 'x' });
  await flush();
  assert.equal(again.value, 'x');
});

test('backoff doubles while each new port dies quickly, is capped, and resets after a stable connection', async () => {
  const { browser, clock, client } = setup({ config: { reconnectBackoff: { initial: 100, max: 400 } }, host: {} });
  // Ask, and measure how long until a new port is opened.
  const waitForPort = async () => {
    const before = browser.ports.length;
    const t0 = clock.now();
    const call = track(client.getIdTokenClaims());
    await flush(6);
    while (browser.ports.length === before) await clock.advance(10);
    await flush(6);
    return { call, waited: clock.now() - t0 };
  };
  const waits = [];
  for (let i = 0; i < 5; i += 1) {
    const { call, waited } = await waitForPort();
    waits.push(waited);
    assert.deepEqual(browser.port.methods, ['hello', 'getIdTokenClaims']);
    browser.port.hostDisconnect('Native host has exited.'); // right after hello
    await flush();
    assert.equal(call.error?.code, 'daemon_unavailable');
  }
  assert.deepEqual(waits, [0, 100, 200, 400, 400]);
  // A connection that stays up for a while resets the backoff.
  await clock.advance(400);
  const { call } = await waitForPort();
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: 'ok' });
  await flush();
  assert.equal(call.value, 'ok');
  await clock.advance(10_000);
  browser.port.hostDisconnect('Native host has exited.');
  await flush();
  assert.equal((await waitForPort()).waited, 100);
  browser.port.hostDisconnect(null);
});

test('Chrome "host not found" becomes host_not_found with the installer command, and is not retried in a loop', async () => {
  const { browser, clock, client } = setup({ connectError: 'Specified native messaging host not found.' });
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'host_not_found');
  assert.equal(err.name, 'LogtoClientError');
  assert.ok(err.message.includes(
    `logto-companion install --endpoint ${ENDPOINT} --app-id ${APP_ID} --extension-id ${EXT_ID}`), err.message);
  assert.match(err.message, /not installed/);
  assert.equal(browser.ports.length, 1);
  // Within the backoff window: the same error at once, no new host launch.
  const again = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(again.code, 'host_not_found');
  assert.equal(browser.ports.length, 1);
  await clock.advance(5000);
  assert.equal(browser.ports.length, 1, 'no background retries');
  // After the window (the user ran the installer) a call tries again.
  browser.connectError = null;
  browser.autoHost({ handlers: { isAuthenticated: (p, m) => p.reply(m.id, { authenticated: true }) } });
  assert.equal(await client.isAuthenticated(), true);
  assert.equal(browser.ports.length, 2);
});

test('Chrome "forbidden" becomes host_forbidden naming the extension id and the fix', async () => {
  const { client } = setup({ connectError: 'Access to the specified native messaging host is forbidden.' });
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'host_forbidden');
  assert.ok(err.message.includes(EXT_ID));
  assert.ok(err.message.includes(`--extension-id ${EXT_ID}`));
  assert.equal(err.data.browserMessage, 'Access to the specified native messaging host is forbidden.');
});

test('Firefox "No such native application" (port.error) names both causes and the installer command', async () => {
  const { client, browser } = setup({ flavor: 'firefox', connectError: 'No such native application logto_companion' });
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'host_not_found');
  assert.match(err.message, /manifest/);
  assert.match(err.message, /allowed_extensions/);
  assert.ok(err.message.includes(`logto-companion install --endpoint ${ENDPOINT} --app-id ${APP_ID} --extension-id ${EXT_ID}`));
  assert.equal(browser.runtime.lastError, undefined, 'Firefox path does not rely on lastError');
});

test('Firefox host exit with port.error null is daemon_unavailable', async () => {
  const { client, browser } = setup({ flavor: 'firefox', host: {} });
  const call = track(client.getIdTokenClaims());
  await flush(6);
  browser.port.hostDisconnect(null);
  await flush();
  assert.equal(call.error?.code, 'daemon_unavailable');
});

test('other launch failures get clear messages too', async () => {
  for (const [raw, code, re] of [
    ['Failed to start native messaging host.', 'host_not_found', /cannot be started/],
    ['Invalid native messaging host name specified.', 'host_not_found', /not a valid native messaging host name/],
    ['This extension does not have permission to use native application logto_companion', 'host_forbidden', /Add its id/],
    ['Error when communicating with the native messaging host.', 'daemon_unavailable', /reconnects/],
  ]) {
    const { client } = setup({ connectError: raw });
    const err = await client.getIdTokenClaims().catch((e) => e);
    assert.equal(err.code, code, raw);
    assert.match(err.message, re);
  }
});

test('without connectNative (no nativeMessaging permission) calls reject with a fix', async () => {
  const { browser, client } = setup();
  delete browser.runtime.connectNative;
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'host_forbidden');
  assert.match(err.message, /"nativeMessaging"/);
});

test('hello answered app_not_registered: calls reject with the installer command; the next call says hello again', async () => {
  const { browser, client } = setup();
  const a = client.getIdTokenClaims().catch((e) => e);
  const b = client.fetchUserInfo().catch((e) => e);
  await flush();
  browser.port.replyError(browser.port.last('hello').id, 'app_not_registered', 'app not registered for this origin');
  const [ea, eb] = await Promise.all([a, b]);
  for (const e of [ea, eb]) {
    assert.equal(e.code, 'app_not_registered');
    assert.ok(e.message.includes(`--extension-id ${EXT_ID}`), e.message);
    assert.ok(e.message.includes('app not registered for this origin'));
  }
  assert.deepEqual(browser.port.methods, ['hello'], 'nothing else was sent unbound');
  const c = client.getIdTokenClaims();
  await flush();
  assert.equal(browser.ports.length, 1, 'same port');
  await answerHello(browser);
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: null });
  assert.equal(await c, null);
  assert.deepEqual(browser.port.methods, ['hello', 'hello', 'getIdTokenClaims']);
});

test('daemon_unavailable replies are passed through and the port is kept', async () => {
  const { browser, client } = setup({ host: { handlers: {
    getIdTokenClaims: (p, m) => p.replyError(m.id, 'daemon_unavailable', 'daemon restarted'),
  } } });
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'daemon_unavailable');
  assert.equal(err.message, 'daemon restarted');
  assert.equal(browser.ports.length, 1);
  assert.equal(browser.port.disconnectedByExtension, false);
});

test('close() rejects in-flight calls and the next call reconnects without waiting', async () => {
  const { browser, client } = setup({ host: {} });
  const call = track(client.getIdTokenClaims());
  await flush(6);
  client.close();
  await flush();
  assert.equal(call.error?.code, 'daemon_unavailable');
  assert.equal(browser.ports[0].disconnectedByExtension, true);
  const next = track(client.getIdTokenClaims());
  await flush(6);
  assert.equal(browser.ports.length, 2);
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: 't' });
  await flush();
  assert.equal(next.value, 't');
});

test('a port the browser already closed (postMessage throws) is replaced on the next call', async () => {
  const { browser, clock, client } = setup({ host: {} });
  const ok = client.isAuthenticated();
  await flush(6);
  browser.port.reply(browser.port.last('isAuthenticated').id, { authenticated: false });
  await ok;
  browser.port.closed = true; // closed, but no onDisconnect seen yet
  const err = await client.getIdTokenClaims().catch((e) => e);
  assert.equal(err.code, 'daemon_unavailable');
  const next = track(client.getIdTokenClaims());
  await clock.advance(100);
  await flush(6);
  assert.equal(browser.ports.length, 2);
  browser.port.reply(browser.port.last('getIdTokenClaims').id, { claims: 'y' });
  await flush();
  assert.equal(next.value, 'y');
});

test('uses globalThis.browser when present, else globalThis.chrome', async () => {
  const { FakeBrowser } = await import('./fakes.js');
  const chromeFake = new FakeBrowser();
  const firefoxFake = new FakeBrowser({ flavor: 'firefox' });
  const saved = { browser: globalThis.browser, chrome: globalThis.chrome };
  try {
    globalThis.chrome = chromeFake;
    globalThis.browser = firefoxFake;
    new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID }).getIdTokenClaims().catch(() => {});
    await flush();
    assert.equal(firefoxFake.ports.length, 1);
    assert.equal(chromeFake.ports.length, 0);
    delete globalThis.browser;
    const c = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID });
    c.getIdTokenClaims().catch(() => {});
    await flush();
    assert.equal(chromeFake.ports.length, 1);
    // Leave no timers behind.
    for (const port of [...chromeFake.ports, ...firefoxFake.ports]) port.hostDisconnect(null);
    await flush();
  } finally {
    globalThis.browser = saved.browser;
    globalThis.chrome = saved.chrome;
    if (saved.browser === undefined) delete globalThis.browser;
    if (saved.chrome === undefined) delete globalThis.chrome;
  }
});
