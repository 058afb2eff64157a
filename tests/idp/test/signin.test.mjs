// The phone sign-in pages over plain HTTP, with the code read from the Twilio stand-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar } from '../drive-signin.mjs';
import { authRequest, follow, MEMBER, postForm, signIn, startStack, tokenRequest } from './helpers.mjs';

// Codes keep Logto's 600 s lifetime here, so a slow machine cannot expire one mid-test; the expiry test
// has a stack of its own with a 1 s lifetime.
let stack;
before(async () => { stack = await startStack({ config: { verificationCode: { maxAttempts: 3 } } }); });
after(() => stack.close());

const action = (html, id) => html.match(new RegExp(`<form[^>]*id="${id}"[^>]*action="([^"]+)"`))[1];
const errorCode = (html) => html.match(/class="error"[^>]*data-code="([^"]+)"/)?.[1];

/** Opens the phone page of a new authorization request; returns the jar, page and request. */
async function openPhonePage(extra = {}, s = stack) {
  const jar = new CookieJar();
  const a = authRequest(s, extra);
  const page = await follow(jar, a.url, s.idp.endpoint);
  return { jar, a, page };
}

async function sendCode(phone, extra, s = stack) {
  const { jar, a, page } = await openPhonePage(extra, s);
  const sent = await postForm(jar, new URL(action(page.text, 'phone-form'), page.url), { phone });
  return { jar, a, page, sent };
}

test('full phone sign-in over HTTP: phone page -> SMS via Twilio -> code page -> callback -> tokens', async () => {
  const { jar, a, page } = await openPhonePage({ login_hint: MEMBER, first_screen: 'identifier:sign_in', identifier: 'phone' });
  assert.equal(page.status, 200);
  assert.match(page.url.pathname, /^\/interaction\/[\w-]+$/);
  assert.match(page.text, /<form id="phone-form"/);
  assert.match(page.text, /<input id="phone" name="phone"[^>]*value="\+15551234567"/, 'prefilled from login_hint');
  assert.match(page.text, /<button type="submit">/);

  const sent = await postForm(jar, new URL(action(page.text, 'phone-form'), page.url), { phone: MEMBER });
  assert.equal(sent.status, 200);
  assert.match(sent.text, /<form id="code-form"/);
  assert.match(sent.text, /<input type="hidden" name="phone" value="\+15551234567">/);
  assert.match(sent.text, /<input id="code" name="code"/);

  // exactly what Logto's Twilio connector sends
  const sms = stack.standIn.lastMessage(MEMBER);
  assert.equal(sms.to, '+15551234567');
  assert.equal(sms.messaging_service_sid, 'MG00000000000000000000000000000000');
  assert.equal(sms.risk_check, 'enable');
  assert.match(sms.body, /^Your Logto sign-in verification code is \d{6}\./);
  const last = await (await fetch(`${stack.standIn.url}/messages/last?to=${encodeURIComponent(MEMBER)}`)).json();
  assert.equal(last.code, sms.code);
  const lastPlus = await (await fetch(`${stack.standIn.url}/messages/last?to=+15551234567`)).json();
  assert.equal(lastPlus.code, sms.code, "a raw '+' in the query works too");

  const verified = await postForm(jar, new URL(action(sent.text, 'code-form'), stack.idp.endpoint), { phone: MEMBER, code: last.code });
  assert.equal(verified.status, 303);
  const done = await follow(jar, new URL(verified.location, stack.idp.endpoint), stack.idp.endpoint);
  assert.equal(done.left, true);
  assert.equal(`${done.url.origin}${done.url.pathname}`, stack.redirectUri);
  assert.equal(done.url.searchParams.get('state'), a.state);
  assert.equal(done.url.searchParams.get('iss'), stack.idp.issuer);

  const t = await tokenRequest(stack, {
    grant_type: 'authorization_code', code: done.url.searchParams.get('code'), redirect_uri: stack.redirectUri, code_verifier: a.verifier,
  });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.ok(t.body.id_token && t.body.refresh_token && t.body.access_token);
  const me = await fetch(stack.discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${t.body.access_token}` } });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), {
    sub: 'user-alice', name: 'Alice Example', username: 'alice', picture: null, phone_number: '15551234567', phone_number_verified: true,
  });
});

test('an unknown number registers (Register template), a known one signs in (SignIn template)', async () => {
  const phone = '+15550001111';
  await signIn(stack, { phone });
  assert.match(stack.standIn.lastMessage(phone).body, /^Your Logto sign-up verification code is \d{6}\./);
  const user = stack.idp.accounts.findByPhone(phone);
  assert.ok(user, 'a user was created');
  await signIn(stack, { phone });
  assert.match(stack.standIn.lastMessage(phone).body, /^Your Logto sign-in verification code is \d{6}\./);
  assert.equal(stack.idp.accounts.findByPhone(phone).id, user.id);
});

test('a wrong code shows verification_code.code_mismatch and the user can retry; tries are limited', async () => {
  const { jar, sent } = await sendCode('+15550002222');
  const verifyUrl = new URL(action(sent.text, 'code-form'), stack.idp.endpoint);
  const good = stack.standIn.lastMessage('+15550002222').code;
  const wrong = good === '000000' ? '111111' : '000000';
  const bad = await postForm(jar, verifyUrl, { phone: '+15550002222', code: wrong });
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad.text), 'verification_code.code_mismatch');
  assert.match(bad.text, /<form id="code-form"/, 'the code form is shown again');
  const json = await postForm(jar, verifyUrl, { phone: '+15550002222', code: wrong }, { accept: 'application/json' });
  assert.deepEqual(JSON.parse(json.text), { code: 'verification_code.code_mismatch', message: 'Invalid verification code.' });
  const retry = await postForm(jar, verifyUrl, { phone: '+15550002222', code: good });
  assert.equal(retry.status, 303, 'the right code still works after wrong ones');

  // maxAttempts is 3 in this stack's config (Logto: 10)
  const second = await sendCode('+15550003333');
  const url2 = new URL(action(second.sent.text, 'code-form'), stack.idp.endpoint);
  const code2 = stack.standIn.lastMessage('+15550003333').code;
  for (let i = 0; i < 3; i += 1) await postForm(second.jar, url2, { phone: '+15550003333', code: code2 === '000000' ? '111111' : '000000' });
  const locked = await postForm(second.jar, url2, { phone: '+15550003333', code: code2 });
  assert.equal(errorCode(locked.text), 'verification_code.exceed_max_try');
});

test('an expired code is refused with verification_code.expired', async () => {
  const short = await startStack({ config: { verificationCode: { ttl: 1 } } }); // Logto: 600 s
  try {
    const { jar, sent } = await sendCode('+15550004444', undefined, short);
    const code = short.standIn.lastMessage('+15550004444').code;
    await new Promise((r) => setTimeout(r, 1100));
    const late = await postForm(jar, new URL(action(sent.text, 'code-form'), short.idp.endpoint), { phone: '+15550004444', code });
    assert.equal(late.status, 400);
    assert.equal(errorCode(late.text), 'verification_code.expired');
  } finally { await short.close(); }
});

test('an invalid phone number is refused on the phone page', async () => {
  const { sent } = await sendCode('not a number');
  assert.equal(sent.status, 400);
  assert.equal(errorCode(sent.text), 'user.invalid_phone');
  assert.match(sent.text, /<form id="phone-form"/);
});

test('PKCE is required and only S256 is accepted', async () => {
  for (const [extra, pattern] of [
    [{ code_challenge: undefined, code_challenge_method: undefined }, /PKCE/],
    [{ code_challenge_method: 'plain' }, /code_challenge_method/],
  ]) {
    const jar = new CookieJar();
    const r = await follow(jar, authRequest(stack, extra).url, stack.idp.endpoint);
    assert.equal(r.left, true, 'the error goes back to the app');
    assert.equal(r.url.searchParams.get('error'), 'invalid_request');
    assert.match(r.url.searchParams.get('error_description'), pattern);
  }
});

test('native clients: any loopback port is accepted, another path or host is not', async () => {
  for (const redirect of [`http://127.0.0.1:${stack.app.port}/evil`, `http://localhost:${stack.app.port}/callback`]) {
    const r = await follow(new CookieJar(), authRequest(stack, { redirect_uri: redirect }).url, stack.idp.endpoint);
    assert.equal(r.status, 400);
    assert.deepEqual(
      (({ code, error }) => ({ code, error }))(JSON.parse(r.text)),
      { code: 'oidc.invalid_redirect_uri', error: 'invalid_redirect_uri' },
    );
  }
});

test('a stale interaction cookie is reported as session.not_found', async () => {
  const { page } = await openPhonePage();
  const r = await postForm(new CookieJar(), new URL(action(page.text, 'phone-form'), page.url), { phone: MEMBER });
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.text).code, 'session.not_found');
});
