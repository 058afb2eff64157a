// Puts the IdP together on one 127.0.0.1 HTTP server:
//   /oidc/*          oidc-provider (issuer http://127.0.0.1:PORT/oidc)
//   /interaction/*   the phone sign-in pages
//   /__test/*        the test API (unless testApi: false)
import http from 'node:http';
import { Accounts } from './accounts.mjs';
import { loadSigningKeys } from './keys.mjs';
import { createProvider } from './provider.mjs';
import { createInteractionHandler } from './interaction.mjs';
import { createRecorder, createTestApi } from './test-api.mjs';
import { Store } from './store.mjs';
import { sendJson } from './html.mjs';

const HOST = '127.0.0.1';

/**
 * @param {object} o
 * @param {object} o.config    resolved config (config.mjs resolveConfig/loadConfig)
 * @param {object} o.connector SMS connector: { sendMessage({to, type, payload}) }
 * @param {number} [o.port]    0 = ephemeral
 * @param {boolean} [o.testApi]
 * @param {boolean} [o.quiet]  no [idp] lines on stderr
 */
export async function startIdp({ config, connector, port = 0, testApi = true, quiet = false }) {
  const store = new Store();
  const accounts = new Accounts(config);
  const jwks = loadSigningKeys({ keysFile: config.keysFile, alsoRsa: config.alsoRsa || config.idTokenAlg === 'RS256' });

  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });
  const actualPort = server.address().port;
  const endpoint = `http://${HOST}:${actualPort}`;
  const issuer = `${endpoint}/oidc`;

  const provider = createProvider(issuer, { config, accounts, store, jwks });
  const recorder = createRecorder(provider, store);
  if (!quiet) {
    // oidc-provider answers many token errors with a generic description; log the real reason (never a token).
    for (const ev of ['grant.error', 'authorization.error', 'end_session.error', 'userinfo.error', 'revocation.error', 'server_error']) {
      provider.on(ev, (_ctx, err) => process.stderr.write(`[idp] ${ev}: ${err.error ?? err.name}: ${err.error_detail ?? err.error_description ?? err.message}\n`));
    }
  }
  const oidc = provider.callback();
  const interaction = createInteractionHandler({ provider, accounts, connector, codePolicy: config.verificationCode });
  const testApiHandler = testApi ? createTestApi({ recorder, store }) : null;

  server.on('request', async (req, res) => {
    const url = new URL(req.url, endpoint);
    try {
      if (url.pathname === '/oidc' || url.pathname.startsWith('/oidc/')) {
        req.originalUrl = req.url; // oidc-provider builds its URLs (and cookie paths) from this
        req.url = req.url.slice('/oidc'.length) || '/';
        return oidc(req, res);
      }
      if (url.pathname.startsWith('/interaction/')) return await interaction(req, res, url);
      if (testApiHandler && url.pathname.startsWith('/__test/')) return testApiHandler(req, res, url);
      if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
      return sendJson(res, 404, { code: 'guard.invalid_input', message: 'Not found.' });
    } catch (e) {
      if (!quiet) process.stderr.write(`[idp] ${req.method} ${url.pathname}: ${e.message}\n`);
      if (!res.headersSent) sendJson(res, 500, { code: 'unknown', message: 'Internal server error.' });
      else res.end();
    }
  });

  return {
    issuer,
    endpoint,
    port: actualPort,
    provider,
    accounts,
    store,
    recorder,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
