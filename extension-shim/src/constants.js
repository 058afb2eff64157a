// The constants @logto/chrome-extension re-exports from @logto/js, so that
// `import LogtoClient, { UserScope } from …` keeps working after migration.

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
});

export const ReservedScope = Object.freeze({
  OpenId: 'openid',
  OfflineAccess: 'offline_access',
});

export const Prompt = Object.freeze({
  Consent: 'consent',
  Login: 'login',
});

/** The native messaging host name `logto-companion install` registers. */
export const DEFAULT_HOST_NAME = 'logto_companion';
