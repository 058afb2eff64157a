// The example extension: build.mjs output, and its service worker and popup
// run against the fake browser (the popup against a minimal fake DOM).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';

import { FakeBrowser, FakeEvent, flush } from './fakes.js';

const BUILD = new URL('../example/build.mjs', import.meta.url);
const EXAMPLE_ID = readFileSync(new URL('../example/EXTENSION_ID', import.meta.url), 'utf8').trim();
const scratch = mkdtempSync(join(tmpdir(), 'shim-example-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function runBuild(args) {
  return execFileSync(process.execPath, [BUILD.pathname, ...args], { encoding: 'utf8' });
}

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

test('EXTENSION_ID is one line of 32 letters a-p', () => {
  const raw = readFileSync(new URL('../example/EXTENSION_ID', import.meta.url), 'utf8');
  assert.match(raw, /^[a-p]{32}\n?$/);
});

test('build.mjs (Chromium, defaults) writes a loadable MV3 extension whose key gives EXTENSION_ID', async () => {
  const out = join(scratch, 'chrome');
  const stdout = runBuild(['--out', out]);
  assert.ok(stdout.includes(EXAMPLE_ID));
  const manifest = readJson(join(out, 'manifest.json'));
  assert.equal(manifest.manifest_version, 3);
  assert.deepEqual(manifest.permissions, ['identity', 'nativeMessaging']);
  assert.equal(manifest.host_permissions, undefined);
  assert.deepEqual(manifest.background, { service_worker: 'service-worker.js', type: 'module' });
  assert.equal(manifest.action.default_popup, 'popup.html');
  const { extensionIdFromKey } = await import(BUILD.href);
  assert.equal(extensionIdFromKey(manifest.key), EXAMPLE_ID);
  for (const file of ['service-worker.js', 'popup.html', 'popup.js', 'config.js', 'vendor/extension-shim/index.js']) {
    assert.ok(existsSync(join(out, file)), file);
  }
  for (const file of ['service-worker.js', 'popup.js']) {
    const source = readFileSync(new URL(`../example/src/${file}`, import.meta.url), 'utf8');
    assert.match(source, /^import LogtoClient from '@logto-companion\/extension-shim';$/m, `${file} imports the package, as the README says`);
    const built = readFileSync(join(out, file), 'utf8');
    assert.match(built, /^import LogtoClient from '\.\/vendor\/extension-shim\/index\.js';$/m, `${file} is pointed at vendor/`);
  }
  const shimFiles = readdirSync(new URL('../src/', import.meta.url)).filter((f) => f.endsWith('.js')).sort();
  assert.deepEqual(readdirSync(join(out, 'vendor/extension-shim')).sort(), shimFiles);
  const config = (await import(pathToFileURL(join(out, 'config.js')).href)).default;
  assert.deepEqual(config, {
    endpoint: 'http://127.0.0.1:3001', appId: 'native-test-app',
    resources: ['https://api.example.test'], scopes: ['phone'],
  });
});

test('build.mjs --firefox writes the Firefox variant with the given config', async () => {
  const out = join(scratch, 'firefox');
  runBuild(['--out', out, '--firefox', '--endpoint', 'https://auth.example.com', '--app-id', 'abc',
    '--resources', 'https://a.test,https://b.test', '--host-name', 'com.example.host']);
  const manifest = readJson(join(out, 'manifest.json'));
  assert.equal(manifest.key, undefined);
  assert.equal(manifest.browser_specific_settings.gecko.id, 'example@logto-companion.test');
  assert.deepEqual(manifest.background, { scripts: ['service-worker.js'], type: 'module' });
  assert.deepEqual(manifest.permissions, ['identity', 'nativeMessaging']);
  const config = (await import(pathToFileURL(join(out, 'config.js')).href)).default;
  assert.deepEqual(config, {
    endpoint: 'https://auth.example.com', appId: 'abc', resources: ['https://a.test', 'https://b.test'],
    scopes: ['phone'], hostName: 'com.example.host',
  });
});

test('build.mjs rejects unknown arguments', () => {
  assert.throws(() => runBuild(['--nope']), /unknown argument/);
});

const claims = { sub: 'u_1', phone_number: '+15551234567' };

function fakeHost(browser, state) {
  browser.autoHost({
    authenticated: state.authenticated,
    handlers: {
      isAuthenticated: (p, m) => p.reply(m.id, { authenticated: state.authenticated }),
      getIdTokenClaims: (p, m) => (state.authenticated
        ? p.reply(m.id, { claims })
        : p.replyError(m.id, 'not_authenticated', 'not signed in')),
      getAccessToken: (p, m) => p.reply(m.id, { accessToken: `token-for-${m.params.resource}`, expiresAt: 1 }),
      signIn: (p, m) => {
        p.emit('signInStarted', { url: 'https://auth.example.test/oidc/auth?x', flowId: 'f' });
        setImmediate(() => {
          state.authenticated = true;
          p.emit('sessionChanged', { authenticated: true, sub: 'u_1' });
          p.emit('signInFinished', { flowId: 'f', ok: true });
          p.reply(m.id, { claims });
        });
      },
      signOut: (p, m) => {
        state.authenticated = false;
        p.emit('sessionChanged', { authenticated: false });
        p.reply(m.id, { endSessionUrl: 'https://auth.example.test/oidc/session/end' });
      },
    },
  });
}

/** Import a built module with `chrome` set to the fake (the example uses the global, as the seed does). */
async function withChrome(browser, fn) {
  const saved = globalThis.chrome;
  globalThis.chrome = browser;
  try {
    return await fn();
  } finally {
    globalThis.chrome = saved;
  }
}

test('the example service worker answers signIn, state, getAccessToken and signOut', async () => {
  const out = join(scratch, 'sw');
  runBuild(['--out', out]);
  const browser = new FakeBrowser();
  browser.runtime.onMessage = new FakeEvent();
  const state = { authenticated: false };
  fakeHost(browser, state);
  const send = (message) => new Promise((resolve) => {
    const returned = browser.runtime.onMessage.listeners[0](message, {}, resolve);
    if (returned !== true) resolve('<sync>');
  });
  await withChrome(browser, async () => {
    const mod = await import(pathToFileURL(join(out, 'service-worker.js')).href);
    assert.equal(globalThis.logtoClient, mod.logtoClient, 'exposed for tests');
    assert.equal(browser.runtime.onMessage.listeners.length, 1);
    assert.deepEqual(await send({ action: 'state' }), { ok: true, result: { authenticated: false, claims: null } });
    assert.deepEqual(browser.ports[0].sent[0].params.app, {
      endpoint: 'http://127.0.0.1:3001', appId: 'native-test-app',
      scopes: ['phone'], resources: ['https://api.example.test'],
    });
    assert.deepEqual(await send({ action: 'signIn' }), { ok: true, result: undefined });
    await flush();
    assert.equal(browser.tabs.created[0].url, 'https://auth.example.test/oidc/auth?x');
    assert.deepEqual(browser.tabs.removed, [browser.tabs.created[0].id]);
    assert.deepEqual(await send({ action: 'state' }), { ok: true, result: { authenticated: true, claims } });
    assert.deepEqual(await send({ action: 'getAccessToken', resource: 'https://api.example.test' }),
      { ok: true, result: 'token-for-https://api.example.test' });
    assert.equal(await globalThis.logtoClient.getAccessToken('https://api.example.test'),
      'token-for-https://api.example.test');
    const signingOut = send({ action: 'signOut' });
    await flush(6);
    const endTab = browser.tabs.created[1];
    assert.equal(endTab.active, false);
    browser.tabs.complete(endTab.id);
    browser.tabs.complete(endTab.id);
    assert.deepEqual(await signingOut, { ok: true, result: { endSessionUrl: 'https://auth.example.test/oidc/session/end' } });
    assert.equal(await send({ action: 'unknown' }), '<sync>');
    globalThis.logtoClient.close();
  });
  delete globalThis.logtoClient;
});

test('the example popup shows the state and claims, signs in through the service worker, and follows session changes', async () => {
  const out = join(scratch, 'popup');
  runBuild(['--out', out]);
  const browser = new FakeBrowser();
  const state = { authenticated: true };
  fakeHost(browser, state);
  const sent = [];
  browser.runtime.sendMessage = async (message) => { sent.push(message); return { ok: false, error: { code: 'user_cancelled', message: 'closed' } }; };
  const elements = {};
  for (const id of ['status', 'claims', 'error', 'sign-in', 'sign-out']) {
    elements[id] = { textContent: '', click: null, addEventListener(type, fn) { if (type === 'click') this.click = fn; } };
  }
  const savedDocument = globalThis.document;
  globalThis.document = { getElementById: (id) => elements[id], body: { dataset: {} } };
  try {
    await withChrome(browser, async () => {
      await import(pathToFileURL(join(out, 'popup.js')).href);
      await flush(10);
      assert.equal(elements.status.textContent, 'Signed in');
      assert.deepEqual(JSON.parse(elements.claims.textContent), claims);
      // Signed out elsewhere: the popup follows.
      state.authenticated = false;
      browser.port.emit('sessionChanged', { authenticated: false });
      await flush(10);
      assert.equal(elements.status.textContent, 'Signed out');
      assert.equal(elements.claims.textContent, '');
      // The button goes through the service worker; its error is shown.
      await elements['sign-in'].click();
      assert.deepEqual(sent, [{ action: 'signIn' }]);
      assert.equal(elements.error.textContent, 'user_cancelled: closed');
      await elements['sign-out'].click();
      assert.deepEqual(sent, [{ action: 'signIn' }, { action: 'signOut' }]);
    });
  } finally {
    globalThis.document = savedDocument;
    if (savedDocument === undefined) delete globalThis.document;
  }
});
