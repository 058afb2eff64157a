// The service worker of the Logto Chrome extension tutorial, with one import
// changed: `@logto/chrome-extension` → the logto-companion shim (copied into
// the extension by build.mjs, because an extension cannot import from
// outside its folder and this example uses no bundler).
import LogtoClient from './vendor/extension-shim/index.js';
import config from './config.js';

export const logtoClient = new LogtoClient(config);

// For automated tests and benches:
// `serviceWorker.evaluate(() => logtoClient.getAccessToken('https://api.example.test'))`.
globalThis.logtoClient = logtoClient;

/** Answer `sendResponse` with `{ ok, result }` or `{ ok: false, error: { code, message } }`. */
function respond(promise, sendResponse) {
  promise.then(
    (result) => sendResponse({ ok: true, result }),
    (error) => sendResponse({ ok: false, error: { code: error?.code ?? 'error', message: String(error?.message ?? error) } }),
  );
  return true; // sendResponse is called asynchronously
}

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // As in the seed, sign-in and sign-out run here: the popup closes as soon
  // as the sign-in tab opens, and the flow must outlive it. The seed passed
  // chrome.identity.getRedirectURL(...) as redirect URIs; the companion owns
  // the redirect, so there is none (and no "identity" permission).
  if (message.action === 'signIn') {
    return respond(logtoClient.signIn(message.options ?? {}), sendResponse);
  }

  if (message.action === 'signOut') {
    return respond(logtoClient.signOut(), sendResponse);
  }

  if (message.action === 'getAccessToken') {
    return respond(logtoClient.getAccessToken(message.resource), sendResponse);
  }

  if (message.action === 'state') {
    return respond((async () => {
      const authenticated = await logtoClient.isAuthenticated();
      return { authenticated, claims: authenticated ? await logtoClient.getIdTokenClaims() : null };
    })(), sendResponse);
  }

  return false;
});
