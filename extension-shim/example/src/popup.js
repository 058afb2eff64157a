// The tutorial's popup: Sign in / Sign out through the service worker, and
// the authentication state read with a LogtoClient of its own (same config).
import LogtoClient from '@logto-companion/extension-shim';
import config from './config.js';

const logtoClient = new LogtoClient(config);

const $ = (id) => document.getElementById(id);

function showError(error) {
  $('error').textContent = error ? `${error.code ?? 'error'}: ${error.message ?? error}` : '';
}

const loadAuthenticationState = async () => {
  try {
    const isAuthenticated = await logtoClient.isAuthenticated();
    // Update the UI based on the authentication state
    $('status').textContent = isAuthenticated ? 'Signed in' : 'Signed out';
    if (isAuthenticated) {
      const user = await logtoClient.getIdTokenClaims(); // { sub: '...', phone_number: '...', ... }
      $('claims').textContent = JSON.stringify(user, null, 2);
    } else {
      $('claims').textContent = '';
      // Signed out, or the companion cannot be asked: say which, and the fix.
      const companion = await logtoClient.getCompanionStatus();
      if (!companion.ok) showError(companion.error);
    }
  } catch (error) {
    showError(error);
  } finally {
    document.body.dataset.loaded = String(Number(document.body.dataset.loaded ?? 0) + 1);
  }
};

async function run(action) {
  showError(null);
  try {
    const response = await chrome.runtime.sendMessage({ action });
    if (response && !response.ok) showError(response.error);
  } catch (error) {
    showError(error);
  }
  await loadAuthenticationState();
}

$('sign-in').addEventListener('click', () => run('signIn'));
$('sign-out').addEventListener('click', () => run('signOut'));

// Signed in or out elsewhere (another browser, the CLI): refresh.
logtoClient.onSessionChange(() => loadAuthenticationState());

loadAuthenticationState();
