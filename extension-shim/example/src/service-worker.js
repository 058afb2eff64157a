// The service worker of the Logto Chrome extension tutorial, with one line
// changed: the import (`@logto/chrome-extension` → the shim). build.mjs
// resolves the package name to the copy it puts in the extension, as a
// bundler would (an extension cannot import from node_modules).
import LogtoClient from '@logto-companion/extension-shim';
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
  // As in the tutorial, sign-in and sign-out run here: the popup closes as
  // soon as the sign-in tab opens, and the flow must outlive it. The two
  // chrome.identity lines are the tutorial's (the manifest keeps "identity"
  // for them); the shim ignores both URIs, because the daemon owns the redirect.
  if (message.action === 'signIn') {
    const redirectUri = chrome.identity.getRedirectURL('/callback');
    return respond(logtoClient.signIn(message.options ? { ...message.options, redirectUri } : redirectUri), sendResponse);
  }

  if (message.action === 'signOut') {
    const redirectUri = chrome.identity.getRedirectURL();
    return respond(logtoClient.signOut(redirectUri), sendResponse);
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

  if (message.action === 'companionStatus') {
    return respond(logtoClient.getCompanionStatus(), sendResponse);
  }

  return false;
});
