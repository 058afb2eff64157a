// The constants @logto/chrome-extension re-exports from @logto/js and
// @logto/client, with the same names and values, so that
// `import LogtoClient, { UserScope, Prompt } from …` keeps working after
// migration. A missing named export is a load error in an ES module (it
// kills the whole service worker), so every one of them is here.

/** The scopes @logto/js defines (`UserScope` enum there). */
export const UserScope = Object.freeze({
  Profile: 'profile',
  Email: 'email',
  Phone: 'phone',
  Address: 'address',
  CustomData: 'custom_data',
  Identities: 'identities',
  Roles: 'roles',
  Organizations: 'urn:logto:scope:organizations',
  OrganizationRoles: 'urn:logto:scope:organization_roles',
  Sessions: 'urn:logto:scope:sessions',
});

export const ReservedScope = Object.freeze({
  OpenId: 'openid',
  OfflineAccess: 'offline_access',
});

/** The resource the organizations scope adds (tokens for organizations). */
export const ReservedResource = Object.freeze({
  Organization: 'urn:logto:resource:organizations',
});

export const Prompt = Object.freeze({
  None: 'none',
  Consent: 'consent',
  Login: 'login',
});

/**
 * The storage keys of @logto/client. Here the tokens are in the daemon, not
 * in a storage the extension can read; the names are kept for code that
 * passes them to `client.adapter.storage`.
 */
export const PersistKey = Object.freeze({
  IdToken: 'idToken',
  RefreshToken: 'refreshToken',
  AccessToken: 'accessToken',
  SignInSession: 'signInSession',
});

/** The prefix of organization URNs (`aud` of an organization token). */
export const organizationUrnPrefix = 'urn:logto:organization:';

/** `buildOrganizationUrn('1')` → `'urn:logto:organization:1'`. */
export const buildOrganizationUrn = (organizationId) => `${organizationUrnPrefix}${organizationId}`;

/** The inverse of `buildOrganizationUrn`; throws a TypeError for anything else, as @logto/js does. */
export const getOrganizationIdFromUrn = (urn) => {
  if (typeof urn !== 'string' || !urn.startsWith(organizationUrnPrefix)) {
    throw new TypeError('Invalid organization URN.');
  }
  return urn.slice(organizationUrnPrefix.length);
};

/** The native messaging host name `logto-companion install` registers. */
export const DEFAULT_HOST_NAME = 'logto_companion';
