//! OpenID Connect against Logto (or any OpenID Provider): discovery, the
//! authorization-code + PKCE flow with a loopback redirect, token requests
//! and ID-token validation. Knows nothing of the daemon or of browsers.

pub mod device;
pub mod discovery;
pub mod flow;
pub mod loopback;
pub mod par;
pub mod tokens;

use crate::protocol::{ErrorCode, RpcError};
use serde_json::json;

pub use discovery::{Oidc, Provider};

/// Every way an OIDC operation fails, each with a stable wire code.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The IdP could not be reached or timed out.
    #[error("the identity provider is unreachable: {0}")]
    Network(String),
    /// The IdP answered with an OAuth error.
    #[error("the identity provider refused the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Idp {
        error: String,
        description: Option<String>,
    },
    /// The refresh token is no longer valid (expired, revoked, reused).
    #[error("the session is no longer valid at the identity provider: {0}")]
    InvalidGrant(String),
    /// The ID token failed validation.
    #[error("the ID token is invalid: {0}")]
    IdToken(String),
    /// The provider's metadata is unusable.
    #[error("the identity provider's configuration is unusable: {0}")]
    Discovery(String),
    /// The user did not finish signing in in time.
    #[error("the sign-in was not completed in time")]
    Cancelled,
    /// The IdP redirected back with `error=`.
    #[error("the identity provider ended the sign-in with an error: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    CallbackError {
        error: String,
        description: Option<String>,
    },
    #[error("{0}")]
    Internal(String),
}

impl OidcError {
    pub fn code(&self) -> ErrorCode {
        match self {
            OidcError::Network(_) => ErrorCode::NetworkError,
            OidcError::Idp { .. } | OidcError::Discovery(_) => ErrorCode::IdpError,
            OidcError::InvalidGrant(_) => ErrorCode::NotAuthenticated,
            OidcError::IdToken(_) => ErrorCode::IdTokenInvalid,
            OidcError::Cancelled => ErrorCode::UserCancelled,
            OidcError::CallbackError { .. } => ErrorCode::CallbackErrorFound,
            OidcError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<OidcError> for RpcError {
    fn from(e: OidcError) -> RpcError {
        let err = RpcError::new(e.code(), e.to_string());
        match e {
            OidcError::Idp { error, description }
            | OidcError::CallbackError { error, description } => {
                err.with_data(json!({"error": error, "error_description": description}))
            }
            _ => err,
        }
    }
}

/// Decodes the payload of a JWT *without* checking it. Only for tokens
/// already validated (ID tokens) or that are the resource server's business
/// (access tokens, as the Logto SDK's `get*Claims` do).
pub fn decode_jwt_claims(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let mut parts = jwt.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
