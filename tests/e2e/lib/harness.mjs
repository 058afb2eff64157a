// The end-to-end harness: the real logto-companion binary, the Logto-like IdP
// (tests/idp) with its Twilio stand-in, the example extension (built by
// extension-shim/example/build.mjs) and real Debian Chromium driven headless
// by playwright-core, the way /work/shared/recipes/chromium-native-messaging
// proved it works on this machine.
//
// One `World` per test file: one scratch user (HOME, XDG_*), one IdP, one
// extension build. Browsers ("profiles") are separate `--user-data-dir`s of
// that one user, so they share the one per-user daemon.

import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..', '..');
export const CHROMIUM = process.env.CHROMIUM_EXE || '/usr/bin/chromium';
export const APP_ID = 'native-test-app';
export const API = 'https://api.example.test';
export const PHONE = '+15551234567';
/** The IdP releases `phone_number` as Logto stores it: digits, no `+`. */
export const PHONE_CLAIM = '15551234567';
export const POST_LOGOUT = 'http://127.0.0.1/logout-callback';
export const HOST_NAME = 'logto_companion';
export const EXTENSION_ID = fs.readFileSync(path.join(ROOT, 'extension-shim/example/EXTENSION_ID'), 'utf8').trim();
export const ORIGIN = `chrome-extension://${EXTENSION_ID}/`;

// ------------------------------------------------------------------ logging

const T0 = Date.now();
/** One line per step, on stderr (the test runner shows it as it happens). */
export function step(message) {
  process.stderr.write(`[e2e +${((Date.now() - T0) / 1000).toFixed(1)}s] ${message}\n`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tail(file, lines = 40) {
  try {
    const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${e.code ?? e.message})`;
  }
}

/** Poll `fn` until it returns a truthy value; throw `message()` after `timeout` ms. */
export async function until(fn, { timeout = 10_000, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = typeof message === 'function' ? message(last) : message;
      throw new Error(`timed out after ${timeout} ms waiting for ${why} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(interval);
  }
}

// ------------------------------------------------------------------ binary

/** `cargo build --quiet` (debug) unless E2E_BIN names a binary to use. */
export function buildBinary() {
  if (process.env.E2E_BIN) {
    const bin = path.resolve(process.env.E2E_BIN);
    if (!fs.existsSync(bin)) throw new Error(`E2E_BIN=${bin} does not exist`);
    return bin;
  }
  step('cargo build --quiet (may wait for the cargo lock held by other builds)');
  const r = spawnSync('cargo', ['build', '--quiet'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 900_000 });
  if (r.error) throw new Error(`cannot run cargo build: ${r.error.message} (is Rust installed?)`);
  if (r.status !== 0) throw new Error(`cargo build failed with exit status ${r.status}; see the output above`);
  const bin = path.join(ROOT, 'target', 'debug', 'logto-companion');
  if (!fs.existsSync(bin)) throw new Error(`cargo build succeeded but ${bin} is missing`);
  return bin;
}

// ------------------------------------------------------------------ the IdP

export async function startIdp() {
  const dir = path.join(ROOT, 'tests', 'idp');
  if (!fs.existsSync(path.join(dir, 'node_modules', 'oidc-provider'))) {
    throw new Error(`tests/idp has no node_modules: run \`cd ${dir} && npm ci\` (scripts/test does it)`);
  }
  const child = spawn(process.execPath, [path.join(dir, 'server.mjs')], {
    cwd: dir,
    env: { ...process.env, PORT: '0', IDP_TWILIO: 'stand-in' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-200_000); });
  const lines = createInterface({ input: child.stdout });
  let timer;
  const ready = await Promise.race([
    new Promise((resolve) => lines.once('line', resolve)),
    once(child, 'exit').then(([code]) => { throw new Error(`IdP exited with ${code} before its ready line: ${stderr}`); }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`IdP printed no ready line in 60 s: ${stderr}`)), 60_000);
    }),
  ]).finally(() => clearTimeout(timer));
  lines.on('line', () => {}); // keep draining stdout
  const info = JSON.parse(ready);
  if (!info.ready || !info.twilio) throw new Error(`unexpected IdP ready line: ${ready}`);
  const idp = {
    child,
    endpoint: info.endpoint,
    issuer: info.issuer,
    twilio: info.twilio,
    stderrTail: (n = 30) => stderr.trimEnd().split('\n').slice(-n).join('\n'),
    async get(p) {
      const r = await fetch(`${info.endpoint}${p}`);
      if (!r.ok) throw new Error(`GET ${p}: HTTP ${r.status}`);
      return r.json();
    },
    async grants() { return idp.get('/__test/grants'); },
    async counters() { return idp.get('/__test/counters'); },
    async forgetSms() { await fetch(`${info.twilio}/messages`, { method: 'DELETE' }); },
    /** The code of the last SMS sent to `phone` (polls the Twilio stand-in). */
    async smsCode(phone = PHONE) {
      return until(async () => {
        const r = await fetch(`${info.twilio}/messages/last?to=${encodeURIComponent(phone)}`);
        if (r.status === 404) return null;
        const body = await r.json();
        return body.code;
      }, { timeout: 10_000, message: `an SMS to ${phone} at the Twilio stand-in` });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
  return idp;
}

// ------------------------------------------------------------------ the world

export class World {
  /** @type {string} */ root;
  /** @type {Record<string,string>} */ env;
  bin;
  idp;
  extDir;
  store;
  installNote = '';
  /** @type {Profile[]} */ profiles = [];

  static async create() {
    const w = new World();
    w.root = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-e2e-'));
    step(`scratch dir ${w.root}`);
    try {
      w.bin = buildBinary();
      w.idp = await startIdp();
      step(`IdP ${w.idp.endpoint} (Twilio stand-in ${w.idp.twilio})`);
      w.#makeUser();
      w.#buildExtension();
      w.#writeConfig();
    } catch (e) {
      await w.close().catch(() => {});
      throw e;
    }
    return w;
  }

  /** One scratch user. Every browser gets these, and the host and daemon inherit them. */
  #makeUser() {
    const vars = {
      HOME: 'home',
      XDG_CONFIG_HOME: 'home/.config',
      XDG_STATE_HOME: 'home/.local/state',
      XDG_DATA_HOME: 'home/.local/share',
      XDG_CACHE_HOME: 'home/.cache',
      XDG_RUNTIME_DIR: 'run',
    };
    const env = { ...process.env };
    for (const k of ['XDG_CONFIG_DIRS', 'XDG_DATA_DIRS']) delete env[k];
    for (const [k, sub] of Object.entries(vars)) {
      const p = path.join(this.root, sub);
      fs.mkdirSync(p, { recursive: true });
      env[k] = p;
    }
    fs.chmodSync(env.XDG_RUNTIME_DIR, 0o700);
    env.LOGTO_COMPANION_LOG = 'debug';
    // DBUS_SESSION_BUS_ADDRESS (the private bus of scripts/with-keyring) is
    // kept from process.env: the daemon finds the Secret Service through it.
    this.env = env;
  }

  #buildExtension() {
    this.extDir = path.join(this.root, 'extension');
    const r = spawnSync(process.execPath, [
      path.join(ROOT, 'extension-shim/example/build.mjs'),
      '--out', this.extDir, '--endpoint', this.idp.endpoint, '--app-id', APP_ID,
      '--resources', API, '--scopes', 'phone',
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`example/build.mjs failed: ${r.stderr}${r.stdout}`);
    if (!r.stdout.includes(EXTENSION_ID)) throw new Error(`example/build.mjs printed another id: ${r.stdout}`);
    step(`example extension built in ${this.extDir} (id ${EXTENSION_ID})`);
  }

  get configPath() { return path.join(this.env.XDG_CONFIG_HOME, 'logto-companion', 'config.toml'); }
  get runtimeDir() { return path.join(this.env.XDG_RUNTIME_DIR, 'logto-companion'); }
  get logDir() { return path.join(this.env.XDG_STATE_HOME, 'logto-companion', 'logs'); }

  #writeConfig() {
    // The real Secret Service when scripts/with-keyring provides one.
    this.store = process.env.E2E_STORE || (process.env.KEYRING_HOME ? 'keychain' : 'memory');
    if (this.store === 'memory') {
      const bar = '!'.repeat(78);
      process.stderr.write(`${bar}\n!! e2e: KEYRING_HOME is not set: the daemon uses store = "memory", NOT the\n`
        + `!! real Secret Service. Run through scripts/with-keyring (scripts/test does) to test the keychain.\n${bar}\n`);
    }
    const q = (s) => JSON.stringify(s);
    const toml = `# written by tests/e2e
store = ${q(this.store)}
idle_timeout_secs = 120
sign_in_timeout_secs = 60

[[apps]]
endpoint = ${q(this.idp.endpoint)}
app_id = ${q(APP_ID)}
allowed_origins = [${q(ORIGIN)}]
scopes = ["phone"]
resources = [${q(API)}]
post_logout_redirect_uri = ${q(POST_LOGOUT)}
`;
    fs.mkdirSync(path.dirname(this.configPath), { recursive: true });
    fs.writeFileSync(this.configPath, toml);
    step(`config.toml written (store = "${this.store}")`);
  }

  /** Runs the binary as this user. */
  run(args, { timeout = 30_000 } = {}) {
    return spawnSync(this.bin, args, { env: this.env, encoding: 'utf8', timeout });
  }

  /** `logto-companion status --json` (starts the daemon when needed). */
  status() {
    const r = this.run(['status', '--json']);
    if (r.status !== 0) throw new Error(`logto-companion status --json: exit ${r.status}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout);
  }

  /**
   * Registers the host for these browser profiles with the project's
   * installer; while the installer is not built, writes the manifest the way
   * it will (TODO: drop the fallback once `install` lands).
   */
  install(userDataDirs) {
    const help = this.run(['install', '--help']);
    const ready = help.status === 0 && /--extension-id/.test(help.stdout);
    if (ready) {
      const args = ['install', '--endpoint', this.idp.endpoint, '--app-id', APP_ID, '--extension-id', EXTENSION_ID];
      for (const d of userDataDirs) args.push('--user-data-dir', d);
      const r = this.run(args);
      if (r.status === 0) {
        this.installNote = 'manifest written by `logto-companion install`';
      } else if (/not built yet/.test(r.stderr)) {
        this.#writeManifests(userDataDirs, `installer says "not built yet"`);
      } else {
        throw new Error(`logto-companion ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
      }
    } else {
      this.#writeManifests(userDataDirs, '`logto-companion install` has no --extension-id yet (installer not built)');
    }
    for (const d of userDataDirs) {
      const m = manifestPath(d);
      if (!fs.existsSync(m)) throw new Error(`after install there is no host manifest at ${m}`);
      const j = JSON.parse(fs.readFileSync(m, 'utf8'));
      if (j.name !== HOST_NAME || j.type !== 'stdio' || !path.isAbsolute(j.path)
          || !(j.allowed_origins ?? []).includes(ORIGIN)) {
        throw new Error(`host manifest ${m} is not what Chromium needs: ${JSON.stringify(j)}`);
      }
    }
    step(`host registered for ${userDataDirs.length} profile(s): ${this.installNote}`);
  }

  #writeManifests(userDataDirs, why) {
    this.installNote = `FALLBACK: the test wrote the manifest itself (${why})`;
    for (const d of userDataDirs) {
      fs.mkdirSync(path.dirname(manifestPath(d)), { recursive: true });
      fs.writeFileSync(manifestPath(d), `${JSON.stringify({
        name: HOST_NAME,
        description: 'logto-companion: Logto sign-in for browser extensions',
        path: this.bin,
        type: 'stdio',
        allowed_origins: [ORIGIN],
      }, null, 2)}\n`);
    }
  }

  userDataDir(name) {
    const d = path.join(this.root, 'profiles', name);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  /** Starts a browser (a persistent context = one `--user-data-dir`). */
  async launch(name, userDataDir = this.userDataDir(name)) {
    const profile = await launchChromium({ name, userDataDir, extDir: this.extDir, env: this.env, world: this });
    this.profiles.push(profile);
    return profile;
  }

  daemonPid() {
    try {
      const pid = Number(fs.readFileSync(path.join(this.runtimeDir, 'daemon.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** Every live daemon of this scratch user (found through /proc by its XDG_RUNTIME_DIR). */
  daemonProcesses() {
    const needle = `XDG_RUNTIME_DIR=${this.env.XDG_RUNTIME_DIR}`;
    const out = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        if (!/logto-companion(-daemon)?$/.test(argv[0] ?? '') || !argv.includes('daemon')) continue;
        const environ = fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
        if (environ.includes(needle)) out.push(Number(entry));
      } catch { /* gone */ }
    }
    return out;
  }

  /** What to read when a test fails: the daemon's and the hosts' logs, the IdP's stderr. */
  diagnostics() {
    return [
      `--- ${path.join(this.logDir, 'daemon.log')} (tail)`, tail(path.join(this.logDir, 'daemon.log')),
      `--- ${path.join(this.logDir, 'host.log')} (tail)`, tail(path.join(this.logDir, 'host.log'), 25),
      '--- IdP stderr (tail)', this.idp?.stderrTail(20) ?? '(no IdP)',
      `--- host manifest: ${this.installNote}; store = "${this.store}"; scratch dir ${this.root}`,
    ].join('\n');
  }

  async close() {
    for (const p of this.profiles) await p.close();
    // Leave no session behind in a real keychain (best effort).
    if (this.bin && this.env && this.daemonPid()) {
      const r = this.run(['sign-out'], { timeout: 15_000 });
      step(`cleanup: logto-companion sign-out → exit ${r.status}`);
    }
    const pids = new Set([this.daemonPid(), ...(this.env ? this.daemonProcesses() : [])].filter(Boolean));
    for (const pid of pids) {
      try { process.kill(pid, 'SIGTERM'); step(`cleanup: SIGTERM daemon ${pid}`); } catch { /* already gone */ }
    }
    await until(() => (this.env ? this.daemonProcesses() : []).length === 0, { timeout: 5000, message: 'the daemon to exit' })
      .catch(() => { for (const pid of this.daemonProcesses()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } });
    await this.idp?.stop();
    if (this.root && !process.env.E2E_KEEP) fs.rmSync(this.root, { recursive: true, force: true });
    else if (this.root) step(`E2E_KEEP: scratch dir kept at ${this.root}`);
  }
}

export const manifestPath = (userDataDir) => path.join(userDataDir, 'NativeMessagingHosts', `${HOST_NAME}.json`);

// ------------------------------------------------------------------ a browser

/**
 * Starts Debian's Chromium headless with the extension loaded (the recipe's
 * flags) and waits for the extension's service worker. Used by the tests and
 * by scripts/demo.
 */
export async function launchChromium({ name, userDataDir, extDir, env, world = null }) {
  const t0 = Date.now();
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    env,
    timeout: 30_000,
    args: [
      `--disable-extensions-except=${extDir}`,
      `--load-extension=${extDir}`,
      '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
    ],
  });
  const profile = new Profile(world, name, userDataDir, context);
  profile.sw = context.serviceWorkers().find((w) => w.url().startsWith(ORIGIN))
    ?? await context.waitForEvent('serviceworker', { timeout: 15_000, predicate: (w) => w.url().startsWith(ORIGIN) });
  step(`browser ${name} up with the extension's service worker (${Date.now() - t0} ms)`);
  return profile;
}

export class Profile {
  constructor(world, name, userDataDir, context) {
    this.world = world;
    this.name = name;
    this.userDataDir = userDataDir;
    this.context = context;
    this.sw = null;
  }

  /** Opens the example's popup page in a tab and waits for its first state load. */
  async openPopup() {
    const page = await this.context.newPage();
    await page.goto(`${ORIGIN}popup.html`);
    await page.waitForFunction(() => Number(document.body.dataset.loaded ?? 0) >= 1, null, { timeout: 15_000 });
    return page;
  }

  /** Sign-in tab: the next page this browser opens. */
  /**
   * The next tab a sign-in opens. Background end-session tabs of an earlier
   * sign-out (they open and close themselves, see the shim's "signed out
   * everywhere") are passed over, so a test never takes one for its
   * sign-in tab.
   */
  async nextPage(timeout = 15_000) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const page = await this.context.waitForEvent('page', { timeout: Math.max(1, deadline - Date.now()) });
      const url = await until(() => { const u = page.isClosed() ? 'closed' : page.url(); return u !== 'about:blank' && u; },
        { timeout: 5_000, interval: 20, message: 'the new tab to get its URL' }).catch(() => page.url());
      if (url === 'closed' || /\/session\/end|logout/.test(url)) {
        step(`${this.name}: passing over an end-session tab (${url.split('?')[0]})`);
        continue;
      }
      return page;
    }
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    await this.context.close().catch(() => {});
  }
}

/** In a service worker or page: record the tabs this context creates (through `chrome` and `browser`). */
export function recordTabsCreate() {
  globalThis.e2eCreated = [];
  for (const api of new Set([globalThis.chrome, globalThis.browser].filter(Boolean))) {
    if (api.tabs.e2eWrapped) continue;
    const create = api.tabs.create.bind(api.tabs);
    api.tabs.create = (props) => { globalThis.e2eCreated.push({ url: props.url, active: props.active }); return create(props); };
    api.tabs.e2eWrapped = true;
  }
}

/** What the popup shows. */
export async function popupState(page) {
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id)?.textContent ?? '';
    let claims = null;
    try { claims = text('claims') ? JSON.parse(text('claims')) : null; } catch { claims = { unparsable: text('claims') }; }
    return { status: text('status'), claims, error: text('error'), loads: Number(document.body.dataset.loaded ?? 0) };
  });
}

/**
 * Waits until the popup's #status reads `status` (and, when signed in, shows
 * claims). Fails at once if the popup shows an error instead.
 */
export async function waitForPopupStatus(page, status, timeout = 15_000) {
  let outcome;
  try {
    outcome = await (await page.waitForFunction((want) => {
      const s = document.getElementById('status')?.textContent;
      if (s === want && (want !== 'Signed in' || document.getElementById('claims')?.textContent)) return 'ok';
      return document.getElementById('error')?.textContent ? 'error' : false;
    }, status, { timeout })).jsonValue();
  } catch {
    outcome = 'timeout';
  }
  const shown = await popupState(page).catch((e) => ({ unreadable: e.message }));
  if (outcome !== 'ok') {
    const why = outcome === 'error' ? 'it shows an error' : `not within ${timeout} ms`;
    throw new Error(`popup did not show "${status}" (${why}): ${JSON.stringify(shown)}`);
  }
  return shown;
}

/**
 * Completes the IdP's phone sign-in in `tab`: the phone page, the SMS code
 * read from the Twilio stand-in, the code page. Returns the URLs the tab
 * went through.
 */
export async function completePhoneSignIn(idp, tab, phone = PHONE) {
  const urls = [];
  tab.on('framenavigated', (f) => { if (f === tab.mainFrame()) urls.push(f.url()); });
  await tab.waitForSelector('form#phone-form input[name=phone]', { timeout: 15_000 });
  if (!tab.url().startsWith(`${idp.endpoint}/interaction/`)) {
    throw new Error(`the sign-in tab is not on the IdP's interaction page: ${tab.url()}`);
  }
  step(`sign-in tab on the IdP's phone page ${new URL(tab.url()).pathname}`);
  await tab.fill('form#phone-form input[name=phone]', phone);
  await Promise.all([
    tab.waitForSelector('form#code-form input[name=code]', { timeout: 15_000 }),
    tab.click('form#phone-form button[type=submit]'),
  ]);
  const code = await idp.smsCode(phone);
  step(`SMS code ${code} read from ${idp.smsSource ?? 'the Twilio stand-in'}; submitting it`);
  await tab.fill('form#code-form input[name=code]', code);
  await tab.click('form#code-form button[type=submit]', { noWaitAfter: true });
  return urls;
}

/** Decodes a JWT's header and payload (no verification: the daemon did that). */
export function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a JWS compact token: ${parts.length} parts`);
  const json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  return { header: json(parts[0]), payload: json(parts[1]) };
}

/**
 * The TCP ports process `pid` listens on (from /proc: its socket inodes
 * matched against /proc/net/tcp{,6} entries in state LISTEN). The daemon's
 * loopback redirect listener shows up here while a sign-in flow runs.
 */
export function listeningPorts(pid) {
  const inodes = new Set();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch { /* closed meanwhile */ }
    }
  } catch {
    return [];
  }
  const ports = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try { lines = fs.readFileSync(table, 'utf8').trim().split('\n').slice(1); } catch { continue; }
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A' && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}
