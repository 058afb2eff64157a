//! The result of every method, typed. Each serializes to exactly the JSON
//! `docs/protocol.md` shows; the CLI and `doctor` read them back with the
//! same types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::RpcError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PingResult {
    pub pong: bool,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HelloResult {
    pub protocol: u32,
    pub version: String,
    pub authenticated: bool,
}

/// `signIn`, `getIdTokenClaims`, `getAccessTokenClaims`,
/// `getOrganizationTokenClaims`: the claims of a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimsResult {
    pub claims: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CancelSignInResult {
    /// False when no such flow was running (it had already ended).
    pub cancelled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignOutResult {
    /// Where the browser ends the provider's own session; `null` when the
    /// provider advertises no `end_session_endpoint`.
    pub end_session_url: Option<String>,
    /// Whether the provider confirmed the revocation of the refresh token.
    pub revoked: bool,
    /// Why it did not, when `revoked` is false and there was a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_error: Option<RpcError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuthenticatedResult {
    pub authenticated: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IdTokenResult {
    pub id_token: Option<String>,
}

/// `getAccessToken`, `getOrganizationToken`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessTokenResult {
    pub access_token: String,
    /// Unix seconds.
    pub expires_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserInfoResult {
    pub user_info: Value,
}

/// `clearAccessToken`, `clearAllTokens`: `{}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Default)]
pub struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcConfigResult {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub jwks_uri: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusResult {
    pub version: String,
    pub pid: u32,
    pub store: StoreStatus,
    pub apps: Vec<AppStatus>,
}

/// The keychain backend in use.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoreStatus {
    pub kind: String,
    pub description: String,
    /// False for stores that lose sessions at reboot (keyutils) or at exit
    /// (memory).
    pub persistent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub endpoint: String,
    pub app_id: String,
    pub authenticated: bool,
    pub claims: Option<UserSummary>,
    pub access_tokens: Vec<TokenStatus>,
    pub connections: usize,
    /// Why the stored session could not be read, if it could not.
    pub error: Option<String>,
}

/// Who is signed in, from the ID token (absent claims are `null`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct UserSummary {
    pub sub: Value,
    pub name: Value,
    pub phone_number: Value,
    pub email: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenStatus {
    pub resource: String,
    pub organization_id: String,
    pub expires_at: u64,
    pub valid: bool,
}
