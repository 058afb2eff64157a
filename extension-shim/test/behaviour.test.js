// The SDK's behaviour where the tutorial and its users rely on it: null and
// false instead of rejections when signed out or when the companion is
// missing, the status method that says why, the sign-in tab as the flow, and
// the SDK-shaped members that cannot mean the same here.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LogtoClientError, LogtoError } from '../src/index.js';
import { flush } from './fakes.js';
import { APP_ID, ENDPOINT, EXT_ID, answerHello, setup, track } from './helpers.js';

test('getIdToken resolves null when signed out (the daemon says not_authenticated)', async () => {
  const { browser, client } = setup({ host: { handlers: {
    getIdToken: (p, m) => p.replyError(m.id, 'not_authenticated', 'not signed in'),
  } } });
  assert.equal(await client.getIdToken(), null);
  assert.ok(browser.port.last('getIdToken'));
});

test('getIdToken still rejects for a real failure (keychain)', async () => {
  const { client } = setup({ host: { handlers: {
    getIdToken: (p, m) => p.replyError(m.id, 'keychain_unavailable', 'locked'),
  } } });
  const err = await client.getIdToken().catch((e) => e);
  assert.equal(err.code, 'keychain_unavailable');
});

test('companion missing: isAuthenticated() false, getIdToken() null, getCompanionStatus() says how to install, signIn rejects with the command', async () => {
  const { client } = setup({ connectError: 'Specified native messaging host not found.' });
  assert.equal(await client.isAuthenticated(), false);
  assert.equal(await client.getIdToken(), null);
  const status = await client.getCompanionStatus();
  assert.equal(status.ok, false);
  assert.equal(status.installed, false);
  assert.equal(status.registered, false);
  assert.equal(status.hostName, 'logto_companion');
  assert.equal(status.error.code, 'host_not_found');
  const command = `logto-companion install --endpoint ${ENDPOINT} --app-id ${APP_ID} --extension-id ${EXT_ID}`;
  assert.ok(status.error.message.includes(command), status.error.message);
  const err = await client.signIn({}).catch((e) => e);
  assert.ok(err instanceof LogtoClientError);
  assert.equal(err.code, 'host_not_found');
  assert.ok(err.message.includes(command));
});

test('app not registered: isAuthenticated() false and the status names the fix', async () => {
  const { browser, client } = setup();
  const auth = client.isAuthenticated();
  await flush();
  browser.port.replyError(browser.port.last('hello').id, 'app_not_registered', 'app not registered for this origin');
  assert.equal(await auth, false);
  const pending = client.getCompanionStatus();
  await flush();
  browser.port.replyError(browser.port.last('hello').id, 'app_not_registered', 'app not registered for this origin');
  const status = await pending;
  assert.deepEqual({ ok: status.ok, installed: status.installed, registered: status.registered, code: status.error.code },
    { ok: false, installed: true, registered: false, code: 'app_not_registered' });
  assert.ok(status.error.message.includes(`--extension-id ${EXT_ID}`));
});

test('getCompanionStatus when all is well: version, protocol, authenticated', async () => {
  const { client } = setup({ host: { authenticated: true } });
  assert.deepEqual(await client.getCompanionStatus(), {
    hostName: 'logto_companion', ok: true, installed: true, registered: true,
    authenticated: true, version: '0.1.0', protocol: 1,
  });
});

// -------------------------------------------------------- the tab is the flow

async function startFlow(browser, client, flowId = 'f1') {
  const signIn = track(client.signIn({}));
  await flush(6);
  browser.port.emit('signInStarted', { url: `https://auth.example.test/oidc/auth?flow=${flowId}`, flowId });
  await flush();
  return signIn;
}

test('closing the sign-in tab sends cancelSignIn for its flow; the daemon\'s user_cancelled rejects signIn', async () => {
  const { browser, client } = setup({ host: {} });
  const signIn = await startFlow(browser, client);
  const tabId = browser.tabs.created[0].id;
  browser.tabs.closeByUser(tabId);
  await flush();
  const cancel = browser.port.last('cancelSignIn');
  assert.deepEqual(cancel.params, { flowId: 'f1' });
  // The contract: signIn is answered first, then the cancel reply.
  browser.port.replyError(browser.port.last('signIn').id, 'user_cancelled', 'The user cancelled the action.');
  browser.port.emit('signInFinished', { flowId: 'f1', ok: false });
  browser.port.reply(cancel.id, { cancelled: true });
  await flush();
  assert.equal(signIn.error?.code, 'user_cancelled');
  assert.ok(signIn.error instanceof LogtoClientError);
  assert.deepEqual(browser.tabs.removed, [], 'the shim does not try to close a closed tab');
  assert.equal(browser.tabs.onRemoved.hasListeners(), false, 'no listener left once no flow tab is open');
});

test('a daemon without cancelSignIn (method_not_found): signIn rejects user_cancelled at once anyway', async () => {
  const { browser, client } = setup({ host: { handlers: {
    cancelSignIn: (p, m) => p.replyError(m.id, 'method_not_found', 'unknown method cancelSignIn'),
  } } });
  const signIn = await startFlow(browser, client);
  browser.tabs.closeByUser(browser.tabs.created[0].id);
  await flush(6);
  assert.equal(signIn.error?.code, 'user_cancelled');
  assert.equal(signIn.error.message, 'The sign-in tab was closed before the sign-in finished.');
});

test('cancelSignIn answering {cancelled: false} (flow already finished) leaves signIn to its own reply', async () => {
  const { browser, client } = setup({ host: { handlers: {
    cancelSignIn: (p, m) => p.reply(m.id, { cancelled: false }),
  } } });
  const signIn = await startFlow(browser, client);
  browser.tabs.closeByUser(browser.tabs.created[0].id);
  await flush(6);
  assert.equal(signIn.settled, false);
  browser.port.reply(browser.port.last('signIn').id, { claims: { sub: 'u' } });
  await flush();
  assert.equal(signIn.settled, true);
  assert.equal(signIn.error, undefined);
});

test('the shim closing the tab at the end of the flow does not cancel anything', async () => {
  const { browser, client } = setup({ host: {} });
  const signIn = await startFlow(browser, client);
  browser.port.emit('signInFinished', { flowId: 'f1', ok: true });
  await flush();
  // The browser reports the removal the shim asked for.
  browser.tabs.onRemoved.dispatch(browser.tabs.created[0].id, {});
  browser.port.reply(browser.port.last('signIn').id, { claims: { sub: 'u' } });
  await flush();
  assert.equal(browser.port.last('cancelSignIn'), undefined);
  assert.equal(signIn.error, undefined);
});

test('a signIn that joins a running flow focuses its open tab instead of opening another', async () => {
  const { browser, client } = setup({ host: {} });
  await startFlow(browser, client);
  const first = browser.tabs.created[0].id;
  client.signIn({}).catch(() => {});
  await flush(6);
  browser.port.emit('signInStarted', { url: 'https://auth.example.test/oidc/auth?flow=f1', flowId: 'f1' });
  await flush();
  assert.equal(browser.tabs.created.length, 1, 'no second tab');
  assert.deepEqual(browser.tabs.focused, [first]);
  assert.deepEqual(browser.windows.focused, [1]);
  browser.port.hostDisconnect(null);
});

test('joining a flow whose tab is gone opens it again', async () => {
  const { browser, client } = setup({ host: { handlers: {
    cancelSignIn: (p, m) => p.replyError(m.id, 'method_not_found', 'unknown method'),
  } } });
  await startFlow(browser, client);
  browser.tabs.closeByUser(browser.tabs.created[0].id);
  await flush(6);
  // Second click: the (old) daemon still runs f1 and lets this call join it.
  client.signIn({}).catch(() => {});
  await flush(6);
  browser.port.emit('signInStarted', { url: 'https://auth.example.test/oidc/auth?flow=f1', flowId: 'f1' });
  await flush();
  assert.equal(browser.tabs.created.length, 2, 'a tab again');
  assert.equal(browser.tabs.created[1].url, 'https://auth.example.test/oidc/auth?flow=f1');
  assert.equal(browser.tabs.created[1].active, true);
  browser.port.hostDisconnect(null);
});

test('a focused tab the user closed meanwhile is opened again', async () => {
  const { browser, client } = setup({ host: {} });
  await startFlow(browser, client);
  browser.tabs.open.clear(); // gone without an onRemoved this client saw
  browser.port.emit('signInStarted', { url: 'https://auth.example.test/oidc/auth?flow=f1', flowId: 'f1' });
  await flush();
  assert.equal(browser.tabs.created.length, 2);
  browser.port.hostDisconnect(null);
});

// ------------------------------------------------------------------ sign-out

test('signOut passes the daemon\'s revocation report on and opens no tab without an end-session URL', async () => {
  const revocationError = { code: 'network_error', message: 'revocation endpoint unreachable' };
  const { browser, client } = setup({ host: { handlers: {
    signOut: (p, m) => p.reply(m.id, { endSessionUrl: null, revoked: false, revocationError }),
  } } });
  assert.deepEqual(await client.signOut('https://ignored.example/'), { endSessionUrl: null, revoked: false, revocationError });
  assert.equal(browser.tabs.created.length, 0);
});

// ---------------------------------------------------- SDK members made sensible

test('adapter.storage reads the ID token from the daemon, nothing else, and refuses writes', async () => {
  const { client } = setup({ host: { handlers: {
    getIdToken: (p, m) => p.reply(m.id, { idToken: 'id.tok' }),
  } } });
  assert.equal(await client.adapter.storage.getItem('idToken'), 'id.tok');
  assert.equal(await client.adapter.storage.getItem('refreshToken'), null);
  assert.equal(await client.adapter.storage.getItem('accessToken'), null);
  const err = await client.adapter.storage.setItem('idToken', 'x').catch((e) => e);
  assert.equal(err.code, 'forbidden');
  assert.equal(typeof client.adapter.requester, 'function');
  assert.equal(typeof await client.adapter.generateCodeChallenge('v'), 'string');
});

test('jwtVerifier accepts the daemon\'s ID token only; setJwtVerifier replaces it', async () => {
  const { client } = setup({ host: { handlers: {
    getIdToken: (p, m) => p.reply(m.id, { idToken: 'id.tok' }),
  } } });
  await client.jwtVerifier.verifyIdToken('id.tok');
  const err = await client.jwtVerifier.verifyIdToken('forged').catch((e) => e);
  assert.ok(err instanceof LogtoError);
  assert.equal(err.code, 'id_token.invalid_token');
  const mine = { verifyIdToken: async () => {} };
  client.setJwtVerifier(mine);
  assert.equal(client.jwtVerifier, mine);
  client.setJwtVerifier((c) => ({ verifyIdToken: async () => {}, client: c }));
  assert.equal(client.jwtVerifier.client, client);
});

test('PKCE helpers: verifier and state are 86-char base64url; the challenge is S256 of the verifier', async () => {
  const { generateCodeChallenge, generateCodeVerifier, generateState } = await import('../src/index.js');
  const v = generateCodeVerifier();
  assert.match(v, /^[A-Za-z0-9_-]{86}$/);
  assert.match(generateState(), /^[A-Za-z0-9_-]{86}$/);
  assert.notEqual(generateState(), generateState());
  const { createHash } = await import('node:crypto');
  assert.equal(await generateCodeChallenge(v), createHash('sha256').update(v).digest('base64url'));
});

test('organization URN helpers', async () => {
  const { buildOrganizationUrn, getOrganizationIdFromUrn, organizationUrnPrefix } = await import('../src/index.js');
  assert.equal(buildOrganizationUrn('o1'), 'urn:logto:organization:o1');
  assert.equal(getOrganizationIdFromUrn(`${organizationUrnPrefix}o1`), 'o1');
  assert.throws(() => getOrganizationIdFromUrn('o1'), TypeError);
});

test('isAuthenticated resolves the daemon answer once hello is done', async () => {
  const { browser, client } = setup();
  const p = client.isAuthenticated();
  await answerHello(browser, true);
  browser.port.reply(browser.port.last('isAuthenticated').id, { authenticated: true });
  assert.equal(await p, true);
});
