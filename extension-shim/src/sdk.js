// The SDK's helper exports (@logto/browser, @logto/client) that the shim
// itself does not need, but that code written for @logto/chrome-extension
// may import: each does what the SDK's does, so an import never breaks the
// service worker and a call never surprises.

import { LogtoError, LogtoRequestError } from './errors.js';

const KEY_PREFIX = 'logto';

function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** 64 random bytes, base64url (as @logto/browser). */
const randomString = () => base64url(globalThis.crypto.getRandomValues(new Uint8Array(64)));

/** A random `state` (RFC 6749 §10.12). */
export const generateState = () => randomString();

/** A PKCE code verifier (RFC 7636 §4.1). */
export const generateCodeVerifier = () => randomString();

/** The S256 PKCE challenge of `codeVerifier` (RFC 7636 §4.2). */
export const generateCodeChallenge = async (codeVerifier) => {
  if (globalThis.crypto?.subtle === undefined) throw new LogtoError('crypto_subtle_unavailable');
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(codeVerifier));
  return base64url(new Uint8Array(digest));
};

/**
 * A `fetch`-based requester that resolves with the JSON body and throws the
 * SDK's errors for non-2xx answers: `LogtoRequestError(code, message,
 * response)` for a `{code, message}` body, `http_error_<status>` /
 * `rate_limited` for a body that is not JSON, `LogtoError
 * unexpected_response_error` otherwise.
 */
export const createRequester = (fetchFunction) => async (...args) => {
  const response = await fetchFunction(...args);
  if (response.ok) return response.json();
  const cloned = response.clone();
  let body;
  try {
    body = await response.clone().json();
  } catch {
    const text = await response.text();
    throw new LogtoRequestError(response.status === 429 ? 'rate_limited' : `http_error_${response.status}`,
      text || response.statusText, cloned);
  }
  if (body && typeof body.code === 'string' && typeof body.message === 'string') {
    throw new LogtoRequestError(body.code, body.message, cloned);
  }
  throw new LogtoError('unexpected_response_error', body);
};

/** Key naming shared by both storages: `logto:{appId}[:{item}]`. */
class KeyedStorage {
  constructor(appId) {
    this.appId = appId;
  }

  getKey(item) {
    return item === undefined ? `${KEY_PREFIX}:${this.appId}` : `${KEY_PREFIX}:${this.appId}:${item}`;
  }
}

/**
 * `localStorage` / `sessionStorage` (for `signInSession`) storage of
 * @logto/browser. The shim never stores tokens in it; it is exported for
 * code that uses it for its own data. Outside a window it is a no-op.
 */
export class BrowserStorage extends KeyedStorage {
  #area(key) {
    if (typeof window === 'undefined') return null;
    return key === 'signInSession' ? globalThis.sessionStorage : globalThis.localStorage;
  }

  async getItem(key) {
    const area = this.#area(key);
    if (!area) return null;
    if (key === 'signInSession') return area.getItem(this.getKey(key)) ?? area.getItem(this.getKey());
    return area.getItem(this.getKey(key));
  }

  async setItem(key, value) {
    this.#area(key)?.setItem(this.getKey(key), value);
  }

  async removeItem(key) {
    this.#area(key)?.removeItem(this.getKey(key));
  }
}

/**
 * `chrome.storage.local` storage of @logto/chrome-extension (needs the
 * `storage` permission). The shim never stores tokens in it; exported for
 * code that uses it for its own data.
 */
export class ChromeExtensionStorage extends KeyedStorage {
  #local() {
    const local = (globalThis.browser ?? globalThis.chrome)?.storage?.local;
    if (!local) {
      throw new TypeError('ChromeExtensionStorage needs chrome.storage.local: add "storage" to "permissions" in manifest.json.');
    }
    return local;
  }

  async getItem(key) {
    const storageKey = this.getKey(key);
    const object = await this.#local().get(storageKey);
    return object?.[storageKey] ? String(object[storageKey]) : null;
  }

  async setItem(key, value) {
    await this.#local().set({ [this.getKey(key)]: value });
  }

  async removeItem(key) {
    await this.#local().remove(this.getKey(key));
  }
}
