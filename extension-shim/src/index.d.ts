// Hand-written types for @logto-companion/extension-shim. They follow the
// runtime in src/*.js exactly; the SDK-shaped parts have the names and shapes
// of @logto/chrome-extension 0.1.27 (@logto/browser 3, @logto/client 3.1,
// @logto/js 6), which test/parity.test.js checks by enumeration and by
// compiling the same files against both.

// ------------------------------------------------------------- constants

/** The scopes @logto/js defines. */
export declare enum UserScope {
  Profile = 'profile',
  Email = 'email',
  Phone = 'phone',
  Address = 'address',
  CustomData = 'custom_data',
  Identities = 'identities',
  Roles = 'roles',
  Organizations = 'urn:logto:scope:organizations',
  OrganizationRoles = 'urn:logto:scope:organization_roles',
  Sessions = 'urn:logto:scope:sessions',
}

export declare enum ReservedScope {
  OpenId = 'openid',
  OfflineAccess = 'offline_access',
}

/** The resource the organizations scope adds. */
export declare enum ReservedResource {
  Organization = 'urn:logto:resource:organizations',
}

/** The `prompt` of the authorization request. */
export declare enum Prompt {
  None = 'none',
  Consent = 'consent',
  Login = 'login',
}

/**
 * The storage keys of @logto/client. The tokens are in the daemon, not in a
 * storage the extension can read (see `LogtoClient.adapter`).
 */
export declare enum PersistKey {
  IdToken = 'idToken',
  RefreshToken = 'refreshToken',
  AccessToken = 'accessToken',
  SignInSession = 'signInSession',
}

export declare const organizationUrnPrefix = 'urn:logto:organization:';
/** `buildOrganizationUrn('1')` → `'urn:logto:organization:1'`. */
export declare const buildOrganizationUrn: (organizationId: string) => string;
/** The inverse of `buildOrganizationUrn`; throws a TypeError for anything else. */
export declare const getOrganizationIdFromUrn: (urn: string) => string;

/** `logto_companion`, the host name `logto-companion install` registers. Shim only. */
export declare const DEFAULT_HOST_NAME: 'logto_companion';

// ----------------------------------------------------------------- config

type Nullable<T> = T | null;

/** `LogtoConfig` of @logto/client. */
export type LogtoConfig = {
  endpoint: string;
  appId: string;
  /** Accepted for compatibility and ignored: the companion is a public (native) client. */
  appSecret?: string;
  scopes?: string[];
  resources?: string[];
  /** Default (decided by the daemon, as in the SDK): `consent`. */
  prompt?: Prompt | Prompt[];
  /** Default true: `openid offline_access profile` are added. */
  includeReservedScopes?: boolean;
};

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

/** @deprecated in the SDK: use `firstScreen`. */
export type InteractionMode = 'signIn' | 'signUp';
export type FirstScreen =
  | 'signIn'
  | 'sign_in'
  | 'register'
  | 'reset_password'
  | 'identifier:sign_in'
  | 'identifier:register'
  | 'single_sign_on';
export type Identifier = 'email' | 'phone' | 'username';

export type DirectSignInOptions = {
  method: 'social' | 'sso';
  target: string;
};

/** `SignInOptions` of @logto/client 3.1. */
export type SignInOptions = {
  /** Ignored (the daemon owns the redirect); required in the SDK, optional here. */
  redirectUri?: string | URL;
  /** Ignored. */
  postRedirectUri?: string | URL;
  prompt?: Prompt | Prompt[];
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
};

// ----------------------------------------------------------------- claims

export type IdTokenClaims = {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  at_hash?: Nullable<string>;
  name?: Nullable<string>;
  username?: Nullable<string>;
  picture?: Nullable<string>;
  email?: Nullable<string>;
  email_verified?: boolean;
  phone_number?: Nullable<string>;
  phone_number_verified?: boolean;
  organizations?: string[];
  organization_roles?: string[];
  roles?: string[];
} & Record<string, unknown>;

export type AccessTokenClaims = {
  jti?: string;
  iss?: string;
  sub?: string;
  aud?: string;
  exp?: number;
  iat?: number;
  client_id?: string;
  scope?: string;
} & Record<string, unknown>;

type Identity = {
  userId: string;
  details?: Record<string, unknown>;
};

type OrganizationData = {
  id: string;
  name: string;
  description: Nullable<string>;
};

export type UserInfoResponse = IdTokenClaims & {
  custom_data?: unknown;
  identities?: Record<string, Identity>;
  organization_data?: OrganizationData[];
};

/** What `getOidcConfig()` resolves with (the provider's discovery document, camelCased). */
export type OidcConfigResponse = {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  endSessionEndpoint: string;
  revocationEndpoint: string;
  jwksUri: string;
  issuer: string;
};

// ----------------------------------------------------------------- errors

/** `LogtoError` codes of @logto/js. */
export type LogtoErrorCode =
  | 'id_token.invalid_iat'
  | 'id_token.invalid_token'
  | 'callback_uri_verification.redirect_uri_mismatched'
  | 'callback_uri_verification.error_found'
  | 'callback_uri_verification.missing_state'
  | 'callback_uri_verification.state_mismatched'
  | 'callback_uri_verification.missing_code'
  | 'crypto_subtle_unavailable'
  | 'unexpected_response_error';

/**
 * `LogtoClientError` codes: the SDK's six, then the daemon's and the shim's
 * (README, "Errors"), which the SDK's union does not have.
 */
export type LogtoClientErrorCode =
  | 'sign_in_session.invalid'
  | 'sign_in_session.not_found'
  | 'not_authenticated'
  | 'fetch_user_info_failed'
  | 'user_cancelled'
  | 'missing_scope_organizations'
  | 'invalid_request'
  | 'method_not_found'
  | 'invalid_params'
  | 'message_too_large'
  | 'hello_required'
  | 'app_not_registered'
  | 'forbidden'
  | 'daemon_unavailable'
  | 'internal_error'
  | 'network_error'
  | 'keychain_unavailable'
  | 'timeout'
  | 'host_not_found'
  | 'host_forbidden'
  | (string & {});

/** The client's own conditions (and the companion's: not installed, not registered, …). */
export declare class LogtoClientError extends Error {
  name: string;
  code: LogtoClientErrorCode;
  data: unknown;
  /** `message` (shim only) defaults to the SDK's text for `code`. */
  constructor(code: LogtoClientErrorCode, data?: unknown, message?: string);
}

/** ID token and callback checks. Not a `LogtoClientError`, as in the SDK. */
export declare class LogtoError extends Error {
  code: LogtoErrorCode;
  data?: unknown;
  name: string;
  constructor(code: LogtoErrorCode, data?: unknown, message?: string);
}

/**
 * The provider refused a request: `code` is `oidc.<error>` (`oidc.invalid_grant`,
 * `oidc.invalid_target`, …). `cause` is undefined (the daemon made the
 * request); `data` (shim only) is `{ daemonCode, error?, error_description? }`.
 */
export declare class LogtoRequestError extends Error {
  code: string;
  /** The original response in the SDK; always undefined here. */
  cause?: Response | undefined;
  name: string;
  /** Shim only: the daemon's code and the provider's OAuth error. */
  data?: { daemonCode: string; error?: string; error_description?: string | null; [key: string]: unknown };
  constructor(code: string, message: string, cause?: Response | undefined);
}

/** The OAuth error of a callback (`data` of `callback_uri_verification.error_found`). */
export declare class OidcError {
  error: string;
  errorDescription?: string | undefined;
  name: string;
  constructor(error: string, errorDescription?: string | undefined);
}

export declare const isLogtoRequestError: (data: unknown) => data is LogtoRequestError;

// -------------------------------------------------------------- adapters

/** `Requester` of @logto/js: a fetch-like call resolving with the parsed body. */
export type Requester = <T>(...args: Parameters<typeof fetch>) => Promise<T>;

/** The storage interface of @logto/client (localStorage-like, async). */
export type Storage<Keys extends string> = {
  getItem(key: Keys): Promise<Nullable<string>>;
  setItem(key: Keys, value: string): Promise<void>;
  removeItem(key: Keys): Promise<void>;
};

/** @deprecated in the SDK: use `PersistKey`. */
export type StorageKey = 'idToken' | 'refreshToken' | 'accessToken' | 'signInSession';

export type Navigate = (url: string, parameters: {
  redirectUri?: string;
  for: 'sign-in' | 'sign-out' | 'post-sign-in';
}) => void | Promise<void>;

/** `ClientAdapter` of @logto/client. */
export type ClientAdapter = {
  requester: Requester;
  storage: Storage<StorageKey | PersistKey>;
  unstable_cache?: Storage<string>;
  navigate: Navigate;
  generateState: () => string | Promise<string>;
  generateCodeVerifier: () => string | Promise<string>;
  generateCodeChallenge: (codeVerifier: string) => string | Promise<string>;
};

/** What `client.adapter` is here (see its doc comment). */
export type CompanionAdapter = ClientAdapter & {
  setStorageItem(key: StorageKey | PersistKey, value: Nullable<string>): Promise<void>;
  /** Always undefined: nothing is cached in the extension. */
  getCachedObject<T>(key: string): Promise<T | undefined>;
  /** Runs `getter` (nothing is cached in the extension). */
  getWithCache<T>(key: string, getter: () => Promise<T>): Promise<T>;
};

export type JwtVerifier = {
  verifyIdToken(idToken: string): Promise<void>;
};

/** `localStorage` storage of @logto/browser (never used for tokens here). */
export declare class BrowserStorage implements Storage<PersistKey> {
  readonly appId: string;
  constructor(appId: string);
  getKey(item?: string): string;
  getItem(key: PersistKey): Promise<string | null>;
  setItem(key: PersistKey, value: string): Promise<void>;
  removeItem(key: PersistKey): Promise<void>;
}

/** `chrome.storage.local` storage of @logto/chrome-extension (never used for tokens here). */
export declare class ChromeExtensionStorage implements Storage<PersistKey> {
  readonly appId: string;
  constructor(appId: string);
  getKey(item?: string): string;
  getItem(key: PersistKey): Promise<string | null>;
  setItem(key: PersistKey, value: string): Promise<void>;
  removeItem(key: PersistKey): Promise<void>;
}

export declare const createRequester: (fetchFunction: typeof fetch) => Requester;
export declare const generateState: () => string;
export declare const generateCodeVerifier: () => string;
export declare const generateCodeChallenge: (codeVerifier: string) => Promise<string>;

// ----------------------------------------------------------------- client

/** What `signOut()` resolves with (the SDK resolves with nothing). */
export interface SignOutResult {
  /** The end-session page that was opened in a background tab; null when the provider has none. */
  endSessionUrl: string | null;
  /** False when the provider refused the revocation or could not be reached (the local session is cleared anyway). */
  revoked?: boolean;
  revocationError?: { code: string; message: string; data?: unknown };
}

/** What `getCompanionStatus()` resolves with. */
export interface CompanionStatus {
  /** True when the daemon answered `hello` for this app. */
  ok: boolean;
  /** False when the browser cannot start the host for this extension (`host_not_found` / `host_forbidden`). */
  installed: boolean;
  /** False when the daemon does not know this app for this extension; absent when unknown. */
  registered?: boolean;
  authenticated?: boolean;
  /** The daemon's version and protocol, when it answered. */
  version?: string;
  protocol?: number;
  hostName: string;
  /** Why not ok; `message` contains the command that fixes it. */
  error?: { code: string; message: string };
}

export interface SessionChange {
  authenticated: boolean;
  /** Present when the daemon sent it (signed in). */
  sub?: string;
}

/** The test seam: a fake `chrome`/`browser` object and a controllable clock. */
export interface LogtoClientInternals {
  api?: unknown;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (handle: unknown) => void;
  now?: () => number;
  /** Web Locks (default `navigator.locks`; null: none) that keep the extension's contexts to one end-session tab. */
  locks?: { request(name: string, ...args: unknown[]): Promise<unknown> } | null;
}

/** The client class (the SDK's base class name; `LogtoClient` extends it). */
export declare class BaseClient {
  /** Frozen copy of the config given to the constructor. */
  readonly logtoConfig: Readonly<LogtoCompanionConfig>;
  /** The native messaging host this client talks to. Shim only. */
  readonly hostName: string;
  /** The SDK's adapter; tokens are not in its storage (see the README). */
  readonly adapter: CompanionAdapter;
  /** Accepts exactly the ID token the daemon verified and holds, unless replaced. */
  get jwtVerifier(): JwtVerifier;

  /** @throws TypeError when `endpoint` or `appId` is missing. */
  constructor(config: LogtoCompanionConfig, internals?: LogtoClientInternals | ClientAdapter);

  setJwtVerifier(buildJwtVerifier: JwtVerifier | ((client: BaseClient) => JwtVerifier)): void;
  /** Resolves when the flow ended and the user is signed in; `user_cancelled` when the tab was closed. */
  signIn(options: SignInOptions): Promise<void>;
  signIn(redirectUri: string | URL): Promise<void>;
  /** @deprecated The SDK's old positional form; `redirectUri` is ignored. */
  signIn(redirectUri: string | URL, interactionMode?: InteractionMode, loginHint?: string): Promise<void>;
  /** `postLogoutRedirectUri` is ignored (the daemon uses the one it was installed with). */
  signOut(postLogoutRedirectUri?: string): Promise<SignOutResult>;
  /** Never rejects: false when signed out or when the companion cannot be asked. */
  isAuthenticated(): Promise<boolean>;
  /** Null when signed out or when the companion cannot be asked. */
  getIdToken(): Promise<Nullable<string>>;
  /** Always rejects with code `forbidden`: refresh tokens never leave the daemon. */
  getRefreshToken(): Promise<Nullable<string>>;
  getIdTokenClaims(): Promise<IdTokenClaims>;
  getAccessToken(resource?: string, organizationId?: string): Promise<string>;
  getAccessTokenClaims(resource?: string): Promise<AccessTokenClaims>;
  getOrganizationToken(organizationId: string): Promise<string>;
  getOrganizationTokenClaims(organizationId: string): Promise<AccessTokenClaims>;
  fetchUserInfo(): Promise<UserInfoResponse>;
  clearAccessToken(): Promise<void>;
  /** Deletes the shared session (every browser, the CLI) without revoking it. */
  clearAllTokens(): Promise<void>;
  getOidcConfig(): Promise<OidcConfigResponse>;
  /** No-op kept for compatibility: the daemon handles the redirect itself. */
  handleSignInCallback(callbackUri: string): Promise<void>;
  /** Always false: the extension is never the redirect target. */
  isSignInRedirected(url: string): Promise<boolean>;

  /** Shim only. Is the companion installed and this app registered? Never rejects. */
  getCompanionStatus(): Promise<CompanionStatus>;
  /**
   * Shim only. `listener` runs on every session change, from this browser,
   * another browser or the CLI. Connects at once. Returns an unsubscribe
   * function. After a sign-out elsewhere the client also ends the
   * provider's session in this browser (a background tab that closes
   * itself) while its native port is open.
   */
  onSessionChange(listener: (change: SessionChange) => void): () => void;
  /** Shim only. Closes the native port; the next call reconnects. */
  close(): void;
}

export default class LogtoClient extends BaseClient {
  constructor(config: LogtoCompanionConfig, internals?: LogtoClientInternals);
}
