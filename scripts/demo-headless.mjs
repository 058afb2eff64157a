// The headless half of scripts/demo: runs the seed's flow by itself in a
// real (headless) Chromium and narrates each step. Started by scripts/demo,
// which provides the IdP, the built extension, the installed host and the
// isolated XDG dirs through the environment.
//
// Exit 0 = every step happened as a user would see it.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  API, completePhoneSignIn, decodeJwt, launchChromium, waitForPopupStatus,
} from '../tests/e2e/lib/harness.mjs';

const { BIN, ENDPOINT, EXT_DIR, PROFILE, IDP_OUT, PHONE, DEMO } = process.env;
const say = (s) => console.log(`    ${s}`);

/**
 * The IdP runs in demo mode: no Twilio, each SMS is a JSON line on its
 * stdout. The demo reads the code from there, as the user would read it
 * from the terminal.
 */
function smsReader() {
  let seen = fs.readFileSync(IDP_OUT, 'utf8').split('\n').length;
  return {
    endpoint: ENDPOINT,
    smsSource: "the IdP's demo output",
    async smsCode(phone) {
      for (let i = 0; i < 100; i += 1) {
        const lines = fs.readFileSync(IDP_OUT, 'utf8').split('\n');
        for (const line of lines.slice(seen - 1)) {
          try {
            const sms = JSON.parse(line).sms;
            if (sms && sms.to === phone) {
              seen = lines.length;
              const code = sms.body.match(/\b(\d{6})\b/)?.[1];
              if (code) {
                say(`📱 SMS to ${sms.to}: "${sms.body}"`);
                return code;
              }
            }
          } catch { /* not JSON: ignore */ }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no SMS for ${phone} in the IdP output`);
    },
  };
}

function cli(...args) {
  return spawnSync(BIN, args, { env: process.env, encoding: 'utf8' });
}

const home = path.join(DEMO, 'home');
fs.mkdirSync(home, { recursive: true });
const browser = await launchChromium({
  name: 'demo', userDataDir: PROFILE, extDir: EXT_DIR, env: { ...process.env, HOME: home },
});
try {
  const popup = await browser.openPopup();
  await waitForPopupStatus(popup, 'Signed out');
  say('1. the extension popup is open: "Signed out"');

  const tabOpened = browser.nextPage();
  await popup.click('#sign-in');
  const tab = await tabOpened;
  const tabClosed = tab.waitForEvent('close', { timeout: 30_000 });
  await tab.waitForLoadState('domcontentloaded');
  say(`2. clicked "Sign in": the daemon opened ${new URL(tab.url()).origin}${new URL(tab.url()).pathname} in a new tab`);
  say(`3. typing the phone number ${PHONE}; the IdP sends a code by SMS`);
  await completePhoneSignIn(smsReader(), tab, PHONE);
  say('4. code entered; the IdP redirects to the daemon\'s loopback callback');
  await tabClosed;
  const shown = await waitForPopupStatus(popup, 'Signed in', 30_000);
  say(`5. the tab closed itself; the popup shows: Signed in as sub=${shown.claims.sub}, phone_number=${shown.claims.phone_number}`);

  const token = execFileSync(BIN, ['token', '--resource', API], { env: process.env, encoding: 'utf8' }).trim();
  const { payload } = decodeJwt(token);
  if (payload.sub !== shown.claims.sub || payload.aud !== API) {
    throw new Error(`the CLI's token is not for the same session: ${JSON.stringify(payload)}`);
  }
  say(`6. in the terminal, \`logto-companion token --resource ${API}\` prints a JWT of the same session: sub=${payload.sub}, aud=${payload.aud}`);
  for (const line of cli('status').stdout.trim().split('\n')) say(`   | ${line}`);

  await popup.click('#sign-out');
  await waitForPopupStatus(popup, 'Signed out', 30_000);
  const after = cli('token', '--resource', API);
  if (after.status !== 2) throw new Error(`after sign-out the CLI should say "not signed in" (exit 2), got ${after.status}: ${after.stderr}`);
  say('7. signed out from the popup: the refresh token is revoked, and the CLI now says "not signed in" (exit 2)');
} finally {
  await browser.close();
}
