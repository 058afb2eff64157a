// Shared test helpers: an in-process IdP + Twilio stand-in, a loopback "app", PKCE, token calls.
import crypto from 'node:crypto';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../src/config.mjs';
import { startIdp } from '../src/idp.mjs';
import { createTwilioConnector, DEFAULT_TEMPLATES } from '../src/twilio-connector.mjs';
import { startTwilioStandIn, TEST_CREDENTIALS } from '../twilio-stand-in.mjs';
import { CookieJar, driveSignIn } from '../drive-signin.mjs';

export const IDP_DIR = fileURLToPath(new URL('..', import.meta.url));
export const CLIENT_ID = 'native-test-app';
export const API = 'https://api.example.test';
export const MEMBER = '+15551234567';
export const b64url = (b) => Buffer.from(b).toString('base64url');

/** Stand-in + IdP (in this process) + a loopback listener playing the native app. */
export async function startStack({ config = {}, twilio = {} } = {}) {
  const standIn = await startTwilioStandIn();
  const connector = createTwilioConnector(
    { ...TEST_CREDENTIALS, templates: DEFAULT_TEMPLATES, ...twilio },
    { apiBase: standIn.url },
  );
  const idp = await startIdp({ config: resolveConfig(config), connector, quiet: true });
  const app = await startLoopbackApp();
  const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
  return {
    standIn, idp, app, discovery,
    redirectUri: `http://127.0.0.1:${app.port}/callback`,
    close: async () => { await Promise.all([idp.close(), standIn.close(), app.close()]); },
  };
}

export function startLoopbackApp() {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(new URL(req.url, 'http://127.0.0.1'));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('signed in, you can close this window');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    hits,
    close: () => new Promise((r) => { server.close(() => r()); server.closeAllConnections(); }),
  })));
}

/** An authorization request URL the way the Logto SDK builds it (S256, state, prompt=consent). */
export function authRequest(stack, extra = {}) {
  const verifier = b64url(crypto.randomBytes(32));
  const params = {
    client_id: CLIENT_ID,
    redirect_uri: stack.redirectUri,
    response_type: 'code',
    scope: 'openid offline_access profile phone',
    prompt: 'consent',
    code_challenge: b64url(crypto.createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    state: b64url(crypto.randomBytes(12)),
    ...extra,
  };
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
  return { url: `${stack.discovery.authorization_endpoint}?${new URLSearchParams(params)}`, verifier, state: params.state, params };
}

export async function tokenRequest(stack, form) {
  const res = await fetch(stack.discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: CLIENT_ID, ...form }),
  });
  return { status: res.status, body: await res.json() };
}

/** Full sign-in (phone + SMS code from the stand-in) then code exchange. Returns the token response. */
export async function signIn(stack, { phone = MEMBER, jar = new CookieJar(), ...extra } = {}) {
  const a = authRequest(stack, extra);
  const r = await driveSignIn({ url: a.url, phone, twilio: stack.standIn.url, cookieJar: jar, stopBeforeCallback: true });
  if (!r.ok) throw new Error(r.error);
  const cb = new URL(r.callbackUrl);
  if (cb.searchParams.get('state') !== a.state) throw new Error('state mismatch');
  const t = await tokenRequest(stack, {
    grant_type: 'authorization_code', code: cb.searchParams.get('code'), redirect_uri: a.params.redirect_uri, code_verifier: a.verifier,
  });
  if (t.status !== 200) throw new Error(`code exchange failed: ${JSON.stringify(t.body)}`);
  return { ...t.body, jar };
}

/** fetch without following redirects, with a cookie jar. */
export async function get(jar, url, init = {}) {
  const u = new URL(url);
  const headers = { ...init.headers };
  const cookie = jar.header(u);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(u, { ...init, headers, redirect: 'manual' });
  jar.store(res, u);
  return { status: res.status, location: res.headers.get('location'), text: await res.text(), headers: res.headers };
}

export async function postForm(jar, url, form, headers = {}) {
  return get(jar, url, {
    method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

/** Follows same-origin redirects from `url`; stops at a page or at a redirect leaving the IdP. */
export async function follow(jar, url, origin) {
  let r = await get(jar, url);
  let at = new URL(url);
  while (r.location) {
    at = new URL(r.location, at);
    if (at.origin !== origin) return { ...r, url: at, left: true };
    r = await get(jar, at);
  }
  return { ...r, url: at, left: false };
}

const servers = new Set();

/** Kills every server spawnServer started that is still running. For `after()`: a test that fails before
 * its own kill must not leave a server whose pipes keep the test file's process, and the suite, alive. */
export async function stopServers() {
  const left = [...servers];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(left.map((child) => new Promise((r) => { if (child.exitCode !== null || child.signalCode !== null) r(); else child.once('exit', r); })));
}

/** `node server.mjs` as a child; resolves with the ready line (or rejects with stderr if it exits). */
export function spawnServer(env = {}) {
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: IDP_DIR, env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  servers.add(child);
  child.once('exit', () => servers.delete(child));
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const lines = [];
  const waiters = [];
  child.stdout.on('data', (d) => {
    stdout += d;
    let i;
    while ((i = stdout.indexOf('\n')) >= 0) {
      lines.push(stdout.slice(0, i));
      stdout = stdout.slice(i + 1);
      waiters.splice(0).forEach((w) => w());
    }
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const nextLine = async (n) => {
    while (lines.length <= n) {
      const more = new Promise((r) => waiters.push(r));
      const done = await Promise.race([more.then(() => false), exited.then(() => true)]);
      if (done && lines.length <= n) throw new Error(`server exited: ${stderr}`);
    }
    return lines[n];
  };
  return {
    child, exited, lines, nextLine,
    stderr: () => stderr,
    ready: nextLine(0).then((l) => JSON.parse(l)),
  };
}
