//! Pushed Authorization Requests (RFC 9126): the authorization request goes
//! to the provider first, so a bad redirect URI, scope or resource comes
//! back at once as an OAuth error instead of an error page in a tab; the
//! browser opens only `authorization_endpoint?client_id=…&request_uri=…`.

use super::discovery::chain;
use super::tokens::idp_error_from;
use super::{Oidc, OidcError, Provider};
use serde::Deserialize;

#[derive(Deserialize)]
struct PushResponse {
    request_uri: String,
}

/// Pushes the parameters of `auth_url` (built by [`super::flow::build`])
/// and returns the URL the browser opens. A public client authenticates
/// with its `client_id` (RFC 9126 §2.1 with RFC 6749 §2.3).
pub async fn push(
    oidc: &Oidc,
    provider: &Provider,
    endpoint: &str,
    client_id: &str,
    auth_url: &str,
) -> Result<String, OidcError> {
    let url = url::Url::parse(auth_url)
        .map_err(|e| OidcError::Internal(format!("bad authorization URL: {e}")))?;
    let params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let resp = oidc
        .http
        .post(endpoint)
        .form(&params)
        .send()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    if !resp.status().is_success() {
        return Err(idp_error_from(resp).await);
    }
    let pushed: PushResponse = resp.json().await.map_err(|e| OidcError::Idp {
        error: "invalid_response".into(),
        description: Some(format!("the PAR endpoint's answer has no request_uri: {e}")),
    })?;
    let mut open = url::Url::parse(provider.metadata.authorization_endpoint().as_str())
        .map_err(|e| OidcError::Discovery(format!("bad authorization_endpoint: {e}")))?;
    open.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("request_uri", &pushed.request_uri);
    Ok(open.to_string())
}
