//! The authorization request: PKCE (S256), state, nonce, and Logto's extra
//! parameters.

use super::{OidcError, Provider};
use crate::secret::Secret;
use openidconnect::core::{CoreClient, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, ClientId, CsrfToken, Nonce, PkceCodeChallenge, RedirectUrl, Scope,
};

/// Scopes the Logto SDK always asks for (`includeReservedScopes`).
pub const RESERVED_SCOPES: [&str; 3] = ["openid", "offline_access", "profile"];
/// The scope that makes the refresh token usable for organization tokens.
pub const ORGANIZATIONS_SCOPE: &str = "urn:logto:scope:organizations";
/// The resource the SDK adds with the organizations scope.
pub const ORGANIZATIONS_RESOURCE: &str = "urn:logto:resource:organizations";

/// Everything that shapes one authorization request.
#[derive(Debug, Clone, Default)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub resources: Vec<String>,
    /// e.g. `consent` (the default: Logto issues a refresh token only with it).
    pub prompt: String,
    /// Logto's extra parameters and the caller's `extraParams`, in order.
    pub extra: Vec<(String, String)>,
}

/// What the flow must remember to finish: never leaves the daemon.
pub struct PendingAuth {
    pub url: String,
    pub nonce: Secret,
    pub pkce_verifier: Secret,
}

/// Names the caller may not override through `extraParams`: they carry the
/// flow's security.
const PROTECTED_PARAMS: [&str; 9] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "resource",
];

/// Builds the authorization URL. `state` is made by the caller because the
/// loopback server must know it before the URL (which names the server's
/// port) exists.
pub fn build(
    provider: &Provider,
    req: &AuthRequest,
    state: &Secret,
) -> Result<PendingAuth, OidcError> {
    let redirect = RedirectUrl::new(req.redirect_uri.clone())
        .map_err(|e| OidcError::Internal(format!("bad redirect URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(req.client_id.clone()),
        None,
    )
    .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut auth = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            {
                let state = state.expose().to_string();
                move || CsrfToken::new(state)
            },
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    // openidconnect adds `openid` itself.
    for s in req.scopes.iter().filter(|s| s.as_str() != "openid") {
        auth = auth.add_scope(Scope::new(s.clone()));
    }
    for r in &req.resources {
        auth = auth.add_extra_param("resource", r.clone());
    }
    if !req.prompt.is_empty() {
        auth = auth.add_extra_param("prompt", req.prompt.clone());
    }
    for (k, v) in &req.extra {
        if PROTECTED_PARAMS.contains(&k.as_str()) || k == "prompt" {
            continue;
        }
        auth = auth.add_extra_param(k.clone(), v.clone());
    }
    let (url, _state, nonce) = auth.url();
    Ok(PendingAuth {
        url: url.to_string(),
        nonce: Secret::new(nonce.secret().clone()),
        pkce_verifier: Secret::new(verifier.secret().clone()),
    })
}

/// Scopes to request: the reserved ones (unless turned off), then the app's,
/// without duplicates, in a stable order.
/// A fresh random value for `state` and flow ids (32 bytes, base64url).
pub fn random_token() -> Secret {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn effective_scopes(include_reserved: bool, extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if include_reserved {
        out.extend(RESERVED_SCOPES.iter().map(|s| s.to_string()));
    }
    for s in extra {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Resources to request: the app's, plus the organizations resource when the
/// organizations scope is asked for (as the SDK does).
pub fn effective_resources(scopes: &[String], resources: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in resources {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    if scopes.iter().any(|s| s == ORGANIZATIONS_SCOPE)
        && !out.iter().any(|r| r == ORGANIZATIONS_RESOURCE)
    {
        out.push(ORGANIZATIONS_RESOURCE.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_scopes_come_first_without_duplicates() {
        let s = effective_scopes(true, &["phone".into(), "profile".into()]);
        assert_eq!(s, ["openid", "offline_access", "profile", "phone"]);
        assert_eq!(effective_scopes(false, &["phone".into()]), ["phone"]);
    }

    #[test]
    fn organizations_scope_adds_its_resource() {
        let r = effective_resources(&[ORGANIZATIONS_SCOPE.into()], &["https://api".into()]);
        assert_eq!(r, ["https://api", ORGANIZATIONS_RESOURCE]);
        assert_eq!(effective_resources(&[], &[]), Vec::<String>::new());
    }
}
