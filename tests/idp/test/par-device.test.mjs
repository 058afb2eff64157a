// Pushed authorization requests (RFC 9126), the device authorization grant (RFC 8628) with the phone
// sign-in, and the provider switches the companion's discovery-driven paths are tested against:
// par off/required, unknown scopes, no end_session_endpoint, revocation that wants client authentication.
import { test, before, after } from 'node:test';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { CookieJar, driveSignIn } from '../drive-signin.mjs';
import { API, authRequest, CLIENT_ID, follow, IDP_DIR, MEMBER, signIn, spawnServer, startStack, stopServers, tokenRequest } from './helpers.mjs';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const form = (body) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
const postJson = async (url, body, init = {}) => {
  const res = await fetch(url, { ...form(body), ...init, headers: { ...form(body).headers, ...init.headers } });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON (a 404 page) */ }
  return { status: res.status, headers: res.headers, body: json, text };
};

let stack;
before(async () => { stack = await startStack({ config: { deviceInterval: 1 } }); });
after(() => stack.close());
after(stopServers);

/** Pushes the parameters of a Logto-SDK-style authorization request; returns the PAR answer and the request. */
async function push(s, extra = {}) {
  const a = authRequest(s, extra);
  const r = await postJson(s.discovery.pushed_authorization_request_endpoint, a.params);
  return { ...r, a };
}

async function exchange(s, callbackUrl, a) {
  const cb = new URL(callbackUrl);
  assert.equal(cb.searchParams.get('state'), a.state);
  return tokenRequest(s, {
    grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: a.params.redirect_uri, code_verifier: a.verifier,
  });
}

test('discovery advertises PAR (not required) and the device authorization endpoint', () => {
  const d = stack.discovery;
  assert.equal(d.pushed_authorization_request_endpoint, `${stack.idp.issuer}/request`);
  assert.equal(d.require_pushed_authorization_requests, undefined);
  assert.equal(d.device_authorization_endpoint, `${stack.idp.issuer}/device/auth`);
  assert.ok(d.grant_types_supported.includes(DEVICE_GRANT));
  assert.equal(d.revocation_endpoint_auth_methods_supported, undefined, 'like Logto: not published');
});

test('PAR: the pushed request gives a request_uri; opening only it signs in; the code exchange works', async () => {
  await fetch(`${stack.idp.endpoint}/__test/counters/reset`, { method: 'POST' });
  const p = await push(stack, { scope: 'openid offline_access profile read:items', resource: API });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  assert.match(p.body.request_uri, /^urn:ietf:params:oauth:request_uri:/);
  assert.ok(p.body.expires_in > 0);
  const url = `${stack.discovery.authorization_endpoint}?${new URLSearchParams({ client_id: CLIENT_ID, request_uri: p.body.request_uri })}`;
  const r = await driveSignIn({ url, phone: MEMBER, twilio: stack.standIn.url, stopBeforeCallback: true });
  assert.equal(r.ok, true, r.error);
  assert.equal(new URL(r.callbackUrl).origin + new URL(r.callbackUrl).pathname, stack.redirectUri);
  const t = await exchange(stack, r.callbackUrl, p.a);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.ok(t.body.refresh_token, 'offline_access + prompt=consent survive the push');
  const jwks = createLocalJWKSet(await (await fetch(stack.discovery.jwks_uri)).json());
  const { payload } = await jwtVerify(t.body.id_token, jwks, { issuer: stack.idp.issuer, audience: CLIENT_ID });
  assert.equal(payload.sub, 'user-alice');

  const counters = await (await fetch(`${stack.idp.endpoint}/__test/counters`)).json();
  assert.equal(counters.pushedAuthorization, 1, 'the test API counts pushed requests');
  const again = await follow(new CookieJar(), url, stack.idp.endpoint);
  assert.equal(again.url.searchParams.get('error'), 'invalid_request_uri', 'a request_uri is single use');
});

test('PAR refuses a bad redirect_uri, an unknown scope, an unknown resource with OAuth errors (400 JSON)', async () => {
  const badRedirect = await push(stack, { redirect_uri: 'http://127.0.0.1:4000/elsewhere' });
  assert.equal(badRedirect.status, 400);
  assert.equal(badRedirect.body.error, 'invalid_request');
  assert.equal(badRedirect.body.code, 'oidc.invalid_request');
  assert.match(badRedirect.body.error_description, /redirect_uri did not match any of the client's registered redirect_uris/);

  const badHost = await push(stack, { redirect_uri: `http://localhost:${stack.app.port}/callback` });
  assert.match(badHost.body.error_description, /redirect_uri did not match/, 'the host part must match');

  const badScope = await push(stack, { scope: 'openid offline_access profile no:such-scope' });
  assert.equal(badScope.status, 400);
  assert.equal(badScope.body.error, 'invalid_scope');
  assert.equal(badScope.body.code, 'oidc.invalid_scope');
  assert.match(badScope.body.error_description, /no:such-scope/);

  const badResource = await push(stack, { resource: 'https://unknown.example.test' });
  assert.equal(badResource.status, 400);
  assert.equal(badResource.body.error, 'invalid_target');
  assert.equal(badResource.body.code, 'oidc.invalid_target');

  const noPkce = await push(stack, { code_challenge: undefined, code_challenge_method: undefined });
  assert.equal(noPkce.status, 400);
  assert.equal(noPkce.body.error, 'invalid_request');
  assert.match(noPkce.body.error_description, /requires PKCE/);
});

test('an unknown scope on the plain authorization endpoint comes back to the redirect URI as invalid_scope', async () => {
  const r = await follow(new CookieJar(), authRequest(stack, { scope: 'openid no:such-scope' }).url, stack.idp.endpoint);
  assert.equal(r.left, true);
  assert.equal(r.url.searchParams.get('error'), 'invalid_scope');
});

test('unknownScopes "ignore": oidc-provider drops the scope silently instead', async () => {
  const s = await startStack({ config: { unknownScopes: 'ignore' } });
  try {
    const p = await push(s, { scope: 'openid offline_access profile no:such-scope' });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  } finally { await s.close(); }
});

test('par "required": discovery says so, a plain authorization request is refused, a pushed one works', async () => {
  const s = await startStack({ config: { par: 'required' } });
  try {
    assert.equal(s.discovery.require_pushed_authorization_requests, true);
    const plain = await follow(new CookieJar(), authRequest(s).url, s.idp.endpoint);
    assert.equal(plain.url.searchParams.get('error'), 'invalid_request');
    assert.match(plain.url.searchParams.get('error_description'), /Pushed Authorization Request must be used/);
    const p = await push(s);
    assert.equal(p.status, 201);
    const url = `${s.discovery.authorization_endpoint}?${new URLSearchParams({ client_id: CLIENT_ID, request_uri: p.body.request_uri })}`;
    const r = await driveSignIn({ url, phone: MEMBER, twilio: s.standIn.url, stopBeforeCallback: true });
    assert.equal(r.ok, true, r.error);
    assert.equal((await exchange(s, r.callbackUrl, p.a)).status, 200);
  } finally { await s.close(); }
});

test('par "disabled": no pushed_authorization_request_endpoint, the endpoint is gone', async () => {
  const s = await startStack({ config: { par: 'disabled' } });
  try {
    assert.equal(s.discovery.pushed_authorization_request_endpoint, undefined);
    const r = await postJson(`${s.idp.issuer}/request`, authRequest(s).params);
    assert.equal(r.status, 404);
  } finally { await s.close(); }
});

/** Starts a device authorization for the native test client. */
async function deviceStart(s, scope = 'openid offline_access profile phone') {
  const r = await postJson(s.discovery.device_authorization_endpoint, { client_id: CLIENT_ID, scope });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}
const poll = (s, deviceCode) => tokenRequest(s, { grant_type: DEVICE_GRANT, device_code: deviceCode });

test('device grant: verification_uri_complete + phone sign-in; pending before, tokens after (with a refresh token)', async () => {
  const d = await deviceStart(stack);
  assert.match(d.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(d.verification_uri, `${stack.idp.issuer}/device`);
  assert.equal(d.verification_uri_complete, `${d.verification_uri}?user_code=${encodeURIComponent(d.user_code)}`);
  assert.equal(d.interval, 1, 'deviceInterval from the config');
  assert.ok(d.expires_in > 0);

  const deviceCount = (await (await fetch(`${stack.idp.endpoint}/__test/counters`)).json()).deviceAuthorization;
  assert.ok(deviceCount >= 1, 'the test API counts device authorization requests');
  const pending = await poll(stack, d.device_code);
  assert.equal(pending.status, 400);
  assert.equal(pending.body.error, 'authorization_pending');

  const r = await driveSignIn({ url: d.verification_uri_complete, phone: MEMBER, twilio: stack.standIn.url });
  assert.deepEqual(r, { ok: true, device: 'approved', smsSent: true });

  const t = await poll(stack, d.device_code);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.ok(t.body.access_token && t.body.id_token && t.body.refresh_token);
  const jwks = createLocalJWKSet(await (await fetch(stack.discovery.jwks_uri)).json());
  const { payload } = await jwtVerify(t.body.id_token, jwks, { issuer: stack.idp.issuer, audience: CLIENT_ID });
  assert.equal(payload.phone_number, '15551234567');
  const refreshed = await tokenRequest(stack, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token });
  assert.equal(refreshed.status, 200, 'the device grant refresh token rotates like any other');

  const spent = await poll(stack, d.device_code);
  assert.equal(spent.body.error, 'invalid_grant', 'a device code is single use');
});

test('device grant: verification_uri + typed user code (lower case, no dash) works too', async () => {
  const d = await deviceStart(stack);
  const typed = d.user_code.replace('-', '').toLowerCase();
  const r = await driveSignIn({ url: d.verification_uri, userCode: typed, phone: MEMBER, twilio: stack.standIn.url });
  assert.equal(r.ok, true, r.error);
  assert.equal(r.device, 'approved');
  assert.equal((await poll(stack, d.device_code)).status, 200);
});

test('device grant: Cancel on the confirm page gives the device access_denied; a wrong code is an error page', async () => {
  const d = await deviceStart(stack);
  const r = await driveSignIn({ url: d.verification_uri_complete, deny: true, phone: MEMBER, twilio: stack.standIn.url });
  assert.deepEqual(r, { ok: true, device: 'denied', smsSent: false });
  const denied = await poll(stack, d.device_code);
  assert.equal(denied.status, 400);
  assert.equal(denied.body.error, 'access_denied');
  assert.equal(denied.body.code, 'oidc.access_denied');

  const wrong = await driveSignIn({ url: d.verification_uri, userCode: 'BCDF-GHJK', phone: MEMBER, twilio: stack.standIn.url });
  assert.equal(wrong.ok, false);
  assert.match(wrong.error, /device\.code_not_found/);
});

test('device grant: with deviceSlowDown a poll inside the interval gets slow_down', async () => {
  const s = await startStack({ config: { deviceInterval: 2, deviceSlowDown: true } });
  try {
    const d = await deviceStart(s);
    assert.equal((await poll(s, d.device_code)).body.error, 'authorization_pending');
    const fast = await poll(s, d.device_code);
    assert.equal(fast.status, 400);
    assert.equal(fast.body.error, 'slow_down');
    await new Promise((r) => { setTimeout(r, 2100); });
    assert.equal((await poll(s, d.device_code)).body.error, 'authorization_pending', 'a poll after the interval is fine');
  } finally { await s.close(); }
});

test('deviceFlow false: no device_authorization_endpoint, no device_code grant', async () => {
  const s = await startStack({ config: { deviceFlow: false } });
  try {
    assert.equal(s.discovery.device_authorization_endpoint, undefined);
    assert.ok(!s.discovery.grant_types_supported.includes(DEVICE_GRANT));
    const r = await postJson(`${s.idp.issuer}/device/auth`, { client_id: CLIENT_ID, scope: 'openid' });
    assert.equal(r.status, 404);
  } finally { await s.close(); }
});

test('endSession false: discovery has no end_session_endpoint and /session/end is gone', async () => {
  const s = await startStack({ config: { endSession: false } });
  try {
    assert.equal(s.discovery.end_session_endpoint, undefined);
    assert.ok(s.discovery.revocation_endpoint, 'the rest stays');
    const r = await fetch(`${s.idp.issuer}/session/end?client_id=${CLIENT_ID}`);
    assert.equal(r.status, 404);
  } finally { await s.close(); }
});

test('revocationAuth "confidential": discovery says client_secret_basic; the public client is refused 401 and the token stays valid', async () => {
  const s = await startStack({ config: { revocationAuth: 'confidential' } });
  try {
    assert.deepEqual(s.discovery.revocation_endpoint_auth_methods_supported, ['client_secret_basic']);
    const t = await signIn(s);
    await fetch(`${s.idp.endpoint}/__test/counters/reset`, { method: 'POST' });
    const rev = await postJson(s.discovery.revocation_endpoint, { client_id: CLIENT_ID, token: t.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(rev.status, 401);
    assert.equal((await (await fetch(`${s.idp.endpoint}/__test/counters`)).json()).revocation, 1, 'a refused revocation is counted');
    assert.match(rev.headers.get('www-authenticate'), /^Basic /);
    assert.equal(rev.body.error, 'invalid_client');
    assert.equal(rev.body.code, 'oidc.invalid_client');
    const still = await tokenRequest(s, { grant_type: 'refresh_token', refresh_token: t.refresh_token });
    assert.equal(still.status, 200, 'the refresh token was not revoked');
  } finally { await s.close(); }
});

test('drive-signin.mjs CLI: --user-code and --deny, one JSON line; the ready line names the switches', async () => {
  const s = spawnServer({ IDP_TWILIO: 'stand-in', IDP_QUIET: '1' });
  try {
    const ready = await s.ready;
    assert.deepEqual([ready.par, ready.deviceFlow, ready.endSession, ready.revocationAuth], ['enabled', true, true, 'public']);
    const issuer = ready.issuer;
    const start = async () => (await postJson(`${issuer}/device/auth`, { client_id: CLIENT_ID, scope: 'openid offline_access' })).body;
    const cli = (...args) => promisify(execFile)(process.execPath, [path.join(IDP_DIR, 'drive-signin.mjs'), ...args, '--twilio', ready.twilio])
      .then(({ stdout }) => stdout, (e) => e.stdout);
    const token = (deviceCode) => postJson(`${issuer}/token`, { client_id: CLIENT_ID, grant_type: DEVICE_GRANT, device_code: deviceCode });

    const a = await start();
    const approved = await cli('--url', a.verification_uri, '--user-code', a.user_code, '--phone', MEMBER);
    assert.deepEqual(JSON.parse(approved), { ok: true, device: 'approved', smsSent: true });
    assert.equal((await token(a.device_code)).status, 200);

    const b = await start();
    const denied = await cli('--url', b.verification_uri_complete, '--deny');
    assert.equal(denied.trim().split('\n').length, 1);
    assert.deepEqual(JSON.parse(denied), { ok: true, device: 'denied', smsSent: false });
    assert.equal((await token(b.device_code)).body.error, 'access_denied');
  } finally {
    s.child.kill('SIGTERM');
    await s.exited;
  }
});
