// Issue 6, end to end in a real Chromium: two browser profiles of one user
// share one session through the logto-companion daemon.
//
// The tests run in order and build on each other (A signs in, B sees it,
// B signs out, ...); each one checks the state it needs first, so a failure
// says which earlier step it depends on.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  API, EXTENSION_ID, ORIGIN, PHONE, PHONE_CLAIM, World, completePhoneSignIn, decodeJwt, listeningPorts,
  popupState, recordTabsCreate, sleep, step, until, waitForPopupStatus,
} from '../lib/harness.mjs';

/** @type {World} */
let world;
/** @type {import('../lib/harness.mjs').Profile} */
let A;
/** @type {import('../lib/harness.mjs').Profile} */
let B;
let popupA;
let sub;
/** The IdP's cookies in A right before B signs out. */
let idpCookiesBefore = [];

/** Runs a test body; on failure, the message gets the daemon, host and IdP logs. */
function e2e(name, fn, timeout = 60_000) {
  test(name, { timeout }, async (t) => {
    const t0 = Date.now();
    step(`TEST ${name}`);
    try {
      await fn(t);
    } catch (error) {
      step(`FAILED ${name}: ${error.message.split('\n')[0]}`);
      error.message += `\n\n${world ? world.diagnostics() : '(no world: setup failed)'}`;
      throw error;
    }
    step(`ok ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * `logto-companion sign-out`. When `profile` was signed in, the sign-out
 * makes it end the IdP session in a background tab: wait until that tab
 * has opened and closed itself, so the next test does not take it for its
 * sign-in tab.
 */
async function cliSignOut(profile) {
  const signedIn = await profile.sw.evaluate(() => logtoClient.isAuthenticated()); // its port is open too
  const pages = [];
  const onPage = (page) => pages.push(page);
  profile.context.on('page', onPage);
  try {
    const out = world.run(['sign-out']);
    assert.equal(out.status, 0, `logto-companion sign-out: ${out.stderr}${out.stdout}`);
    if (signedIn) {
      // This only keeps the next test from taking the end-session tab for
      // its sign-in tab; that the tab opens and closes itself is asserted
      // by the signed-out-everywhere tests. A service worker that was
      // suspended may not have heard the event: then no tab comes.
      const opened = await until(() => pages.length > 0, { timeout: 5_000, message: 'an end-session tab' })
        .then(() => true, () => false);
      if (opened) {
        await until(() => pages.every((p) => p.isClosed()), {
          timeout: 15_000,
          message: () => `${profile.name}'s background end-session tab to close itself (${pages.map((p) => p.url())})`,
        });
      } else {
        step(`${profile.name} opened no end-session tab after the CLI sign-out`);
      }
    }
  } finally {
    profile.context.off('page', onPage);
  }
}

function needSignedIn() {
  assert.ok(sub, 'this test needs the sign-in of "profile A signs in" to have passed');
}

describe('logto-companion in real Chromium', () => {
  before(async () => {
    world = await World.create();
    world.install([world.userDataDir('A'), world.userDataDir('B')]);
  }, { timeout: 900_000 }); // includes cargo build, which may wait for another build's lock

  after(async () => {
    await world?.close();
  }, { timeout: 60_000 });

  e2e('profile A signs in from the popup: phone page, SMS code, tab closes, popup shows the claims', async () => {
    A = await world.launch('A');
    popupA = await A.openPopup();
    const { loads: _loads, ...fresh } = await waitForPopupStatus(popupA, 'Signed out');
    assert.deepEqual(fresh,
      { status: 'Signed out', claims: null, error: '' }, 'a fresh user starts signed out');
    await world.idp.forgetSms();

    const tabOpened = A.nextPage();
    await popupA.click('#sign-in');
    const tab = await tabOpened;
    const tabClosed = tab.waitForEvent('close', { timeout: 20_000 });
    const urls = await completePhoneSignIn(world.idp, tab);
    await tabClosed;
    step(`sign-in tab closed by the shim (it went through ${urls.map((u) => new URL(u).origin + new URL(u).pathname).join(' → ')})`);

    const shown = await waitForPopupStatus(popupA, 'Signed in');
    assert.equal(shown.error, '', 'no error in the popup');
    assert.equal(typeof shown.claims?.sub, 'string', `claims in the popup: ${JSON.stringify(shown.claims)}`);
    assert.ok(shown.claims.sub.length > 0);
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    assert.equal(shown.claims.aud, 'native-test-app');
    assert.equal(shown.claims.iss, world.idp.issuer);
    sub = shown.claims.sub;
    step(`popup A shows signed in: sub=${sub} phone_number=${shown.claims.phone_number}`);
    assert.ok(!A.context.pages().includes(tab), 'the sign-in tab is gone');
  });

  e2e('profile B, started after, is signed in as the same user without any sign-in', async () => {
    needSignedIn();
    const before = await world.idp.counters();
    B = await world.launch('B');
    const popupB = await B.openPopup();
    const shown = await waitForPopupStatus(popupB, 'Signed in');
    assert.equal(shown.claims.sub, sub, 'same sub as profile A');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    assert.equal(shown.error, '');
    const afterCounters = await world.idp.counters();
    assert.equal(afterCounters.authorization, before.authorization, 'no authorization request at the IdP');
    assert.deepEqual(afterCounters.token, before.token, 'no token request at the IdP');
    const pages = B.context.pages().map((p) => p.url());
    assert.ok(!pages.some((u) => u.startsWith(world.idp.endpoint)), `no IdP tab in B: ${pages}`);
    const state = await popupB.evaluate(() => chrome.runtime.sendMessage({ action: 'state' }));
    assert.equal(state.ok, true, JSON.stringify(state));
    assert.equal(state.result.authenticated, true, "B's service worker says signed in too");
    assert.equal(state.result.claims.sub, sub);
    await popupB.close();
  });

  e2e("getAccessToken('https://api.example.test') from B's service worker is a JWT for that audience", async () => {
    needSignedIn();
    assert.ok(B, 'needs profile B from the previous test');
    const token = await B.sw.evaluate((api) => logtoClient.getAccessToken(api), API);
    const { header, payload } = decodeJwt(token);
    step(`B's access token: alg=${header.alg} typ=${header.typ} aud=${JSON.stringify(payload.aud)} sub=${payload.sub}`);
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    assert.deepEqual(aud, [API]);
    assert.equal(payload.sub, sub);
    assert.equal(payload.iss, world.idp.issuer);
    assert.equal(header.typ, 'at+jwt');
    assert.ok(payload.exp > Date.now() / 1000, 'not expired');
    // Refresh tokens never reach the extension.
    const refused = await B.sw.evaluate(() => logtoClient.getRefreshToken().then(() => 'resolved', (e) => e.code));
    assert.equal(refused, 'forbidden');
  });

  e2e('one daemon serves both browsers, and the session lives in the keychain: it survives a daemon restart', async (t) => {
    needSignedIn();
    const pid = world.daemonPid();
    assert.ok(pid, `no daemon.pid in ${world.runtimeDir}`);
    assert.deepEqual(world.daemonProcesses(), [pid], 'exactly one daemon for the user, the one in daemon.pid');
    const st = world.status();
    const kind = { keychain: 'secret-service', memory: 'memory', keyutils: 'keyutils' }[world.store];
    assert.equal(st.store?.kind, kind, `store in use: ${JSON.stringify(st.store)}`);
    const app = st.apps?.find((a) => a.appId === 'native-test-app');
    assert.equal(app?.authenticated, true, `status: ${JSON.stringify(st.apps)}`);
    step(`status: daemon ${st.daemon.pid}, store ${JSON.stringify(st.store.description ?? st.store.kind)}, connections ${app.connections}`);
    if (world.store === 'memory') {
      t.skip('the restart half needs a persistent store: run through scripts/with-keyring');
      return;
    }
    process.kill(pid, 'SIGTERM');
    await until(() => !fs.existsSync(`/proc/${pid}`), { timeout: 5_000, message: `daemon ${pid} to exit on SIGTERM` });
    step(`daemon ${pid} stopped (daemons now: ${JSON.stringify(world.daemonProcesses())}); asking B for a token again`);
    const call = () => B.sw.evaluate((api) => logtoClient.getAccessToken(api).then(
      (token) => ({ token }), (e) => ({ code: e.code, message: e.message })), API);
    const t0 = Date.now();
    let r = await call();
    const first = r.code ?? 'token';
    if (r.code === 'daemon_unavailable') r = await call(); // documented: the next call reconnects
    step(`B's first call after the restart: ${first}; token after ${Date.now() - t0} ms`);
    assert.ok(r.token, `after the restart: ${JSON.stringify(r)}`);
    assert.equal(decodeJwt(r.token).payload.sub, sub);
    const restarted = world.daemonPid();
    assert.ok(restarted && restarted !== pid, `a new daemon (${restarted}, was ${pid})`);
    assert.equal((await popupState(popupA)).status, 'Signed in', "A's popup still signed in");
  });

  e2e("sign-out in B: A's onSessionChange fires, A's popup shows signed out, the refresh token is dead at the IdP", async () => {
    needSignedIn();
    assert.ok(B && popupA, 'needs profiles A and B from the previous tests');
    const grantsBefore = (await world.idp.grants()).filter((g) => g.accountId === sub);
    assert.ok(grantsBefore.some((g) => g.active > 0), `a live grant for ${sub} before sign-out: ${JSON.stringify(grantsBefore)}`);
    await A.sw.evaluate(() => {
      globalThis.e2eChanges = [];
      logtoClient.onSessionChange((change) => globalThis.e2eChanges.push(change));
    });
    assert.equal((await popupState(popupA)).status, 'Signed in');

    // What A's browser opens while B signs out: the end-session page, once,
    // although two of A's contexts (popup and service worker) hear of it.
    const pagesA = [];
    const onPageA = (page) => pagesA.push(page);
    A.context.on('page', onPageA);
    await A.sw.evaluate(recordTabsCreate);
    await popupA.evaluate(recordTabsCreate);
    idpCookiesBefore = await A.context.cookies(world.idp.endpoint);

    const popupB = await B.openPopup();
    await waitForPopupStatus(popupB, 'Signed in');
    await popupB.click('#sign-out');
    const shownB = await waitForPopupStatus(popupB, 'Signed out');
    assert.equal(shownB.error, '', 'sign-out reported no error in B');
    step('popup B shows signed out');

    const changes = await until(async () => {
      const c = await A.sw.evaluate(() => globalThis.e2eChanges);
      return c.some((x) => x.authenticated === false) && c;
    }, { timeout: 10_000, message: "A's onSessionChange to report authenticated: false" });
    step(`A's onSessionChange: ${JSON.stringify(changes)}`);
    const shownA = await waitForPopupStatus(popupA, 'Signed out');
    assert.equal(shownA.claims, null, "A's popup no longer shows claims");

    const grants = await until(async () => {
      const g = (await world.idp.grants()).filter((x) => x.accountId === sub);
      return g.every((x) => x.active === 0) && g;
    }, { timeout: 5_000, message: (g) => `every grant of ${sub} to be inactive (${JSON.stringify(g)})` });
    assert.ok(grants.length >= 1);
    step(`IdP grants of ${sub}: ${JSON.stringify(grants.map((g) => g.active))}`);
    const code = await A.sw.evaluate((api) => logtoClient.getAccessToken(api).then(() => 'resolved', (e) => e.code), API);
    assert.equal(code, 'not_authenticated', 'A gets no token any more');
    // The end-session tab B opened in the background has closed itself.
    await until(() => !B.context.pages().some((p) => p.url().startsWith(world.idp.endpoint)),
      { timeout: 12_000, message: () => `B's end-session tab to close (${B.context.pages().map((p) => p.url())})` });
    await popupB.close();

    // Signed out everywhere: A, which did not sign out, ended the IdP's
    // session in its own browser too, in a background tab that closed itself.
    const created = () => Promise.all([A.sw.evaluate(() => globalThis.e2eCreated), popupA.evaluate(() => globalThis.e2eCreated)])
      .then(([sw, popup]) => [...sw.map((c) => ({ ...c, by: 'service worker' })), ...popup.map((c) => ({ ...c, by: 'popup' }))]);
    const opened = await until(async () => { const c = await created(); return c.length > 0 && c; },
      { timeout: 10_000, message: "A to open the IdP's end-session page" });
    await sleep(1_000); // a second tab, if any, would be opened by now (a page yields 300 ms)
    const all = await created();
    assert.equal(all.length, 1, `one tab opened in A by its popup and service worker together: ${JSON.stringify(all.map((c) => [c.by, c.active]))}`);
    const [visit] = opened;
    assert.equal(visit.active, false, 'in the background');
    const discovery = await (await fetch(`${world.idp.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(visit.url.split('?')[0], discovery.end_session_endpoint, "the IdP's end_session_endpoint");
    const hint = new URL(visit.url).searchParams.get('id_token_hint');
    assert.ok(hint && decodeJwt(hint).payload.sub === sub, "A's end-session URL carries the session's ID token as id_token_hint");
    step(`A's ${visit.by} opened the end-session page in the background`);
    await until(() => {
      const tabs = pagesA.filter((p) => !p.url().startsWith(ORIGIN));
      return tabs.length === 1 && tabs.every((p) => p.isClosed());
    }, { timeout: 12_000, message: () => `A's end-session tab to close itself (${pagesA.map((p) => `${p.url()}${p.isClosed() ? ' closed' : ''}`)})` });
    A.context.off('page', onPageA);
    const cookiesAfter = await A.context.cookies(world.idp.endpoint);
    step(`A's background end-session tab opened and closed itself; IdP cookies before: ${idpCookiesBefore.map((c) => c.name)}, after: ${cookiesAfter.map((c) => c.name)}`);
    const kept = idpCookiesBefore.filter((c) => cookiesAfter.some((d) => d.name === c.name && d.value === c.value));
    assert.deepEqual(kept.map((c) => c.name), [], "the IdP's session cookies in A were ended, not kept as they were");
  });

  e2e('signed out everywhere: Sign in in A (signed out from B, IdP cookies not cleared) asks for the phone and the code again', async () => {
    needSignedIn();
    assert.ok(A && popupA, 'needs profile A and its popup');
    assert.ok(idpCookiesBefore.length > 0, 'A had the IdP session cookie from its sign-in');
    await waitForPopupStatus(popupA, 'Signed out');
    await world.idp.forgetSms();
    // No clearCookies here: whatever A's browser kept from its own sign-in is still there.
    const tabOpened = A.nextPage();
    await popupA.click('#sign-in');
    const tab = await tabOpened;
    const tabClosed = tab.waitForEvent('close', { timeout: 30_000 });
    // Signed back in without credentials would be: the tab goes straight to
    // the daemon's callback and closes, with no phone page.
    const first = await Promise.race([
      tab.waitForSelector('form#phone-form', { timeout: 15_000 }).then(() => 'phone page'),
      tabClosed.then(() => `closed at once (signed in without credentials, last at ${tab.url()})`),
    ]).catch((e) => `neither: ${e.message.split('\n')[0]} at ${tab.url()}`);
    assert.equal(first, 'phone page', 'the IdP asks for the phone number again');
    step('A\'s sign-in after the sign-out from B shows the IdP\'s phone page');
    const urls = await completePhoneSignIn(world.idp, tab);
    await tabClosed;
    assert.ok(urls.some((u) => u.startsWith(`${world.idp.endpoint}/interaction/`)), `went through the IdP's interaction (${urls})`);
    const shown = await waitForPopupStatus(popupA, 'Signed in');
    assert.equal(shown.claims.sub, sub);
    step('phone and SMS code entered again; A signed in');

    // Back to signed out for the next tests, from A's own button this time.
    await popupA.click('#sign-out');
    await waitForPopupStatus(popupA, 'Signed out');
    await until(() => !A.context.pages().some((p) => p.url().startsWith(world.idp.endpoint)),
      { timeout: 12_000, message: () => `A's own end-session tab to close (${A.context.pages().map((p) => p.url())})` });
    // B heard that sign-out too: its background end-session tab closes itself before the next test.
    await until(() => !B.context.pages().some((p) => p.url().startsWith(world.idp.endpoint)),
      { timeout: 12_000, message: () => `B's end-session tab to close (${B.context.pages().map((p) => p.url())})` });
  }, 90_000);

  e2e('a popup closed in the middle of sign-in: the flow finishes and the reopened popup shows signed in', async () => {
    assert.ok(B, 'needs profile B');
    // A fresh IdP login (no SSO cookie), so the phone page really shows.
    await B.context.clearCookies();
    await world.idp.forgetSms();
    const popupB = await B.openPopup();
    await waitForPopupStatus(popupB, 'Signed out');
    const tabOpened = B.nextPage();
    await popupB.click('#sign-in');
    const tab = await tabOpened;
    await tab.waitForSelector('form#phone-form', { timeout: 15_000 });
    await popupB.close();
    step('popup B closed while the sign-in tab waits for the phone number');
    const tabClosed = tab.waitForEvent('close', { timeout: 20_000 });
    await completePhoneSignIn(world.idp, tab);
    await tabClosed;
    step('sign-in tab closed');

    const reopened = await B.openPopup();
    const shown = await waitForPopupStatus(reopened, 'Signed in');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    assert.equal(shown.claims.sub, sub ?? shown.claims.sub);
    assert.equal(shown.error, '');
    sub ??= shown.claims.sub;
    // And the other browser hears about it.
    if (popupA) await waitForPopupStatus(popupA, 'Signed in');
    await reopened.close();
  });

  e2e("sign-in started by the popup's own LogtoClient survives the popup closing (the flow runs in the daemon)", async () => {
    assert.ok(A, 'needs profile A');
    // Signed out first, from the CLI (the same user's daemon).
    await cliSignOut(A);
    if (popupA) await waitForPopupStatus(popupA, 'Signed out');
    await A.context.clearCookies();
    await world.idp.forgetSms();

    const popup = await A.openPopup();
    const tabOpened = A.nextPage();
    // Not through the service worker: this page's client asks the daemon itself.
    await popup.evaluate(async () => {
      const { default: LogtoClient } = await import('./vendor/extension-shim/index.js');
      const { default: config } = await import('./config.js');
      globalThis.e2eClient = new LogtoClient(config);
      globalThis.e2eClient.signIn({ loginHint: '+15551234567' }).catch(() => {});
    });
    const tab = await tabOpened;
    await tab.waitForSelector('form#phone-form', { timeout: 15_000 });
    await popup.close();
    step('the page that called signIn is closed (its native port and host are gone)');
    await completePhoneSignIn(world.idp, tab);
    // Nobody is left to close the tab: it stays on the daemon's callback page.
    await tab.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback/, { timeout: 15_000 });
    const body = await tab.textContent('body');
    step(`callback page says: ${body.trim().replace(/\s+/g, ' ').slice(0, 80)}`);
    assert.match(body, /signed in/i);
    await tab.close();

    const reopened = await A.openPopup();
    const shown = await waitForPopupStatus(reopened, 'Signed in');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    if (sub) assert.equal(shown.claims.sub, sub);
    await reopened.close();
  });

  e2e('closing the sign-in tab: signIn rejects user_cancelled within a second, the loopback port is closed; signing in again opens a tab again', async () => {
    assert.ok(A, 'needs profile A');
    await cliSignOut(A);
    await A.context.clearCookies();
    await world.idp.forgetSms();
    const daemon = world.daemonPid();
    assert.ok(daemon, 'a daemon runs');
    const portsBefore = listeningPorts(daemon);
    {
      const tabOpened = A.nextPage();
      // The URL the shim opens (the daemon's authorization URL): seen by wrapping tabs.create.
      await A.sw.evaluate(() => {
        globalThis.e2eOpened = [];
        if (!globalThis.e2eTabsWrapped) {
          const create = chrome.tabs.create.bind(chrome.tabs);
          chrome.tabs.create = (props) => { globalThis.e2eOpened.push(props.url); return create(props); };
          globalThis.e2eTabsWrapped = true;
        }
        globalThis.e2eSignIn = logtoClient.signIn().then(
          () => ({ resolved: true, at: Date.now() }), (e) => ({ code: e.code, message: e.message, at: Date.now() }));
      });
      const tab = await tabOpened;
      await tab.waitForSelector('form#phone-form', { timeout: 15_000 });
      const [authUrl] = await A.sw.evaluate(() => globalThis.e2eOpened);
      // The redirect URI is in the URL, or (the IdP offers PAR) was pushed
      // and only `request_uri` is: then the port is the one the daemon opened.
      const redirect = new URL(authUrl).searchParams.get('redirect_uri');
      const port = redirect ? Number(new URL(redirect).port)
        : (await until(() => { const p = listeningPorts(daemon).filter((x) => !portsBefore.includes(x)); return p.length === 1 && p; },
          { timeout: 5_000, message: 'the daemon to listen on one loopback redirect port' }))[0];
      assert.ok(port > 0, `a loopback redirect port for ${authUrl}`);
      assert.equal(await portOpen(port), true, `the daemon listens on 127.0.0.1:${port} during the flow`);
      const closedAt = Date.now();
      await tab.close();
      step(`sign-in tab closed by the user (loopback port ${port})`);
      const result = await A.sw.evaluate(() => globalThis.e2eSignIn);
      step(`signIn settled ${result.at - closedAt} ms after the tab closed: ${JSON.stringify(result)}`);
      assert.equal(result.code, 'user_cancelled', JSON.stringify(result));
      assert.ok(result.at - closedAt < 1000, `within a second (${result.at - closedAt} ms)`);
      await until(async () => !(await portOpen(port)), { timeout: 1000, message: `127.0.0.1:${port} to be closed` });

      // The second click: a new flow, a tab again, and it signs in.
      const again = A.nextPage();
      await A.sw.evaluate(() => {
        globalThis.e2eSignIn = logtoClient.signIn().then(() => ({ resolved: true }), (e) => ({ code: e.code, message: e.message }));
      });
      const tab2 = await again;
      const tab2Closed = tab2.waitForEvent('close', { timeout: 20_000 });
      await completePhoneSignIn(world.idp, tab2);
      await tab2Closed;
      assert.deepEqual(await A.sw.evaluate(() => globalThis.e2eSignIn), { resolved: true });
      assert.equal(await A.sw.evaluate(() => logtoClient.isAuthenticated()), true);
    }
  });

  e2e('companion not installed: isAuthenticated() resolves false, getCompanionStatus() and the popup say to run the installer, signIn rejects with it', async () => {
    const C = await world.launch('C-no-host');
    const popup = await C.openPopup();
    const shown = await popupState(popup);
    step(`popup C shows: ${JSON.stringify(shown)}`);
    assert.equal(shown.status, 'Signed out', 'the tutorial popup renders: isAuthenticated() resolved');
    assert.match(shown.error, /^host_not_found: /);
    assert.match(shown.error, /logto-companion install --endpoint \S+ --app-id native-test-app --extension-id [a-p]{32}/);
    assert.ok(shown.error.includes(`--extension-id ${EXTENSION_ID}`), 'names this extension id');
    assert.ok(shown.error.includes(world.idp.endpoint), 'names the endpoint');
    const fromSw = await C.sw.evaluate(async () => ({
      authenticated: await logtoClient.isAuthenticated(),
      idToken: await logtoClient.getIdToken(),
      status: await logtoClient.getCompanionStatus(),
    }));
    assert.equal(fromSw.authenticated, false, JSON.stringify(fromSw));
    assert.equal(fromSw.idToken, null);
    assert.equal(fromSw.status.ok, false);
    assert.equal(fromSw.status.installed, false);
    assert.equal(fromSw.status.error.code, 'host_not_found');
    assert.match(fromSw.status.error.message, /Specified native messaging host not found/);
    assert.match(fromSw.status.error.message, /Install it with: logto-companion install /);
    const signIn = await C.sw.evaluate(() => logtoClient.signIn().then(
      () => ({ resolved: true }), (e) => ({ code: e.code, message: e.message, name: e.name })));
    assert.equal(signIn.code, 'host_not_found', JSON.stringify(signIn));
    assert.equal(signIn.name, 'LogtoClientError');
    assert.match(signIn.message, /Install it with: logto-companion install /);

    // Running the installer fixes it without restarting the browser.
    world.install([C.userDataDir]);
    // Within the shim's backoff (100 ms doubling, max 5 s) the next call tries again.
    const fixed = await until(async () => {
      const st = await C.sw.evaluate(() => logtoClient.getCompanionStatus());
      return st.ok && st;
    }, { timeout: 10_000, interval: 250, message: 'getCompanionStatus() to be ok after install' });
    assert.equal(fixed.registered, true);
    assert.equal(typeof fixed.version, 'string');
    await C.close();
  });
});
