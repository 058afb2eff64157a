//! The OAuth 2.0 Device Authorization Grant (RFC 8628): for a terminal with
//! no browser (SSH, headless). The daemon asks the provider for a device
//! code and a short user code (§3.1–3.2), the person enters the code on any
//! other device, and the daemon polls the token endpoint (§3.4–3.5) until
//! the provider answers with tokens or with a final error.
//!
//! One poll is one request here; the loop (interval, `slow_down`, the
//! deadline, cancellation) belongs to the session, so its rules run against
//! a fake provider in tokio's paused time.

use super::discovery::chain;
use super::tokens::{idp_error_from, into_token_set, TokenSet};
use super::{Oidc, OidcError, Provider};
use crate::secret::Secret;
use serde::Deserialize;
use std::sync::Arc;

/// RFC 8628 §3.5: the interval when the provider gives none.
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// RFC 8628 §3.5: `slow_down` adds this much to the interval, for good.
pub const SLOW_DOWN_STEP_SECS: u64 = 5;
/// The grant type of the token request (RFC 8628 §3.4).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The provider's answer to the device authorization request (§3.2). The
/// device code is a credential (it redeems the grant), so it stays wrapped;
/// the user code and URIs are meant to be shown.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: u64,
    pub interval: u64,
}

#[derive(Deserialize)]
struct AuthorizationResponse {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// What one poll of the token endpoint says (§3.5).
#[derive(Debug)]
pub enum Poll {
    /// `authorization_pending`: ask again after the interval.
    Pending,
    /// `slow_down`: ask again, with the interval 5 s longer from now on.
    SlowDown,
    /// The person approved; the ID token is validated.
    Tokens(TokenSet),
}

/// Sends the device authorization request (§3.1). A public client
/// identifies itself with `client_id` alone (RFC 6749 §2.3 has nothing else
/// for it).
pub async fn authorize(
    oidc: &Oidc,
    endpoint: &str,
    client_id: &str,
    scopes: &[String],
    resources: &[String],
) -> Result<DeviceAuthorization, OidcError> {
    let mut form = vec![
        ("client_id".to_string(), client_id.to_string()),
        ("scope".to_string(), scopes.join(" ")),
    ];
    for r in resources {
        form.push(("resource".to_string(), r.clone()));
    }
    let resp = oidc
        .http
        .post(endpoint)
        .form(&form)
        .send()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    if !resp.status().is_success() {
        return Err(idp_error_from(resp).await);
    }
    let body: AuthorizationResponse = resp.json().await.map_err(|e| OidcError::Idp {
        error: "invalid_response".into(),
        description: Some(format!(
            "the device authorization endpoint's answer is not RFC 8628 §3.2: {e}"
        )),
    })?;
    Ok(DeviceAuthorization {
        device_code: Secret::new(body.device_code),
        user_code: body.user_code,
        verification_uri: body.verification_uri,
        verification_uri_complete: body.verification_uri_complete,
        expires_in: body.expires_in,
        interval: body.interval.unwrap_or(DEFAULT_INTERVAL_SECS).max(1),
    })
}

/// One device access token request (§3.4). `authorization_pending` and
/// `slow_down` are not failures; every other OAuth error is final
/// (`access_denied`, `expired_token`, …) and comes back as
/// [`OidcError::Idp`] with the provider's code.
pub async fn poll(
    oidc: &Oidc,
    provider: Arc<Provider>,
    client_id: &str,
    device_code: &Secret,
) -> Result<Poll, OidcError> {
    let endpoint = provider
        .metadata
        .token_endpoint()
        .ok_or_else(|| OidcError::Discovery("the provider has no token endpoint".into()))?
        .to_string();
    let resp = oidc
        .http
        .post(endpoint)
        .form(&[
            ("grant_type", GRANT_TYPE),
            ("device_code", device_code.expose()),
            ("client_id", client_id),
        ])
        .send()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    if !resp.status().is_success() {
        return match idp_error_from(resp).await {
            OidcError::Idp { error, .. } if error == "authorization_pending" => Ok(Poll::Pending),
            OidcError::Idp { error, .. } if error == "slow_down" => Ok(Poll::SlowDown),
            e => Err(e),
        };
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    let parsed = serde_json::from_slice(&body).map_err(|e| OidcError::Idp {
        error: "invalid_response".into(),
        description: Some(format!("the token response is not OAuth 2.0 JSON: {e}")),
    })?;
    // No nonce in this grant (RFC 8628 has no authorization request to
    // carry one); signature, iss, aud, exp and iat are checked as for the
    // code flow, and an ID token must be there: the session is an OpenID
    // one.
    let set = into_token_set(oidc, provider, client_id, parsed, None).await?;
    if set.id_token.is_none() {
        return Err(OidcError::IdToken(
            "the token response has no ID token (is the openid scope allowed for the device flow?)"
                .into(),
        ));
    }
    Ok(Poll::Tokens(set))
}
