//! Token requests (code exchange, refresh, revocation, userinfo) and full
//! ID-token validation: signature from the JWKS with the provider's
//! algorithms, `iss`, `aud`, `exp`, `iat` (300 s tolerance, as the Logto
//! SDK) and `nonce`.

use super::discovery::chain;
use super::{decode_jwt_claims, Oidc, OidcError, Provider};
use crate::secret::Secret;
use chrono::{TimeDelta, Utc};
use openidconnect::core::{CoreClient, CoreErrorResponseType, CoreIdToken, CoreTokenResponse};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, Nonce, OAuth2TokenResponse,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, StandardErrorResponse,
    TokenResponse,
};
use serde_json::Value;
use std::sync::Arc;

/// Clock tolerance for `exp` and `iat`.
const CLOCK_SKEW_SECS: i64 = 300;
/// Lifetime assumed when the IdP does not say (`expires_in` missing).
const DEFAULT_TTL_SECS: u64 = 3600;

/// The result of a token request. Secrets stay wrapped.
#[derive(Debug)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Unix seconds.
    pub expires_at: u64,
    pub refresh_token: Option<Secret>,
    pub id_token: Option<Secret>,
    /// Claims of the validated ID token.
    pub id_claims: Option<Value>,
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type TokenError = RequestTokenError<
    openidconnect::HttpClientError<reqwest::Error>,
    StandardErrorResponse<CoreErrorResponseType>,
>;

fn token_error(e: TokenError) -> OidcError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let error = r.error().as_ref().to_string();
            let description = r.error_description().cloned();
            if error == "invalid_grant" {
                OidcError::InvalidGrant(description.unwrap_or(error))
            } else {
                OidcError::Idp { error, description }
            }
        }
        RequestTokenError::Request(e) => OidcError::Network(chain(&e)),
        RequestTokenError::Parse(e, _body) => OidcError::Idp {
            error: "invalid_response".into(),
            description: Some(e.to_string()),
        },
        RequestTokenError::Other(s) => OidcError::Internal(s),
    }
}

fn client(
    provider: &Provider,
    client_id: &str,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(client_id.to_string()),
        None,
    )
}

/// Validates an ID token against `provider`; `nonce` is required for the
/// code flow and absent for refreshes (Logto does not repeat it).
fn validate(
    provider: &Provider,
    client_id: &str,
    token: &CoreIdToken,
    nonce: Option<&Secret>,
) -> Result<Value, ClaimsVerificationError> {
    let c = client(provider, client_id);
    let verifier = c
        .id_token_verifier()
        .set_time_fn(|| Utc::now() - TimeDelta::seconds(CLOCK_SKEW_SECS))
        .set_issue_time_verifier_fn(|iat| {
            if iat > Utc::now() + TimeDelta::seconds(CLOCK_SKEW_SECS) {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
    match nonce {
        Some(n) => {
            let expected = Nonce::new(n.expose().to_string());
            token.claims(&verifier, &expected)?;
        }
        None => {
            token.claims(&verifier, |_: Option<&Nonce>| Ok(()))?;
        }
    }
    Ok(decode_jwt_claims(&token.to_string()).unwrap_or(Value::Null))
}

/// Validates, re-fetching the JWKS once when the signature does not check
/// out (the IdP may have rotated its keys).
async fn validate_id_token(
    oidc: &Oidc,
    provider: Arc<Provider>,
    client_id: &str,
    token: &CoreIdToken,
    nonce: Option<&Secret>,
) -> Result<Value, OidcError> {
    match validate(&provider, client_id, token, nonce) {
        Ok(claims) => Ok(claims),
        Err(ClaimsVerificationError::SignatureVerification(_)) => {
            let fresh = oidc.refetch(provider.issuer()).await?;
            validate(&fresh, client_id, token, nonce).map_err(|e| OidcError::IdToken(e.to_string()))
        }
        Err(e) => Err(OidcError::IdToken(e.to_string())),
    }
}

pub(super) async fn into_token_set(
    oidc: &Oidc,
    provider: Arc<Provider>,
    client_id: &str,
    resp: CoreTokenResponse,
    nonce: Option<&Secret>,
) -> Result<TokenSet, OidcError> {
    let (id_token, id_claims) = match resp.id_token() {
        Some(t) => {
            let claims = validate_id_token(oidc, provider, client_id, t, nonce).await?;
            (Some(Secret::new(t.to_string())), Some(claims))
        }
        None if nonce.is_some() => {
            return Err(OidcError::IdToken(
                "the token response has no ID token".into(),
            ))
        }
        None => (None, None),
    };
    let ttl = resp
        .expires_in()
        .map(|d| d.as_secs())
        .unwrap_or(DEFAULT_TTL_SECS);
    Ok(TokenSet {
        access_token: Secret::new(resp.access_token().secret().clone()),
        expires_at: now_secs() + ttl,
        refresh_token: resp
            .refresh_token()
            .map(|r| Secret::new(r.secret().clone())),
        id_token,
        id_claims,
    })
}

/// Exchanges the authorization code (with the PKCE verifier) and validates
/// the ID token, nonce included.
pub async fn exchange_code(
    oidc: &Oidc,
    provider: Arc<Provider>,
    client_id: &str,
    redirect_uri: &str,
    code: &Secret,
    verifier: &Secret,
    nonce: &Secret,
) -> Result<TokenSet, OidcError> {
    let redirect = RedirectUrl::new(redirect_uri.to_string())
        .map_err(|e| OidcError::Internal(format!("bad redirect URI: {e}")))?;
    let c = client(&provider, client_id).set_redirect_uri(redirect);
    let resp = c
        .exchange_code(AuthorizationCode::new(code.expose().to_string()))
        .map_err(|e| OidcError::Discovery(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_string()))
        .request_async(&oidc.http)
        .await
        .map_err(token_error)?;
    into_token_set(oidc, provider, client_id, resp, Some(nonce)).await
}

/// A refresh-token grant, optionally for a resource and/or organization.
pub async fn refresh(
    oidc: &Oidc,
    provider: Arc<Provider>,
    client_id: &str,
    refresh_token: &Secret,
    resource: Option<&str>,
    organization_id: Option<&str>,
) -> Result<TokenSet, OidcError> {
    let c = client(&provider, client_id);
    let rt = RefreshToken::new(refresh_token.expose().to_string());
    let mut req = c
        .exchange_refresh_token(&rt)
        .map_err(|e| OidcError::Discovery(e.to_string()))?;
    if let Some(r) = resource {
        req = req.add_extra_param("resource", r.to_string());
    }
    if let Some(o) = organization_id {
        req = req.add_extra_param("organization_id", o.to_string());
    }
    let resp = req.request_async(&oidc.http).await.map_err(token_error)?;
    into_token_set(oidc, provider, client_id, resp, None).await
}

/// Revokes a token at the revocation endpoint (RFC 7009). A public client
/// authenticates with its `client_id` alone (RFC 7009 §2.1, RFC 6749 §2.3):
/// it has no secret for the methods a provider may list in
/// `revocation_endpoint_auth_methods_supported`; when the provider refuses
/// it for that, the error says so. Logto revokes the whole grant with it.
pub async fn revoke(
    oidc: &Oidc,
    provider: &Provider,
    client_id: &str,
    token: &Secret,
    hint: &str,
) -> Result<(), OidcError> {
    let Some(endpoint) = provider.extra().revocation_endpoint.as_deref() else {
        return Err(OidcError::Discovery(
            "the provider has no revocation endpoint".into(),
        ));
    };
    let resp = oidc
        .http
        .post(endpoint)
        .form(&[
            ("client_id", client_id),
            ("token", token.expose()),
            ("token_type_hint", hint),
        ])
        .send()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    if resp.status().is_success() {
        return Ok(());
    }
    let err = idp_error_from(resp).await;
    let methods = provider
        .extra()
        .revocation_endpoint_auth_methods_supported
        .as_ref();
    match (err, methods) {
        (OidcError::Idp { error, description }, Some(m)) if !m.iter().any(|x| x == "none") => {
            Err(OidcError::Idp {
                error,
                description: Some(format!(
                    "{}the provider wants client authentication for revocation ({}), which a public native client cannot do: allow public clients to revoke with their client_id",
                    description.map(|d| format!("{d}; ")).unwrap_or_default(),
                    m.join(", ")
                )),
            })
        }
        (err, _) => Err(err),
    }
}

/// `GET /oidc/me` with an access token.
pub async fn userinfo(
    oidc: &Oidc,
    provider: &Provider,
    access_token: &Secret,
) -> Result<Value, OidcError> {
    let Some(endpoint) = provider.metadata.userinfo_endpoint() else {
        return Err(OidcError::Discovery(
            "the provider has no userinfo endpoint".into(),
        ));
    };
    let resp = oidc
        .http
        .get(endpoint.as_str())
        .bearer_auth(access_token.expose())
        .send()
        .await
        .map_err(|e| OidcError::Network(chain(&e)))?;
    if !resp.status().is_success() {
        return Err(idp_error_from(resp).await);
    }
    resp.json::<Value>().await.map_err(|e| OidcError::Idp {
        error: "invalid_response".into(),
        description: Some(e.to_string()),
    })
}

/// Logto's error body: `{code, message, error, error_description}`.
pub(super) async fn idp_error_from(resp: reqwest::Response) -> OidcError {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let error = body["error"]
        .as_str()
        .or(body["code"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("http_error_{}", status.as_u16()));
    let description = body["error_description"]
        .as_str()
        .or(body["message"].as_str())
        .map(str::to_string);
    OidcError::Idp { error, description }
}

#[cfg(test)]
mod tests {
    //! ID-token validation through the real verification path, with tokens
    //! signed here so every field can be made wrong on purpose.
    use super::*;
    use crate::oidc::discovery::Metadata;
    use openidconnect::core::{
        CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
    };
    use openidconnect::{
        Audience, EmptyAdditionalClaims, IssuerUrl, JsonWebKeyId, JsonWebKeySet, PrivateSigningKey,
        StandardClaims, SubjectIdentifier,
    };
    use serde_json::json;

    const ISSUER: &str = "https://tenant.example/oidc";
    const CLIENT: &str = "native-app";

    /// Test-only keys (never used anywhere else).
    const KEY: &str = r"-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAzQUCA+pby2j7oPSa7PXftzYj7+N8SlUZnSBN1Zw7wRWn1ZKm
QyXgJwhfKM4Pki5HWu24ijl2J7J/Ho6FV4wz3edCavsSD+N921fovYy5Co8iF0VP
KIi5ymlmvc8Kgmmow+2UFFFUXft/uFlAMHqgesA1sK1UFYQcPHRBnzA8vzOd6r1R
+kT2dwX9YZjGBqVxtL+KvnjzymH68JfXzV5srNx+qVkZ99F6W7BloasV7SeD77qT
sPlosSn07RrWjWcK0cVRjt4zxElqZPyEs+8o3DxKMG121iP/XeI+RGpIg0P6gKjT
Bz0310zt1HMyJbDQNOBrHUnVP5afbUMsZgS+VwIDAQABAoIBAAJEq473Y3PjT4cY
IkZgukyMHN3QpNoHHACCGXyjKqZclTAiEt3VLKgx5U1W6beeGQeS3ZUqe7nPtYgw
g53ds9/FjboP/XnPYgRMBHmIY4m0lUN5EzB7r+jQvZIvBriGgXLY6LD/bRErsRSx
sc5S7iLiGoOtiGKMRPyPqrZ68aSJ4Tn14zwYVfY2sPgaAtjqBNvO0vtSbjwaZJPF
h/YnEsrvZc/R1NZkNOnVKVzNyrDz0eUn8i7ReGBFik4H4ijySyplB77gaTIcHdec
iy3SBAdUsXtn2tL7J8n2KLP+Whngjknupz8rZhaOsT+8vWMiVuS/2qIlr0K9Brhl
+RubCRkCgYEA7cvJh8vkHhJgCbrAw6k8W6TFLzC//19JkQCRQFCMlvlQySeDg3aR
bisVLzZBEKlRrtBK/iGNJXCMX3C7vmA1dtXLhYayHzTZkw2MtMTJoy0z7WSInLLd
/7cll3ochBqgR4VCRKfDI/UvNVVOKpuIqt4xUYS0SEc7wAkhjvxMpT8CgYEA3Lbi
BFe882+W+5FqGMkxrydRHDogaLekFvV1xsjK8aqZ8kJVEN2Jbb+/yYKWJ+fU7ZGV
ZOuFD2rPxLI/tHG7CJTvyTCX/i79QxkpEhtc2yFMUZBvLILcgyc/QQcDHDd7d2Sv
mncOTP63bKMPjJcXAyKerFiXeYC9ayhEsU7vqOkCgYAZu5fPbiz9ZBeodeEuSz4Q
3L/J34inZfRcEKenQhA0tj4bxn7g1w/d0CO2vDRGTUxdkoTLA252wrsuCNEIRPkE
JxajGHRmFB4HX8v+M91uHxIjemGeM2z6oyMaRUiYsxjtJGqLa2welAXLy7NtwO8F
Lo4/uBCaUbsRiOtswbi5mQKBgQDOwGYiaUnvxBVr3MDFLRrkl3DsfyrCzVvhwdes
+YTaMtR40lg7LztAWoG+sxwTj6CvVlPasKD5WzX7bHoufucUV+fy0BlhGwVVaGlH
s+gcwSlrsl/iE0ebeBVRxc7NDNAUfHXevS3hRC3wjyLOsO32muSGT4q9X7KQga0v
ZuErmQKBgQCa+dFvoEGUvNzu8IXMHPDUJXnBbxeC1M7UvTyTZiljx8XnwZLIbSjK
W41Abz3XicJ3vRyQEzwNVuIEdhowI6zr0Z1jswN//m4hTQx1usrcV5eRHuUeueYN
GWutFditRrOGcILq2h3+C3CDKNCJ18mB9FMieZl4jzpbNcOXqifGZw==
-----END RSA PRIVATE KEY-----";
    const OTHER_KEY: &str = r"-----BEGIN RSA PRIVATE KEY-----
MIIEpQIBAAKCAQEA3BUr+GLCxeRZ9bLV2E8EjjBLsPo89TMNLlpLetzIT7ZGw2Wl
YKo6HzsJK0OhjnNS1cZE/9UnqZaLQSzUWILAO4uiquJXBwo/wEX9ZMbxy7bPYLxW
lm/lbgoLugWeeaRHhhZFKcMZfAMiFAn/NpKE4NxXFV/IV3R7kMoZ9DfYa3TJNTrE
mYpUwiPyuyfL3sXAuqDiJ/Qwz2J8dCrN6PYoOWrImmsLG0ZMNhsxbATpE3ZB4bHy
2lcc/Irvl0GCNy8SbqvhH0pzKtGeNA9zbU3bZKjKKe/fWXEpbjPq04jMgaSqgYpf
epC2u1Q/ahFA9GNjqRLmccm9REsvadRYdOczTwIDAQABAoIBAAJC/3Auh6Tj+16w
h00RRtE1QtnfQHgenbCPwf3Rvgc/rst8RG5RYYaHo0j8CXF+0ueagYQFi0JNZ0H0
tXvxYAtcnH/YEp/iZZRSw89g0gRPbSMn3FXwcXGnjcZMH3xNiWSh3vUWabEiERwW
nDZR3Ca5bPWtxc/MRSbQROMDHejAxhqYl+0E/F3FsrykWaXCXd/E6SIGMBBKLK+X
rIDeUuNPiwCWpe5UALRZNMgoOzx0noIrAjWuUllsinqc/+8qyEfI2XwcmlZ8ZCgl
/GpIOWFGPNHgJdIG5tnaL5i8IJE0i81yLORaH6Lx5RlUnGW+XK1iVXgfuoxURxve
QqV6yGUCgYEA/oUlyWPF3xCcl30c5IagrXU7ciAhnNvDPMOVZe0BvXsI35d2+Tzb
AGNuEDlqzdZBemh8JZBfDoRlfHhvhlUDaWqUu9aOmvzgsgebAWkPwKh4QHsTeZeG
gcGT18BYZd3IlE9jbfi6x93AIVW2yHYE+ca4GewioMEl4Fms4QfP0r0CgYEA3VzD
oXZrLcF39W9sSlHeIp0XjbQT7CTx7j78YL8Dhg9e8MDyu2d4xwh+tRwrug0tkiZX
TCvtyD8sI24Ue+pCrSvzsY6juh4UaHPcMIlqg9WcpD9QEIw8zcc38gk4pf22Escp
SRxXjYhsYUWv6Eyqp466QsAdEXeeZT5i8n0VJPsCgYEAjauRV+LoXfyCHTRv46go
QcTSXPkTnJsatnTrcLuWz2BvlP1bJOpBwJqXxgIfuAk9kyQbjlEpCAyb7Meg1DX3
2zKPLWsFH7IIZDAlkIhpU0SzArk/Itw763fTkjEnQzRLFHqIDst3NA7zhdqPDk/a
/ykkipFMyQwZyCJCP1O400UCgYEAoFTMLWqD/sQeitqFaN8bMZ7urGg99dBcmt9s
FPbFKph/f4mBRlOPmzl/7NXWpg9dbnnuyPEYbO20noTguU/Xs24eOADEfc3DolQo
q88cIxjZN+3To+ivMayVzOz45uF4uukd8iJhF9Y0CdBbtLmy8WHjbu2PIFOvmk0x
hckrQ3kCgYEA3aMPMLiwWTgoMtFGsbgXRSqt/sGFCzRO40M5n6tVnVQpyq64ZROf
m1rWkKSa6BxZjiA6nDXSr33/ScWtDk1W7RBxZRuNzbScqr6BWntx2a1UXR8inOBo
zxtelzIg90sIc54OS2t61vZ542gwxZS52z3TeTmVYCe4NucEc/jRUp8=
-----END RSA PRIVATE KEY-----";

    fn key(pem: &str) -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into()))).unwrap()
    }

    fn provider() -> Provider {
        let metadata: Metadata = serde_json::from_value(json!({
            "issuer": ISSUER,
            "authorization_endpoint": format!("{ISSUER}/auth"),
            "token_endpoint": format!("{ISSUER}/token"),
            "jwks_uri": format!("{ISSUER}/jwks"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
        .unwrap();
        let jwks = JsonWebKeySet::new(vec![key(KEY).as_verification_key()]);
        Provider::new(metadata.set_jwks(jwks))
    }

    struct Spec {
        iss: &'static str,
        aud: &'static str,
        exp_offset: i64,
        iat_offset: i64,
        nonce: Option<&'static str>,
        signer: &'static str,
    }

    impl Default for Spec {
        fn default() -> Spec {
            Spec {
                iss: ISSUER,
                aud: CLIENT,
                exp_offset: 3600,
                iat_offset: 0,
                nonce: Some("n-1"),
                signer: KEY,
            }
        }
    }

    fn token(spec: Spec) -> CoreIdToken {
        let now = Utc::now();
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(spec.iss.into()).unwrap(),
            vec![Audience::new(spec.aud.into())],
            now + TimeDelta::seconds(spec.exp_offset),
            now + TimeDelta::seconds(spec.iat_offset),
            StandardClaims::new(SubjectIdentifier::new("user-1".into())),
            EmptyAdditionalClaims {},
        )
        .set_nonce(spec.nonce.map(|n| Nonce::new(n.into())));
        CoreIdToken::new(
            claims,
            &key(spec.signer),
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap()
    }

    fn check(t: &CoreIdToken) -> Result<Value, ClaimsVerificationError> {
        validate(&provider(), CLIENT, t, Some(&Secret::new("n-1")))
    }

    #[test]
    fn a_valid_id_token_passes_and_yields_its_claims() {
        let claims = check(&token(Spec::default())).unwrap();
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["aud"], json!([CLIENT]));
    }

    #[test]
    fn wrong_audience_is_rejected() {
        assert!(check(&token(Spec {
            aud: "someone-else",
            ..Default::default()
        }))
        .is_err());
    }

    #[test]
    fn wrong_issuer_is_rejected() {
        assert!(check(&token(Spec {
            iss: "https://evil.example/oidc",
            ..Default::default()
        }))
        .is_err());
    }

    #[test]
    fn expiry_has_300_seconds_of_tolerance_and_no_more() {
        assert!(check(&token(Spec {
            exp_offset: -100,
            ..Default::default()
        }))
        .is_ok());
        assert!(check(&token(Spec {
            exp_offset: -400,
            ..Default::default()
        }))
        .is_err());
    }

    #[test]
    fn issued_in_the_future_beyond_tolerance_is_rejected() {
        assert!(check(&token(Spec {
            iat_offset: 100,
            ..Default::default()
        }))
        .is_ok());
        assert!(check(&token(Spec {
            iat_offset: 400,
            ..Default::default()
        }))
        .is_err());
    }

    #[test]
    fn nonce_must_match_in_the_code_flow() {
        assert!(check(&token(Spec {
            nonce: Some("other"),
            ..Default::default()
        }))
        .is_err());
        assert!(check(&token(Spec {
            nonce: None,
            ..Default::default()
        }))
        .is_err());
        // Refresh responses carry no nonce and are checked without one.
        assert!(validate(
            &provider(),
            CLIENT,
            &token(Spec {
                nonce: None,
                ..Default::default()
            }),
            None
        )
        .is_ok());
    }

    #[test]
    fn a_foreign_signature_is_rejected() {
        assert!(check(&token(Spec {
            signer: OTHER_KEY,
            ..Default::default()
        }))
        .is_err());
    }

    #[test]
    fn a_tampered_payload_is_rejected() {
        use base64::Engine;
        let jwt = token(Spec::default()).to_string();
        let parts: Vec<&str> = jwt.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        payload["sub"] = json!("admin");
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(serde_json::to_vec(&payload).unwrap()),
            parts[2]
        );
        let t: CoreIdToken = forged.parse().unwrap();
        assert!(matches!(
            check(&t),
            Err(ClaimsVerificationError::SignatureVerification(_))
        ));
    }
}
