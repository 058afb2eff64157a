// Hand-written types for @logto-companion/extension-shim. They follow the
// runtime in src/index.js exactly; the SDK-shaped parts follow
// @logto/chrome-extension 0.1.27 (@logto/client 3.1).

/** The scopes @logto/js defines (`UserScope` enum there). */
export declare const UserScope: {
  readonly Profile: 'profile';
  readonly Email: 'email';
  readonly Phone: 'phone';
  readonly Address: 'address';
  readonly CustomData: 'custom_data';
  readonly Identities: 'identities';
  readonly Roles: 'roles';
  readonly Organizations: 'urn:logto:scope:organizations';
  readonly OrganizationRoles: 'urn:logto:scope:organization_roles';
};
export type UserScope = (typeof UserScope)[keyof typeof UserScope];

export declare const ReservedScope: {
  readonly OpenId: 'openid';
  readonly OfflineAccess: 'offline_access';
};
export type ReservedScope = (typeof ReservedScope)[keyof typeof ReservedScope];

export declare const Prompt: {
  readonly Consent: 'consent';
  readonly Login: 'login';
};
export type Prompt = (typeof Prompt)[keyof typeof Prompt];

/** `logto_companion`, the host name `logto-companion install` registers. */
export declare const DEFAULT_HOST_NAME: 'logto_companion';

export type InteractionMode = 'signIn' | 'signUp';
export type FirstScreen =
  | 'sign_in'
  | 'register'
  | 'reset_password'
  | 'identifier:sign_in'
  | 'identifier:register'
  | 'single_sign_on'
  | (string & {});
export type Identifier = 'email' | 'phone' | 'username' | (string & {});

/** `LogtoConfig` of @logto/chrome-extension. */
export interface LogtoConfig {
  endpoint: string;
  appId: string;
  /** Accepted for compatibility and ignored: the companion is a public (native) client. */
  appSecret?: string;
  scopes?: string[];
  resources?: string[];
  /** Default (decided by the daemon, as in the SDK): `consent`. */
  prompt?: Prompt | string | Array<Prompt | string>;
  /** Default true: `openid offline_access profile` are added. */
  includeReservedScopes?: boolean;
}

/** The shim's own options, next to the SDK's config. */
export interface LogtoCompanionOptions {
  /** Native messaging host name. Default `logto_companion`. */
  hostName?: string;
  /** Per-request timeout in ms (code `timeout`). Default 30000; 0 = none. */
  requestTimeout?: number;
  /** Timeout of `signIn` in ms (the user is typing). Default 600000; 0 = none. */
  signInTimeout?: number;
  /** How long the end-session tab of `signOut` may stay open, in ms. Default 10000. */
  signOutTimeout?: number;
  /** Reconnect delay after the port drops: `initial` doubling up to `max` ms. Default 100 / 5000. */
  reconnectBackoff?: { initial?: number; max?: number };
}

export type LogtoCompanionConfig = LogtoConfig & LogtoCompanionOptions;

export interface DirectSignInOptions {
  method: 'social' | 'sso' | (string & {});
  target: string;
}

/** `SignInOptions` of @logto/client 3.1. */
export interface SignInOptions {
  /** Ignored: the daemon owns the redirect. */
  redirectUri?: string | URL;
  /** Ignored. */
  postRedirectUri?: string | URL;
  prompt?: Prompt | string | Array<Prompt | string>;
  /** Ignored: the daemon replaces the session when the flow succeeds. */
  clearTokens?: boolean;
  firstScreen?: FirstScreen;
  identifiers?: Identifier[];
  /** @deprecated in the SDK; use `firstScreen`. */
  interactionMode?: InteractionMode;
  loginHint?: string;
  directSignIn?: DirectSignInOptions;
  extraParams?: Record<string, string>;
  /**
   * Shim only: `extension` (default) opens the sign-in page in a tab of this
   * browser; `system` lets the daemon open the system browser.
   */
  openIn?: 'extension' | 'system';
}

export type IdTokenClaims = {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  at_hash?: string;
  name?: string | null;
  username?: string | null;
  picture?: string | null;
  email?: string | null;
  email_verified?: boolean;
  phone_number?: string | null;
  phone_number_verified?: boolean;
  organizations?: string[];
  organization_roles?: string[];
  roles?: string[];
  [claim: string]: unknown;
};

export type AccessTokenClaims = {
  jti?: string;
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  client_id?: string;
  scope?: string;
  organization_id?: string;
  [claim: string]: unknown;
};

export type UserInfoResponse = IdTokenClaims & {
  custom_data?: unknown;
  identities?: Record<string, unknown>;
  [claim: string]: unknown;
};

export interface OidcConfigResponse {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  endSessionEndpoint: string;
  revocationEndpoint: string;
  jwksUri: string;
  [key: string]: unknown;
}

export interface SessionChange {
  authenticated: boolean;
  /** Present when the daemon sent it (signed in). */
  sub?: string;
}

/**
 * Codes a call can reject with: the SDK's codes, the daemon's
 * (docs/protocol.md), and the shim's own (`timeout`, `host_not_found`,
 * `host_forbidden`).
 */
export type LogtoClientErrorCode =
  | 'sign_in_session.invalid'
  | 'sign_in_session.not_found'
  | 'not_authenticated'
  | 'fetch_user_info_failed'
  | 'user_cancelled'
  | 'missing_scope_organizations'
  | 'id_token.invalid_iat'
  | 'id_token.invalid_token'
  | 'callback_uri_verification.redirect_uri_mismatched'
  | 'callback_uri_verification.error_found'
  | 'callback_uri_verification.missing_state'
  | 'callback_uri_verification.state_mismatched'
  | 'callback_uri_verification.missing_code'
  | 'unexpected_response_error'
  | 'invalid_request'
  | 'method_not_found'
  | 'invalid_params'
  | 'message_too_large'
  | 'hello_required'
  | 'app_not_registered'
  | 'forbidden'
  | 'daemon_unavailable'
  | 'internal_error'
  | 'invalid_target'
  | 'network_error'
  | 'idp_error'
  | 'keychain_unavailable'
  | 'timeout'
  | 'host_not_found'
  | 'host_forbidden'
  | (string & {});

/** Every error a `LogtoClient` call rejects with. */
export declare class LogtoClientError extends Error {
  name: 'LogtoClientError' | 'LogtoError' | 'LogtoRequestError';
  code: LogtoClientErrorCode;
  data: unknown;
  /** `message` defaults to the SDK's text for `code`. */
  constructor(code: LogtoClientErrorCode, data?: unknown, message?: string);
}

/** `id_token.*`, `callback_uri_verification.*`, `unexpected_response_error`. */
export declare class LogtoError extends LogtoClientError {
  name: 'LogtoError';
}

/** `idp_error`: the IdP answered with an OAuth error (`data.error`, `data.error_description`). */
export declare class LogtoRequestError extends LogtoClientError {
  name: 'LogtoRequestError';
}

/** The test seam: a fake `chrome`/`browser` object and a controllable clock. */
export interface LogtoClientInternals {
  api?: unknown;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  now?: () => number;
}

export default class LogtoClient {
  /** Frozen copy of the config given to the constructor. */
  readonly logtoConfig: Readonly<LogtoCompanionConfig>;
  /** The native messaging host this client talks to. */
  readonly hostName: string;

  /** @throws TypeError when `endpoint` or `appId` is missing. */
  constructor(config: LogtoCompanionConfig, internals?: LogtoClientInternals);

  /** Resolves when the flow ended and the user is signed in. */
  signIn(options: SignInOptions): Promise<void>;
  /** The SDK's old positional form; `redirectUri` is ignored. */
  signIn(redirectUri: string | URL, interactionMode?: InteractionMode, loginHint?: string): Promise<void>;
  signOut(postLogoutRedirectUri?: string): Promise<void>;
  isAuthenticated(): Promise<boolean>;
  getIdToken(): Promise<string | null>;
  /** Always rejects with code `forbidden`: refresh tokens never leave the daemon. */
  getRefreshToken(): Promise<never>;
  getIdTokenClaims(): Promise<IdTokenClaims>;
  getAccessToken(resource?: string, organizationId?: string): Promise<string>;
  getAccessTokenClaims(resource?: string): Promise<AccessTokenClaims>;
  getOrganizationToken(organizationId: string): Promise<string>;
  getOrganizationTokenClaims(organizationId: string): Promise<AccessTokenClaims>;
  fetchUserInfo(): Promise<UserInfoResponse>;
  clearAccessToken(): Promise<void>;
  clearAllTokens(): Promise<void>;
  getOidcConfig(): Promise<OidcConfigResponse>;
  /** No-op kept for compatibility: the daemon handles the redirect itself. */
  handleSignInCallback(callbackUri: string): Promise<void>;
  /** Always false: the extension is never the redirect target. */
  isSignInRedirected(url: string): Promise<boolean>;

  /**
   * Shim only. `listener` runs on every session change, from this browser,
   * another browser or the CLI. Connects at once. Returns an unsubscribe
   * function.
   */
  onSessionChange(listener: (change: SessionChange) => void): () => void;
  /** Shim only. Closes the native port; the next call reconnects. */
  close(): void;
}
