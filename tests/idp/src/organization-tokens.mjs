// Logto organization tokens (RFC 0001 in Logto's docs), on top of oidc-provider's refresh_token grant.
//
// A refresh_token grant with `organization_id`:
//   - the refresh token must carry scope urn:logto:scope:organizations  -> else 403 insufficient_scope
//   - the user must be a member of the organization                     -> else 403 access_denied
//   (both checked before the refresh token is rotated, as in Logto's refresh-token grant)
//   - without `resource`: a JWT access token, aud = urn:logto:organization:{id}, scope = the
//     organization's scopes the refresh token holds (or the requested `scope`)
//   - with `resource`: the normal resource token plus an `organization_id` claim
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { errors } from 'oidc-provider';
import { ORGANIZATIONS_SCOPE, organizationUrn } from './accounts.mjs';

export function enableOrganizationTokens(provider, { accounts, accessTokenTtl, signingAlg }) {
  const internals = instance(provider);
  const refreshGrant = internals.grantTypeHandlers.get('refresh_token');
  const params = new Set([...internals.grantTypeParams.get('refresh_token'), 'organization_id']);

  async function refreshTokenWithOrganizations(ctx) {
    const organizationId = ctx.oidc.params.organization_id;
    if (!organizationId) return refreshGrant(ctx);

    const rt = await provider.RefreshToken.find(ctx.oidc.params.refresh_token, { ignoreExpiration: true });
    // Invalid, expired or reused refresh tokens: the standard grant answers (and revokes on reuse).
    if (rt && !rt.consumed && !rt.isExpired && rt.clientId === ctx.oidc.client.clientId) {
      if (!rt.scopes.has(ORGANIZATIONS_SCOPE)) {
        const e = new errors.InsufficientScope('refresh token missing required scope', ORGANIZATIONS_SCOPE);
        e.statusCode = 403;
        throw e;
      }
      if (!accounts.isMember(organizationId, rt.accountId)) {
        const e = new errors.AccessDenied('user is not a member of the organization');
        e.statusCode = 403;
        throw e;
      }
    }

    const org = accounts.organizations.get(organizationId);
    const requested = ctx.oidc.params.scope ? ctx.oidc.requestParamScopes : rt?.scopes ?? new Set();
    const issuedScope = (org?.scopes ?? []).filter((s) => requested.has(s)).join(' ');
    const setEntity = ctx.oidc.entity.bind(ctx.oidc);
    ctx.oidc.entity = (key, value) => {
      if (key === 'AccessToken') {
        if (!value.resourceServer) {
          const audience = organizationUrn(organizationId);
          value.resourceServer = new provider.ResourceServer(audience, {
            audience,
            scope: issuedScope,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: signingAlg } },
          });
          value.scope = issuedScope;
          value.claims = undefined;
        }
      }
      return setEntity(key, value);
    };
    return refreshGrant(ctx);
  }

  provider.registerGrantType('refresh_token', refreshTokenWithOrganizations, params, internals.grantTypeDupes.get('refresh_token'));
}

/** extraTokenClaims: a resource token asked for with organization_id carries that claim. */
export function organizationTokenClaims(ctx, token) {
  const organizationId = ctx?.oidc?.params?.organization_id;
  if (organizationId && token.kind === 'AccessToken' && token.aud !== organizationUrn(organizationId)) {
    return { organization_id: organizationId };
  }
  return undefined;
}
