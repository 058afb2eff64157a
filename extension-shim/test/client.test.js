// The SDK-shaped API: method → request mapping, resolved values, errors,
// the sign-in / sign-out tabs and session events.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import LogtoClient, {
  DEFAULT_HOST_NAME, LogtoClientError, LogtoError, LogtoRequestError, OidcError, Prompt, ReservedScope, UserScope,
  isLogtoRequestError,
} from '../src/index.js';
import { flush } from './fakes.js';
import { answerHello, setup, track } from './helpers.js';

const claims = { sub: 'u_123', phone_number: '+15551234567', iss: 'https://auth.example.test/oidc' };
const oidc = {
  issuer: 'https://auth.example.test/oidc',
  authorizationEndpoint: 'https://auth.example.test/oidc/auth',
  tokenEndpoint: 'https://auth.example.test/oidc/token',
  userinfoEndpoint: 'https://auth.example.test/oidc/me',
  endSessionEndpoint: 'https://auth.example.test/oidc/session/end',
  revocationEndpoint: 'https://auth.example.test/oidc/token/revocation',
  jwksUri: 'https://auth.example.test/oidc/jwks',
};

// [call, expected method, expected params (undefined: none sent), wire result, resolved value]
const CASES = [
  [(c) => c.isAuthenticated(), 'isAuthenticated', undefined, { authenticated: true }, true],
  [(c) => c.isAuthenticated(), 'isAuthenticated', undefined, { authenticated: false }, false],
  [(c) => c.getIdToken(), 'getIdToken', undefined, { idToken: 'eyJ.id.tok' }, 'eyJ.id.tok'],
  [(c) => c.getIdToken(), 'getIdToken', undefined, { idToken: null }, null],
  [(c) => c.getIdTokenClaims(), 'getIdTokenClaims', undefined, { claims }, claims],
  [(c) => c.getAccessToken(), 'getAccessToken', {}, { accessToken: 'opaque', expiresAt: 1 }, 'opaque'],
  [(c) => c.getAccessToken('https://api.example.test'), 'getAccessToken',
    { resource: 'https://api.example.test' }, { accessToken: 'jwt', expiresAt: 1 }, 'jwt'],
  [(c) => c.getAccessToken('https://api.example.test', 'org1'), 'getAccessToken',
    { resource: 'https://api.example.test', organizationId: 'org1' }, { accessToken: 'jwt-org', expiresAt: 1 }, 'jwt-org'],
  [(c) => c.getAccessToken(undefined, 'org1'), 'getAccessToken',
    { organizationId: 'org1' }, { accessToken: 'org-only', expiresAt: 1 }, 'org-only'],
  [(c) => c.getAccessTokenClaims(), 'getAccessTokenClaims', {}, { claims: { aud: 'x' } }, { aud: 'x' }],
  [(c) => c.getAccessTokenClaims('https://api.example.test'), 'getAccessTokenClaims',
    { resource: 'https://api.example.test' }, { claims: { aud: 'https://api.example.test' } }, { aud: 'https://api.example.test' }],
  [(c) => c.getOrganizationToken('org1'), 'getOrganizationToken', { organizationId: 'org1' },
    { accessToken: 'otok', expiresAt: 1 }, 'otok'],
  [(c) => c.getOrganizationTokenClaims('org1'), 'getOrganizationTokenClaims', { organizationId: 'org1' },
    { claims: { aud: 'urn:logto:organization:org1' } }, { aud: 'urn:logto:organization:org1' }],
  [(c) => c.fetchUserInfo(), 'fetchUserInfo', undefined, { userInfo: { sub: 'u_123', custom_data: {} } },
    { sub: 'u_123', custom_data: {} }],
  [(c) => c.clearAccessToken(), 'clearAccessToken', undefined, {}, undefined],
  [(c) => c.clearAllTokens(), 'clearAllTokens', undefined, {}, undefined],
  [(c) => c.getOidcConfig(), 'getOidcConfig', undefined, oidc, oidc],
];

for (const [call, method, params, result, expected] of CASES) {
  test(`${method}${params ? ` ${JSON.stringify(params)}` : ''} → ${JSON.stringify(expected) ?? 'undefined'}`, async () => {
    const { browser, client } = setup({ host: {} });
    const pending = call(client);
    await flush(6);
    const frame = browser.port.last(method);
    assert.ok(frame, `${method} was sent`);
    assert.deepEqual(frame.params, params);
    browser.port.reply(frame.id, result);
    assert.deepEqual(await pending, expected);
  });
}

test('getRefreshToken rejects with forbidden and never asks the host', async () => {
  const { browser, client } = setup({ host: {} });
  const err = await client.getRefreshToken().catch((e) => e);
  assert.ok(err instanceof LogtoClientError);
  assert.equal(err.code, 'forbidden');
  await flush();
  assert.equal(browser.ports.length, 0);
});

test('daemon errors become the SDK classes and codes, the daemon code kept in data', async () => {
  const { browser, client } = setup({ host: {} });
  // [wire code, message, wire data, class, name, SDK code, expected data]
  const cases = [
    ['not_authenticated', 'not signed in', undefined, LogtoClientError, 'LogtoClientError', 'not_authenticated', undefined],
    ['keychain_unavailable', 'no keychain', undefined, LogtoClientError, 'LogtoClientError', 'keychain_unavailable', undefined],
    ['invalid_target', 'resource not configured', undefined, LogtoRequestError, 'LogtoRequestError',
      'oidc.invalid_target', { daemonCode: 'invalid_target' }],
    ['id_token.invalid_token', 'bad signature', undefined, LogtoError, 'LogtoError', 'id_token.invalid_token', undefined],
    ['callback_uri_verification.error_found', 'access_denied', { error: 'access_denied', error_description: 'no' },
      LogtoError, 'LogtoError', 'callback_uri_verification.error_found', new OidcError('access_denied', 'no')],
    ['idp_error', 'grant revoked', { error: 'invalid_grant', error_description: 'grant revoked' },
      LogtoRequestError, 'LogtoRequestError', 'oidc.invalid_grant',
      { daemonCode: 'idp_error', error: 'invalid_grant', error_description: 'grant revoked' }],
    ['idp_error', 'discovery failed', undefined, LogtoError, 'LogtoError', 'unexpected_response_error',
      { daemonCode: 'idp_error' }],
    ['not_authenticated', 'the session ended', { error: 'invalid_grant' }, LogtoRequestError, 'LogtoRequestError',
      'oidc.invalid_grant', { daemonCode: 'not_authenticated', error: 'invalid_grant' }],
  ];
  for (const [code, message, data, Class, name, sdkCode, expectedData] of cases) {
    const pending = client.getAccessToken('https://api.example.test').catch((e) => e);
    await flush(6);
    browser.port.replyError(browser.port.last('getAccessToken').id, code, message, data);
    const err = await pending;
    assert.ok(err instanceof Class, code);
    assert.ok(err instanceof Error);
    assert.equal(err.name, name);
    assert.equal(err.code, sdkCode);
    assert.equal(err.message, message);
    assert.deepEqual(err.data, expectedData);
    assert.equal(isLogtoRequestError(err), Class === LogtoRequestError);
    if (Class === LogtoRequestError) assert.equal(err.cause, undefined, 'no HTTP response: the daemon made the request');
  }
});

test('the three error classes are unrelated, as in the SDK', () => {
  assert.equal(new LogtoError('id_token.invalid_token') instanceof LogtoClientError, false);
  assert.equal(new LogtoRequestError('oidc.invalid_grant', 'x') instanceof LogtoClientError, false);
  assert.equal(new LogtoError('id_token.invalid_token').message, 'Invalid ID token');
  assert.equal(new OidcError('e') instanceof Error, false);
});

test('LogtoClientError without a message uses the SDK text for its code', () => {
  assert.equal(new LogtoClientError('not_authenticated').message, 'Not authenticated.');
  assert.equal(new LogtoClientError('user_cancelled').message, 'The user cancelled the action.');
  assert.equal(new LogtoClientError('not_authenticated', { x: 1 }).data.x, 1);
});

test('signIn(options) sends the options the daemon uses, drops redirect plumbing, resolves with nothing', async () => {
  const { browser, client } = setup({ host: {} });
  const pending = client.signIn({
    redirectUri: 'https://x.chromiumapp.org/callback',
    postRedirectUri: 'https://x/',
    clearTokens: false,
    firstScreen: 'identifier:sign_in',
    identifiers: ['phone'],
    loginHint: '+15551234567',
    directSignIn: { method: 'social', target: 'google' },
    prompt: 'login',
    extraParams: { ui_locales: 'fr' },
    interactionMode: 'signUp',
  });
  await flush(6);
  const frame = browser.port.last('signIn');
  assert.deepEqual(frame.params, {
    firstScreen: 'identifier:sign_in',
    identifiers: ['phone'],
    loginHint: '+15551234567',
    directSignIn: { method: 'social', target: 'google' },
    prompt: 'login',
    extraParams: { ui_locales: 'fr' },
    interactionMode: 'signUp',
    openIn: 'extension',
  });
  browser.port.reply(frame.id, { claims });
  assert.equal(await pending, undefined);
});

test('signIn(redirectUri, interactionMode, loginHint): the old positional form', async () => {
  const { browser, client } = setup({ host: {} });
  const a = client.signIn('https://x.chromiumapp.org/callback');
  const b = client.signIn('https://x.chromiumapp.org/callback', 'signIn', '+15550000000');
  await flush(6);
  const [fa, fb] = browser.port.sent.filter((m) => m.method === 'signIn');
  assert.deepEqual(fa.params, { openIn: 'extension' });
  assert.deepEqual(fb.params, { interactionMode: 'signIn', loginHint: '+15550000000', openIn: 'extension' });
  browser.port.reply(fa.id, { claims });
  browser.port.reply(fb.id, { claims });
  await Promise.all([a, b]);
});

test('signIn({openIn: "system"}) asks the daemon to use the system browser', async () => {
  const { browser, client } = setup({ host: {} });
  client.signIn({ openIn: 'system' }).catch(() => {});
  await flush(6);
  assert.equal(browser.port.last('signIn').params.openIn, 'system');
  browser.port.hostDisconnect(null);
});

test('signIn failures reject with the daemon code (user_cancelled)', async () => {
  const { browser, client } = setup({ host: { handlers: {
    signIn: (p, m) => p.replyError(m.id, 'user_cancelled', 'The user cancelled the action.'),
  } } });
  const err = await client.signIn({}).catch((e) => e);
  assert.equal(err.code, 'user_cancelled');
  assert.equal(browser.tabs.created.length, 0);
});

test('signInStarted opens the URL in an active tab; signInFinished closes it', async () => {
  const { browser, client } = setup({ host: {} });
  const signIn = track(client.signIn({ firstScreen: 'identifier:sign_in' }));
  await flush(6);
  const port = browser.port;
  const url = 'https://auth.example.test/oidc/auth?client_id=app-123&state=s';
  port.emit('signInStarted', { url, flowId: 'f1' });
  await flush();
  assert.equal(browser.tabs.created.length, 1);
  assert.equal(browser.tabs.created[0].url, url);
  assert.equal(browser.tabs.created[0].active, true);
  const tabId = browser.tabs.created[0].id;
  assert.deepEqual(browser.tabs.removed, []);
  port.emit('signInFinished', { flowId: 'f1', ok: true });
  await flush();
  assert.deepEqual(browser.tabs.removed, [tabId]);
  port.reply(port.last('signIn').id, { claims });
  await flush();
  assert.equal(signIn.settled, true);
  assert.equal(signIn.error, undefined);
});

test('a failed flow closes its tab too, and each flow closes only its own tab', async () => {
  const { browser, client } = setup({ host: {} });
  client.isAuthenticated().catch(() => {});
  await flush(6);
  const port = browser.port;
  port.emit('signInStarted', { url: 'https://a.test/1', flowId: 'a' });
  port.emit('signInStarted', { url: 'https://a.test/2', flowId: 'b' });
  await flush();
  const [ta, tb] = browser.tabs.created.map((t) => t.id);
  port.emit('signInFinished', { flowId: 'b', ok: false });
  await flush();
  assert.deepEqual(browser.tabs.removed, [tb]);
  port.emit('signInFinished', { flowId: 'a', ok: true });
  await flush();
  assert.deepEqual(browser.tabs.removed, [tb, ta]);
  // A finish for an unknown flow (or twice) is harmless.
  port.emit('signInFinished', { flowId: 'a', ok: true });
  await flush();
  assert.deepEqual(browser.tabs.removed, [tb, ta]);
  port.hostDisconnect(null);
});

test('signInFinished arriving before tabs.create resolves still closes the tab', async () => {
  const { browser, client } = setup({ host: {} });
  client.isAuthenticated().catch(() => {});
  await flush(6);
  let open;
  browser.tabs.gate = new Promise((resolve) => { open = resolve; });
  browser.port.emit('signInStarted', { url: 'https://a.test/fast', flowId: 'fast' });
  browser.port.emit('signInFinished', { flowId: 'fast', ok: true });
  await flush();
  assert.deepEqual(browser.tabs.removed, []);
  open();
  await flush();
  assert.deepEqual(browser.tabs.removed, [browser.tabs.created[0].id]);
  browser.port.hostDisconnect(null);
});

test('a tab the user already closed is not an error', async () => {
  const { browser, client } = setup({ host: {} });
  client.isAuthenticated().catch(() => {});
  await flush(6);
  browser.port.emit('signInStarted', { url: 'https://a.test/x', flowId: 'x' });
  await flush();
  browser.tabs.open.clear(); // the user closed it
  browser.port.emit('signInFinished', { flowId: 'x', ok: false });
  await flush();
  assert.deepEqual(browser.tabs.removed, []);
  browser.port.hostDisconnect(null);
});

test('signOut opens endSessionUrl in a background tab and closes it after the page has loaded twice', async () => {
  const endSessionUrl = 'https://auth.example.test/oidc/session/end?client_id=app-123';
  const { browser, client } = setup({ host: { handlers: {
    signOut: (p, m) => p.reply(m.id, { endSessionUrl }),
  } } });
  const signOut = track(client.signOut());
  await flush(8);
  assert.equal(browser.port.last('signOut').params, undefined);
  assert.equal(browser.tabs.created.length, 1);
  const tab = browser.tabs.created[0];
  assert.equal(tab.url, endSessionUrl);
  assert.equal(tab.active, false);
  browser.tabs.complete(tab.id + 1); // another tab: ignored
  browser.tabs.complete(tab.id); // the confirm page
  await flush();
  assert.equal(signOut.settled, false);
  assert.deepEqual(browser.tabs.removed, []);
  browser.tabs.complete(tab.id); // after the auto-submit
  await flush();
  assert.deepEqual(browser.tabs.removed, [tab.id]);
  assert.equal(signOut.settled, true);
  assert.deepEqual(signOut.value, { endSessionUrl });
  assert.equal(browser.tabs.onUpdated.hasListeners(), false, 'listeners removed');
  assert.equal(browser.tabs.onRemoved.hasListeners(), false);
});

test('signOut(postLogoutRedirectUri) does not send it (the daemon uses the installed one); the tab is closed after 10 s at the latest', async () => {
  const { browser, clock, client } = setup({ host: { handlers: {
    signOut: (p, m) => p.reply(m.id, { endSessionUrl: 'https://auth.example.test/oidc/session/end?x' }),
  } } });
  const signOut = track(client.signOut('https://example.test/bye'));
  await flush(8);
  assert.equal(browser.port.last('signOut').params, undefined);
  await clock.advance(9_999);
  assert.equal(signOut.settled, false);
  await clock.advance(1);
  assert.equal(signOut.settled, true);
  assert.deepEqual(browser.tabs.removed, [browser.tabs.created[0].id]);
});

test('signOut resolves when the user closes the end-session tab', async () => {
  const { browser, client } = setup({ host: { handlers: {
    signOut: (p, m) => p.reply(m.id, { endSessionUrl: 'https://auth.example.test/oidc/session/end' }),
  } } });
  const signOut = track(client.signOut());
  await flush(8);
  const id = browser.tabs.created[0].id;
  browser.tabs.open.delete(id);
  browser.tabs.onRemoved.dispatch(id, {});
  await flush();
  assert.equal(signOut.settled, true);
  assert.equal(signOut.error, undefined);
});

test('signOut errors reject and open nothing', async () => {
  const { browser, client } = setup({ host: { handlers: {
    signOut: (p, m) => p.replyError(m.id, 'keychain_unavailable', 'no keychain'),
  } } });
  const err = await client.signOut().catch((e) => e);
  assert.equal(err.code, 'keychain_unavailable');
  assert.equal(browser.tabs.created.length, 0);
});

test('sessionChanged reaches every listener; unsubscribe stops it; a throwing listener does not stop the others', async () => {
  const { browser, client } = setup({ host: {} });
  const seenA = [];
  const seenB = [];
  const original = console.error;
  console.error = () => {};
  try {
    const offA = client.onSessionChange((c) => seenA.push(c));
    client.onSessionChange(() => { throw new Error('listener bug'); });
    client.onSessionChange((c) => seenB.push(c));
    await flush(6);
    assert.equal(browser.ports.length, 1, 'subscribing connects so events can arrive');
    assert.deepEqual(browser.port.methods, ['hello']);
    browser.port.emit('sessionChanged', { authenticated: true, sub: 'u_123' });
    offA();
    browser.port.emit('sessionChanged', { authenticated: false });
    await flush();
    assert.deepEqual(seenA, [{ authenticated: true, sub: 'u_123' }]);
    assert.deepEqual(seenB, [{ authenticated: true, sub: 'u_123' }, { authenticated: false }]);
  } finally {
    console.error = original;
    client.close();
  }
});

test('unknown events are ignored', async () => {
  const { browser, client } = setup({ host: {} });
  const seen = [];
  client.onSessionChange((c) => seen.push(c));
  await flush(6);
  browser.port.emit('somethingNew', { x: 1 });
  browser.port.deliver({ neither: 'id nor event' });
  await flush();
  assert.deepEqual(seen, []);
  assert.equal(browser.tabs.created.length, 0);
  client.close();
});

test('with listeners, a dropped port is reconnected in the background and a missed change is reported', async () => {
  const { browser, clock, client } = setup({ host: { authenticated: true } });
  const seen = [];
  client.onSessionChange((c) => seen.push(c));
  await flush(6);
  assert.equal(browser.ports.length, 1);
  browser.port.hostDisconnect('Native host has exited.');
  // While the port was down the user signed out elsewhere.
  browser.autoHost({ authenticated: false });
  await clock.advance(100);
  await flush(6);
  assert.equal(browser.ports.length, 2, 'reconnected without any call');
  assert.deepEqual(browser.port.methods, ['hello']);
  assert.deepEqual(seen, [{ authenticated: false }]);
  // Events flow on the new port.
  browser.port.emit('sessionChanged', { authenticated: true, sub: 'u_9' });
  await flush();
  assert.deepEqual(seen, [{ authenticated: false }, { authenticated: true, sub: 'u_9' }]);
  client.close();
});

test('background reconnects stop once nobody listens, and after close()', async () => {
  const { browser, clock, client } = setup({ host: {} });
  const off = client.onSessionChange(() => {});
  await flush(6);
  off();
  browser.port.hostDisconnect('Native host has exited.');
  await clock.advance(10_000);
  assert.equal(browser.ports.length, 1);

  client.onSessionChange(() => {});
  await flush(6);
  assert.equal(browser.ports.length, 2);
  client.close();
  await clock.advance(10_000);
  assert.equal(browser.ports.length, 2);
  assert.equal(clock.pending, 0, 'no timers left');
});

test('handleSignInCallback and isSignInRedirected exist for compatibility and never touch the host', async () => {
  const { browser, client } = setup({ host: {} });
  assert.equal(await client.isSignInRedirected('https://x.chromiumapp.org/callback?code=1'), false);
  assert.equal(await client.handleSignInCallback('https://x.chromiumapp.org/callback?code=1'), undefined);
  await flush();
  assert.equal(browser.ports.length, 0);
});

test('constructor: endpoint and appId are required; logtoConfig is a frozen copy; the SDK constants are exported', () => {
  assert.throws(() => new LogtoClient({ appId: 'a' }), TypeError);
  assert.throws(() => new LogtoClient({ endpoint: 'https://x' }), TypeError);
  assert.throws(() => new LogtoClient(), TypeError);
  const config = { endpoint: 'https://x', appId: 'a', scopes: ['phone'] };
  const client = new LogtoClient(config, { api: {} });
  assert.deepEqual(client.logtoConfig, config);
  assert.notEqual(client.logtoConfig, config);
  assert.ok(Object.isFrozen(client.logtoConfig));
  assert.equal(client.hostName, DEFAULT_HOST_NAME);
  assert.equal(DEFAULT_HOST_NAME, 'logto_companion');
  assert.equal(UserScope.Organizations, 'urn:logto:scope:organizations');
  assert.equal(UserScope.Phone, 'phone');
  assert.equal(ReservedScope.OfflineAccess, 'offline_access');
  assert.equal(Prompt.Consent, 'consent');
});

test('every method of @logto/chrome-extension 0.1.27 exists, plus the shim extras', () => {
  const names = ['signIn', 'signOut', 'isAuthenticated', 'getIdToken', 'getRefreshToken', 'getIdTokenClaims',
    'getAccessToken', 'getOrganizationToken', 'getAccessTokenClaims', 'getOrganizationTokenClaims',
    'fetchUserInfo', 'clearAccessToken', 'clearAllTokens', 'getOidcConfig', 'handleSignInCallback',
    'isSignInRedirected', 'onSessionChange', 'close'];
  for (const name of names) assert.equal(typeof LogtoClient.prototype[name], 'function', name);
});

test('hello after answerHello helper: authenticated flag does not emit on the first connection', async () => {
  const { browser, client } = setup();
  const seen = [];
  client.onSessionChange((c) => seen.push(c));
  await answerHello(browser, true);
  assert.deepEqual(seen, []);
  client.close();
});
