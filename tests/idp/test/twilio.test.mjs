// Logto's Twilio connector (reimplemented) and the Twilio API stand-in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CookieJar } from '../drive-signin.mjs';
import {
  createTwilioConnector, DEFAULT_TEMPLATES, renderTemplate, validateTwilioConfig,
} from '../src/twilio-connector.mjs';
import { startTwilioStandIn, TEST_CREDENTIALS } from '../twilio-stand-in.mjs';
import { authRequest, follow, postForm, startStack } from './helpers.mjs';

let standIn;
before(async () => { standIn = await startTwilioStandIn({ failNumbers: ['+15550000000'] }); });
after(() => standIn.close());

const config = (over = {}) => ({ ...TEST_CREDENTIALS, templates: DEFAULT_TEMPLATES, ...over });

test('connector config is validated like Logto (required fields and usage types)', () => {
  assert.doesNotThrow(() => validateTwilioConfig(config({ disableRiskCheck: true })));
  assert.throws(() => validateTwilioConfig(config({ authToken: undefined })), { code: 'connector.invalid_config', message: /authToken must be a non-empty string/ });
  assert.throws(() => validateTwilioConfig(config({ templates: DEFAULT_TEMPLATES.slice(0, 2) })), /templates must include usage types ForgotPassword, Generic/);
  assert.throws(() => validateTwilioConfig(config({ disableRiskCheck: 'yes' })), /disableRiskCheck must be a boolean/);
  assert.throws(() => validateTwilioConfig(null), /must be a JSON object/);
  assert.throws(() => createTwilioConnector({}), /accountSID must be a non-empty string/);
});

test('templates: {{code}} replaced, unknown usage type falls back to Generic', () => {
  assert.equal(renderTemplate([{ usageType: 'SignIn', content: 'A {{code}} / {{ code }}' }], 'SignIn', { code: '123456' }), 'A 123456 / 123456');
  assert.match(renderTemplate(DEFAULT_TEMPLATES, 'MfaVerification', { code: '654321' }), /^Your Logto verification code is 654321\./);
});

test('request shape: Basic auth, To with +, MessagingServiceSid, Body, RiskCheck', async () => {
  const connector = createTwilioConnector(config({ disableRiskCheck: true }), { apiBase: `${standIn.url}/` });
  await connector.sendMessage({ to: '15557770000', type: 'Register', payload: { code: '246810' } });
  const m = standIn.lastMessage('+15557770000');
  assert.equal(m.account_sid, TEST_CREDENTIALS.accountSID);
  assert.equal(m.messaging_service_sid, TEST_CREDENTIALS.fromMessagingServiceSID);
  assert.equal(m.risk_check, 'disable');
  assert.equal(m.body, 'Your Logto sign-up verification code is 246810. The code will remain active for 10 minutes.');
  assert.equal(m.code, '246810');
});

test('Twilio errors become connector.general carrying Twilio\'s body', async () => {
  const wrongToken = createTwilioConnector(config({ authToken: 'nope' }), { apiBase: standIn.url });
  await assert.rejects(wrongToken.sendMessage({ to: '+15557770001', type: 'SignIn', payload: { code: '1' } }), (e) => {
    assert.equal(e.code, 'connector.general');
    assert.deepEqual(JSON.parse(e.message), { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    return true;
  });
  const ok = createTwilioConnector(config(), { apiBase: standIn.url });
  await assert.rejects(ok.sendMessage({ to: '12', type: 'SignIn', payload: { code: '1' } }), { code: 'connector.general', message: /"code":21211/ });
  await assert.rejects(ok.sendMessage({ to: '+15550000000', type: 'SignIn', payload: { code: '1' } }), /"code":21610/);
  const closed = await startTwilioStandIn();
  await closed.close();
  const down = createTwilioConnector(config(), { apiBase: closed.url });
  await assert.rejects(down.sendMessage({ to: '+15557770002', type: 'SignIn', payload: { code: '1' } }), { code: 'connector.general', message: /ECONNREFUSED/ });
});

test('stand-in checks requests the way Twilio does', async () => {
  const post = (form, { user = TEST_CREDENTIALS.accountSID, pass = TEST_CREDENTIALS.authToken, sid = user } = {}) => fetch(`${standIn.url}/2010-04-01/Accounts/${sid}/Messages.json`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(Object.entries(form).filter(([, v]) => v !== undefined)),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));
  const good = { To: '+15557770003', MessagingServiceSid: TEST_CREDENTIALS.fromMessagingServiceSID, Body: 'code 111222' };
  assert.equal((await post(good)).status, 201);
  assert.deepEqual(((r) => [r.status, r.body.code])(await post(good, { pass: 'x' })), [401, 20003]);
  assert.deepEqual(((r) => [r.status, r.body.code])(await post({ ...good, To: '15557770003' })), [400, 21211]);
  assert.deepEqual(((r) => [r.status, r.body.code])(await post({ ...good, To: undefined })), [400, 21604]);
  assert.deepEqual(((r) => [r.status, r.body.code])(await post({ ...good, MessagingServiceSid: undefined })), [400, 21603]);
  assert.deepEqual(((r) => [r.status, r.body.code])(await post({ ...good, Body: '' })), [400, 21602]);

  const last = await (await fetch(`${standIn.url}/messages/last?to=%2B15557770003`)).json();
  assert.deepEqual([last.to, last.body, last.code], ['+15557770003', 'code 111222', '111222']);
  assert.equal((await fetch(`${standIn.url}/messages/last?to=%2B19999999999`)).status, 404);
  const all = await (await fetch(`${standIn.url}/messages`)).json();
  assert.ok(all.length >= 2);
  assert.equal((await fetch(`${standIn.url}/messages`, { method: 'DELETE' })).status, 204);
  assert.deepEqual(await (await fetch(`${standIn.url}/messages`)).json(), []);
});

test('a Twilio auth failure reaches the sign-in page as connector.general', async () => {
  const stack = await startStack({ twilio: { authToken: 'wrong-token' } });
  try {
    const jar = new CookieJar();
    const page = await follow(jar, authRequest(stack).url, stack.idp.endpoint);
    const sendUrl = new URL(page.text.match(/id="phone-form"[^>]*action="([^"]+)"/)[1], stack.idp.endpoint);
    const r = await postForm(jar, sendUrl, { phone: '+15551234567' });
    assert.equal(r.status, 400);
    assert.match(r.text, /<p class="error" role="alert" data-code="connector.general">connector.general: \{&#34;code&#34;:20003,&#34;message&#34;:&#34;Authenticate&#34;/);
    assert.match(r.text, /<form id="phone-form"/, 'the user can try again');
    const json = await postForm(jar, sendUrl, { phone: '+15551234567' }, { accept: 'application/json' });
    const body = JSON.parse(json.text);
    assert.equal(body.code, 'connector.general');
    assert.equal(JSON.parse(body.message).code, 20003);
    assert.equal(stack.standIn.messages.length, 0);
  } finally {
    await stack.close();
  }
});
