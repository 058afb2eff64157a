import LogtoClient from '../src/index.js';
import { FakeBrowser, FakeClock, flush } from './fakes.js';

export const ENDPOINT = 'https://auth.example.test';
export const APP_ID = 'app-123';
export const EXT_ID = 'abcdefghijklmnopabcdefghijklmnop';

/** A client wired to a fake browser and a manual clock. */
export function setup({ flavor = 'chrome', config = {}, host, connectError } = {}) {
  const browser = new FakeBrowser({ flavor, id: EXT_ID, connectError });
  if (host) browser.autoHost(host);
  const clock = new FakeClock();
  const client = new LogtoClient({ endpoint: ENDPOINT, appId: APP_ID, ...config }, {
    api: browser,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
  });
  return { browser, clock, client };
}

/** Answer the pending `hello` on the current port. */
export async function answerHello(browser, authenticated = false) {
  await flush();
  const hello = browser.port.last('hello');
  if (!hello) throw new Error('no hello was sent');
  browser.port.reply(hello.id, { protocol: 1, version: '0.1.0', authenticated });
  await flush();
  return hello;
}

/** Settle state of a promise without awaiting it forever. */
export function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => { state.settled = true; state.value = value; },
    (error) => { state.settled = true; state.error = error; },
  );
  return state;
}
