// oidc-provider configured the way Logto configures it (logto-io/logto packages/core/src/oidc/init.ts),
// limited to what a native PKCE client can observe.
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { SCOPE_CLAIMS } from './accounts.mjs';
import { enableOrganizationTokens, organizationTokenClaims } from './organization-tokens.mjs';
import { esc, page } from './html.mjs';
import { successSource, userCodeConfirmSource, userCodeInputSource } from './device.mjs';

const ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'];
const ACCESS_TOKEN_ALG = 'ES384'; // JWT access tokens: Logto signs with the tenant's (P-384) key
const ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations'; // Logto's built-in resource
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// Logto auth parameters beyond OIDC's (first_screen, identifier, login_hint, direct_sign_in, …).
const LOGTO_EXTRA_PARAMS = ['interaction_mode', 'first_screen', 'identifier', 'direct_sign_in', 'organization_id',
  'login_hint', 'ui_locales', 'one_time_token', 'google_one_tap_credential'];

// Logto's defaults.ts: rotate for public clients (non sender-constrained), until the 1-year cap.
function rotateRefreshToken(ctx) {
  const { RefreshToken: rt, Client: client } = ctx.oidc.entities;
  if (!rt || !client) return false;
  if (rt.totalLifetime() >= 365.25 * 24 * 60 * 60) return false;
  if (client.clientAuthMethod === 'none' && !rt.isSenderConstrained()) return true;
  return rt.ttlPercentagePassed() >= 70;
}

// Logto's logout page auto-submits the confirm form with logout=yes; a button is there too.
function logoutSource(ctx, form) {
  ctx.body = page('Sign out', `${form}
<input type="hidden" form="op.logoutForm" name="logout" value="yes">
<p>Signing you out…</p>
<button type="submit" form="op.logoutForm">Sign out</button>
<script>document.getElementById('op.logoutForm').submit();</script>`);
}

function postLogoutSuccessSource(ctx) {
  const client = ctx.oidc.client?.clientName ?? ctx.oidc.client?.clientId;
  ctx.body = page('Signed out', `<p id="signed-out">You are signed out${client ? ` of ${esc(client)}` : ''}.</p>`);
}

/**
 * @param {string} issuer
 * @param {object} o config (see config.mjs), accounts, store, jwks
 */
export function createProvider(issuer, { config, accounts, store, jwks }) {
  const resources = new Map(config.resources.map((r) => [r.indicator, r]));
  const orgScopes = config.organizations.flatMap((o) => o.scopes ?? []);
  const scopes = ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid'), ...orgScopes];
  const knownScopes = new Set([...scopes, ...config.resources.flatMap((r) => r.scopes)]);

  // oidc-provider drops scopes it does not know without a word. With unknownScopes "reject" they are refused
  // with invalid_scope (RFC 6749 §4.1.2.1: "unknown"), so a pushed request fails before a tab opens.
  // oidc-provider has no hook for it, and it filters `scope` down to the OIDC scopes while it resolves
  // resources when no `resource` is given. So the check runs in two of its hooks, on the authorization,
  // PAR and device authorization routes only: in defaultResource (called before that filtering, when there
  // is no `resource`) and in an extraParams validator (run on every such request, present or not, after
  // the resource check, which keeps `scope` whole when a `resource` is given); it is hung on first_screen.
  const AUTHORIZATION_ROUTES = new Set(['authorization', 'pushed_authorization_request', 'device_authorization']);
  const checkRequestedScopes = async (ctx) => {
    if (config.unknownScopes !== 'reject' || !AUTHORIZATION_ROUTES.has(ctx.oidc.route)) return;
    const unknown = (ctx.oidc.params.scope ?? '').split(' ').filter((s) => s && !knownScopes.has(s));
    if (unknown.length) throw new errors.InvalidScope(`requested scope is not supported: ${unknown.join(' ')}`, unknown.join(' '));
  };
  const extraParams = Object.fromEntries(LOGTO_EXTRA_PARAMS.map((p) => [p, undefined]));
  extraParams.first_screen = checkRequestedScopes;

  const provider = new Provider(issuer, {
    adapter: store.adapter(),
    clients: config.clients.map((c) => {
      const client = {
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        post_logout_redirect_uris: [],
        id_token_signed_response_alg: config.idTokenAlg,
        ...c,
      };
      // oidc-provider refuses a client with a grant type that is not enabled: without the device flow the
      // device_code grant is dropped from every client instead.
      if (!config.deviceFlow) client.grant_types = client.grant_types.filter((g) => g !== DEVICE_CODE_GRANT);
      return client;
    }),
    clientDefaults: { id_token_signed_response_alg: 'ES384' },
    jwks,
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    renderError: (ctx, out) => { ctx.type = 'json'; ctx.body = out; },
    enabledJWA: {
      idTokenSigningAlgValues: ALGS,
      userinfoSigningAlgValues: ALGS,
      introspectionSigningAlgValues: ALGS,
      authorizationSigningAlgValues: ALGS,
    },
    conformIdTokenClaims: false, // Logto puts the scopes' claims (name, phone_number, …) in the ID token
    claims: SCOPE_CLAIMS,
    scopes,
    extraParams,
    extraTokenClaims: organizationTokenClaims,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: config.endSession, logoutSource, postLogoutSuccessSource },
      // RFC 9126. oidc-provider (and so Logto) has it on by default; "required" refuses plain /auth requests.
      pushedAuthorizationRequests: {
        enabled: config.par !== 'disabled',
        requirePushedAuthorizationRequests: config.par === 'required',
      },
      // RFC 8628, for clients with the device_code grant (Logto: a Native app set to device flow).
      deviceFlow: {
        enabled: config.deviceFlow,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource,
        userCodeConfirmSource,
        successSource,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx) => { // no Logto "default API"
          await checkRequestedScopes(ctx);
          return undefined;
        },
        useGrantedResource: () => false, // no resource -> opaque token for /oidc/me
        getResourceServerInfo: async (_ctx, indicator) => {
          // Logto's built-in organizations resource: the SDK asks for it with
          // the organizations scope; it carries no API scopes of its own.
          const r = indicator === ORGANIZATIONS_RESOURCE
            ? { scopes: [], accessTokenTtl: config.ttl.accessToken }
            : resources.get(indicator);
          if (!r) throw new errors.InvalidTarget();
          return {
            scope: r.scopes.join(' '),
            accessTokenFormat: 'jwt',
            accessTokenTTL: r.accessTokenTtl ?? config.ttl.accessToken,
            jwt: { sign: { alg: ACCESS_TOKEN_ALG } },
          };
        },
      },
    },
    pkce: { required: () => true }, // oidc-provider 9 only knows S256
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    rotateRefreshToken,
    revokeGrantPolicy: () => true, // revoking a refresh or access token revokes the whole grant
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? config.ttl.accessToken,
      IdToken: config.ttl.idToken,
      RefreshToken: (ctx, token, client) => {
        // Logto: SPAs (web + none) keep the remaining TTL on rotation; native apps slide.
        const rotated = ctx?.oidc?.entities?.RotatedRefreshToken;
        if (rotated && client.applicationType === 'web' && client.clientAuthMethod === 'none') return rotated.remainingTTL;
        return config.ttl.refreshToken;
      },
      AuthorizationCode: 60,
      Interaction: 3600,
      Session: config.ttl.session,
      Grant: Math.max(config.ttl.refreshToken, config.ttl.session),
    },
    clientBasedCORS: () => true,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: accounts.findAccount,
  });

  // Logto (redirect-uri/index.ts): post-logout URIs match exactly, port included, for every client type.
  provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value) {
    if (!URL.canParse(value)) return false;
    const { href } = new URL(value);
    return (this.postLogoutRedirectUris ?? []).some((u) => URL.canParse(u) && new URL(u).href === href);
  };

  enableOrganizationTokens(provider, { accounts, accessTokenTtl: config.ttl.accessToken, signingAlg: ACCESS_TOKEN_ALG });

  // revocationAuth "confidential": the revocation endpoint wants client authentication (HTTP Basic), which a
  // public client cannot give, as some providers do; discovery says so (RFC 8414
  // revocation_endpoint_auth_methods_supported). Checked before the body is read, as such providers do.
  if (config.revocationAuth === 'confidential') {
    provider.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.path === '/token/revocation' && !/^basic /i.test(ctx.get('authorization'))) {
        ctx.status = 401;
        ctx.set('www-authenticate', 'Basic realm="revocation"');
        const description = 'client authentication is required to revoke a token';
        ctx.body = { code: 'oidc.invalid_client', message: description, error: 'invalid_client', error_description: description };
        provider.emit('revocation.error', ctx, Object.assign(new Error(description), { error: 'invalid_client' }));
        provider.emit('revocation.refused', ctx); // the test API counts it: oidc-provider never saw the request
        return;
      }
      await next();
      if (ctx.path === '/.well-known/openid-configuration' && ctx.status === 200 && ctx.body?.revocation_endpoint) {
        ctx.body.revocation_endpoint_auth_methods_supported = ['client_secret_basic'];
      }
    });
  }

  // Device flow polling (RFC 8628 §3.2, §3.5). oidc-provider sends no `interval` (clients then wait 5 s) and
  // never answers slow_down. Here the response carries `deviceInterval`, and with deviceSlowDown a poll that
  // comes sooner than the interval after the previous one (while still pending) gets slow_down, so a client
  // that does not honour it can be caught.
  const lastPoll = new Map(); // sha256(device_code) -> ms
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.status >= 300 && ctx.status < 400) return;
    if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body.interval = config.deviceInterval;
    } else if (ctx.path === '/token' && config.deviceSlowDown && ctx.body?.error === 'authorization_pending') {
      const key = crypto.createHash('sha256').update(String(ctx.oidc?.params?.device_code)).digest('hex');
      const now = Date.now();
      const previous = lastPoll.get(key);
      lastPoll.set(key, now);
      if (previous !== undefined && now - previous < config.deviceInterval * 1000) {
        const description = `poll at most every ${config.deviceInterval} s, and 5 s more after each slow_down`;
        ctx.body = { code: 'oidc.slow_down', message: description, error: 'slow_down', error_description: description };
      }
    }
  });

  // Logto's error body: { code: 'oidc.<error>', message, error, error_description }
  provider.use(async (ctx, next) => {
    await next();
    const b = ctx.body;
    if (ctx.status >= 400 && b && typeof b === 'object' && typeof b.error === 'string' && !b.code) {
      const notFound = /session.*not found|authorization request has expired/i.test(b.error_description ?? '');
      ctx.body = { code: notFound ? 'session.not_found' : `oidc.${b.error}`, message: b.error_description ?? b.error, ...b };
    }
  });
  return provider;
}
