// Test-only API under /__test/ (on by default; IDP_TEST_API=0 turns it off). Never expose this IdP.
//
//   GET  /__test/counters        {"token":{"<grant_type>":n,…},"revocation":n,"userinfo":n,"authorization":n,"endSession":n,
//                                 "introspection":n,"pushedAuthorization":n,"deviceAuthorization":n}
//   POST /__test/counters/reset  zero them
//   GET  /__test/issued          ["…"] every token string ever issued: codes, access, refresh and ID tokens
//                                (?detail=1 gives [{type, value}])
//   GET  /__test/grants          [{accountId, clientId, grantId, active}] active = refresh tokens still usable
//   POST /__test/revoke?accountId=…  revoke every grant of the account (as an admin would) -> {"revoked": n}
import { sendJson } from './html.mjs';

const ROUTE_COUNTERS = { revocation: 'revocation', userinfo: 'userinfo', authorization: 'authorization', end_session: 'endSession', introspection: 'introspection',
  pushed_authorization_request: 'pushedAuthorization', device_authorization: 'deviceAuthorization' };

/** Counts endpoint calls and remembers issued token strings. Install before the first request. */
export function createRecorder(provider, store) {
  const issued = [];
  let counters;
  const reset = () => {
    counters = { token: {}, ...Object.fromEntries(Object.values(ROUTE_COUNTERS).map((name) => [name, 0])) };
  };
  reset();

  provider.on('revocation.refused', () => { counters.revocation += 1; });
  store.onUpsert = (model, id) => {
    if (model === 'AuthorizationCode') issued.push({ type: 'authorization_code', value: id });
  };
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      const route = ctx.oidc?.route;
      if (route === 'token') {
        const gt = ctx.oidc.params?.grant_type ?? ctx.oidc.body?.grant_type ?? 'unknown';
        counters.token[gt] = (counters.token[gt] ?? 0) + 1;
        const b = ctx.body;
        if (ctx.status === 200 && b && typeof b === 'object') {
          for (const type of ['access_token', 'refresh_token', 'id_token']) {
            if (typeof b[type] === 'string') issued.push({ type, value: b[type] });
          }
        }
      } else if (ROUTE_COUNTERS[route]) {
        counters[ROUTE_COUNTERS[route]] += 1;
      }
    }
  });
  return { issued, get counters() { return counters; }, reset };
}

export function createTestApi({ recorder, store }) {
  return function handleTestApi(req, res, url) {
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    switch (route) {
      case 'GET /__test/counters': return sendJson(res, 200, recorder.counters);
      case 'POST /__test/counters/reset': recorder.reset(); return sendJson(res, 200, recorder.counters);
      case 'GET /__test/issued':
        return sendJson(res, 200, url.searchParams.has('detail') ? recorder.issued : recorder.issued.map((t) => t.value));
      case 'GET /__test/grants':
        return sendJson(res, 200, [...store.grants].map(([grantId, g]) => ({
          accountId: g.accountId, clientId: g.clientId, grantId, active: store.activeRefreshTokens(grantId),
        })));
      case 'POST /__test/revoke':
        return sendJson(res, 200, { revoked: store.revokeAccount(url.searchParams.get('accountId') ?? '') });
      default: return sendJson(res, 404, { code: 'guard.invalid_input', message: 'unknown test API route' });
    }
  };
}
