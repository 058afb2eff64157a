// Issue 10, end to end in a real Firefox (Debian firefox-esr, headless,
// geckodriver) and a real Chromium (playwright-core) of ONE user: one
// scratch HOME / XDG_*, one daemon, one session, the real Secret Service
// when run through scripts/with-keyring.
//
// The tests run in order and build on each other (Firefox signs in,
// Chromium sees it, Firefox signs out, ...); each checks the state it needs
// first, so a failure says which earlier step it depends on.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  API, APP_ID, PHONE_CLAIM, World, completePhoneSignIn, listeningPorts, recordTabsCreate, sleep, step, until, waitForPopupStatus,
} from '../../e2e/lib/harness.mjs';
import { Firefox, buildFirefoxExtension, completePhoneSignInFirefox as completePhoneSignInFirefoxIn } from '../lib/firefox.mjs';

/** The example's Firefox add-on id (extension-shim/example/build.mjs --firefox). */
const FIREFOX_ID = 'example@logto-companion.test';
/** A second add-on, built from the same sources, that the host manifest does not allow. */
const OTHER_ID = 'other@logto-companion.test';
// Fixed moz-extension:// UUIDs (pref extensions.webextensions.uuids).
const UUID = '3f6d1c2a-5b7e-4c8d-9e0f-a1b2c3d4e5f6';
const OTHER_UUID = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const POPUP = `moz-extension://${UUID}/popup.html`;
const OTHER_POPUP = `moz-extension://${OTHER_UUID}/popup.html`;

/** @type {World} */
let world;
let addons;
let ffManifest;
/** @type {Firefox} */
let F;
let popupF; // window handle of the example's popup page (in a tab) in F
/** @type {import('../../e2e/lib/harness.mjs').Profile} */
let C;
let popupC;
let sub;

async function diagnostics() {
  const parts = [world ? world.diagnostics() : '(no world: setup failed)'];
  if (F && !F.closed) {
    parts.push(`--- geckodriver/Firefox log of ${F.name} (tail)`, F.logTail(20));
    const msgs = await F.consoleMessages().catch((e) => [`(browser console unreadable: ${e.message})`]);
    parts.push('--- Firefox browser console (native messaging)', msgs.join('\n') || '(nothing)');
  }
  return parts.join('\n');
}

function e2e(name, fn, timeout = 60_000) {
  test(name, { timeout }, async (t) => {
    const t0 = Date.now();
    step(`TEST ${name}`);
    try {
      await fn(t);
    } catch (error) {
      step(`FAILED ${name}: ${error.message.split('\n')[0]}`);
      error.message += `\n\n${await diagnostics()}`;
      throw error;
    }
    step(`ok ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  });
}

// ------------------------------------------------------------ Firefox popup

/** What the example's popup page (in the current Firefox tab) shows. */
const readPopup = () => {
  const text = (id) => document.getElementById(id)?.textContent ?? '';
  let claims = null;
  try { claims = text('claims') ? JSON.parse(text('claims')) : null; } catch { claims = { unparsable: text('claims') }; }
  return { status: text('status'), claims, error: text('error'), loads: Number(document.body?.dataset.loaded ?? 0) };
};

/** Switches to `handle` and waits until its popup shows `status` (fails at once on an error). */
async function waitForFirefoxPopup(ff, handle, status, timeout = 15_000) {
  await ff.switchTo(handle);
  let shown;
  try {
    await until(async () => {
      shown = await ff.run(readPopup);
      if (shown.error) throw Object.assign(new Error('error shown'), { stop: true });
      return shown.loads >= 1 && shown.status === status && (status !== 'Signed in' || shown.claims);
    }, { timeout, message: `popup to show "${status}"` });
  } catch (e) {
    throw new Error(`Firefox popup did not show "${status}" (${shown?.error ? 'it shows an error' : e.message}): ${JSON.stringify(shown)}`);
  }
  const { loads: _l, ...rest } = shown;
  return rest;
}

/** Opens the example's popup page in a new Firefox tab; returns its handle once it has loaded its state. */
async function openFirefoxPopup(ff, url = POPUP) {
  const handle = await ff.openTab(url);
  await ff.waitFor(() => Number(document.body?.dataset.loaded ?? 0) >= 1, { message: `${url} to load its state` });
  return handle;
}

/**
 * In Firefox's background page (an MV3 event page: `runtime.getBackgroundPage`
 * works), record every `onSessionChange` of the extension's own LogtoClient.
 */
async function listenInFirefoxBackground(ff) {
  await ff.run(async () => {
    const bg = await browser.runtime.getBackgroundPage();
    bg.e2eChanges = [];
    bg.logtoClient.onSessionChange((change) => bg.e2eChanges.push(JSON.parse(JSON.stringify(change))));
    // A request on the same port: resolves once the client is connected and
    // subscribed (a change before that is not a change to this client).
    await bg.logtoClient.isAuthenticated();
  });
}
const firefoxChanges = (ff) => ff.run(async () => (await browser.runtime.getBackgroundPage()).e2eChanges);

const completePhoneSignInFirefox = (ff, handle) => completePhoneSignInFirefoxIn(ff, world.idp, handle);

function launchFirefox(name) {
  return Firefox.launch({ name, env: world.env, addons, logDir: path.join(world.root, 'logs') });
}

const mozManifest = () => path.join(world.env.HOME, '.mozilla', 'native-messaging-hosts', 'logto_companion.json');

// ------------------------------------------------------------ the tests

describe('logto-companion in real Firefox, one session with Chromium', () => {
  before(async () => {
    world = await World.create();
    // Chromium profile C: the harness installs the host for its --user-data-dir.
    world.install([world.userDataDir('C')]);
    // Firefox: the example built with --firefox, and a copy under another add-on id.
    const ext = path.join(world.root, 'extension-firefox');
    const built = buildFirefoxExtension(ext, { endpoint: world.idp.endpoint, appId: APP_ID, api: API });
    assert.equal(built.manifest.browser_specific_settings?.gecko?.id, FIREFOX_ID);
    assert.ok(Array.isArray(built.manifest.background?.scripts) && !built.manifest.background.service_worker,
      `Firefox build has background.scripts: ${JSON.stringify(built.manifest.background)}`);
    assert.equal(built.manifest.key, undefined, 'no Chromium key in the Firefox build');
    const other = path.join(world.root, 'extension-firefox-other');
    const o = buildFirefoxExtension(other, { endpoint: world.idp.endpoint, appId: APP_ID, api: API });
    o.manifest.browser_specific_settings.gecko.id = OTHER_ID;
    fs.writeFileSync(path.join(other, 'manifest.json'), JSON.stringify(o.manifest, null, 2));
    addons = [{ dir: ext, id: FIREFOX_ID, uuid: UUID }, { dir: other, id: OTHER_ID, uuid: OTHER_UUID }];

    // The installer, as a user would run it for Firefox.
    const args = ['install', '--endpoint', world.idp.endpoint, '--app-id', APP_ID, '--firefox-id', FIREFOX_ID, '--browser', 'firefox'];
    const r = world.run(args);
    assert.equal(r.status, 0, `logto-companion ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    ffManifest = JSON.parse(fs.readFileSync(mozManifest(), 'utf8'));
    assert.deepEqual(ffManifest, { ...ffManifest, name: 'logto_companion', type: 'stdio', path: world.bin, allowed_extensions: [FIREFOX_ID] });
    assert.ok(!fs.existsSync(path.join(world.env.XDG_CONFIG_HOME, 'mozilla', 'native-messaging-hosts')), 'nothing written under $XDG_CONFIG_HOME/mozilla (Firefox does not read it)');
    const config = fs.readFileSync(world.configPath, 'utf8');
    assert.match(config, new RegExp(`"${FIREFOX_ID.replace(/\./g, '\\.')}"`), 'the add-on id is in the app\'s allowed_origins');
    step(`Firefox host manifest written by \`logto-companion install --firefox-id … --browser firefox\`: ${mozManifest()}`);
  }, { timeout: 900_000 }); // includes cargo build, which may wait for another build's lock

  after(async () => {
    await F?.close();
    await world?.close();
  }, { timeout: 60_000 });

  e2e('Firefox signs in by phone: IdP page in a Firefox tab, SMS code, tab closes, popup shows the claims', async () => {
    F = await launchFirefox('F1');
    popupF = await openFirefoxPopup(F);
    const fresh = await waitForFirefoxPopup(F, popupF, 'Signed out');
    assert.deepEqual(fresh, { status: 'Signed out', claims: null, error: '' }, 'a fresh user starts signed out');

    // Firefox started the host with its own argv: <manifest path> <add-on id>.
    const hosts = await until(() => { const h = F.hostPids(world.bin); return h.length && h; },
      { timeout: 5_000, message: 'a host process started by Firefox' });
    assert.deepEqual(hosts[0].argv.slice(1).filter(Boolean), [mozManifest(), FIREFOX_ID], 'host argv from Firefox');

    await world.idp.forgetSms();
    const known = await F.handles();
    await F.click('#sign-in');
    const tab = await F.newSignInWindow(known);
    await completePhoneSignInFirefox(F, tab);
    await until(async () => !(await F.handles()).includes(tab), { timeout: 20_000, message: 'the sign-in tab to close itself' });
    step('Firefox sign-in tab closed by the shim');

    const shown = await waitForFirefoxPopup(F, popupF, 'Signed in');
    assert.equal(shown.error, '');
    assert.equal(typeof shown.claims?.sub, 'string');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    assert.equal(shown.claims.aud, APP_ID);
    assert.equal(shown.claims.iss, world.idp.issuer);
    sub = shown.claims.sub;
    const state = await F.run(() => browser.runtime.sendMessage({ action: 'state' }));
    assert.equal(state?.result?.authenticated, true, `background says signed in: ${JSON.stringify(state)}`);
    assert.equal(state.result.claims.sub, sub);
    step(`Firefox popup shows signed in: sub=${sub}`);
  }, 90_000);

  e2e('Chromium, started after, is signed in as the same user without any sign-in', async () => {
    assert.ok(sub, 'needs the Firefox sign-in of the previous test');
    const before = await world.idp.counters();
    C = await world.launch('C');
    popupC = await C.openPopup();
    const shown = await waitForPopupStatus(popupC, 'Signed in');
    assert.equal(shown.claims.sub, sub, 'same sub as in Firefox');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    const now = await world.idp.counters();
    assert.equal(now.authorization, before.authorization, 'no authorization request at the IdP');
    assert.deepEqual(now.token, before.token, 'no token request at the IdP');
    assert.deepEqual(world.daemonProcesses(), [world.daemonPid()], 'one daemon serves both engines');
    const st = world.status();
    const kind = { keychain: 'secret-service', memory: 'memory', keyutils: 'keyutils' }[world.store];
    assert.equal(st.store?.kind, kind, `store in use: ${JSON.stringify(st.store)}`);
    step(`one daemon (${st.daemon?.pid ?? st.pid}), store ${JSON.stringify(st.store?.description ?? st.store?.kind)}`);
  });

  e2e("sign-out in Firefox: Chromium's onSessionChange fires, its popup shows signed out, the grant is dead", async () => {
    assert.ok(sub && C && F, 'needs Firefox and Chromium signed in');
    await C.sw.evaluate(() => {
      globalThis.e2eChanges = [];
      logtoClient.onSessionChange((change) => globalThis.e2eChanges.push(change));
      return logtoClient.isAuthenticated(); // connected and subscribed before the sign-out
    });
    await F.switchTo(popupF);
    const known = await F.handles();
    await F.click('#sign-out');
    const shownF = await waitForFirefoxPopup(F, popupF, 'Signed out');
    assert.equal(shownF.error, '', 'sign-out reported no error in Firefox');

    const changes = await until(async () => {
      const c = await C.sw.evaluate(() => globalThis.e2eChanges);
      return c.some((x) => x.authenticated === false) && c;
    }, { timeout: 10_000, message: "Chromium's onSessionChange to report authenticated: false" });
    step(`Chromium's onSessionChange: ${JSON.stringify(changes)}`);
    assert.equal((await waitForPopupStatus(popupC, 'Signed out')).claims, null);
    const grants = await until(async () => {
      const g = (await world.idp.grants()).filter((x) => x.accountId === sub);
      return g.length && g.every((x) => x.active === 0) && g;
    }, { timeout: 5_000, message: (g) => `every grant of ${sub} to be inactive (${JSON.stringify(g)})` });
    assert.ok(grants.length >= 1);
    // The end-session tab Firefox opened in the background has closed itself.
    await until(async () => (await F.handles()).length <= known.length,
      { timeout: 12_000, message: "Firefox's end-session tab to close" });
  });

  e2e('sign-in in Chromium: the open Firefox hears it, and a Firefox started after is signed in without signing in', async () => {
    assert.ok(C && F && popupC, 'needs both browsers');
    await C.context.clearCookies();
    await world.idp.forgetSms();
    const tabOpened = C.nextPage();
    await popupC.click('#sign-in');
    const tab = await tabOpened;
    const tabClosed = tab.waitForEvent('close', { timeout: 20_000 });
    await completePhoneSignIn(world.idp, tab);
    await tabClosed;
    const shownC = await waitForPopupStatus(popupC, 'Signed in');
    assert.equal(shownC.claims.sub, sub, 'same user as before');
    // The Firefox popup that is open hears the change (its onSessionChange).
    await waitForFirefoxPopup(F, popupF, 'Signed in', 10_000);
    await F.close();
    F = null;

    const before = await world.idp.counters();
    F = await launchFirefox('F2');
    popupF = await openFirefoxPopup(F);
    const shown = await waitForFirefoxPopup(F, popupF, 'Signed in');
    assert.equal(shown.claims.sub, sub, 'same sub as in Chromium');
    assert.equal(shown.claims.phone_number, PHONE_CLAIM);
    assert.equal(shown.error, '');
    const now = await world.idp.counters();
    assert.equal(now.authorization, before.authorization, 'no authorization request at the IdP');
    assert.deepEqual(now.token, before.token, 'no token request at the IdP');
    assert.equal((await F.handles()).length, 2, 'no sign-in tab in Firefox (start tab + popup only)');
  }, 90_000);

  e2e("signed out everywhere across engines: sign-out in Firefox ends Chromium's IdP session (background tab, closes itself); Sign in in Chromium asks for the phone again", async () => {
    assert.ok(C && F && popupC && popupF, 'needs both browsers signed in (Chromium through the IdP)');
    assert.ok((await C.context.cookies(world.idp.endpoint)).length > 0, "Chromium holds the IdP's session cookie from its sign-in");
    await C.sw.evaluate(() => logtoClient.isAuthenticated()); // C's service worker is connected too
    const pagesC = [];
    const onPage = (page) => pagesC.push(page);
    C.context.on('page', onPage);
    await C.sw.evaluate(recordTabsCreate);
    await popupC.evaluate(recordTabsCreate);
    const created = () => Promise.all([C.sw.evaluate(() => globalThis.e2eCreated), popupC.evaluate(() => globalThis.e2eCreated)])
      .then(([sw, popup]) => [...sw, ...popup]);
    try {
      await F.switchTo(popupF);
      const known = await F.handles();
      await F.click('#sign-out');
      await waitForFirefoxPopup(F, popupF, 'Signed out');
      await waitForPopupStatus(popupC, 'Signed out');
      const [visit] = await until(async () => { const c = await created(); return c.length > 0 && c; },
        { timeout: 10_000, message: "Chromium to open the IdP's end-session page" });
      assert.equal(visit.active, false, 'in the background');
      assert.match(visit.url, /[?&]id_token_hint=/, 'with id_token_hint');
      await sleep(1_000); // a second one, if any, would be opened by now
      assert.equal((await created()).length, 1, 'one end-session tab for its popup and service worker');
      const tabs = await until(() => {
        const t = pagesC.filter((p) => !p.url().startsWith('chrome-extension://'));
        return t.length > 0 && t.every((p) => p.isClosed()) && t;
      }, { timeout: 12_000, message: () => `Chromium's end-session tab to close itself (${pagesC.map((p) => p.url())})` });
      assert.equal(tabs.length, 1, "one end-session tab in Chromium (its popup and service worker both heard the sign-out)");
      await until(async () => (await F.handles()).length <= known.length,
        { timeout: 12_000, message: "Firefox's own end-session tab to close" });
      step("Chromium's background end-session tab opened and closed itself");
    } finally {
      C.context.off('page', onPage);
    }

    // No clearCookies: Chromium's sign-in must not complete on its old IdP session.
    await world.idp.forgetSms();
    const tabOpened = C.nextPage();
    await popupC.click('#sign-in');
    const tab = await tabOpened;
    const tabClosed = tab.waitForEvent('close', { timeout: 30_000 });
    const first = await Promise.race([
      tab.waitForSelector('form#phone-form', { timeout: 15_000 }).then(() => 'phone page'),
      tabClosed.then(() => 'closed at once (signed in without credentials)'),
    ]).catch((e) => `neither: ${e.message.split('\n')[0]} at ${tab.url()}`);
    assert.equal(first, 'phone page', 'the IdP asks Chromium for the phone number again');
    await completePhoneSignIn(world.idp, tab);
    await tabClosed;
    assert.equal((await waitForPopupStatus(popupC, 'Signed in')).claims.sub, sub);
    await waitForFirefoxPopup(F, popupF, 'Signed in', 10_000);
    step('Chromium asked for the phone and code again; both engines signed in');
  }, 90_000);

  e2e("sign-out in Chromium: Firefox's onSessionChange fires and its popup shows signed out", async () => {
    assert.ok(C && F && popupC && popupF, 'needs both browsers signed in');
    await F.switchTo(popupF);
    await listenInFirefoxBackground(F);
    const knownF = await F.handles();
    await popupC.click('#sign-out');
    await waitForPopupStatus(popupC, 'Signed out');
    const changes = await until(async () => {
      const c = await firefoxChanges(F);
      return c?.some((x) => x.authenticated === false) && c;
    }, { timeout: 10_000, message: "Firefox's onSessionChange to report authenticated: false" });
    step(`Firefox background's onSessionChange: ${JSON.stringify(changes)}`);
    const shown = await waitForFirefoxPopup(F, popupF, 'Signed out');
    assert.equal(shown.claims, null);
    const code = await F.run((api) => browser.runtime.sendMessage({ action: 'getAccessToken', resource: api }), API);
    assert.equal(code?.error?.code, 'not_authenticated', `Firefox gets no token any more: ${JSON.stringify(code)}`);
    // Firefox, which did not sign out, ended the IdP session in a background tab that closed itself.
    await until(async () => (await F.handles()).length <= knownF.length,
      { timeout: 12_000, message: "Firefox's background end-session tab to close itself" });
  });

  e2e('closing the Firefox sign-in tab: signIn rejects user_cancelled within a second, the loopback port is closed; signing in again opens a tab again', async () => {
    assert.ok(F && popupF, 'needs Firefox');
    const out = world.run(['sign-out']);
    assert.equal(out.status, 0, `logto-companion sign-out: ${out.stderr}${out.stdout}`);
    await world.idp.forgetSms();
    const daemon = world.daemonPid();
    assert.ok(daemon, 'a daemon runs');
    const portsBefore = listeningPorts(daemon);
    await F.switchTo(popupF);
    const startSignIn = () => F.run(async () => {
      const bg = await browser.runtime.getBackgroundPage();
      bg.e2eSignIn = bg.logtoClient.signIn().then(
        () => ({ resolved: true, at: Date.now() }), (e) => ({ code: e.code, message: e.message, at: Date.now() }));
    });
    const signInResult = () => F.run(async () => JSON.parse(JSON.stringify(await (await browser.runtime.getBackgroundPage()).e2eSignIn)));
    const known = await F.handles();
    await startSignIn();
    const tab = await F.newSignInWindow(known);
    await F.switchTo(tab);
    await F.waitFor(() => !!document.querySelector('form#phone-form'), { message: 'the IdP phone form in the sign-in tab' });
    const [port] = await until(() => { const p = listeningPorts(daemon).filter((x) => !portsBefore.includes(x)); return p.length && p; },
      { timeout: 5_000, message: 'the daemon to listen on a loopback redirect port' });
    step(`Firefox sign-in tab on the phone page; the daemon listens on 127.0.0.1:${port}`);
    const closedAt = Date.now();
    await F.closeWindow();
    await F.switchTo(popupF);
    const result = await until(async () => { const r = await signInResult(); return r && r; }, { timeout: 5_000, message: 'signIn to settle' });
    step(`signIn settled ${result.at - closedAt} ms after the tab closed: ${JSON.stringify(result)}`);
    assert.equal(result.code, 'user_cancelled', JSON.stringify(result));
    assert.ok(result.at - closedAt < 1000, `within a second (${result.at - closedAt} ms)`);
    await until(() => !listeningPorts(daemon).includes(port), { timeout: 1000, message: `127.0.0.1:${port} to be closed` });

    // The second click: a tab again, and it signs in.
    const known2 = await F.handles();
    await startSignIn();
    const tab2 = await F.newSignInWindow(known2);
    await completePhoneSignInFirefox(F, tab2);
    await until(async () => !(await F.handles()).includes(tab2), { timeout: 20_000, message: 'the second sign-in tab to close itself' });
    await F.switchTo(popupF);
    assert.deepEqual((await signInResult()).resolved, true);
    await waitForFirefoxPopup(F, popupF, 'Signed in');
  }, 90_000);

  e2e('an add-on the Firefox host does not allow: a clear error (both causes + installer command), the daemon checks the id, the command fixes it', async () => {
    assert.ok(F, 'needs Firefox');
    const handle = await openFirefoxPopup(F, OTHER_POPUP);
    const shown = await F.run(readPopup);
    step(`popup of ${OTHER_ID} shows: ${shown.error}`);
    assert.match(shown.error, /^host_not_found: /);
    assert.match(shown.error, /No such native application logto_companion/, "Firefox's own text is kept");
    assert.match(shown.error, /manifest is missing/i, 'names the first cause');
    assert.match(shown.error, /~\/\.mozilla\/native-messaging-hosts\/logto_companion\.json/);
    assert.match(shown.error, /not listed in its allowed_extensions/, 'names the second cause');
    assert.ok(shown.error.includes(OTHER_ID), 'names this add-on id');
    const cmd = /logto-companion (install --endpoint \S+ --app-id \S+ --(?:extension|firefox)-id \S+)/.exec(shown.error);
    assert.ok(cmd, `an installer command in: ${shown.error}`);
    assert.ok(cmd[1].includes(`--endpoint ${world.idp.endpoint} --app-id ${APP_ID}`), cmd[1]);
    assert.match(cmd[1], new RegExp(`-id ${OTHER_ID.replace(/\./g, '\\.')}$`));
    // The tutorial popup renders: isAuthenticated() resolved false; the status method says why.
    assert.equal(shown.status, 'Signed out');
    const missing = await F.run(async () => {
      const bg = await browser.runtime.getBackgroundPage();
      return JSON.parse(JSON.stringify({
        authenticated: await bg.logtoClient.isAuthenticated(),
        idToken: await bg.logtoClient.getIdToken(),
        status: await bg.logtoClient.getCompanionStatus(),
      }));
    });
    assert.equal(missing.authenticated, false, JSON.stringify(missing));
    assert.equal(missing.idToken, null);
    assert.deepEqual([missing.status.ok, missing.status.installed, missing.status.error?.code], [false, false, 'host_not_found']);
    assert.match(missing.status.error.message, /No such native application logto_companion/);
    assert.ok(missing.status.error.message.includes(OTHER_ID));
    const why = await F.consoleMessages(/does not have permission to use native manifest/);
    assert.ok(why.some((m) => m.includes(mozManifest())), `the browser console says why: ${JSON.stringify(why)}`);

    // The manifest lets the add-on in but the app is not registered for it:
    // host mode hands the daemon Firefox's add-on id, and the daemon says no.
    fs.writeFileSync(mozManifest(), JSON.stringify({ ...ffManifest, allowed_extensions: [FIREFOX_ID, OTHER_ID] }, null, 2));
    const call = () => F.run(async () => {
      const { default: LogtoClient } = await import('./vendor/extension-shim/index.js');
      const { default: config } = await import('./config.js');
      const client = new LogtoClient(config);
      try {
        // isAuthenticated() resolves false (it never rejects); the status says why.
        return { authenticated: await client.isAuthenticated(), status: await client.getCompanionStatus() };
      } finally {
        client.close();
      }
    });
    await F.switchTo(handle);
    const denied = await call();
    step(`with the add-on in the manifest only: ${JSON.stringify(denied)}`);
    assert.equal(denied.authenticated, false, JSON.stringify(denied));
    assert.deepEqual([denied.status.ok, denied.status.installed, denied.status.registered, denied.status.error?.code],
      [false, true, false, 'app_not_registered'], JSON.stringify(denied));
    assert.ok(denied.status.error.message.includes(`--firefox-id ${OTHER_ID}`), `the daemon names the add-on id: ${denied.status.error.message}`);
    assert.ok(world.daemonProcesses().length === 1);

    // Running the command from the first message fixes it, without restarting Firefox.
    const r = world.run(cmd[1].split(' '));
    assert.equal(r.status, 0, `logto-companion ${cmd[1]}: ${r.stderr}${r.stdout}`);
    const m = JSON.parse(fs.readFileSync(mozManifest(), 'utf8'));
    assert.ok(m.allowed_extensions.includes(OTHER_ID) && m.allowed_extensions.includes(FIREFOX_ID), JSON.stringify(m));
    const fixed = await until(async () => { const c = await call(); return c.status.ok && c; },
      { timeout: 10_000, interval: 250, message: 'getCompanionStatus() to be ok after the installer' });
    assert.equal(fixed.status.registered, true, `after the installer: ${JSON.stringify(fixed)}`);
  });

  e2e('install --system writes /usr/lib/mozilla/native-messaging-hosts (not ~/.mozilla, not XDG), and Firefox starts the host from there', async (t) => {
    assert.ok(F, 'needs Firefox');
    if (process.getuid?.() !== 0) {
      t.skip('--system writes /usr/lib/mozilla: needs root (CI runs as root)');
      return;
    }
    // A host name of its own: no other Firefox on the machine is affected, and
    // the user-level ~/.mozilla manifest (a different name) cannot shadow it.
    const name = `lc_e2e_sys_${process.pid}`;
    const sysDirs = ['/usr/lib/mozilla/native-messaging-hosts', '/usr/lib64/mozilla/native-messaging-hosts', '/usr/lib64/mozilla'];
    const existed = new Set(sysDirs.filter((d) => fs.existsSync(d)));
    const args = ['install', '--system', '--endpoint', world.idp.endpoint, '--app-id', APP_ID,
      '--firefox-id', FIREFOX_ID, '--browser', 'firefox', '--host-name', name];
    const r = world.run(args);
    const wrote = [...r.stdout.matchAll(/^wrote (\S+)/gm)].map((m) => m[1]);
    try {
      assert.equal(r.status, 0, `logto-companion ${args.join(' ')}: ${r.stderr}${r.stdout}`);
      const sysManifest = `/usr/lib/mozilla/native-messaging-hosts/${name}.json`;
      assert.ok(wrote.includes(sysManifest), `wrote ${sysManifest}: ${r.stdout}`);
      assert.ok(wrote.every((p) => /^\/usr\/lib(64)?\/mozilla\/native-messaging-hosts\//.test(p)), `only system folders: ${wrote}`);
      assert.ok(!fs.existsSync(path.join(world.env.HOME, '.mozilla', 'native-messaging-hosts', `${name}.json`)));
      assert.ok(!fs.existsSync(path.join(world.env.XDG_CONFIG_HOME, 'mozilla', 'native-messaging-hosts', `${name}.json`)), 'nothing in the XDG folder');
      const m = JSON.parse(fs.readFileSync(sysManifest, 'utf8'));
      assert.deepEqual([m.name, m.path, m.allowed_extensions], [name, world.bin, [FIREFOX_ID]]);

      await openFirefoxPopup(F);
      // One script connects through the system manifest and keeps the port
      // open for a moment, while the host's argv is read from /proc.
      const pending = F.run(async (hostName) => {
        const { default: LogtoClient } = await import('./vendor/extension-shim/index.js');
        const { default: config } = await import('./config.js');
        const client = new LogtoClient({ ...config, hostName });
        try {
          return await client.getCompanionStatus();
        } finally {
          await new Promise((resolve) => setTimeout(resolve, 2000));
          client.close();
        }
      }, name);
      const hosts = await until(() => {
        const h = F.hostPids(world.bin).map((x) => x.argv.slice(1).filter(Boolean));
        return h.some((a) => a[0] === sysManifest) && h;
      }, { timeout: 2000, message: `a host started from ${sysManifest}` }).catch((e) => e);
      const got = await pending;
      assert.equal(got.ok, true, `through the system manifest: ${JSON.stringify(got)}`);
      assert.ok(Array.isArray(hosts), hosts.message);
      assert.ok(hosts.some((a) => a[0] === sysManifest && a[1] === FIREFOX_ID),
        `a host started with [${sysManifest}, ${FIREFOX_ID}]: ${JSON.stringify(hosts)}`);
    } finally {
      for (const p of wrote) {
        if (p.startsWith('/usr/lib') && p.endsWith(`/${name}.json`)) fs.rmSync(p, { force: true });
      }
      for (const d of sysDirs) {
        if (!existed.has(d)) { try { fs.rmdirSync(d); } catch { /* not empty or absent */ } }
      }
    }
  });
});
