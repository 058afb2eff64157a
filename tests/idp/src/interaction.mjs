// The sign-in experience: phone number -> 6-digit SMS code -> signed in. Plain server-rendered forms.
//
//   GET  /interaction/:uid              login prompt: form#phone-form (phone prefilled from login_hint)
//                                       consent prompt: granted silently (Logto auto-consents first-party apps)
//   POST /interaction/:uid/send-code    phone=… -> SMS sent (Register for an unknown number, SignIn for a
//                                       known one) -> form#code-form
//   POST /interaction/:uid/verify-code  phone=…&code=… -> signed in (303 back to /oidc/auth/:uid),
//                                       or the code form again with an .error
// Errors are Logto's codes (verification_code.code_mismatch, …). Pages answer HTML, or JSON
// {code, message} when the request asks for JSON only (Accept: application/json).
import crypto from 'node:crypto';
import { isPhone, phoneDigits } from './config.mjs';
import { errorBlock, esc, page, readForm, sendHtml, sendJson } from './html.mjs';

const wantsJson = (req) => /application\/json/.test(req.headers.accept ?? '') && !/text\/html/.test(req.headers.accept ?? '');

function phonePage(uid, { phone = '', params = {}, error } = {}) {
  const title = /register/.test(params.first_screen ?? '') ? 'Create your account' : 'Sign in';
  const onlyPhone = params.identifier && !String(params.identifier).split(' ').includes('phone')
    ? '<p class="note">Only phone number sign-in is available here.</p>' : '';
  return page(title, `${errorBlock(error)}${onlyPhone}
<form id="phone-form" method="post" action="/interaction/${esc(uid)}/send-code">
<label for="phone">Phone number</label>
<input id="phone" name="phone" type="tel" autocomplete="tel" value="${esc(phone)}" placeholder="+15551234567">
<button type="submit">Send code</button>
</form>`);
}

function codePage(uid, { phone, error }) {
  return page('Enter your code', `${errorBlock(error)}
<p>We sent a 6-digit code to <span id="phone-sent">${esc(phone)}</span>.</p>
<form id="code-form" method="post" action="/interaction/${esc(uid)}/verify-code">
<input type="hidden" name="phone" value="${esc(phone)}">
<label for="code">Verification code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code">
<button type="submit">Verify</button>
</form>
<p><a href="/interaction/${esc(uid)}">Use another number</a></p>`);
}

export function createInteractionHandler({ provider, accounts, connector, codePolicy }) {
  const pending = new Map(); // interaction uid -> { phone (digits), code, type, expiresAt, tries }

  const fail = (req, res, status, error, html) => (wantsJson(req)
    ? sendJson(res, status, error)
    : sendHtml(res, status, html));

  async function autoConsent(req, res, details) {
    const { prompt: { details: missing }, params, session: { accountId } } = details;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  async function sendCode(req, res, uid, params) {
    const form = await readForm(req);
    const raw = (form.get('phone') ?? '').trim();
    if (!isPhone(raw)) {
      const error = { code: 'user.invalid_phone', message: 'Invalid phone number.' };
      return fail(req, res, 400, error, phonePage(uid, { phone: raw, params, error }));
    }
    const digits = phoneDigits(raw);
    const type = accounts.findByPhone(digits) ? 'SignIn' : 'Register';
    const code = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    try {
      await connector.sendMessage({ to: digits, type, payload: { code } });
    } catch (e) {
      const error = { code: e.code ?? 'connector.general', message: e.message };
      return fail(req, res, 400, error, phonePage(uid, { phone: raw, params, error }));
    }
    pending.set(uid, { phone: digits, code, type, expiresAt: Date.now() + codePolicy.ttl * 1000, tries: 0 });
    if (wantsJson(req)) return sendJson(res, 200, { sent: true, to: `+${digits}`, type });
    return sendHtml(res, 200, codePage(uid, { phone: `+${digits}` }));
  }

  async function verifyCode(req, res, uid) {
    const form = await readForm(req);
    const p = pending.get(uid);
    const again = (code, message) => {
      const error = { code, message };
      return fail(req, res, 400, error, codePage(uid, { phone: p ? `+${p.phone}` : form.get('phone'), error }));
    };
    // Logto's verifyPasscode order: not found, expired, too many tries, mismatch (counts a try).
    if (!p || p.phone !== phoneDigits(form.get('phone'))) return again('verification_code.not_found', 'Verification code not found. Please send a code first.');
    if (Date.now() > p.expiresAt) return again('verification_code.expired', 'Verification code has expired. Please send a new one.');
    if (p.tries >= codePolicy.maxAttempts) return again('verification_code.exceed_max_try', 'Exceeded the maximum number of attempts. Please send a new code.');
    if ((form.get('code') ?? '').trim() !== p.code) {
      p.tries += 1;
      return again('verification_code.code_mismatch', 'Invalid verification code.');
    }
    pending.delete(uid);
    const user = accounts.findByPhone(p.phone) ?? accounts.add({ phone: p.phone });
    return provider.interactionFinished(req, res, { login: { accountId: user.id, amr: ['sms'] } }, { mergeWithLastSubmission: false });
  }

  return async function handleInteraction(req, res, url) {
    const m = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(send-code|verify-code))?\/?$/);
    if (!m) return sendJson(res, 404, { code: 'guard.invalid_input', message: 'Not found.' });
    const [, uid, action] = m;
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      details = undefined;
    }
    if (!details || details.uid !== uid) {
      return sendJson(res, 400, { code: 'session.not_found', message: 'Sign-in session not found or expired. Start again from the app.' });
    }
    const { prompt, params } = details;

    if (prompt.name === 'consent' && req.method === 'GET' && !action) return autoConsent(req, res, details);
    if (prompt.name !== 'login') {
      return sendJson(res, 400, { code: 'session.unsupported_prompt_name', message: `Unsupported prompt ${prompt.name}.` });
    }
    if (req.method === 'GET' && !action) {
      const hint = isPhone(params.login_hint) ? params.login_hint : '';
      return sendHtml(res, 200, phonePage(uid, { phone: hint, params }));
    }
    if (req.method === 'POST' && action === 'send-code') return sendCode(req, res, uid, params);
    if (req.method === 'POST' && action === 'verify-code') return verifyCode(req, res, uid);
    return sendJson(res, 405, { code: 'guard.invalid_input', message: 'Method not allowed.' });
  };
}
