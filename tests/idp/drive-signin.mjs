// Completes a phone sign-in the way a browser would, over plain HTTP: follows redirects with a cookie
// jar (cookie paths respected), fills form#phone-form, reads the SMS code from the Twilio stand-in,
// fills form#code-form, and finally calls the app's loopback redirect_uri with ?code&state&iss.
//
//   node drive-signin.mjs --url '<authorization URL>' --phone +15551234567 [--twilio <stand-in base>]
//        [--code 123456] [--stop-before-callback] [--cookie-jar cookies.json]
//   -> one JSON line: {"ok":true,"callbackStatus":200,"callbackUrl":"…","callbackBody":"<first 500 chars>"}
//      with --stop-before-callback: {"ok":true,"callbackUrl":"…"}; failure: {"ok":false,"error":"…"}, exit 1.
// --twilio defaults to env TWILIO_STAND_IN. With --cookie-jar, cookies are loaded from and saved to that
// file, so a second run reuses the IdP session (SSO: straight to the callback, no SMS).
//
// Device sign-in (RFC 8628): --url is the verification_uri_complete, or the verification_uri with
// --user-code XXXX-XXXX. The driver confirms the device, signs in by phone the same way and stops at the
// success page: {"ok":true,"device":"approved","smsSent":true}. With --deny it presses Cancel on the
// confirm page instead: {"ok":true,"device":"denied","smsSent":false} (the device then gets access_denied).
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export class CookieJar {
  constructor(cookies = []) { this.cookies = cookies; } // {name, value, host, path, expires}

  static load(file) {
    return new CookieJar(file && fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : []);
  }

  save(file) { fs.writeFileSync(file, JSON.stringify(this.cookies), { mode: 0o600 }); }

  store(response, url) {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const cookie = { name: pair.slice(0, eq), value: pair.slice(eq + 1), host: url.hostname, path: null, expires: null };
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) cookie.path = v;
        if (key === 'max-age') cookie.expires = Date.now() + Number(v) * 1000;
        if (key === 'expires' && cookie.expires === null) cookie.expires = Date.parse(v);
      }
      // RFC 6265 default path: the request path up to its last '/'
      cookie.path ??= url.pathname.slice(0, url.pathname.lastIndexOf('/')) || '/';
      this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.host === cookie.host && c.path === cookie.path));
      if (cookie.expires === null || cookie.expires > Date.now()) this.cookies.push(cookie);
    }
  }

  header(url) {
    const pathMatch = (p) => url.pathname === p || (url.pathname.startsWith(p) && (p.endsWith('/') || url.pathname[p.length] === '/'));
    return this.cookies
      .filter((c) => c.host === url.hostname && pathMatch(c.path) && (c.expires === null || c.expires > Date.now()))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

const decode = (s) => s.replaceAll('&amp;', '&').replaceAll('&#43;', '+').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));

/** {action, fields} of the form with this id, or null. */
function findForm(html, id) {
  const m = html.match(new RegExp(`<form[^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`));
  if (!m) return null;
  const action = m[0].match(/action="([^"]*)"/)?.[1] ?? '';
  const fields = {};
  for (const [tag] of m[1].matchAll(/<input[^>]*>/g)) {
    const name = tag.match(/name="([^"]*)"/)?.[1];
    if (name) fields[name] = decode(tag.match(/value="([^"]*)"/)?.[1] ?? '');
  }
  return { action: decode(action), fields };
}

/** The first form of a page, e.g. oidc-provider's auto-submitting form_post page (no id). */
function firstPostForm(html) {
  const m = html.match(/<form[^>]*method="post"[^>]*>[\s\S]*?<\/form>/);
  return m ? findForm(m[0].replace(/<form/, '<form id="first-post-form"'), 'first-post-form') : null;
}

const pageErrorCode = (html) => html.match(/<p class="error"[^>]*data-code="([^"]*)"/)?.[1] ?? null;

const pageError = (html) => {
  const m = html.match(/<p class="error"[^>]*>([\s\S]*?)<\/p>/);
  return m ? decode(m[1]) : null;
};

async function readCodeFromStandIn(twilio, phone) {
  const res = await fetch(`${twilio.replace(/\/+$/, '')}/messages/last?to=${encodeURIComponent(phone)}`, { signal: AbortSignal.timeout(15000) });
  if (!res.ok) throw new Error(`no SMS for ${phone} at the Twilio stand-in (${res.status})`);
  const { code } = await res.json();
  if (!code) throw new Error(`the last SMS to ${phone} holds no 6-digit code`);
  return code;
}

/**
 * @param {object} o
 * @param {string} o.url  the authorization URL
 * @param {string} [o.phone]  defaults to the number prefilled from login_hint
 * @param {string} [o.twilio] Twilio stand-in base URL to read the code from
 * @param {string} [o.code]   use this code instead
 * @param {(phone: string) => Promise<string>} [o.getCode] or read it this way (e.g. demo stdout)
 * @param {boolean} [o.stopBeforeCallback]
 * @param {string|CookieJar} [o.cookieJar] file to load/save cookies, or a jar to share between calls
 * @param {number} [o.timeoutMs] per HTTP request (default 15 s)
 * @param {string} [o.userCode] device flow: the user code, when `url` is the bare verification_uri
 * @param {boolean} [o.deny] device flow: cancel on the confirm page (the device gets access_denied)
 * @returns {Promise<{ok: true, callbackUrl: string, callbackStatus?: number, callbackBody?: string, smsSent: boolean}
 *   | {ok: true, device: 'approved' | 'denied', smsSent: boolean} | {ok: false, error: string}>}
 */
export async function driveSignIn({
  url, phone, twilio = process.env.TWILIO_STAND_IN, code, getCode, stopBeforeCallback = false, cookieJar, timeoutMs = 15000,
  userCode, deny = false,
} = {}) {
  const jar = cookieJar instanceof CookieJar ? cookieJar : CookieJar.load(cookieJar);
  try {
    return await run();
  } catch (e) {
    return { ok: false, error: e.message };
  } finally {
    if (typeof cookieJar === 'string') jar.save(cookieJar);
  }

  async function run() {
    if (!url) throw new Error('missing --url');
    const idpOrigin = new URL(url).origin;
    let next = { method: 'GET', url: new URL(url), form: null };
    let smsSent = false;
    let codeTries = 0;
    for (let step = 0; step < 40; step += 1) {
      const headers = {};
      const cookie = jar.header(next.url);
      if (cookie) headers.cookie = cookie;
      if (next.form) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(next.url, {
        method: next.method, headers, body: next.form ? new URLSearchParams(next.form).toString() : undefined,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      jar.store(res, next.url);

      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        await res.arrayBuffer();
        const location = new URL(res.headers.get('location'), next.url);
        if (location.origin !== idpOrigin) return callback(location, smsSent);
        next = { method: 'GET', url: location, form: null };
        continue;
      }
      const body = await res.text();
      // Device flow pages (src/device.mjs and oidc-provider's forms)
      if (body.includes('id="device-success"')) return { ok: true, device: 'approved', smsSent };
      if (deny && pageErrorCode(body) === 'device.aborted') return { ok: true, device: 'denied', smsSent };
      const deviceInput = findForm(body, 'op.deviceInputForm');
      const deviceConfirm = findForm(body, 'op.deviceConfirmForm');
      if (deviceInput && !pageError(body)) {
        const typed = userCode ?? deviceInput.fields.user_code;
        if (!typed) throw new Error('the IdP asks for the device user code: pass --user-code or the verification_uri_complete');
        next = { method: 'POST', url: new URL(deviceInput.action, next.url), form: { ...deviceInput.fields, user_code: typed } };
        continue;
      }
      if (deviceConfirm) {
        const form = deny ? { ...deviceConfirm.fields, abort: 'yes' } : deviceConfirm.fields;
        next = { method: 'POST', url: new URL(deviceConfirm.action, next.url), form };
        continue;
      }
      const autoPost = /<title>Submitting Callback<\/title>/.test(body) ? firstPostForm(body) : null;
      if (autoPost) {
        next = { method: 'POST', url: new URL(autoPost.action, next.url), form: autoPost.fields };
        continue;
      }
      const phoneForm = findForm(body, 'phone-form');
      const codeForm = findForm(body, 'code-form');
      const error = pageError(body);
      if (phoneForm && !error && !smsSent) {
        const number = phone ?? phoneForm.fields.phone;
        if (!number) throw new Error('the IdP asks for a phone number: pass --phone');
        next = { method: 'POST', url: new URL(phoneForm.action, next.url), form: { ...phoneForm.fields, phone: number } };
        continue;
      }
      if (codeForm && !error && codeTries === 0) {
        smsSent = true;
        const to = codeForm.fields.phone;
        let otp = code;
        if (!otp && getCode) otp = await getCode(to);
        if (!otp && twilio) otp = await readCodeFromStandIn(twilio, to);
        if (!otp) throw new Error('an SMS code is needed: pass --twilio <stand-in URL> or --code');
        codeTries += 1;
        next = { method: 'POST', url: new URL(codeForm.action, next.url), form: { ...codeForm.fields, code: otp } };
        continue;
      }
      if (error) throw new Error(error);
      throw new Error(`unexpected IdP answer ${res.status} at ${next.url.pathname}: ${body.slice(0, 300)}`);
    }
    throw new Error('too many redirects');
  }

  async function callback(location, smsSent) {
    if (stopBeforeCallback) return { ok: true, callbackUrl: location.href, smsSent };
    let res;
    try {
      res = await fetch(location, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      throw new Error(`callback ${location.origin}${location.pathname} failed: ${e.cause?.code ?? e.message}`);
    }
    const text = await res.text();
    return { ok: true, callbackStatus: res.status, callbackUrl: location.href, callbackBody: text.slice(0, 500), smsSent };
  }
}

function parseArgs(argv) {
  const out = {};
  const flags = {
    '--url': 'url', '--phone': 'phone', '--twilio': 'twilio', '--code': 'code', '--cookie-jar': 'cookieJar', '--user-code': 'userCode',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag === '--stop-before-callback') out.stopBeforeCallback = true;
    else if (flag === '--deny') out.deny = true;
    else if (flags[flag]) out[flags[flag]] = inline ?? argv[(i += 1)];
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let result;
  try {
    result = await driveSignIn(parseArgs(process.argv.slice(2)));
  } catch (e) {
    result = { ok: false, error: e.message };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}
