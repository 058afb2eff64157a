// Opening, focusing and closing the tabs of the sign-in and sign-out pages.
// `tabs.create`, `tabs.update`, `tabs.remove` and `windows.update` need no
// "tabs" permission, and `tabs.onUpdated` still reports `status` without it.

/**
 * The end-session page loads once, auto-submits its confirm form, and the
 * result (the post-logout redirect or Logto's success page) loads a second
 * time: after that second load the IdP session is over.
 */
const SIGN_OUT_LOADS = 2;

/** Open `url` in a new tab; resolves with the tab id, or null when unknown. */
export async function openTab(api, url, { active }) {
  if (typeof api?.tabs?.create === 'function') {
    const tab = await api.tabs.create({ url, active });
    return typeof tab?.id === 'number' ? tab.id : null;
  }
  if (typeof globalThis.open === 'function') {
    globalThis.open(url, '_blank');
    return null;
  }
  throw new Error('logto-companion: cannot open a tab here (no tabs.create and no window.open)');
}

/**
 * Bring a tab to the front (and its window). Resolves true when the tab
 * exists, false when it is gone (the caller opens a new one).
 */
export async function focusTab(api, tabId) {
  if (typeof tabId !== 'number' || typeof api?.tabs?.update !== 'function') return false;
  let tab;
  try {
    tab = await api.tabs.update(tabId, { active: true });
  } catch {
    return false; // closed meanwhile
  }
  if (!tab) return false;
  if (typeof tab.windowId === 'number' && typeof api?.windows?.update === 'function') {
    try { await api.windows.update(tab.windowId, { focused: true }); } catch { /* focus is best effort */ }
  }
  return true;
}

/** Close a tab; a tab the user already closed is fine. */
export async function closeTab(api, tabId) {
  if (typeof tabId !== 'number' || typeof api?.tabs?.remove !== 'function') return;
  try {
    await api.tabs.remove(tabId);
  } catch {
    // Already closed.
  }
}

/**
 * Open `url` in a background tab and close it after the sign-out page has
 * done its work (two completed loads), after `timeoutMs`, or when the user
 * closes it, whichever comes first. Never rejects.
 */
export async function visitInBackground(api, url, { timeoutMs, timers }) {
  let tabId = null;
  // Counted per tab id: a fast page may finish loading before tabs.create resolves.
  const loads = new Map();
  const removed = new Set();
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const check = () => {
    if (tabId !== null && ((loads.get(tabId) ?? 0) >= SIGN_OUT_LOADS || removed.has(tabId))) finish();
  };
  const onUpdated = (id, change) => {
    if (change?.status === 'complete') loads.set(id, (loads.get(id) ?? 0) + 1);
    check();
  };
  const onRemoved = (id) => { removed.add(id); check(); };
  const events = api?.tabs;
  events?.onUpdated?.addListener?.(onUpdated);
  events?.onRemoved?.addListener?.(onRemoved);
  const timer = timers.setTimeout(finish, timeoutMs);
  try {
    tabId = await openTab(api, url, { active: false });
    if (tabId === null) finish();
    check();
    await done;
  } catch (e) {
    console.warn('logto-companion: could not open the end-session page', e);
  } finally {
    timers.clearTimeout(timer);
    events?.onUpdated?.removeListener?.(onUpdated);
    events?.onRemoved?.removeListener?.(onRemoved);
    await closeTab(api, tabId);
  }
}
