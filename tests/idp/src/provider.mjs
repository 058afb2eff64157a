// oidc-provider configured the way Logto configures it (logto-io/logto packages/core/src/oidc/init.ts),
// limited to what a native PKCE client can observe.
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { SCOPE_CLAIMS } from './accounts.mjs';
import { enableOrganizationTokens, organizationTokenClaims } from './organization-tokens.mjs';
import { esc, page } from './html.mjs';

const ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512'];
const ACCESS_TOKEN_ALG = 'ES384'; // JWT access tokens: Logto signs with the tenant's (P-384) key
const ORGANIZATIONS_RESOURCE = 'urn:logto:resource:organizations'; // Logto's built-in resource

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

  const provider = new Provider(issuer, {
    adapter: store.adapter(),
    clients: config.clients.map((c) => ({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      post_logout_redirect_uris: [],
      id_token_signed_response_alg: config.idTokenAlg,
      ...c,
    })),
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
    scopes: ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid'), ...orgScopes],
    extraParams: LOGTO_EXTRA_PARAMS,
    extraTokenClaims: organizationTokenClaims,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined, // no Logto "default API"
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
