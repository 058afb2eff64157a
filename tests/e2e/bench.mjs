// Benchmark figure 3: round trips inside real Chromium (the extension's
// service worker ↔ native host), our host + daemon against a bare echo host
// speaking the same framing on the same pipe. Run by scripts/bench (inside
// scripts/with-keyring); prints a markdown table. No pass/fail here.

import fs from 'node:fs';
import path from 'node:path';
import {
  API, APP_ID, ORIGIN, ROOT, World, completePhoneSignIn, step,
} from './lib/harness.mjs';

const N = Number(process.env.BENCH_CHROMIUM_ITERS ?? 2000);
const STARTS = Number(process.env.BENCH_CHROMIUM_STARTS ?? 50);
process.env.E2E_BIN ??= path.join(ROOT, 'target/release/logto-companion');
const echo = path.join(ROOT, 'target/release/examples/echo_host');
if (!fs.existsSync(echo)) throw new Error(`build the baseline first: cargo build --release --example echo_host (${echo})`);

const world = await World.create();
try {
  const udd = world.userDataDir('bench');
  world.install([udd]);
  fs.writeFileSync(path.join(udd, 'NativeMessagingHosts', 'lc_echo.json'), JSON.stringify({
    name: 'lc_echo', description: 'bench baseline', path: echo, type: 'stdio', allowed_origins: [ORIGIN],
  }));
  const browser = await world.launch('bench');
  const sw = browser.sw;

  // Sign in once (through the example's client) so getAccessToken is cached.
  const tabOpened = browser.nextPage();
  const signedIn = sw.evaluate(() => globalThis.logtoClient.signIn());
  await completePhoneSignIn(world.idp, await tabOpened);
  await signedIn;
  step('signed in; measuring');

  const measure = (args) => sw.evaluate(async ({ host, frames, n, starts }) => {
    const once = (port, msg) => new Promise((resolve) => {
      const on = (reply) => {
        if (reply.id === msg.id) {
          port.onMessage.removeListener(on);
          resolve(reply);
        }
      };
      port.onMessage.addListener(on);
      port.postMessage(msg);
    });
    const port = chrome.runtime.connectNative(host);
    let id = 1;
    for (const f of frames.setup) await once(port, { ...f, id: id++ });
    const rtt = [];
    for (let i = 0; i < n + n / 10; i += 1) {
      const t = performance.now();
      await once(port, { ...frames.timed, id: id++ });
      if (i >= n / 10) rtt.push(performance.now() - t);
    }
    port.disconnect();
    const start = [];
    for (let i = 0; i < starts; i += 1) {
      const t = performance.now();
      const p = chrome.runtime.connectNative(host);
      await once(p, { id: 1, method: 'ping' });
      start.push(performance.now() - t);
      p.disconnect();
    }
    return { rtt, start };
  }, args);

  const hello = { method: 'hello', params: { app: { endpoint: world.idp.endpoint, appId: APP_ID } } };
  const ping = { method: 'ping' };
  const get = { method: 'getAccessToken', params: { resource: API } };
  const oursPing = await measure({ host: 'logto_companion', frames: { setup: [hello], timed: ping }, n: N, starts: STARTS });
  const echoPing = await measure({ host: 'lc_echo', frames: { setup: [], timed: ping }, n: N, starts: STARTS });
  const oursGet = await measure({ host: 'logto_companion', frames: { setup: [hello], timed: get }, n: N, starts: 0 });
  const echoGet = await measure({ host: 'lc_echo', frames: { setup: [], timed: get }, n: N, starts: 0 });

  const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const fmt = (a) => `${(q(a, 0.5) * 1000).toFixed(0)} µs (p99 ${(q(a, 0.99) * 1000).toFixed(0)}, n=${a.length})`;
  const ratio = (a, b) => `${(q(a, 0.5) / q(b, 0.5)).toFixed(2)}×`;
  console.log('| figure (in Chromium, service worker ↔ host) | ours | echo host | ratio | note |');
  console.log('|---|---|---|---|---|');
  console.log(`| ping round trip on an open port | ${fmt(oursPing.rtt)} | ${fmt(echoPing.rtt)} | ${ratio(oursPing.rtt, echoPing.rtt)} | Chromium's IPC to the host process dominates both |`);
  console.log(`| cached getAccessToken round trip | ${fmt(oursGet.rtt)} | ${fmt(echoGet.rtt)} | ${ratio(oursGet.rtt, echoGet.rtt)} | |`);
  console.log(`| connectNative → first reply | ${fmt(oursPing.start)} | ${fmt(echoPing.start)} | ${ratio(oursPing.start, echoPing.start)} | Chromium spawns the process either way; ours also connects to the running daemon |`);
} finally {
  await world.close();
}
