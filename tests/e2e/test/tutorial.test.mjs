// The Logto tutorial's extension, verbatim but for the import line
// (extension-shim/example/tutorial), set up as extension-shim/README.md says
// (manifest permissions "identity" + "nativeMessaging"), built by each
// bundler the README names (extension-shim/example/bundlers/build.mjs:
// Rollup, Vite, webpack), loaded in real Chromium and signed in against the
// test IdP and signed out again by clicking the tutorial popup's own buttons.
//
// Needs `npm ci` in extension-shim/example/bundlers (scripts/test-shim-extras
// does it); without it the test fails and says so.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  APP_ID, ORIGIN, PHONE_CLAIM, ROOT, World, completePhoneSignIn, launchChromium, step, until,
} from '../lib/harness.mjs';

const BUNDLERS_DIR = path.join(ROOT, 'extension-shim', 'example', 'bundlers');

/** @type {World} */
let world;

function bundle(bundler) {
  if (!fs.existsSync(path.join(BUNDLERS_DIR, 'node_modules', bundler))) {
    throw new Error(`${BUNDLERS_DIR} has no node_modules/${bundler}: run \`cd ${BUNDLERS_DIR} && npm ci\` `
      + '(scripts/test-shim-extras does it)');
  }
  const out = path.join(world.root, `tutorial-${bundler}`);
  const r = spawnSync(process.execPath, [path.join(BUNDLERS_DIR, 'build.mjs'), '--bundler', bundler, '--out', out,
    '--endpoint', world.idp.endpoint, '--app-id', APP_ID], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${bundler} build failed: ${r.stderr}${r.stdout}`);
  step(`tutorial extension built with ${bundler} in ${out}`);
  return out;
}

function appStatus() {
  return world.status().apps?.find((a) => a.appId === APP_ID);
}

function e2e(name, fn, timeout = 360_000) {
  test(name, { timeout }, async () => {
    step(`TEST ${name}`);
    try {
      await fn();
    } catch (error) {
      error.message += `\n\n${world ? world.diagnostics() : '(no world: setup failed)'}`;
      throw error;
    }
    step(`ok ${name}`);
  });
}

describe('the README-literal tutorial extension, built by each bundler, in real Chromium', () => {
  before(async () => { world = await World.create(); }, { timeout: 900_000 });
  after(async () => { await world?.close(); }, { timeout: 60_000 });

  for (const bundler of ['rollup', 'vite', 'webpack']) {
    e2e(`${bundler} build: the tutorial popup's Sign in button signs in by phone, Sign out signs out`, async () => {
      const extDir = bundle(bundler);
      const manifest = JSON.parse(fs.readFileSync(path.join(extDir, 'manifest.json'), 'utf8'));
      assert.deepEqual(manifest.permissions, ['identity', 'nativeMessaging'], 'the README manifest');
      assert.equal(manifest.host_permissions, undefined);
      const userDataDir = world.userDataDir(`tutorial-${bundler}`);
      world.install([userDataDir]);
      const out = world.run(['sign-out']);
      assert.equal(out.status, 0, `logto-companion sign-out: ${out.stderr}${out.stdout}`);
      await world.idp.forgetSms();
      const profile = await launchChromium({ name: `tutorial-${bundler}`, userDataDir, extDir, env: world.env, world });
      world.profiles.push(profile);
      try {
        const popup = await profile.context.newPage();
        const errors = [];
        popup.on('pageerror', (e) => errors.push(e.message));
        await popup.goto(`${ORIGIN}popup.html`);
        const tabOpened = profile.nextPage();
        await popup.click('#sign-in');
        const tab = await tabOpened;
        const tabClosed = tab.waitForEvent('close', { timeout: 20_000 });
        await completePhoneSignIn(world.idp, tab);
        await tabClosed;
        step(`${bundler}: sign-in tab closed by the shim`);
        const app = await until(() => appStatus()?.authenticated === true && appStatus(),
          { timeout: 10_000, message: 'the daemon to report the app signed in' });
        step(`${bundler}: daemon status ${JSON.stringify(app)}`);
        assert.equal(app.claims?.phone_number, PHONE_CLAIM, 'signed in as the phone user');
        const grants = (await world.idp.grants()).filter((g) => g.active > 0);
        assert.ok(grants.length >= 1, `a live grant at the IdP: ${JSON.stringify(grants)}`);

        await popup.click('#sign-out');
        await until(() => appStatus()?.authenticated === false, { timeout: 15_000, message: 'the daemon to report signed out' });
        await until(async () => (await world.idp.grants()).every((g) => g.active === 0),
          { timeout: 5_000, message: 'every grant to be inactive at the IdP' });
        step(`${bundler}: the tutorial's Sign out signed out (grant revoked)`);
        assert.deepEqual(errors, [], 'no uncaught error in the tutorial popup');
      } finally {
        await profile.close();
      }
    });
  }
});
