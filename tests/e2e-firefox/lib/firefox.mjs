// Real Firefox (Debian firefox-esr, headless) driven through geckodriver's
// W3C WebDriver HTTP API with Node's fetch: no npm package beyond the ones
// tests/e2e already has. The launch follows the proven recipe
// (/work/shared/recipes/firefox-native-messaging): a temporary add-on, a
// fixed moz-extension:// UUID (pref `extensions.webextensions.uuids`),
// geckodriver `--allow-system-access` (Firefox 153 refuses WebDriver
// navigation to moz-extension:// without it), HOME and TMPDIR in the scratch
// user so nothing lands in the real home.
//
// Firefox inherits geckodriver's environment and the native host inherits
// Firefox's: with the World's env, the host and the daemon it talks to are
// the same scratch user as the Chromium profiles of tests/e2e.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PHONE, ROOT, sleep, step, until } from '../../e2e/lib/harness.mjs';

export const FIREFOX = process.env.FIREFOX_EXE || '/usr/bin/firefox-esr';

/** geckodriver: GECKODRIVER, then PATH, then ~/.cargo/bin (where `cargo install` puts it). */
export function findGeckodriver() {
  const candidates = [
    process.env.GECKODRIVER,
    ...(process.env.PATH ?? '').split(':').filter(Boolean).map((d) => path.join(d, 'geckodriver')),
    path.join(os.homedir(), '.cargo', 'bin', 'geckodriver'),
  ].filter(Boolean);
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  throw new Error(`geckodriver not found (GECKODRIVER, PATH, ~/.cargo/bin): run \`cargo install geckodriver --locked\` (tests/e2e-firefox/run does)`);
}

/** An error answered by geckodriver (`{value: {error, message}}`). */
export class WebDriverError extends Error {
  constructor(command, value) {
    super(`WebDriver ${command}: ${value?.error}: ${value?.message}`);
    this.error = value?.error;
  }
}

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

/**
 * One geckodriver + one headless Firefox (its own temporary profile).
 * `addons`: [{ dir, id, uuid }] installed as temporary add-ons.
 */
export class Firefox {
  static async launch({ name, env, addons, logDir }) {
    const ff = new Firefox();
    ff.name = name;
    ff.addons = addons;
    const t0 = Date.now();
    const tmp = path.join(env.HOME, '.tmp-firefox');
    fs.mkdirSync(tmp, { recursive: true });
    fs.mkdirSync(logDir, { recursive: true });
    ff.logFile = path.join(logDir, `geckodriver-${name}.log`);
    const out = fs.openSync(ff.logFile, 'a');
    // Its own process group, so cleanup can end geckodriver, Firefox and the
    // hosts by one group id (never by name).
    ff.child = spawn(findGeckodriver(), ['--port', '0', '--allow-system-access', '--log', 'info'], {
      env: { ...env, TMPDIR: tmp, MOZ_HEADLESS: '1' },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    ff.exited = new Promise((resolve) => ff.child.once('exit', resolve));
    try {
      const port = await until(() => {
        if (ff.child.exitCode !== null) throw new Error(`geckodriver exited with ${ff.child.exitCode}`);
        const m = /Listening on [\d.]+:(\d+)/.exec(fs.readFileSync(ff.logFile, 'utf8'));
        return m && Number(m[1]);
      }, { timeout: 10_000, interval: 25, message: () => `geckodriver to listen (${ff.logTail()})` });
      ff.base = `http://127.0.0.1:${port}`;
      const uuids = Object.fromEntries(addons.map((a) => [a.id, a.uuid]));
      const session = await ff.#http('POST', '/session', {
        capabilities: {
          alwaysMatch: {
            browserName: 'firefox',
            acceptInsecureCerts: true,
            pageLoadStrategy: 'normal',
            'moz:firefoxOptions': {
              binary: FIREFOX,
              args: ['-headless'],
              prefs: {
                'extensions.webextensions.uuids': JSON.stringify(uuids),
                'browser.shell.checkDefaultBrowser': false,
                'datareporting.policy.dataSubmissionEnabled': false,
                'toolkit.telemetry.reportingpolicy.firstRun': false,
                'browser.aboutwelcome.enabled': false,
                // The browser console (chrome context) gets the native-messaging reasons.
                'devtools.console.stdout.chrome': true,
              },
              log: { level: 'info' },
            },
          },
        },
      }, 60_000);
      ff.id = session.sessionId;
      ff.pid = session.capabilities?.['moz:processID'];
      ff.version = session.capabilities?.browserVersion;
      for (const a of addons) {
        // A directory path works for a temporary add-on (no zip needed).
        const got = await ff.cmd('POST', '/moz/addon/install', { path: a.dir, temporary: true });
        if (got !== a.id) throw new Error(`add-on installed as ${got}, expected ${a.id}`);
      }
      ff.home = await ff.cmd('GET', '/window');
    } catch (e) {
      await ff.close();
      throw e;
    }
    step(`Firefox ${ff.name} up (${ff.version}, pid ${ff.pid}) with ${addons.map((a) => a.id).join(', ')} (${Date.now() - t0} ms)`);
    return ff;
  }

  logTail(lines = 30) {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch (e) {
      return `(no geckodriver log: ${e.message})`;
    }
  }

  async #http(method, p, body, timeout = 30_000) {
    const r = await fetch(`${this.base}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    const json = await r.json().catch(() => ({}));
    if (!r.ok || (json.value && json.value.error)) throw new WebDriverError(`${method} ${p}`, json.value);
    return json.value;
  }

  /** A session command: `cmd('POST', '/url', {url})`. */
  cmd(method, p, body, timeout) {
    return this.#http(method, `/session/${this.id}${p}`, body, timeout);
  }

  // ------------------------------------------------------------ windows

  handles() { return this.cmd('GET', '/window/handles'); }
  switchTo(handle) { return this.cmd('POST', '/window', { handle }); }
  current() { return this.cmd('GET', '/window'); }
  url() { return this.cmd('GET', '/url'); }
  go(url) { return this.cmd('POST', '/url', { url }); }
  closeWindow() { return this.cmd('DELETE', '/window'); }

  /** Opens a new tab, switches to it, loads `url`. Returns its handle. */
  async openTab(url) {
    const { handle } = await this.cmd('POST', '/window/new', { type: 'tab' });
    await this.switchTo(handle);
    await this.go(url);
    return handle;
  }

  /** Waits for a window that is not in `known` (an array of handles) and returns its handle. */
  async newWindow(known, timeout = 15_000) {
    return until(async () => (await this.handles()).find((h) => !known.includes(h)),
      { timeout, interval: 50, message: 'a new Firefox tab' });
  }

  /**
   * Waits for a new sign-in tab: a window not in `known` that is not a
   * background end-session tab of an earlier sign-out (those open and close
   * themselves and may still be around). Leaves the driver switched to it.
   */
  async newSignInWindow(known, timeout = 15_000) {
    const skip = [...known];
    return until(async () => {
      for (const h of (await this.handles()).filter((x) => !skip.includes(x))) {
        try {
          await this.switchTo(h);
          const url = await this.url();
          if (!url || url === 'about:blank') continue; // not loaded yet: look again
          if (/\/session\/end|logout/.test(url)) { skip.push(h); continue; }
          return h;
        } catch {
          skip.push(h); // closed while we looked: an end-session tab
        }
      }
      return null;
    }, { timeout, interval: 50, message: 'a new Firefox sign-in tab' });
  }

  // ------------------------------------------------------------ scripts

  /** Runs `fn` (a function) in the current page with `args`; returns its (awaited) value. */
  async run(fn, ...args) {
    return this.cmd('POST', '/execute/async', {
      script: `const done = arguments[arguments.length - 1];
        Promise.resolve().then(() => (${fn}).apply(null, Array.from(arguments).slice(0, -1)))
          .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ thrown: String(e) + (e && e.stack ? '\\n' + e.stack : '') }));`,
      args,
    }, 60_000).then((r) => {
      if (r && 'thrown' in r) throw new Error(`script failed in Firefox: ${r.thrown}`);
      return r?.ok;
    });
  }

  /** Polls `fn` in the page until truthy. */
  async waitFor(fn, { args = [], timeout = 15_000, message = 'a condition in Firefox' } = {}) {
    return until(() => this.run(fn, ...args), { timeout, interval: 100, message });
  }

  async find(css) {
    const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return el[ELEMENT];
  }

  async type(css, text) {
    const el = await this.find(css);
    await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text });
  }

  async click(css) {
    const el = await this.find(css);
    await this.cmd('POST', `/element/${el}/click`, {});
  }

  /** Runs `fn` in Firefox's chrome (parent process) context. */
  async inChrome(fn, ...args) {
    await this.cmd('POST', '/moz/context', { context: 'chrome' });
    try {
      return await this.cmd('POST', '/execute/sync', { script: `return (${fn}).apply(null, arguments);`, args });
    } finally {
      await this.cmd('POST', '/moz/context', { context: 'content' });
    }
  }

  /** Firefox's browser console lines matching `re` (where native messaging tells the reason). */
  async consoleMessages(re = /native|logto_companion/i) {
    const all = await this.inChrome(() => Services.console.getMessageArray().map((m) => m.message || String(m)));
    return all.filter((m) => re.test(m));
  }

  /** The pids of this Firefox's child processes running `bin` (the native hosts). */
  hostPids(bin) {
    const out = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
        if (argv[0] === bin && ppid === this.pid) out.push({ pid: Number(entry), argv });
      } catch { /* gone */ }
    }
    return out;
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    if (this.id) {
      await this.#http('DELETE', `/session/${this.id}`, undefined, 20_000).catch((e) => step(`Firefox ${this.name}: quit: ${e.message}`));
    }
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      try { process.kill(this.child.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => {
        try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* gone */ }
      }, 5000);
      await this.exited;
      clearTimeout(t);
    }
    // Anything left in geckodriver's process group (Firefox, hosts).
    try { process.kill(-this.child.pid, 'SIGKILL'); } catch { /* none left */ }
  }
}

/** `node extension-shim/example/build.mjs --firefox …`: the Firefox build of the example. */
export function buildFirefoxExtension(out, { endpoint, appId, api }) {
  const r = spawnSync(process.execPath, [
    path.join(ROOT, 'extension-shim/example/build.mjs'),
    '--out', out, '--endpoint', endpoint, '--app-id', appId, '--resources', api, '--scopes', 'phone', '--firefox',
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`example/build.mjs --firefox failed: ${r.stderr}${r.stdout}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  return { out, manifest, stdout: r.stdout };
}

/**
 * The IdP's phone sign-in in the Firefox tab `handle`: phone page, SMS code
 * from the Twilio stand-in, code page. The last submit is fired from a
 * timer so WebDriver does not wait on a tab that is about to close.
 */
export async function completePhoneSignInFirefox(ff, idp, handle, phone = PHONE) {
  await ff.switchTo(handle);
  await ff.waitFor(() => !!document.querySelector('form#phone-form input[name=phone]'),
    { message: 'the IdP phone form in the sign-in tab' });
  const url = await ff.url();
  if (!url.startsWith(`${idp.endpoint}/interaction/`)) throw new Error(`the sign-in tab is not on the IdP's interaction page: ${url}`);
  step(`Firefox sign-in tab on the IdP's phone page ${new URL(url).pathname}`);
  await ff.type('form#phone-form input[name=phone]', phone);
  await ff.click('form#phone-form button[type=submit]');
  await ff.waitFor(() => !!document.querySelector('form#code-form input[name=code]'), { message: 'the IdP code form' });
  const code = await idp.smsCode(phone);
  step(`SMS code ${code} read from the Twilio stand-in; submitting it in Firefox`);
  await ff.type('form#code-form input[name=code]', code);
  await ff.run(() => { setTimeout(() => document.querySelector('form#code-form button[type=submit]').click(), 0); });
}

export { sleep };
