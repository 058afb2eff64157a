// The README-literal tutorial extension (extension-shim/example/tutorial,
// the Logto tutorial's code but for the import line) in real Firefox: built
// by Rollup, Vite and webpack (extension-shim/example/bundlers/build.mjs
// --firefox), each loaded as a temporary add-on, registered with
// `logto-companion install --firefox-id`, signed in by phone by clicking the
// tutorial popup's own Sign in button, and signed out with its Sign out
// button.
//
// Needs `npm ci` in extension-shim/example/bundlers (scripts/test-shim-extras
// does it); without it the test fails and says so.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { APP_ID, PHONE_CLAIM, ROOT, World, step, until } from '../../e2e/lib/harness.mjs';
import { Firefox, completePhoneSignInFirefox } from '../lib/firefox.mjs';

const BUNDLERS_DIR = path.join(ROOT, 'extension-shim', 'example', 'bundlers');
const BUNDLERS = [
  { bundler: 'rollup', uuid: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' },
  { bundler: 'vite', uuid: '1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e' },
  { bundler: 'webpack', uuid: '2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f' },
];
const addonId = (bundler) => `tutorial-${bundler}@logto-companion.test`;

/** @type {World} */
let world;
/** @type {Firefox} */
let F;

function bundle(bundler) {
  if (!fs.existsSync(path.join(BUNDLERS_DIR, 'node_modules', bundler))) {
    throw new Error(`${BUNDLERS_DIR} has no node_modules/${bundler}: run \`cd ${BUNDLERS_DIR} && npm ci\` `
      + '(scripts/test-shim-extras does it)');
  }
  const out = path.join(world.root, `tutorial-firefox-${bundler}`);
  const r = spawnSync(process.execPath, [path.join(BUNDLERS_DIR, 'build.mjs'), '--bundler', bundler, '--out', out,
    '--endpoint', world.idp.endpoint, '--app-id', APP_ID, '--firefox'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${bundler} build failed: ${r.stderr}${r.stdout}`);
  // One add-on id per build, so the three load side by side.
  const manifestPath = path.join(out, 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  manifest.browser_specific_settings.gecko.id = addonId(bundler);
  fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  step(`tutorial add-on built with ${bundler} in ${out}`);
  return out;
}

const appStatus = () => world.status().apps?.find((a) => a.appId === APP_ID);

describe('the README-literal tutorial add-on, built by each bundler, in real Firefox', () => {
  before(async () => {
    world = await World.create();
    const addons = BUNDLERS.map(({ bundler, uuid }) => ({ dir: bundle(bundler), id: addonId(bundler), uuid }));
    for (const { id } of addons) {
      const args = ['install', '--endpoint', world.idp.endpoint, '--app-id', APP_ID, '--firefox-id', id, '--browser', 'firefox'];
      const r = world.run(args);
      assert.equal(r.status, 0, `logto-companion ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    }
    F = await Firefox.launch({ name: 'tutorial', env: world.env, addons, logDir: path.join(world.root, 'logs') });
  }, { timeout: 900_000 });

  after(async () => {
    await F?.close();
    await world?.close();
  }, { timeout: 60_000 });

  for (const { bundler, uuid } of BUNDLERS) {
    test(`${bundler} build in Firefox: the tutorial popup's Sign in signs in by phone, Sign out signs out`, { timeout: 120_000 }, async () => {
      try {
        const out = world.run(['sign-out']);
        assert.equal(out.status, 0, `logto-companion sign-out: ${out.stderr}${out.stdout}`);
        await world.idp.forgetSms();
        const popup = await F.openTab(`moz-extension://${uuid}/popup.html`);
        await F.waitFor(() => !!document.getElementById('sign-in'), { message: 'the tutorial popup' });
        const known = await F.handles();
        await F.click('#sign-in');
        const tab = await F.newSignInWindow(known);
        await completePhoneSignInFirefox(F, world.idp, tab);
        await until(async () => !(await F.handles()).includes(tab), { timeout: 20_000, message: 'the sign-in tab to close itself' });
        const app = await until(() => appStatus()?.authenticated === true && appStatus(),
          { timeout: 10_000, message: 'the daemon to report the app signed in' });
        assert.equal(app.claims?.phone_number, PHONE_CLAIM);
        step(`${bundler} (Firefox): signed in as ${app.claims?.sub}`);
        await F.switchTo(popup);
        await F.click('#sign-out');
        await until(() => appStatus()?.authenticated === false, { timeout: 15_000, message: 'the daemon to report signed out' });
        await until(async () => (await world.idp.grants()).every((g) => g.active === 0),
          { timeout: 5_000, message: 'every grant to be inactive at the IdP' });
        step(`${bundler} (Firefox): the tutorial's Sign out signed out`);
        await F.switchTo(popup);
        await F.closeWindow();
        await F.switchTo(F.home);
      } catch (error) {
        error.message += `\n\n${world.diagnostics()}\n--- geckodriver/Firefox log (tail)\n${F?.logTail(20)}`;
        throw error;
      }
    });
  }
});
