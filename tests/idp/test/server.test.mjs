// The `npm start` process: ready line, env switches, demo mode, SIGTERM, start-up errors.
import { test, after } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { driveSignIn } from '../drive-signin.mjs';
import { spawnServer, startLoopbackApp, stopServers, b64url, IDP_DIR } from './helpers.mjs';

const run = promisify(execFile);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'idp-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
after(stopServers);
const writeJson = (name, value) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, JSON.stringify(value));
  return file;
};
const authUrl = (issuer, redirectUri, extra = {}) => `${issuer}/auth?${new URLSearchParams({
  client_id: 'native-test-app', redirect_uri: redirectUri, response_type: 'code', scope: 'openid offline_access',
  prompt: 'consent', code_challenge: b64url(Buffer.alloc(32, 1)), code_challenge_method: 'S256', state: 's1', ...extra,
})}`;

test('default start: ready line names issuer, client, resource, organization; demo SMS mode; SIGTERM stops it', async () => {
  const s = spawnServer();
  const ready = await s.ready;
  assert.equal(ready.ready, true);
  assert.match(ready.issuer, /^http:\/\/127\.0\.0\.1:\d+\/oidc$/);
  assert.equal(ready.endpoint, `http://127.0.0.1:${ready.port}`);
  assert.equal(ready.issuer, `${ready.endpoint}/oidc`);
  assert.deepEqual(ready.clients, ['native-test-app']);
  assert.deepEqual(ready.resources, ['https://api.example.test']);
  assert.deepEqual(ready.organizations, [{ id: 'org-acme', members: ['+15551234567'] }]);
  assert.equal(ready.twilio, null);
  assert.equal(ready.demoSms, true);

  // demo mode: the SMS is one JSON line on stdout
  const app = await startLoopbackApp();
  const result = await driveSignIn({
    url: authUrl(ready.issuer, `http://127.0.0.1:${app.port}/callback`, { login_hint: '+15551234567' }),
    getCode: async (to) => {
      const { sms } = JSON.parse(await s.nextLine(1));
      assert.equal(sms.to, to);
      return sms.body.match(/\d{6}/)[0];
    },
  });
  assert.equal(result.ok, true, result.error);
  assert.equal(result.callbackStatus, 200);
  assert.equal(JSON.parse(s.lines[1]).sms.to, '+15551234567');
  assert.match(JSON.parse(s.lines[1]).sms.body, /sign-in verification code is \d{6}/);
  await app.close();

  s.child.kill('SIGTERM');
  assert.deepEqual(await s.exited, { code: 0, signal: null });
  assert.equal(s.lines.length, 2, 'stdout: the ready line and the SMS line only');
  assert.doesNotMatch(s.stderr(), /eyJ|code=/, 'no tokens on stderr');
});

test('IDP_TWILIO=stand-in runs the Twilio stand-in in-process; the driver CLI flow works against it', async () => {
  const s = spawnServer({ IDP_TWILIO: 'stand-in' });
  const ready = await s.ready;
  assert.match(ready.twilio, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.demoSms, false);
  const app = await startLoopbackApp();
  const jar = path.join(tmp, 'jar.json');
  const cli = (...args) => run(process.execPath, ['drive-signin.mjs', '--url', authUrl(ready.issuer, `http://127.0.0.1:${app.port}/callback`), ...args], { cwd: IDP_DIR })
    .then(({ stdout }) => stdout, (e) => e.stdout);
  const first = JSON.parse(await cli('--phone', '+15551234567', '--twilio', ready.twilio, '--cookie-jar', jar));
  assert.equal(first.ok, true, first.error);
  assert.equal(first.callbackStatus, 200);
  assert.match(first.callbackBody, /signed in/);
  assert.equal(app.hits.length, 1);
  assert.equal(app.hits[0].searchParams.get('iss'), ready.issuer);
  assert.equal(app.hits[0].searchParams.get('state'), 's1');
  assert.equal(new URL(first.callbackUrl).searchParams.get('code'), app.hits[0].searchParams.get('code'));
  // SSO: the saved IdP session cookie leads straight to the callback, no second SMS
  const second = JSON.parse(await cli('--cookie-jar', jar, '--stop-before-callback'));
  assert.deepEqual(Object.keys(second).sort(), ['callbackUrl', 'ok', 'smsSent']);
  assert.equal(second.smsSent, false);
  assert.equal(app.hits.length, 1, '--stop-before-callback does not call the app');
  const failed = JSON.parse(await cli('--phone', '+15551234567', '--code', '000000'));
  assert.deepEqual(failed, { ok: false, error: 'verification_code.code_mismatch: Invalid verification code.' });
  const last = await (await fetch(`${ready.twilio}/messages/last?to=%2B15551234567`)).json();
  assert.match(last.code, /^\d{6}$/);
  await app.close();
  s.child.kill('SIGTERM');
  assert.equal((await s.exited).code, 0);
  assert.equal(s.lines.length, 1, 'nothing but the ready line on stdout');
});

test('an invalid Twilio connector config stops the start with a clear error', async () => {
  const file = writeJson('bad-twilio.json', { accountSID: 'AC1', authToken: '', templates: [{ usageType: 'SignIn', content: '{{code}}' }] });
  const s = spawnServer({ TWILIO_CONFIG: file });
  await assert.rejects(s.ready, /invalid Twilio connector config: authToken must be a non-empty string; fromMessagingServiceSID .*; templates must include usage types Register, ForgotPassword, Generic/);
  assert.equal((await s.exited).code, 2);

  const cfg = writeJson('bad-sms.json', { sms: { twilio: { accountSID: 'AC1' } } });
  const s2 = spawnServer({ IDP_CONFIG: cfg });
  await assert.rejects(s2.ready, /invalid Twilio connector config/);
  assert.equal((await s2.exited).code, 2);

  const s3 = spawnServer({ IDP_CONFIG: writeJson('bad-field.json', { client: [] }) });
  await assert.rejects(s3.ready, /unknown config field "client"/);
});

test('IDP_CONFIG registers clients; keysFile keeps the signing key across restarts; IDP_TEST_API=0 hides /__test', async () => {
  const keysFile = path.join(tmp, 'keys.json');
  const cfg = writeJson('custom.json', {
    clients: [{ client_id: 'my-app', redirect_uris: ['http://127.0.0.1/cb'], post_logout_redirect_uris: ['http://127.0.0.1:5000/bye'] }],
    keysFile,
    alsoRsa: true,
  });
  const kids = [];
  for (let i = 0; i < 2; i += 1) {
    const s = spawnServer({ IDP_CONFIG: cfg, IDP_TEST_API: '0' });
    const ready = await s.ready;
    assert.deepEqual(ready.clients, ['my-app']);
    const jwks = await (await fetch(`${ready.issuer}/jwks`)).json();
    assert.deepEqual(jwks.keys.map((k) => k.alg), ['ES384', 'RS256']);
    kids.push(jwks.keys.map((k) => k.kid).join());
    assert.equal((await fetch(`${ready.endpoint}/__test/counters`)).status, 404);
    s.child.kill('SIGTERM');
    await s.exited;
  }
  assert.equal(kids[0], kids[1]);
});
