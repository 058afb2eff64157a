// Tokens and endpoints: discovery, ID token, refresh rotation + reuse detection, resource and
// organization tokens, revocation, end session, error shape, test API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { CookieJar } from '../drive-signin.mjs';
import { API, authRequest, CLIENT_ID, follow, get, MEMBER, postForm, signIn, startStack, tokenRequest } from './helpers.mjs';

const ORG_SCOPE = 'urn:logto:scope:organizations';
const OUTSIDER = '+15559990000';
let stack;
let jwks;
before(async () => {
  stack = await startStack({
    config: {
      ttl: { accessToken: 120 },
      organizations: [{ id: 'org-acme', members: [MEMBER], scopes: ['read:org'] }, { id: 'org-other', members: [] }],
    },
  });
  jwks = createLocalJWKSet(await (await fetch(stack.discovery.jwks_uri)).json());
});
after(() => stack.close());

const refresh = (refreshToken, extra = {}) => tokenRequest(stack, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
const testApi = async (path, init) => (await fetch(`${stack.idp.endpoint}/__test/${path}`, init)).json();

test('discovery: Logto endpoints, ES384, S256 only', async () => {
  const d = stack.discovery;
  const iss = stack.idp.issuer;
  assert.match(iss, /^http:\/\/127\.0\.0\.1:\d+\/oidc$/);
  assert.equal(d.issuer, iss);
  assert.equal(d.authorization_endpoint, `${iss}/auth`);
  assert.equal(d.token_endpoint, `${iss}/token`);
  assert.equal(d.userinfo_endpoint, `${iss}/me`);
  assert.equal(d.end_session_endpoint, `${iss}/session/end`);
  assert.equal(d.revocation_endpoint, `${iss}/token/revocation`);
  assert.equal(d.introspection_endpoint, `${iss}/token/introspection`);
  assert.equal(d.jwks_uri, `${iss}/jwks`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.ok(d.id_token_signing_alg_values_supported.includes('ES384'));
  assert.ok(d.scopes_supported.includes(ORG_SCOPE));
  const keys = (await (await fetch(d.jwks_uri)).json()).keys;
  assert.deepEqual(keys.map((k) => [k.kty, k.crv, k.alg]), [['EC', 'P-384', 'ES384']]);
  assert.ok(keys.every((k) => !k.d), 'public keys only');
});

test('code exchange: ES384 ID token with phone claims, opaque access token for /oidc/me, refresh token', async () => {
  const t = await signIn(stack);
  assert.equal(decodeProtectedHeader(t.id_token).alg, 'ES384');
  const { payload } = await jwtVerify(t.id_token, jwks, { issuer: stack.idp.issuer, audience: CLIENT_ID });
  assert.equal(payload.sub, 'user-alice');
  assert.equal(payload.phone_number, '15551234567');
  assert.equal(t.access_token.split('.').length, 1, 'no resource -> opaque access token');
  assert.equal(t.expires_in, 120, 'ttl.accessToken from the config');
  assert.match(t.scope, /offline_access/);
  assert.ok(t.refresh_token);
});

test('offline_access without prompt=consent gives no refresh token', async () => {
  const t = await signIn(stack, { prompt: undefined });
  assert.equal(t.refresh_token, undefined);
  assert.doesNotMatch(t.scope, /offline_access/);
});

test('refresh tokens rotate; reusing a consumed one revokes the grant', async () => {
  const t = await signIn(stack, { phone: '+15550101010' });
  const grantsOf = async (accountId) => (await testApi('grants')).filter((g) => g.accountId === accountId);
  const accountId = stack.idp.accounts.findByPhone('+15550101010').id;
  assert.deepEqual((await grantsOf(accountId)).map((g) => [g.clientId, g.active]), [[CLIENT_ID, 1]]);

  const r1 = await refresh(t.refresh_token);
  assert.equal(r1.status, 200);
  assert.notEqual(r1.body.refresh_token, t.refresh_token);
  const r2 = await refresh(r1.body.refresh_token);
  assert.equal(r2.status, 200);
  assert.equal((await grantsOf(accountId))[0].active, 1, 'one usable refresh token at a time');

  const reuse = await refresh(r1.body.refresh_token);
  assert.equal(reuse.status, 400);
  assert.deepEqual(reuse.body, {
    code: 'oidc.invalid_grant', message: 'grant request is invalid', error: 'invalid_grant', error_description: 'grant request is invalid',
  });
  const newest = await refresh(r2.body.refresh_token);
  assert.equal(newest.body.error, 'invalid_grant', 'the newest refresh token died with the grant');
  assert.equal((await grantsOf(accountId))[0].active, 0);
});

test('resource indicators: JWT access token with aud = the resource', async () => {
  const t = await signIn(stack, { scope: 'openid offline_access profile read:items', resource: API });
  const r = await refresh(t.refresh_token, { resource: API });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { payload, protectedHeader } = await jwtVerify(r.body.access_token, jwks, {
    issuer: stack.idp.issuer, audience: API, typ: 'at+jwt', algorithms: ['ES384'],
  });
  assert.equal(protectedHeader.alg, 'ES384');
  assert.equal(payload.aud, API);
  assert.equal(payload.scope, 'read:items');
  assert.equal(payload.client_id, CLIENT_ID);
  assert.equal(payload.exp - payload.iat, 3600, "the resource's accessTokenTtl");
  // a resource never requested: invalid_target (and the refresh token was consumed, as in Logto)
  const other = await refresh(r.body.refresh_token, { resource: 'https://other.example.test' });
  assert.equal(other.body.code, 'oidc.invalid_target');
});

test('organization token for a member; access_denied for a non-member; scope required', async () => {
  const scope = `openid offline_access profile read:items read:org ${ORG_SCOPE}`;
  const member = await signIn(stack, { scope, resource: API });
  const org = await refresh(member.refresh_token, { organization_id: 'org-acme' });
  assert.equal(org.status, 200, JSON.stringify(org.body));
  const { payload } = await jwtVerify(org.body.access_token, jwks, { issuer: stack.idp.issuer, audience: 'urn:logto:organization:org-acme' });
  assert.equal(payload.scope, 'read:org');
  const { payload: idClaims } = await jwtVerify(member.id_token, jwks, { issuer: stack.idp.issuer, audience: CLIENT_ID });
  assert.deepEqual(idClaims.organizations, ['org-acme']);

  // organization_id + resource: the resource token carries organization_id
  const both = await refresh(org.body.refresh_token, { organization_id: 'org-acme', resource: API });
  assert.equal(both.status, 200, JSON.stringify(both.body));
  const claims = decodeJwt(both.body.access_token);
  assert.deepEqual([claims.aud, claims.organization_id], [API, 'org-acme']);

  const denied = await refresh(both.body.refresh_token, { organization_id: 'org-other' });
  assert.equal(denied.status, 403);
  assert.deepEqual([denied.body.code, denied.body.error], ['oidc.access_denied', 'access_denied']);
  assert.equal((await refresh(both.body.refresh_token)).status, 200, 'a refused organization request consumes nothing');

  const outsider = await signIn(stack, { phone: OUTSIDER, scope });
  const refused = await refresh(outsider.refresh_token, { organization_id: 'org-acme' });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.code, 'oidc.access_denied');

  const noScope = await signIn(stack, { scope: 'openid offline_access' });
  const insufficient = await refresh(noScope.refresh_token, { organization_id: 'org-acme' });
  assert.equal(insufficient.status, 403);
  assert.equal(insufficient.body.code, 'oidc.insufficient_scope');
});

test('revocation of the refresh token kills the grant', async () => {
  const t = await signIn(stack);
  const rev = await fetch(stack.discovery.revocation_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: CLIENT_ID, token: t.refresh_token }),
  });
  assert.equal(rev.status, 200);
  assert.equal((await refresh(t.refresh_token)).body.error, 'invalid_grant');
  const me = await fetch(stack.discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${t.access_token}` } });
  assert.equal(me.status, 401, 'the access token of the grant is gone too');
});

test('end session: exact post-logout match, logout=yes confirm, state returned, session ended', async () => {
  const jar = new CookieJar();
  await signIn(stack, { jar });
  const endUrl = (params) => `${stack.discovery.end_session_endpoint}?${new URLSearchParams({ client_id: CLIENT_ID, ...params })}`;

  const wrongPort = await get(jar, endUrl({ post_logout_redirect_uri: 'http://127.0.0.1:8123/logout-callback' }));
  assert.equal(wrongPort.status, 400);
  assert.equal(JSON.parse(wrongPort.text).code, 'oidc.invalid_request');
  assert.match(JSON.parse(wrongPort.text).error_description, /post_logout_redirect_uri/);

  const confirm = await get(jar, endUrl({ post_logout_redirect_uri: 'http://127.0.0.1/logout-callback', state: 'bye1' }));
  assert.equal(confirm.status, 200);
  assert.match(confirm.text, /<form id="op.logoutForm" method="post" action="[^"]+">/);
  assert.match(confirm.text, /name="logout" value="yes"/);
  assert.match(confirm.text, /getElementById\('op.logoutForm'\).submit\(\)/, 'auto-submits');
  assert.match(confirm.text, /<button type="submit" form="op.logoutForm">/, 'and has a visible button');
  const action = confirm.text.match(/action="([^"]+)"/)[1];
  const xsrf = confirm.text.match(/name="xsrf" value="([^"]+)"/)[1];
  const done = await postForm(jar, action, { xsrf, logout: 'yes' });
  assert.equal(done.status, 303);
  assert.equal(done.location, 'http://127.0.0.1/logout-callback?state=bye1');

  const silent = await follow(jar, authRequest(stack, { prompt: 'none' }).url, stack.idp.endpoint);
  assert.equal(silent.url.searchParams.get('error'), 'login_required');

  // without post_logout_redirect_uri: a simple "Signed out" page
  const jar2 = new CookieJar();
  await signIn(stack, { jar: jar2 });
  const page = await get(jar2, endUrl({}));
  const bye = await postForm(jar2, page.text.match(/action="([^"]+)"/)[1], { xsrf: page.text.match(/name="xsrf" value="([^"]+)"/)[1], logout: 'yes' });
  const signedOut = await get(jar2, new URL(bye.location, stack.idp.endpoint));
  assert.match(signedOut.text, /<title>Signed out<\/title>/);
});

test('errors use Logto\'s body shape', async () => {
  const r = await tokenRequest(stack, { grant_type: 'authorization_code', code: 'nope', redirect_uri: stack.redirectUri, code_verifier: 'x'.repeat(43) });
  assert.equal(r.status, 400);
  assert.deepEqual(Object.keys(r.body), ['code', 'message', 'error', 'error_description']);
  assert.equal(r.body.code, 'oidc.invalid_grant');
});

test('test API: counters by grant type, issued tokens', async () => {
  await testApi('counters/reset', { method: 'POST' });
  const t = await signIn(stack);
  await refresh(t.refresh_token);
  await refresh(t.refresh_token); // reuse
  await fetch(stack.discovery.revocation_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: CLIENT_ID, token: 'unknown' }),
  });
  const c = await testApi('counters');
  assert.deepEqual(c.token, { authorization_code: 1, refresh_token: 2 });
  assert.equal(c.revocation, 1);
  assert.equal(c.authorization, 1);
  const issued = await testApi('issued');
  for (const v of [t.access_token, t.refresh_token, t.id_token]) assert.ok(issued.includes(v));
  const detail = await testApi('issued?detail=1');
  assert.ok(detail.some((x) => x.type === 'authorization_code'));
  assert.ok(issued.every((v) => typeof v === 'string'));
});

test('idTokenAlg RS256 signs ID tokens with an RSA key (the JWKS then has both)', async () => {
  const rsa = await startStack({ config: { idTokenAlg: 'RS256' } });
  try {
    const keys = (await (await fetch(rsa.discovery.jwks_uri)).json()).keys;
    assert.deepEqual(keys.map((k) => k.alg), ['ES384', 'RS256']);
    const t = await signIn(rsa);
    assert.equal(decodeProtectedHeader(t.id_token).alg, 'RS256');
    await jwtVerify(t.id_token, createLocalJWKSet({ keys }), { issuer: rsa.idp.issuer, audience: CLIENT_ID, algorithms: ['RS256'] });
  } finally {
    await rsa.close();
  }
});
